"""The value of optimising under parameter uncertainty, judged out of sample.

With a posterior, the optimiser's SAA years are drawn across the draws
(:mod:`riskmodel.optimize.posterior`), so its portfolio, the *robust* one, is optimal for
the posterior predictive distribution of losses, not for one parameter value. Against
it stands the portfolio a planner gets at the posterior means (the scenario with every
drawn value at its mean), the usual plug-in. Both are run through the engine on the same
fresh years, each block of years under its draw (common random numbers: the two differ
only by the measures), and judged per draw:

* social cost (measures plus every layer of the sector's failures) and the objective
  (measures plus the loss the run counts: the own layer in sector and partial modes);
  the per-draw means are the units of a paired t interval
  (:func:`riskmodel.intervals.mean_interval`): draws are independent given the file,
  and a draw's years share its parameters, so years are not;
* whether the sector meets its bars in the draw: its CVaR bar (the run's) on the draw's
  years, and its F-N line when the run imposes the lines; the share of draws in which it
  does, with a Wilson interval, is the sector's probability of being acceptable.

The table is :data:`COLUMNS`, one row per sector (and ``total``: every sector summed,
acceptable when all are) and figure.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq
from statsmodels.stats.proportion import proportion_confint

from riskmodel.calibration.posterior import PosteriorDraws
from riskmodel.engine.kernels import LAYERS
from riskmodel.engine.simulate import simulate
from riskmodel.intervals import LEVEL, mean_interval
from riskmodel.measures import annual_cost
from riskmodel.metrics import FN_BINS, fn_exceeds
from riskmodel.optimize.build import _fn_bins
from riskmodel.optimize.evaluate import cvar
from riskmodel.portfolio import in_place_matrix
from riskmodel.world import World

PORTFOLIOS = ("robust", "posterior_mean")
FIGURES = ("social_cost", "objective", "acceptable")

# The robustness table, declared once: column -> what it holds (money in yen a year).
COLUMNS = {
    "sector": "critical sector, or total (every sector of the run: money summed, acceptable when all are)",
    "figure": "social_cost (measures + every layer of the sector's failures), objective (measures + the counted "
    "layers) or acceptable (1 when the sector meets its bars in a draw)",
    "robust": "the robust portfolio's figure: mean over draws (for acceptable, the share of draws)",
    "robust_ci_low": "lower end of its 95% interval (t over draws; Wilson for a share)",
    "robust_ci_high": "upper end of its 95% interval",
    "posterior_mean": "the figure of the portfolio chosen at the posterior means",
    "posterior_mean_ci_low": "lower end of its 95% interval",
    "posterior_mean_ci_high": "upper end of its 95% interval",
    "robust_minus_mean": "robust minus posterior_mean, paired by draw (money: negative when the robust portfolio "
    "costs less; acceptable: positive when it is acceptable more often)",
    "robust_minus_mean_ci_low": "lower end of its 95% t interval over draws",
    "robust_minus_mean_ci_high": "upper end of its 95% t interval over draws",
    "draws": "draws judged (the out-of-sample years' blocks take draws 0, 1, ... in turn)",
}


@dataclass(frozen=True)
class PerDraw:
    """One portfolio judged per draw: ``[draw, sector]`` arrays (sectors as given)."""

    draws: np.ndarray  # the draws judged, in order
    years: np.ndarray  # [draw] years of the draw
    social_cost: np.ndarray
    objective: np.ndarray
    acceptable: np.ndarray  # bool


def _fn_counts(world: World, elt: Path, draw_of_year: np.ndarray, draw_index: dict[int, int]) -> np.ndarray:
    """[draw, world sector, F-N bin] F-N events as the kernel counts them, from an event
    loss table file read a batch at a time: the rows of one event in one sector (a
    disaster's hits, a shared system's members, or a single failure) are one event, their
    persons summed. The table is ordered by year and event, so only the last event of a
    batch can go on in the next: it is carried over."""
    counts = np.zeros((len(draw_index), world.n_sectors, FN_BINS), dtype=np.int64)
    row_of_draw = np.full(int(draw_of_year.max()) + 1, -1, dtype=np.int64)
    for draw, row in draw_index.items():
        row_of_draw[draw] = row
    columns = ["year", "event", "sector", "persons"]

    def add(rows: dict[str, np.ndarray]) -> None:
        key = np.stack([rows["year"], rows["event"], rows["sector"]], axis=1)
        groups, inverse = np.unique(key, axis=0, return_inverse=True)
        persons = np.bincount(inverse.ravel(), weights=rows["persons"], minlength=len(groups))
        bins = _fn_bins(np.ascontiguousarray(persons, dtype=float))
        counted = bins >= 0
        np.add.at(counts, (row_of_draw[draw_of_year[groups[counted, 0]]], groups[counted, 2], bins[counted]), 1)

    sectors = pa.array(world.sector_ids)
    carried = {name: np.empty(0, dtype=float if name == "persons" else np.int64) for name in columns}
    for batch in pq.ParquetFile(elt).iter_batches(columns=columns, batch_size=1 << 20):
        rows = {name: (pc.index_in(batch[name], value_set=sectors) if name == "sector" else batch[name])
                .to_numpy(zero_copy_only=False) for name in columns}  # fmt: skip
        rows = {name: np.concatenate([carried[name], rows[name]]) for name in columns}
        last = (rows["year"] == rows["year"][-1]) & (rows["event"] == rows["event"][-1])
        carried = {name: values[last] for name, values in rows.items()}
        add({name: values[~last] for name, values in rows.items()})
    if carried["year"].size:
        add(carried)
    return counts


def per_draw(
    world: World,
    posterior: PosteriorDraws,
    chosen: dict[int, list[int]],
    sectors: list[int],
    weights: np.ndarray,
    bars: dict[int, tuple[float, float]],
    fn: bool,
    years: int,
    seed: int,
    threads: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> PerDraw:
    """The portfolio ``chosen`` (world sector -> options) on ``years`` engine years
    (seed ``seed``), each block under its draw, judged per draw for ``sectors``:
    ``weights[layer]`` say what the objective counts, ``bars`` (world sector -> CVaR
    level, limit) the CVaR bars, ``fn`` whether the F-N lines count."""
    in_place = in_place_matrix(world, chosen)
    with tempfile.TemporaryDirectory(prefix="riskmodel-robust-") as folder:
        elt = Path(folder) / "elt.parquet"  # the events, for the F-N lines, on disk: memory stays flat
        result = simulate(world, in_place, years=years, seed=seed, threads=threads, ylt=True, elt=elt if fn else False,
                          progress=progress, block_inputs=posterior.block_inputs(in_place))  # fmt: skip
        draw_of_year = posterior.draw_of_year(np.arange(years))
        draws = np.unique(draw_of_year)
        index = {int(d): i for i, d in enumerate(draws)}
        counts = _fn_counts(world, elt, draw_of_year, index) if fn else None
    ylt = result.ylt
    names = [world.sector_ids[s] for s in sectors]

    def table(values: str | list[str]) -> np.ndarray:
        frame = ylt.assign(value=ylt[values].to_numpy() @ weights if isinstance(values, list) else ylt[values])
        wide = frame.pivot(index="year", columns="sector", values="value").reindex(range(years), fill_value=0.0)
        return wide.reindex(columns=names, fill_value=0.0).to_numpy()  # [year, sector]

    total, counted = table("total"), table(list(LAYERS))
    spend = annual_cost(world, in_place)
    cost = np.bincount(world.operators.sector, weights=spend, minlength=world.n_sectors)[sectors]
    social, objective, acceptable, n_years = [], [], [], []
    for i, d in enumerate(draws):
        rows = draw_of_year == d
        social.append(cost + total[rows].mean(axis=0))
        objective.append(cost + counted[rows].mean(axis=0))
        meets = []
        for k, s in enumerate(sectors):
            level, limit = bars[s]
            ok = float(cvar(total[rows, k], level)) <= limit
            if counts is not None:
                rule = world.scenario.sectors[s].acceptability
                ok = ok and not fn_exceeds(counts[i, s], int(rows.sum()), rule)  # type: ignore[arg-type]
            meets.append(ok)
        acceptable.append(meets)
        n_years.append(int(rows.sum()))
    return PerDraw(draws, np.array(n_years), np.array(social), np.array(objective), np.array(acceptable, dtype=bool))


def _share(values: np.ndarray) -> tuple[float, float, float]:
    """A share of draws and its Wilson interval at :data:`LEVEL`."""
    low, high = proportion_confint(int(values.sum()), values.size, alpha=1 - LEVEL, method="wilson")
    return float(values.mean()), float(low), float(high)


def robustness_table(robust: PerDraw, mean: PerDraw, names: list[str]) -> pd.DataFrame:
    """The two portfolios side by side, per sector and in total (see :data:`COLUMNS`)."""
    if not np.array_equal(robust.draws, mean.draws):
        raise ValueError("the two portfolios were judged on different draws")
    rows = []
    for k, sector in enumerate([*names, "total"]):
        for figure in FIGURES:
            r, m = getattr(robust, figure), getattr(mean, figure)
            if sector == "total":
                r, m = (a.all(axis=1) if figure == "acceptable" else a.sum(axis=1) for a in (r, m))
            else:
                r, m = r[:, k], m[:, k]
            if figure == "acceptable":
                own = [_share(a) for a in (r, m)]
            else:
                own = [tuple(mean_interval(a)[["mean", "ci_low", "ci_high"]]) for a in (r, m)]
            difference = mean_interval(r.astype(float) - m.astype(float))
            rows.append((sector, figure, *own[0], *own[1], difference["mean"], difference["ci_low"],
                         difference["ci_high"], r.size))  # fmt: skip
    return pd.DataFrame(rows, columns=list(COLUMNS))
