"""Run the Monte Carlo engine: years in fixed blocks, threads, streamed metrics.

Reproducibility: the years are cut into blocks of ``BLOCK_YEARS``; block ``b`` draws from
its own stream, ``SeedSequence(seed, spawn_key=(ENGINE_STREAM, b))``, and writes only its
own rows. Threads only decide which block runs when, so results are bit-identical
whatever the number of threads. Blocks are gathered into chunks; each chunk's year
losses are folded, in year order, into the streaming metrics and written to the loss
tables, then dropped, so memory does not grow with the number of years.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskmodel.engine.kernels import ELT_FLOAT_COLUMNS, ELT_INT_COLUMNS, FN_BINS, LAYERS, simulate_periods
from riskmodel.measures import Protection, no_measures, protection
from riskmodel.metrics import (
    LossSketch,
    acceptability,
    checkpoints,
    convergence_frame,
    convergence_row,
    fold_year_losses,
    risk_measures,
)
from riskmodel.outputs import ELT_SCHEMA, YLT_SCHEMA, ParquetSink, ylt_table
from riskmodel.world import World

ENGINE_STREAM = 0
BLOCK_YEARS = 1024
CHUNK_BLOCKS = 16


def alias_table(weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Walker/Vose alias tables for drawing an index with the given weights in O(1)."""
    n = weights.size
    scaled = weights / weights.sum() * n
    prob = np.ones(n)
    alias = np.arange(n, dtype=np.int64)
    small = [i for i in range(n) if scaled[i] < 1.0]
    large = [i for i in range(n) if scaled[i] >= 1.0]
    while small and large:
        s, g = small.pop(), large.pop()
        prob[s], alias[s] = scaled[s], g
        scaled[g] -= 1.0 - scaled[s]
        (small if scaled[g] < 1.0 else large).append(g)
    return prob, alias


