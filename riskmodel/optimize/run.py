"""``optimize(world, ...)``: one call from engine years to a verified, evaluated portfolio.

The stages, each reported to ``progress(stage, done, total)``: draw the SAA years with
the engine (no measures), build the instance, solve the mode's problem(s) (in society
mode also the partial ones, for the comparison), and, when a portfolio exists, judge it
out of sample, estimate its optimality gap, sweep the frontier and price each measure.
When the bars cannot be met, the diagnosis says what is reachable instead. With a
posterior, the SAA years (and the fresh years) take the draws block by block, and the
portfolio chosen at the draws' means is solved too and compared out of sample
(:mod:`riskmodel.optimize.robust`).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import partial

import numpy as np
import pandas as pd

from riskmodel.calibration.posterior import PosteriorDraws
from riskmodel.optimize.analysis import (
    ExternalityPrice,
    GapEstimate,
    OutOfSample,
    comparison,
    externality_price,
    frontier,
    frontier_level,
    gordon_loeb,
    marginal,
    mrp_gap,
    out_of_sample,
)
from riskmodel.optimize.build import build_instance
from riskmodel.optimize.diagnose import BarCheck, Diagnosis, diagnose
from riskmodel.optimize.evaluate import evaluate
from riskmodel.optimize.instance import OWN_LAYERS, Bar, Instance
from riskmodel.optimize.instruments import instruments_table
from riskmodel.optimize.posterior import blocks_of, check_saa
from riskmodel.optimize.robust import per_draw, robustness_table
from riskmodel.optimize.sample import EventSample, draw_events
from riskmodel.optimize.settings import Settings
from riskmodel.optimize.solve import Solution, solve
from riskmodel.streams import OUT_OF_SAMPLE_SEED, REPLICATION_SEED, derived_seed
from riskmodel.world import World

Progress = Callable[[str, int, int], None]


@dataclass
class Problem:
    """One MILP of the run (a sector, or society) and its verified solution."""

    label: str
    instance: Instance
    solution: Solution


RELAX_TOLERANCE = 0.01  # an unreachable bar is relaxed to 1% above the lowest risk reachable


@dataclass(frozen=True)
class Relaxation:
    """A bar of the scenario that no portfolio meets at any cost, and what it became: the
    lowest value reachable, plus ``RELAX_TOLERANCE``, so that the sector gets the cheapest
    portfolio within that tolerance of its least-risk one."""

    problem: str  # the problem's label (a sector, or society)
    bar: str  # the bar's label (a sector, or society)
    kind: str  # "cvar" (yen) or "fn" (ratio of the F-N curve to its line)
    limit: float  # the scenario's bar (an F-N line: 1.0, the line itself)
    reachable: float  # the lowest value any portfolio reaches
    relaxed_to: float

    def sentence(self) -> str:
        if self.kind == "fn":
            return (f"{self.bar}: its F-N line cannot be met at any cost (at best {self.reachable:.2f}x the line); "
                    f"the portfolio is the cheapest within {RELAX_TOLERANCE:.0%} of that")  # fmt: skip
        return (f"{self.bar}: its CVaR bar of {self.limit / 1e9:,.2f} bn yen cannot be met at any cost (at best "
                f"{self.reachable / 1e9:,.2f} bn yen, {self.reachable / self.limit:.2f}x the bar); the portfolio is "
                f"the cheapest within {RELAX_TOLERANCE:.0%} of that")  # fmt: skip


@dataclass
class OptimizationResult:
    """Everything a run found; tables are pandas frames, money in yen a year."""

    world: World
    settings: Settings
    status: str  # optimal, time_limit or infeasible
    problems: list[Problem]
    partial: list[Problem] = field(default_factory=list)  # society mode: the partial optima
    diagnoses: dict[str, Diagnosis] = field(default_factory=dict)  # problem label -> why infeasible
    out_of_sample: OutOfSample | None = None
    gap: GapEstimate | None = None
    frontier: pd.DataFrame | None = None
    measures: pd.DataFrame | None = None
    gordon_loeb: pd.DataFrame | None = None
    comparison: pd.DataFrame | None = None
    externality: ExternalityPrice | None = None  # society mode: the comparison judged out of sample
    instruments: pd.DataFrame | None = None  # society mode, when asked: what closes each sector's gap
    relaxed: list[Relaxation] = field(default_factory=list)  # scenario bars no portfolio meets
    posterior: PosteriorDraws | None = None  # the draws the SAA years took
    posterior_mean: list[Problem] = field(default_factory=list)  # the problems solved at the draws' means
    robustness: pd.DataFrame | None = None  # robust against posterior-mean portfolio, out of sample (robust.COLUMNS)

    @property
    def has_portfolio(self) -> bool:
        return self.status != "infeasible" and all(p.solution.x is not None for p in self.problems)

    @property
    def objective(self) -> float:
        """Annual cost plus expected counted loss of the chosen portfolio(s), summed."""
        return float(sum(p.solution.objective for p in self.problems))

    def portfolio(self) -> dict[str, list[str]]:
        """Sector id -> chosen options as portfolio-file entries (``measure`` or ``measure:level``)."""
        chosen: dict[str, list[str]] = {}
        for problem in self.problems:
            x = problem.solution.x
            if x is None:
                continue
            for s, sector in enumerate(problem.instance.sector_ids):
                chosen[sector] = [problem.instance.option_labels[j] for j in np.flatnonzero(x[s])]
        return chosen

    def sector_table(self) -> pd.DataFrame:
        """One row per sector: measures, cost, expected counted loss before and after,
        CVaR against its bar, F-N ratio, share of base loss bounded (not reproduced),
        out-of-sample loss with its 95% interval and the engine's acceptability class."""
        rows = []
        for problem in self.problems:
            inst, x = problem.instance, problem.solution.x
            before = evaluate(inst, np.zeros((inst.n_sectors, inst.n_options), dtype=bool))
            after = evaluate(inst, x) if x is not None else None
            for s, sector in enumerate(inst.sector_ids):
                bar = next(b for b, spec in enumerate(inst.bars) if spec.sectors == (s,))
                row = {
                    "sector": sector,
                    "measures": [inst.option_labels[j] for j in np.flatnonzero(x[s])] if x is not None else None,
                    "cost": float(after.cost[s]) if after is not None else math.nan,
                    "expected_loss_unmitigated": float(before.counted[s]),
                    "expected_loss": float(after.counted[s]) if after is not None else math.nan,
                    "cvar_level": inst.bars[bar].level,
                    "cvar_unmitigated": float(before.cvar[bar]),
                    "cvar": float(after.cvar[bar]) if after is not None else math.nan,
                    "cvar_max": inst.bars[bar].cvar_max,
                    "fn_ratio": float(after.fn_ratio[s]) if after is not None else math.nan,
                    "bounded_share": float(inst.bounded_share[s]),
                }
                rows.append(row)
        frame = pd.DataFrame(rows)
        if self.out_of_sample is not None:
            oos = self.out_of_sample.sectors.set_index("sector")
            frame["oos_expected_loss"] = frame["sector"].map(oos["expected_loss"])
            frame["oos_ci_low"] = frame["sector"].map(oos["ci_low"])
            frame["oos_ci_high"] = frame["sector"].map(oos["ci_high"])
            frame["acceptability"] = frame["sector"].map(oos["acceptability"])
            frame["oos_cvar"] = frame["sector"].map(oos["cvar"])
            frame["oos_meets_bar"] = frame["sector"].map(oos["meets_bar"])
        if self.gordon_loeb is not None:
            gl = self.gordon_loeb.set_index("sector")
            frame["gordon_loeb_bound"] = frame["sector"].map(gl["bound"])
            frame["below_gordon_loeb"] = frame["sector"].map(gl["below_bound"])
        return frame


