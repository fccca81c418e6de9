"""What a planner asks of an optimum beyond the optimum itself.

* out of sample: the chosen portfolio in the real engine on fresh years, with
  confidence intervals and the engine's acceptability classes;
* the optimality gap of the SAA solution by the multiple-replications procedure of
  Mak, Morton & Wood (1999);
* the cost-risk frontier, sweeping the budget;
* per measure: yen of expected loss removed per yen spent, and ROSI (ENISA 2012);
* the Gordon-Loeb check (2002): optimal spend against expected loss / e;
* partial against society: both portfolios judged with society's counting.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel.calibration.posterior import PosteriorDraws
from riskmodel.engine.kernels import LAYERS
from riskmodel.engine.simulate import simulate
from riskmodel.optimize.evaluate import bar_losses, chain_values, cvar, evaluate
from riskmodel.optimize.instance import OTHERS, USERS, Instance
from riskmodel.optimize.milp import Goal
from riskmodel.optimize.sample import EventSample, draw_events
from riskmodel.optimize.solve import SolverOptions, solve
from riskmodel.portfolio import in_place_matrix
from riskmodel.world import World

Z95 = 1.959963984540054  # two-sided 95% normal quantile


Progress = Callable[[int, int], None]


# --- out of sample -------------------------------------------------------------------------


@dataclass(frozen=True)
class OutOfSample:
    """The portfolio in the engine on fresh years: mean counted loss per sector and in
    total with 95% intervals (mean +- 1.96 SE), and each sector's acceptability class."""

    years: int
    seed: int
    sectors: pd.DataFrame  # sector, expected_loss, se, ci_low, ci_high, acceptability, cvar, meets_bar
    total: tuple[float, float, float, float]  # mean, se, ci_low, ci_high
    all_layer_loss: np.ndarray  # [year] every layer of every sector's failures, yen


def _all_layer_loss(ylt: pd.DataFrame, years: int) -> np.ndarray:
    """[year] the loss of every layer of every sector's failures, from a year loss table."""
    return ylt.groupby("year")["total"].sum().reindex(range(years), fill_value=0.0).to_numpy()


def _mean_ci(values: np.ndarray) -> tuple[float, float, float, float]:
    mean = float(values.mean())
    se = float(values.std(ddof=1) / math.sqrt(values.size))
    return mean, se, mean - Z95 * se, mean + Z95 * se


def out_of_sample(
    world: World,
    chosen: dict[int, list[int]],
    sectors: list[int],
    counted_layers: tuple[int, ...],
    bars: dict[int, tuple[float, float]],
    years: int,
    seed: int,
    threads: int = 1,
    progress: Progress | None = None,
    posterior: PosteriorDraws | None = None,
) -> OutOfSample:
    """Run the engine with ``chosen`` (world sector -> options) in place and judge the
    counted loss of ``sectors`` (layers as in the instance) on ``years`` fresh years.

    ``acceptability`` is the engine's class against the scenario's bars; ``cvar`` and
    ``meets_bar`` judge each sector's annual loss (all layers) against the bar the
    optimiser imposed (``bars``: world sector -> level, limit), which ``--cvar-max``
    may have changed. With ``posterior`` each block of years takes its draw."""
    in_place = in_place_matrix(world, chosen)
    result = simulate(world, in_place, years=years, seed=seed, threads=threads, ylt=True, progress=progress,
                      block_inputs=posterior.block_inputs(in_place) if posterior is not None else None)  # fmt: skip
    ylt = result.ylt
    counted = ylt[[LAYERS[k] for k in counted_layers]].sum(axis=1)
    table = pd.DataFrame({"year": ylt["year"], "sector": ylt["sector"], "loss": counted})
    per_year = table.pivot(index="year", columns="sector", values="loss")
    totals = ylt.pivot(index="year", columns="sector", values="total")
    rows = []
    for s in sectors:
        name = world.sector_ids[s]
        mean, se, low, high = _mean_ci(per_year[name].to_numpy())
        level, limit = bars[s]
        risk = float(cvar(totals[name].to_numpy(), level))
        rows.append((name, mean, se, low, high, result.sector_acceptability(s), risk, risk <= limit))
    columns = ["sector", "expected_loss", "se", "ci_low", "ci_high", "acceptability", "cvar", "meets_bar"]
    frame = pd.DataFrame(rows, columns=columns)
    total = per_year[[world.sector_ids[s] for s in sectors]].sum(axis=1).to_numpy()
    return OutOfSample(years, seed, frame, _mean_ci(total), _all_layer_loss(ylt, years))