def block_rng(seed: int, block: int, stream: int = ENGINE_STREAM) -> np.random.Generator:
    """The random stream of one block of years (independent of threads and chunking)."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(stream, block))))


@dataclass(frozen=True)
class KernelInputs:
    """The world and a protection state as the tuples of arrays the kernels take."""

    ops: tuple
    sect: tuple
    thr: tuple
    casc: tuple
    n_sectors: int

    @classmethod
    def build(cls, world: World, prot: Protection) -> KernelInputs:
        op = world.operators
        n_sectors = world.n_sectors
        sector_first = np.searchsorted(op.sector, np.arange(n_sectors + 1)).astype(np.int64)
        alias_prob = np.ones(len(op))
        alias_index = np.arange(len(op), dtype=np.int64)
        for s in range(n_sectors):
            a, b = sector_first[s], sector_first[s + 1]
            if b > a:
                alias_prob[a:b], alias_index[a:b] = alias_table(op.sector_share[a:b])
                alias_index[a:b] += a
        region_ops = np.argsort(op.region, kind="stable").astype(np.int64)
        region_first = np.searchsorted(op.region[region_ops], np.arange(len(world.region_ids) + 1)).astype(np.int64)
        op_int = np.stack([op.sector, op.region, op.node], axis=1).astype(np.int64)
        shock = op.node_share * world.cascade_share[op.sector] * prot.cascade
        op_float = np.stack([op.users, world.it_dependence[op.sector] * prot.depth, shock], axis=1)
        with np.errstate(divide="ignore"):
            log_duration = np.log(prot.duration)
        op_threat = np.stack([prot.survive, log_duration, op.revenue[:, None] * prot.direct], axis=2)
        sector_float = np.stack(
            [
                world.value_of_time,
                world.service_kind.astype(float),
                world.service_hours,
                world.delay_hours,
                world.exposure[:, 2],
            ],
            axis=1,
        )
        t = world.threats
        threat_float = np.stack(
            [
                t.kind.astype(float),
                t.dispersion,
                t.hit_probability,
                t.duration_mu,
                t.duration_sigma,
                t.depth_alpha,
                t.depth_beta,
                t.loss_mu,
                t.loss_sigma,
                t.tail_probability,
                t.tail_shape,
                t.tail_threshold,
                t.tail_scale,
                t.tail_z,
            ],
            axis=1,
        )
        c = world.cascade
        sector_of_node = np.arange(c.n_nodes) % n_sectors
        own = c.sector_loss_weight[sector_of_node, np.arange(c.n_nodes)]
        node_weight = np.stack([c.loss_weight, own, c.clip_bound], axis=1)
        f = np.ascontiguousarray
        return cls(
            ops=(op_int, f(op_float), f(op_threat), sector_first, alias_prob, alias_index, region_ops, region_first),
            sect=(f(world.sector_rate), f(sector_float)),
            thr=(f(threat_float), f(t.regional_rate)),
            casc=(c.local, c.spread, c.region_weight, c.k, c.output, c.sector_loss_weight, c.leontief, f(node_weight)),
            n_sectors=n_sectors,
        )


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
    elt_source: list[pa.Table] | Path | None = field(default=None, repr=False)

    @property
    def critical(self) -> list[int]:
        return [i for i, c in enumerate(self.world.critical) if c]

    @property
    def total(self) -> int:
        return self.world.n_sectors

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
                "layers": {name: float(layers[i]) for i, name in enumerate(LAYERS[:3])},
            }
        )

    def sector_table(self) -> pd.DataFrame:
        """One row per critical sector and one for the total: the main figures, in yen."""
        rows = []
        for s in [*self.critical, self.total]:
            is_total = s == self.total
            layer = self.layer_sums.sum(axis=0) if is_total else self.layer_sums[s]
            rows.append(
                {
                    "sector": "total" if is_total else self.world.sector_ids[s],
                    "failures_per_year": (self.events.sum() if is_total else self.events[s]) / self.years,
                    "aal": self.aggregate.mean(s),
                    "aal_se": self.aggregate.standard_error(s),
                    "direct": layer[0] / self.years,
                    "users": layer[1] / self.years,
                    "economy": layer[2] / self.years,
                    "external": layer[3] / self.years,
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
        return _frame(self.elt_source, "event loss table")


def _frame(source: list[pa.Table] | Path | None, what: str) -> pd.DataFrame:
    if source is None:
        raise ValueError(f"the {what} was not kept: pass it to simulate()")
    if isinstance(source, Path):
        return pq.read_table(source).to_pandas()
    schema = YLT_SCHEMA if what.startswith("year") else ELT_SCHEMA
    return pa.concat_tables(source).to_pandas() if source else schema.empty_table().to_pandas()


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


def _run_block(
    inputs: KernelInputs,
    seed: int,
    block: int,
    first_year: int,
    year_loss,
    year_max,
    year_events,
    keep_elt: bool,
    capacity: int,
) -> _Block:
    n_years = year_loss.shape[0]
    while True:
        fn_counts = np.zeros((inputs.n_sectors + 1, FN_BINS), dtype=np.int64)
        elt_ints = np.zeros((capacity if keep_elt else 0, len(ELT_INT_COLUMNS)), dtype=np.int64)
        elt_floats = np.zeros((elt_ints.shape[0], len(ELT_FLOAT_COLUMNS)))
        rows = simulate_periods(
            block_rng(seed, block),
            1.0,
            n_years,
            first_year,
            inputs.ops,
            inputs.sect,
            inputs.thr,
            inputs.casc,
            year_loss,
            year_max,
            year_events,
            fn_counts,
            elt_ints,
            elt_floats,
        )
        if rows >= 0:
            return _Block(fn_counts, elt_ints[:rows], elt_floats[:rows])
        capacity *= 2  # the event table outgrew its buffer: run the block again, same stream
        year_loss[:] = 0.0
        year_max[:] = 0.0
        year_events[:] = 0


def _elt_table(world: World, block: _Block) -> pa.Table:
    ints, floats = block.elt_ints, block.elt_floats
    columns = {
        "year": ints[:, 0],
        "event": ints[:, 1].astype(np.int32),
        "day": ints[:, 2].astype(np.int32),
        "sector": np.asarray(world.sector_ids, dtype=object)[ints[:, 3]],
        "region": np.asarray(world.region_ids, dtype=object)[ints[:, 4]],
        "operator": ints[:, 5].astype(np.int32),
        "threat": np.asarray(world.threat_ids, dtype=object)[ints[:, 6]],
    }
    columns.update({name: floats[:, i] for i, name in enumerate(ELT_FLOAT_COLUMNS)})
    return pa.Table.from_pydict(columns, schema=ELT_SCHEMA)


def simulate(
    world: World,
    in_place: np.ndarray | None = None,
    years: int = 10_000,
    seed: int = 0,
    threads: int = 1,
    ylt: bool | str | Path = False,
    elt: bool | str | Path = False,
    progress: Callable[[int, int], None] | None = None,
) -> SimulationResult:
    """Simulate ``years`` years of IT failures and their losses.

    ``in_place[operator, option]`` says which measures each operator has (default: none;
    see :func:`riskmodel.portfolio.load_portfolio`). ``ylt`` and ``elt``: ``True`` keeps
    the year or event loss table in memory, a path streams it to a Parquet file, ``False``
    skips it. ``progress(done, total)`` is called after each chunk of years.
    """
    if years < 1:
        raise ValueError("years must be at least 1")
    inputs = KernelInputs.build(world, protection(world, no_measures(world) if in_place is None else in_place))
    n_sectors = world.n_sectors
    series = n_sectors + 1
    aggregate, occurrence = LossSketch(series), LossSketch(series)
    layer_sums = np.zeros((n_sectors, len(LAYERS)))
    events = np.zeros(n_sectors, dtype=np.int64)
    fn_counts = np.zeros((series, FN_BINS), dtype=np.int64)
    marks = checkpoints(years)
    convergence: list[dict[str, float]] = []
    critical = [i for i, c in enumerate(world.critical) if c]
    names = [world.sector_ids[i] for i in critical]
    ylt_sink = ParquetSink(ylt, YLT_SCHEMA) if isinstance(ylt, str | Path) else None
    elt_sink = ParquetSink(elt, ELT_SCHEMA) if isinstance(elt, str | Path) else None
    ylt_tables: list[pa.Table] = []
    elt_tables: list[pa.Table] = []
    expected_events = world.sector_rate.sum() + world.threats.regional_rate.sum() * len(world.operators)
    capacity = int(BLOCK_YEARS * expected_events * 1.5) + 1024

    n_blocks = -(-years // BLOCK_YEARS)
    with ThreadPoolExecutor(max_workers=max(1, threads)) as pool:
        for chunk_start in range(0, n_blocks, CHUNK_BLOCKS):
            blocks = range(chunk_start, min(n_blocks, chunk_start + CHUNK_BLOCKS))
            first = blocks[0] * BLOCK_YEARS
            last = min(years, (blocks[-1] + 1) * BLOCK_YEARS)
            year_loss = np.zeros((last - first, n_sectors, len(LAYERS)))
            year_max = np.zeros((last - first, series))
            year_events = np.zeros((last - first, n_sectors), dtype=np.int64)

            def run(
                b: int, first: int = first, year_loss=year_loss, year_max=year_max, year_events=year_events
            ) -> _Block:
                a = b * BLOCK_YEARS - first
                z = min(years, (b + 1) * BLOCK_YEARS) - first
                return _run_block(
                    inputs,
                    seed,
                    b,
                    b * BLOCK_YEARS,
                    year_loss[a:z],
                    year_max[a:z],
                    year_events[a:z],
                    bool(elt),
                    capacity,
                )

            results = list(pool.map(run, blocks)) if threads > 1 else [run(b) for b in blocks]

            start = 0
            for mark in [m for m in marks if first < m <= last] + [last]:
                stop = mark - first
                if stop > start:
                    fold_year_losses(year_loss[start:stop], year_max[start:stop], aggregate, occurrence, layer_sums)
                    start = stop
                if mark in marks and aggregate.n == mark and (not convergence or convergence[-1]["years"] != mark):
                    convergence.append(convergence_row(aggregate, n_sectors))
            events += year_events.sum(axis=0)
            for block in results:
                fn_counts += block.fn_counts
            if ylt:
                table = ylt_table(first, year_loss, year_events, critical, names)
                if ylt_sink is not None:
                    ylt_sink.write(table)
                else:
                    ylt_tables.append(table)
            if elt:
                for block in results:
                    table = _elt_table(world, block)
                    if elt_sink is not None:
                        elt_sink.write(table)
                    else:
                        elt_tables.append(table)
            if progress is not None:
                progress(last, years)
    for sink in (ylt_sink, elt_sink):
        if sink is not None:
            sink.close()
    return SimulationResult(
        world=world,
        years=years,
        seed=seed,
        aggregate=aggregate,
        occurrence=occurrence,
        layer_sums=layer_sums,
        events=events,
        fn_counts=fn_counts,
        convergence=convergence_frame(convergence),
        ylt_source=ylt_sink.path if ylt_sink else (ylt_tables if ylt else None),
        elt_source=elt_sink.path if elt_sink else (elt_tables if elt else None),
    )