def problems_of(full: Instance, settings: Settings) -> list[tuple[str, Instance]]:
    """The instances a mode solves, cut from the all-sector instance ``full``."""
    base = full.replace(fn_imposed=settings.fn)
    budgets = dict(settings.sector_budgets)
    override = settings.cvar_level is not None and settings.cvar_max is not None
    if settings.mode == "society":
        instance = base.replace(
            budget=np.array([budgets.get(s, math.inf) for s in base.sector_ids]),
            budget_total=math.inf if settings.budget is None else settings.budget,
        )
        if override:
            everyone = tuple(range(base.n_sectors))
            bar = Bar("society", everyone, settings.cvar_level, settings.cvar_max)  # type: ignore[arg-type]
            instance = instance.replace(bars=(*instance.bars, bar))
        return [("society", instance)]
    sectors = [settings.sector] if settings.mode == "sector" else list(base.sector_ids)
    out = []
    for sector in sectors:
        i = base.sector_ids.index(sector)
        budget = min(math.inf if settings.budget is None else settings.budget, budgets.get(sector, math.inf))
        instance = base.restrict([i]).replace(counted_layers=OWN_LAYERS, budget=np.array([budget]))
        if override:
            instance = instance.replace(bars=(Bar(sector, (0,), settings.cvar_level, settings.cvar_max),))  # type: ignore[arg-type]
        out.append((sector, instance))
    return out


