"""Run the Monte Carlo engine: years in fixed blocks, threads, streamed metrics.

Reproducibility: every random number is a keyed draw (Philox4x32-10 under the run's key
``SeedSequence(seed, spawn_key=(ENGINE_STREAM,))``, counters naming the year, threat,
sector or region, event and call: see :mod:`riskmodel.engine.kernels`), so a year's draws
do not depend on which block, thread or chunk simulates it, and results are bit-identical
whatever the number of threads. The years are cut into blocks of ``BLOCK_YEARS``; each
block writes only its own rows. Blocks are gathered into chunks; each chunk's year
losses are folded, in year order, into the streaming metrics and written to the loss
tables, then dropped, so memory does not grow with the number of years.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskmodel.engine.events import Events
from riskmodel.engine.inputs import KernelInputs
from riskmodel.engine.kernels import ELT_FLOAT_COLUMNS, ELT_INT_COLUMNS, LAYERS, simulate_periods
from riskmodel.measures import no_measures, protection
from riskmodel.metrics import (
    EP_RETURN_PERIODS,
    FN_BINS,
    LossSketch,
    acceptability,
    checkpoints,
    convergence_frame,
    convergence_row,
    fn_curve,
    fold_year_losses,
    risk_measures,
)
from riskmodel.outputs import ELT_SCHEMA, YLT_SCHEMA, ParquetSink, ylt_table
from riskmodel.streams import ENGINE_STREAM, counter_key
from riskmodel.world import World

BLOCK_YEARS = 1024
CHUNK_BLOCKS = 16
ELT_HEADROOM = 1.5  # event-table buffer per block, in expected events; a block that overflows reruns


MAX_YEARS = 2**32  # a year is one 32-bit counter word of its draws


def engine_key(seed: int, stream: int = ENGINE_STREAM) -> np.ndarray:
    """The key (two 32-bit words) of the engine's keyed draws in a run with root ``seed``."""
    return counter_key(seed, stream)


@dataclass
class SimulationResult:
    """What a run produced: streamed metrics, and the loss tables where asked for."""

    world: World
    years: int
    seed: int
    aggregate: LossSketch  # series: each sector, then the total
    occurrence: LossSketch
    layer_sums: np.ndarray  # [sector, layer] summed over years
    events: np.ndarray  # [sector] failures summed over years
    fn_counts: np.ndarray  # [sector or total, F-N bin]
    convergence: pd.DataFrame
    ylt_source: list[pa.Table] | Path | None = field(default=None, repr=False)
    elt_source: list[Events] | Path | None = field(default=None, repr=False)  # in memory: the event record

    @property
    def critical(self) -> list[int]:
        return self.world.critical_sectors

    @property
    def total(self) -> int:
        return self.world.n_sectors

    def series(self) -> list[tuple[str, int]]:
        """(name, series index) of each critical sector, then of the total."""
        return [(self.world.sector_ids[s], s) for s in self.critical] + [("total", self.total)]

    def sector_acceptability(self, s: int) -> str:
        rule = self.world.scenario.sectors[s].acceptability
        assert rule is not None
        return acceptability(self.aggregate, s, self.fn_counts[s], rule)

    def summary(self) -> dict:
        """The ``summary.json`` document."""
        sectors = {}
        for s in self.critical:
            entry = risk_measures(self.aggregate, s)
            entry["acceptability"] = self.sector_acceptability(s)
            sectors[self.world.sector_ids[s]] = entry
        layers = self.layer_sums.sum(axis=0) / self.years
        return _finite(
            {
                "scenario": self.world.name,
                "years": self.years,
                "seed": self.seed,
                "sectors": sectors,
                "total": risk_measures(self.aggregate, self.total),
                "layers": {name: float(layers[i]) for i, name in enumerate(LAYERS)},
            }
        )

    def ep_table(self, return_periods: tuple[int, ...] = EP_RETURN_PERIODS) -> pd.DataFrame:
        """Aggregate (AEP) and occurrence (OEP) losses at return periods, per sector and in
        total, by OasisLMF's ORD convention (see :mod:`riskmodel.metrics`)."""
        rows = []
        for sector, s in self.series():
            for period in return_periods:
                rows.append(
                    {
                        "sector": sector,
                        "return_period": period,
                        "aep_loss": self.aggregate.return_period_loss(period, s),
                        "oep_loss": self.occurrence.return_period_loss(period, s),
                    }
                )
        return pd.DataFrame(rows)

    def fn_table(self) -> pd.DataFrame:
        """F-N curves: events a year affecting at least ``persons``, per sector and in total,
        at the F-N bin edges where any sector's curve is non-zero."""
        columns = {name: fn_curve(self.fn_counts[s], self.years)[1] for name, s in self.series()}
        frame = pd.DataFrame({"persons": fn_curve(self.fn_counts[self.total], self.years)[0], **columns})
        return frame[(frame.drop(columns="persons") > 0).any(axis=1)].reset_index(drop=True)

    def sector_table(self) -> pd.DataFrame:
        """One row per critical sector and one for the total: the main figures, in yen."""
        rows = []
        for name, s in self.series():
            is_total = s == self.total
            layer = self.layer_sums.sum(axis=0) if is_total else self.layer_sums[s]
            rows.append(
                {
                    "sector": name,
                    "failures_per_year": (self.events.sum() if is_total else self.events[s]) / self.years,
                    "aal": self.aggregate.mean(s),
                    "aal_se": self.aggregate.standard_error(s),
                    **{name: layer[i] / self.years for i, name in enumerate(LAYERS)},
                    "external": (layer.sum() - layer[LAYERS.index("own")]) / self.years,  # not borne by the operators
                    "var_0.99": self.aggregate.quantile(0.99, s),
                    "tvar_0.99": self.aggregate.tvar(0.99, s),
                    "acceptability": "" if is_total else self.sector_acceptability(s),
                }
            )
        return pd.DataFrame(rows)

    @property
    def ylt(self) -> pd.DataFrame:
        return _frame(self.ylt_source, "year loss table")

    @property
    def elt(self) -> pd.DataFrame:
        if isinstance(self.elt_source, list):
            return Events.concat(self.elt_source).table(self.world).to_pandas()
        return _frame(self.elt_source, "event loss table")

    def event_record(self) -> Events:
        """Every event of the run as the kernel wrote it (``elt=True`` keeps them)."""
        if not isinstance(self.elt_source, list):
            raise ValueError("the events were not kept in memory: pass elt=True to simulate()")
        return Events.concat(self.elt_source)