# --- optimality gap: multiple replications ---------------------------------------------------


@dataclass(frozen=True)
class GapEstimate:
    """Mak-Morton-Wood estimate of the candidate's optimality gap, in yen a year."""

    estimate: float
    ci_upper: float  # one-sided 95% upper bound
    batches: tuple[float, ...]  # gap_g = f_g(candidate) - z*_g
    violating: int  # batches on whose years the candidate breaks a bar
    infeasible: int  # batches whose SAA has no portfolio within the rules and budgets (left out)
    years: int


def mrp_gap(
    world: World,
    problems_of: Callable[[EventSample], list[Instance]],
    candidate: list[np.ndarray],
    batches: int,
    years: int,
    seeds: list[int],
    options: SolverOptions,
    threads: int = 1,
    progress: Progress | None = None,
    posterior: PosteriorDraws | None = None,
) -> GapEstimate:
    """The multiple-replications procedure (Mak, Morton & Wood 1999).

    Batch g draws ``years`` fresh engine years (seed ``seeds[g]``), solves its SAA for
    ``z*_g`` and evaluates the candidate on the same years, ``f_g``; ``gap_g = f_g -
    z*_g`` (``z*_g`` is the solver's proven lower bound, so a stopping gap only makes the
    estimate larger). The gap is estimated by the mean of the ``gap_g`` with the one-sided
    upper bound ``mean + t_{n-1, 0.95} s / sqrt(n)``.

    The batches' SAAs are solved with the risk bars relaxed (rules and budgets kept).
    MMW's bound ``E[z*_g] <= z*`` holds for a fixed feasible set; with the bars sampled
    too it can fail (a batch whose years happen to be mild admits cheaper portfolios than
    the true problem). The relaxed optimum is below the constrained one on every batch,
    so the estimate is conservative: an upper bound on the gap, exact when no bar binds.
    Batches on whose years the candidate breaks a bar are counted (``violating``). With
    ``posterior`` the batches' years take their blocks' draws, as the SAA's did.
    """
    from scipy.stats import t as student_t

    gaps: list[float] = []
    violating = infeasible = 0
    for g in range(batches):
        blocks = posterior.block_inputs(None) if posterior is not None else None
        sample = draw_events(world, years, seeds[g], threads, block_inputs=blocks)
        z = f = 0.0
        broken = lost = False
        for instance, x in zip(problems_of(sample), candidate, strict=True):
            solution = solve(instance, bars=False, options=options)
            if solution.x is None:
                lost = True
                break
            z += solution.bound
            evaluation = evaluate(instance, x)
            f += float(evaluation.objective)
            broken |= not bool(evaluation.feasible)
        if progress is not None:
            progress(g + 1, batches)
        if lost:
            infeasible += 1
            continue
        violating += broken
        gaps.append(f - z)
    n = len(gaps)
    if n < 2:
        return GapEstimate(math.nan, math.nan, tuple(gaps), violating, infeasible, years)
    mean, s = float(np.mean(gaps)), float(np.std(gaps, ddof=1))
    upper = mean + float(student_t.ppf(0.95, n - 1)) * s / math.sqrt(n)
    return GapEstimate(mean, upper, tuple(gaps), violating, infeasible, years)


# --- frontier -------------------------------------------------------------------------------


def frontier_level(instance: Instance) -> float:
    """The CVaR level the frontier reports: that of a bar on the whole problem's loss if
    there is one (society's), else that of the last sector bar."""
    return next((b.level for b in instance.bars if len(b.sectors) == instance.n_sectors), instance.bars[-1].level)


def total_cvar(instance: Instance, x: np.ndarray, level: float) -> float:
    """CVaR of the annual loss (all layers) of all the instance's sectors' failures."""
    w = chain_values(instance, x)
    return float(cvar(bar_losses(instance, x, w, tuple(range(instance.n_sectors))), level))


def frontier_prices(points: int) -> list[float]:
    """Prices of a yen of measures, in yen of expected loss it must remove, along the
    frontier: 8, 4, 2, 1 (the planner's optimum), 1/2, ... (``points`` of them)."""
    return [2.0 ** (3 - i) for i in range(points)]