def _solve_all(pairs: list[tuple[str, Instance]], settings: Settings, progress: Progress, stage: str) -> list[Problem]:
    problems = []
    for i, (label, instance) in enumerate(pairs):
        problems.append(Problem(label, instance, solve(instance, options=settings.solver)))
        progress(stage, i + 1, len(pairs))
    return problems


def _relaxed_instance(instance: Instance, checks: list[BarCheck]) -> Instance:
    """``instance`` with each unreachable bar set to what is reachable, plus the tolerance."""
    bars = list(instance.bars)
    fn_limit = instance.fn_limit.copy()
    for check in checks:
        target = check.any_cost * (1.0 + RELAX_TOLERANCE)
        if check.kind == "cvar":
            b = next(b for b, bar in enumerate(bars) if bar.label == check.label)
            bars[b] = replace(bars[b], cvar_max=target)
        else:
            fn_limit[instance.fn_sector == instance.sector_ids.index(check.label)] *= target
    return instance.replace(bars=tuple(bars), fn_limit=fn_limit)


def _answer_unreachable(
    problems: list[Problem], settings: Settings, progress: Progress, stage: str
) -> tuple[list[Problem], list[Relaxation], dict[str, Diagnosis]]:
    """Where a problem is infeasible because a bar of the scenario cannot be met at any
    cost, solve it again with that bar relaxed to the lowest risk reachable (plus the
    tolerance), so the planner gets a portfolio for every sector. Bars the user set
    (``cvar_max``) and budgets are never relaxed: their problems stay infeasible, with
    their diagnosis."""
    answered, relaxations, diagnoses = [], [], {}
    for i, problem in enumerate(problems):
        if problem.solution.status != "infeasible":
            answered.append(problem)
            continue
        diagnosis = diagnose(problem.instance, settings.solver)
        unreachable = [c for c in diagnosis.checks if c.verdict == "unreachable at any cost"
                       and (c.kind == "fn" or settings.cvar_max is None)]  # fmt: skip
        retry = None
        if unreachable and not diagnosis.rules_conflict:
            instance = _relaxed_instance(problem.instance, unreachable)
            retry = Problem(problem.label, instance, solve(instance, options=settings.solver))
        if retry is not None and retry.solution.status != "infeasible":
            answered.append(retry)
            relaxations += [
                Relaxation(problem.label, c.label, c.kind, c.limit, c.any_cost, c.any_cost * (1 + RELAX_TOLERANCE))
                for c in unreachable
            ]
        else:
            answered.append(problem)
            diagnoses[problem.label] = diagnosis
        progress(stage, i + 1, len(problems))
    return answered, relaxations, diagnoses


def _status(problems: list[Problem]) -> str:
    statuses = {p.solution.status for p in problems}
    if "infeasible" in statuses:
        return "infeasible"
    if "time_limit" in statuses:
        return "time_limit"
    return "optimal"


def _chosen(world: World, problems: list[Problem]) -> dict[int, list[int]]:
    """World sector index -> chosen option indices."""
    chosen: dict[int, list[int]] = {}
    for problem in problems:
        x = problem.solution.x
        assert x is not None
        for s, sector in enumerate(problem.instance.sector_ids):
            chosen[world.sector_ids.index(sector)] = [int(j) for j in np.flatnonzero(x[s])]
    return chosen