def _frame(source: list[pa.Table] | Path | None, what: str) -> pd.DataFrame:
    if source is None:
        raise ValueError(f"the {what} was not kept: pass it to simulate()")
    if isinstance(source, Path):
        return pq.read_table(source).to_pandas()
    return pa.concat_tables(source).to_pandas() if source else YLT_SCHEMA.empty_table().to_pandas()


def _finite(value):
    """JSON has no NaN: turn undefined figures (an SE from one year) into null."""
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, float) and not np.isfinite(value):
        return None
    return value


@dataclass
class _Block:
    fn_counts: np.ndarray
    elt_ints: np.ndarray
    elt_floats: np.ndarray


@dataclass
class _Chunk:
    """Consecutive blocks of years whose outputs are folded into the metrics together."""

    first: int  # first year
    last: int  # one past the last year
    blocks: range
    year_loss: np.ndarray  # [year, sector, layer]
    year_max: np.ndarray  # [year, sector or total]: largest event loss
    year_events: np.ndarray  # [year, sector]
    results: list[Future[_Block]] = field(default_factory=list)  # blocks running on the pool

    @classmethod
    def of(cls, blocks: range, years: int, n_sectors: int) -> _Chunk:
        first, last = blocks[0] * BLOCK_YEARS, min(years, (blocks[-1] + 1) * BLOCK_YEARS)
        return cls(
            first,
            last,
            blocks,
            np.zeros((last - first, n_sectors, len(LAYERS))),
            np.zeros((last - first, n_sectors + 1)),
            np.zeros((last - first, n_sectors), dtype=np.int64),
        )

    def rows(self, block: int) -> slice:
        return slice(block * BLOCK_YEARS - self.first, min(self.last, (block + 1) * BLOCK_YEARS) - self.first)


def _run_block(inputs: KernelInputs, seed: int, block: int, chunk: _Chunk, keep_elt: bool, capacity: int) -> _Block:
    rows = chunk.rows(block)
    year_loss, year_max, year_events = chunk.year_loss[rows], chunk.year_max[rows], chunk.year_events[rows]
    while True:
        fn_counts = np.zeros((inputs.n_sectors + 1, FN_BINS), dtype=np.int64)
        elt_ints = np.zeros((capacity if keep_elt else 0, len(ELT_INT_COLUMNS)), dtype=np.int64)
        elt_floats = np.zeros((elt_ints.shape[0], len(ELT_FLOAT_COLUMNS)))
        n_rows = simulate_periods(
            engine_key(seed), 1.0, year_loss.shape[0], block * BLOCK_YEARS, inputs.ops, inputs.sect,
            inputs.thr, inputs.casc, year_loss, year_max, year_events, fn_counts, elt_ints, elt_floats,
        )  # fmt: skip
        if n_rows >= 0:
            return _Block(fn_counts, elt_ints[:n_rows], elt_floats[:n_rows])
        capacity *= 2  # the event table outgrew its buffer: run the block again, same draws
        year_loss[:] = 0.0
        year_max[:] = 0.0
        year_events[:] = 0