def frontier(
    instance: Instance,
    label: str,
    points: int,
    level: float,
    options: SolverOptions,
    progress: Progress | None = None,
) -> pd.DataFrame:
    """The cost-risk frontier of one problem, by weighted sums, with the risk bars off.

    At a price ``p`` the portfolio minimising ``p x cost + expected counted loss`` buys a
    measure only if it removes more than ``p`` yen of expected loss per yen it costs; it
    is exactly the lowest-loss portfolio within a budget equal to its own cost (any
    cheaper portfolio with less loss would have a lower weighted sum). So each price
    gives one exact point of the frontier (on its lower convex hull), and, unlike a
    budget sweep, the problem stays separable by sector and fast. Portfolios in the
    frontier's non-convex stretches (between supported points) are not found: between
    two points the lowest loss within a budget lies between the cheaper point's loss and
    the straight line joining them, which is how :func:`riskmodel.report.figures.frontier` draws it. Each point has its
    CVaR (all layers, at ``level``) and whether it meets the bars. The curve starts at
    ``cheapest``, the least costly portfolio the rules admit (no measures, unless some
    are mandatory); ``cheapest_acceptable`` is the least costly one that meets every bar.
    """
    free = instance.replace(budget=np.full(instance.n_sectors, math.inf), budget_total=math.inf)
    solves = [("cheapest", math.nan, Goal("cost"), False)]
    solves += [("price", price, Goal("total", price=price), False) for price in frontier_prices(points)]
    solves.append(("cheapest_acceptable", math.nan, Goal("cost"), True))
    rows = []
    for i, (kind, price, goal, bars) in enumerate(solves):
        solution = solve(free, goal=goal, bars=bars, options=options)
        row: dict[str, object] = {"problem": label, "point": kind, "price": price, "status": solution.status}
        if solution.x is not None and solution.evaluation is not None:
            evaluation = solution.evaluation
            row.update(
                cost=float(evaluation.cost.sum()),
                expected_loss=float(evaluation.counted.sum()),
                cvar=total_cvar(free, solution.x, level),
                cvar_level=level,
                meets_bars=bool(evaluation.bars_ok.all() and evaluation.fn_ok.all()),
            )
        rows.append(row)
        if progress is not None:
            progress(i + 1, len(solves))
    columns = ["problem", "point", "price", "status", "cost", "expected_loss", "cvar", "cvar_level", "meets_bars"]
    return pd.DataFrame(rows).reindex(columns=columns)


# --- per measure ----------------------------------------------------------------------------


def _dependents(instance: Instance, x: np.ndarray, measure: int) -> set[int]:
    """Measures in place that need ``measure``, directly or through others."""
    on = {m for m in range(len(instance.measure_ids)) if x[instance.options_of(m)].any()}
    gone, changed = {measure}, True
    while changed:
        changed = False
        for m, r in instance.requires:
            if r in gone and m in on and m not in gone:
                gone.add(int(m))
                changed = True
    return gone - {measure}


def marginal(instance: Instance, x: np.ndarray) -> pd.DataFrame:
    """Each chosen option dropped (with the measures that need it) and each feasible
    unchosen option added, one at a time: expected counted loss removed, per yen spent,
    and ROSI = (loss removed - cost) / cost, where cost is the change in annual spend (a
    dropped option's own cost plus that of the dependents dropped with it)."""
    variants, rows = [], []
    base = evaluate(instance, x)
    for s in range(instance.n_sectors):
        on = {m for m in range(len(instance.measure_ids)) if x[s, instance.options_of(m)].any()}
        for j, label in enumerate(instance.option_labels):
            measure = int(instance.option_measure[j])
            variant = x.copy()
            if x[s, j]:
                also = _dependents(instance, x[s], measure)
                for m in also:
                    variant[s, instance.options_of(m)] = False
                variant[s, j] = False
                note = "mandatory" if instance.mandatory[s, measure] else ""
                if also:
                    note = (note + "; " if note else "") + "without " + ", ".join(instance.measure_ids[m] for m in also)
            else:
                needs = {int(r) for m, r in instance.requires if m == measure}
                clash = {int(b) for a, b in instance.excludes if a == measure} | {
                    int(a) for a, b in instance.excludes if b == measure
                }
                if measure in on or not needs <= on or clash & on:
                    continue
                variant[s, j] = True
                note = ""
            variants.append(variant)
            rows.append((instance.sector_ids[s], label, bool(x[s, j]), float(instance.cost[s, j]), note))
    if not variants:
        return pd.DataFrame(columns=["sector", "option", "chosen", "cost", "loss_removed", "per_yen", "rosi", "note"])
    evaluation = evaluate(instance, np.array(variants))
    change = evaluation.counted.sum(axis=-1) - float(base.counted.sum())
    frame = pd.DataFrame(rows, columns=["sector", "option", "chosen", "cost", "note"])
    # the money at stake: dropping an option also saves what its dependents cost
    frame["cost"] = np.abs(evaluation.cost.sum(axis=-1) - float(base.cost.sum()))
    # dropping a chosen option raises the loss by what it removes; adding one lowers it
    removed = np.where(frame["chosen"], change, -change)
    frame.insert(4, "loss_removed", removed)
    with np.errstate(divide="ignore", invalid="ignore"):
        frame.insert(5, "per_yen", np.where(frame["cost"] > 0, removed / frame["cost"], np.nan))
        frame.insert(6, "rosi", np.where(frame["cost"] > 0, (removed - frame["cost"]) / frame["cost"], np.nan))
    return frame.sort_values(["sector", "chosen", "per_yen"], ascending=[True, False, False], kind="stable")