def optimize(
    world: World,
    settings: Settings | None = None,
    progress: Progress | None = None,
    sample: EventSample | None = None,
    **changes: object,
) -> OptimizationResult:
    """The most cost-effective countermeasure portfolio(s) under the acceptable-risk bars.

    ``settings`` (or keyword changes to the defaults, e.g. ``mode="sector",
    sector="finance", budget=5e9``) say what to do; see :class:`Settings`. ``sample``
    reuses engine years already drawn (``settings.years`` and ``seed`` are then those of
    the sample). Raises :class:`~riskmodel.errors.InputError` for bad settings.
    """
    settings = replace(settings or Settings(), **changes)  # type: ignore[arg-type]
    settings.check(world)
    report = progress or (lambda stage, done, total: None)
    posterior = PosteriorDraws.read(world, settings.posterior) if settings.posterior is not None else None
    if posterior is not None:
        check_saa(posterior, settings.years)
    if sample is None:
        sample = draw_events(world, settings.years, settings.seed, settings.threads, partial(report, "drawing years"),
                             block_inputs=posterior.block_inputs(None) if posterior is not None else None)  # fmt: skip
    report("building", 0, 1)
    full = build_instance(world, sample)
    report("building", 1, 1)
    pairs = problems_of(full, settings)
    problems = _solve_all(pairs, settings, report, "solving")
    problems, relaxed, diagnoses = _answer_unreachable(problems, settings, report, "unreachable bars")
    status = _status(problems)
    result = OptimizationResult(world, settings, status, problems, diagnoses=diagnoses, relaxed=relaxed,
                                posterior=posterior)  # fmt: skip
    if settings.mode == "society":
        # Like for like: the partial optimum faces the very constraints of society's problem
        # (its total budget and bar, each sector's bars, F-N line and budget) but each sector
        # counts only what its operators bear (the own layer). Society's optimum is then never
        # worse in social cost on these years, and the difference is the price of the
        # externalities alone. Without a total budget or bar the sectors decouple and each
        # is optimised alone.
        own = [("partial", pairs[0][1].replace(counted_layers=OWN_LAYERS))]
        alone = _solve_all(own, settings, report, "solving partial")
        result.partial, partial_relaxed, _ = _answer_unreachable(alone, settings, report, "partial bars")
        result.relaxed += partial_relaxed
    if status == "infeasible":
        return result
    if not result.has_portfolio:
        return result
    _evaluate(result, world, settings, report)
    if posterior is not None:
        _robustness(result, posterior, report)
    return result


def solve_at(world: World, settings: Settings, report: Progress) -> list[Problem]:
    """The mode's problems on ``settings.years`` years of ``world`` (seed ``settings.seed``),
    solved, with unreachable scenario bars relaxed as in :func:`optimize`."""
    sample = draw_events(world, settings.years, settings.seed, settings.threads, partial(report, "drawing years"))
    pairs = problems_of(build_instance(world, sample), settings)
    problems = _solve_all(pairs, settings, report, "solving at the posterior means")
    return _answer_unreachable(problems, settings, report, "unreachable bars")[0]


def _robustness(result: OptimizationResult, posterior: PosteriorDraws, report: Progress) -> None:
    """The portfolio chosen at the posterior means, and both portfolios judged per draw on
    the same fresh years (:mod:`riskmodel.optimize.robust`)."""
    world, settings = result.world, result.settings
    result.posterior_mean = solve_at(posterior.mean_world(), settings, report)
    if not all(p.solution.x is not None for p in result.posterior_mean):
        return  # no portfolio at the means: nothing to compare
    first = result.problems[0].instance
    sectors = [world.sector_ids.index(s) for p in result.problems for s in p.instance.sector_ids]
    # a sector is acceptable in a draw when it meets the bars asked for: the --cvar-max bar
    # that replaced its own (sector and partial modes), else the scenario's (never a relaxed one)
    user_bar = settings.cvar_max is not None and settings.mode != "society"
    rules = {s: world.scenario.sectors[s].acceptability for s in sectors}
    bars = {s: (settings.cvar_level, settings.cvar_max) if user_bar else (rule.cvar_level, rule.cvar_max)  # type: ignore[union-attr]
            for s, rule in rules.items()}  # fmt: skip
    judged = {}
    for label, problems in (("robust", result.problems), ("posterior_mean", result.posterior_mean)):
        judged[label] = per_draw(
            world, posterior, _chosen(world, problems), sectors, first.layer_weights(), bars, settings.fn,
            settings.eval_years, derived_seed(settings.seed, OUT_OF_SAMPLE_SEED), settings.threads,
            partial(report, f"{label.replace('_', '-')} portfolio across draws"),
        )  # fmt: skip
    names = [world.sector_ids[s] for s in sectors]
    result.robustness = robustness_table(judged["robust"], judged["posterior_mean"], names)