class _Streams:
    """Everything a run keeps: streamed metrics, and the loss tables where asked for."""

    def __init__(self, world: World, years: int, ylt: bool | str | Path, elt: bool | str | Path):
        self.world = world
        n_sectors = world.n_sectors
        self.aggregate, self.occurrence = LossSketch(n_sectors + 1), LossSketch(n_sectors + 1)
        self.layer_sums = np.zeros((n_sectors, len(LAYERS)))
        self.events = np.zeros(n_sectors, dtype=np.int64)
        self.fn_counts = np.zeros((n_sectors + 1, FN_BINS), dtype=np.int64)
        self.marks = checkpoints(years)
        self.convergence: list[dict[str, float]] = []
        self.ylt = _Table(ylt, YLT_SCHEMA)
        self.elt = _Table(elt, ELT_SCHEMA)

    def fold(self, chunk: _Chunk, results: list[_Block]) -> None:
        """Fold a finished chunk in, in year order, recording convergence checkpoints."""
        start = 0
        for mark in sorted({m for m in self.marks if chunk.first < m <= chunk.last} | {chunk.last}):
            stop = mark - chunk.first
            if stop > start:
                fold_year_losses(
                    chunk.year_loss[start:stop], chunk.year_max[start:stop], self.aggregate, self.occurrence,
                    self.layer_sums,
                )  # fmt: skip
                start = stop
            if mark in self.marks and self.aggregate.n == mark:
                self.convergence.append(convergence_row(self.aggregate, self.world.n_sectors))
        self.events += chunk.year_events.sum(axis=0)
        for block in results:
            self.fn_counts += block.fn_counts
        if self.ylt.wanted:
            critical = self.world.critical_sectors
            self.ylt.add(ylt_table(chunk.first, chunk.year_loss, chunk.year_events, critical, self.world.critical_ids))
        if self.elt.wanted:
            for block in results:
                events = Events.of(block.elt_ints, block.elt_floats)
                self.elt.add(events.table(self.world) if self.elt.sink is not None else events)


class _Table:
    """A loss table kept in memory (``True``: Arrow tables, or the event record itself),
    streamed to Parquet (a path) or skipped."""

    def __init__(self, target: bool | str | Path, schema: pa.Schema):
        self.wanted = bool(target)
        self.sink = ParquetSink(target, schema) if isinstance(target, str | Path) else None
        self.tables: list = []

    def add(self, table: pa.Table | Events) -> None:
        if self.sink is not None:
            self.sink.write(table)
        else:
            self.tables.append(table)

    def source(self) -> list | Path | None:
        if self.sink is not None:
            self.sink.close()
            return self.sink.path
        return self.tables if self.wanted else None


def simulate(
    world: World,
    in_place: np.ndarray | None = None,
    years: int = 10_000,
    seed: int = 0,
    threads: int = 1,
    ylt: bool | str | Path = False,
    elt: bool | str | Path = False,
    progress: Callable[[int, int], None] | None = None,
    block_inputs: Callable[[int], KernelInputs] | None = None,
) -> SimulationResult:
    """Simulate ``years`` years of IT failures and their losses.

    ``in_place[operator, option]`` says which measures each operator has (default: none;
    see :func:`riskmodel.portfolio.load_portfolio`). ``ylt`` and ``elt``: ``True`` keeps
    the year or event loss table in memory, a path streams it to a Parquet file, ``False``
    skips it. ``progress(done, total)`` is called after each chunk of years. With more
    than one thread, the next chunk's blocks run while the last one is folded in.
    ``block_inputs(b)``, when given, is block ``b``'s kernel inputs (a posterior run gives
    each block of ``BLOCK_YEARS`` years its own parameter draw); the years' keyed draws
    stay those of a run without it.
    """
    if not 1 <= years <= MAX_YEARS:
        raise ValueError(f"years must be at least 1 and at most {MAX_YEARS} (a year is a 32-bit counter)")
    inputs = KernelInputs.build(world, protection(world, no_measures(world) if in_place is None else in_place))
    inputs_of = block_inputs or (lambda block: inputs)
    streams = _Streams(world, years, ylt, elt)
    expected_events = world.sector_rate.sum() + world.threats.regional_rate.sum() * len(world.operators)
    capacity = int(BLOCK_YEARS * expected_events * ELT_HEADROOM) + 1024
    n_blocks = -(-years // BLOCK_YEARS)
    pending = deque(range(b, min(n_blocks, b + CHUNK_BLOCKS)) for b in range(0, n_blocks, CHUNK_BLOCKS))

    with ThreadPoolExecutor(max_workers=threads) as pool:

        def start(blocks: range) -> _Chunk:
            chunk = _Chunk.of(blocks, years, world.n_sectors)
            if threads > 1:
                chunk.results = [
                    pool.submit(_run_block, inputs_of(b), seed, b, chunk, bool(elt), capacity) for b in blocks
                ]
            return chunk

        chunk: _Chunk | None = start(pending.popleft())
        while chunk is not None:
            following = start(pending.popleft()) if pending and threads > 1 else None
            if threads > 1:
                results = [future.result() for future in chunk.results]
            else:
                results = [_run_block(inputs_of(b), seed, b, chunk, bool(elt), capacity) for b in chunk.blocks]
            streams.fold(chunk, results)
            if progress is not None:
                progress(chunk.last, years)
            chunk = following or (start(pending.popleft()) if pending else None)
    return SimulationResult(
        world=world,
        years=years,
        seed=seed,
        aggregate=streams.aggregate,
        occurrence=streams.occurrence,
        layer_sums=streams.layer_sums,
        events=streams.events,
        fn_counts=streams.fn_counts,
        convergence=convergence_frame(streams.convergence),
        ylt_source=streams.ylt.source(),
        elt_source=streams.elt.source(),
    )