def gordon_loeb(instance: Instance, x: np.ndarray) -> pd.DataFrame:
    """The optimal spend per sector against Gordon & Loeb's (2002) bound: for their
    breach-probability functions, optimal security spend never exceeds 1/e of the expected
    loss it protects, here the expected unmitigated counted loss."""
    spend = evaluate(instance, x).cost
    unmitigated = evaluate(instance, np.zeros_like(x)).counted
    bound = unmitigated / math.e
    return pd.DataFrame(
        {
            "sector": instance.sector_ids,
            "spend": spend,
            "expected_loss_unmitigated": unmitigated,
            "bound": bound,
            "below_bound": spend <= bound,
        }
    )


# --- partial against society ------------------------------------------------------------------


def comparison(society: Instance, partial_x: np.ndarray, society_x: np.ndarray) -> pd.DataFrame:
    """Both portfolios on the same years with society's counting: per sector and in total,
    cost, expected residual loss by layer (and the external part, users + others: what the
    failing operators do not bear), and social cost = cost + all-layer loss."""
    frames = []
    for name, x in (("partial", partial_x), ("society", society_x)):
        evaluation = evaluate(society, x)
        layers = evaluation.layers
        frame = pd.DataFrame(
            {
                "sector": society.sector_ids,
                "portfolio": name,
                "cost": evaluation.cost,
                **{name: layers[k] for k, name in enumerate(LAYERS)},
                "external": layers[USERS] + layers[OTHERS],
            }
        )
        frame["loss"] = frame[list(LAYERS)].sum(axis=1)
        frame["social_cost"] = frame["cost"] + frame["loss"]
        total = frame.drop(columns=["sector", "portfolio"]).sum().to_frame().T
        total.insert(0, "portfolio", name)
        total.insert(0, "sector", "total")
        frames += [frame, total]
    return pd.concat(frames, ignore_index=True)


@dataclass(frozen=True)
class ExternalityPrice:
    """Out of sample: what society saves a year by the society optimum instead of the
    partial optima, social cost (measures + all-layer loss of every sector's failures)
    of partial minus society, paired over the same fresh engine years."""

    mean: float
    se: float
    ci_low: float
    ci_high: float
    years: int
    seed: int


def externality_price(
    world: World,
    partial: dict[int, list[int]],
    partial_cost: float,
    society: OutOfSample,
    society_cost: float,
    threads: int = 1,
    posterior: PosteriorDraws | None = None,
) -> ExternalityPrice:
    """The price of externalities judged in the engine: the partial optima (world sector
    -> options, and their annual cost) run on the fresh years of society's out-of-sample
    check (same seed, so common random numbers: the engine's streams depend on the seed
    and year, not on the portfolio), and the mean of the paired differences of social
    cost with a 95% interval. The in-sample figure of :func:`comparison` is biased in
    society's favour (its portfolio was fitted to those years); this one is not. With
    ``posterior`` each block of years takes its draw, as in society's check."""
    in_place = in_place_matrix(world, partial)
    ylt = simulate(world, in_place, years=society.years, seed=society.seed, threads=threads, ylt=True,
                   block_inputs=posterior.block_inputs(in_place) if posterior is not None else None).ylt  # fmt: skip
    difference = (_all_layer_loss(ylt, society.years) + partial_cost) - (society.all_layer_loss + society_cost)
    mean, se, low, high = _mean_ci(difference)
    return ExternalityPrice(mean, se, low, high, society.years, society.seed)