def saa_draws(result: OptimizationResult) -> int:
    """How many draws the SAA years took."""
    assert result.posterior is not None
    return min(result.posterior.n_draws, blocks_of(result.settings.years))


def _evaluate(result: OptimizationResult, world: World, settings: Settings, report: Progress) -> None:
    """Out of sample, optimality gap, frontier, per-measure figures, comparison."""
    problems = result.problems
    counted = problems[0].instance.counted_layers
    sectors = [world.sector_ids.index(s) for p in problems for s in p.instance.sector_ids]
    bars = {
        world.sector_ids.index(sector): (bar.level, bar.cvar_max)
        for p in problems
        for bar in p.instance.bars
        if len(bar.sectors) == 1
        for sector in [p.instance.sector_ids[bar.sectors[0]]]
    }
    result.out_of_sample = out_of_sample(
        world, _chosen(world, problems), sectors, counted, bars, settings.eval_years,
        derived_seed(settings.seed, OUT_OF_SAMPLE_SEED), settings.threads,
        partial(report, "out of sample"), result.posterior,
    )  # fmt: skip
    if settings.replications:
        seeds = [derived_seed(settings.seed, REPLICATION_SEED, g) for g in range(settings.replications)]
        result.gap = mrp_gap(
            world,
            lambda sample: [inst for _, inst in problems_of(build_instance(world, sample), settings)],
            [p.solution.x for p in problems],  # type: ignore[misc]
            settings.replications, settings.years, seeds, settings.solver, settings.threads,
            partial(report, "replications"), result.posterior,
        )  # fmt: skip
    frames, measures, bounds = [], [], []
    for i, problem in enumerate(problems):
        x = problem.solution.x
        assert x is not None
        if settings.frontier_points:
            level = frontier_level(problem.instance)
            step = partial(report, f"frontier of {problem.label}")
            frames.append(
                frontier(problem.instance, problem.label, settings.frontier_points, level, settings.solver, step)
            )
        measures.append(marginal(problem.instance, x))
        bounds.append(gordon_loeb(problem.instance, x))
        report("measures", i + 1, len(problems))
    result.frontier = pd.concat(frames, ignore_index=True) if frames else None
    result.measures = pd.concat(measures, ignore_index=True)
    result.gordon_loeb = pd.concat(bounds, ignore_index=True)
    if settings.mode == "society" and all(p.solution.x is not None for p in result.partial):
        society = problems[0]
        partial_x = np.concatenate([p.solution.x for p in result.partial])  # type: ignore[misc]
        result.comparison = comparison(society.instance, partial_x, society.solution.x)  # type: ignore[arg-type]
        report("externalities out of sample", 0, 1)
        result.externality = externality_price(
            world, _chosen(world, result.partial),
            float(sum(p.solution.evaluation.cost.sum() for p in result.partial)),  # type: ignore[union-attr]
            result.out_of_sample, float(society.solution.evaluation.cost.sum()), settings.threads,  # type: ignore[union-attr,arg-type]
            result.posterior,
        )  # fmt: skip
        report("externalities out of sample", 1, 1)
    if settings.mode == "society" and settings.instruments:
        society = problems[0]
        result.instruments = instruments_table(
            world, society.instance, society.solution.x, settings.solver, settings.eval_years,  # type: ignore[arg-type]
            derived_seed(settings.seed, OUT_OF_SAMPLE_SEED), settings.threads, report,
        )  # fmt: skip
