"""Optimize suite: the portfolio MILP's formulations and how far the society problem scales.

Figures (see README.md for what each means and why it has its goal):

1. time to the proven optimum (HiGHS, relative gap 1e-6) for one sector at 1,000 engine
   years with the full catalogue and a binding CVaR bar, for the compact formulation as
   ``riskmodel optimize`` solves it (risk rows generated lazily), the compact formulation
   with every CVaR row, and the naive one (a loss variable and a row per event per year);
   the naive / compact ratio, and a check that all three reach the same objective;
2. the joint society problem (all critical sectors under one total budget and a binding
   bar on society's total annual loss) at 100 to 5,000 SAA years: the time to a proven
   0.5% gap of the decomposition (as ``riskmodel optimize`` solves it) beside the direct
   MILP (``solve(..., decompose=False)``), each with a time limit.

Timings include building the PuLP model, the solve and the numpy verification; the
engine years and the SAA instance are built once beforehand and are not timed.
"""

from __future__ import annotations

import argparse
import os
import time
from dataclasses import dataclass
from functools import partial
from typing import Any

import numpy as np

from benchmarks.common import Figure, check, info, interleaved_best, load_average, log, print_table, write_json
from riskmodel.optimize.analysis import total_cvar
from riskmodel.optimize.build import build_instance, build_instance_and_events
from riskmodel.optimize.instance import OWN_LAYERS, Bar, Instance
from riskmodel.optimize.sample import draw_events
from riskmodel.optimize.solve import Solution, SolverOptions, solve
from riskmodel.world import World, load_world

HELP = "Portfolio MILP: compact against naive formulation, and the society problem from 100 to 5,000 years"
SEED = 20240601
RATIO_GOAL = 20.0  # naive / compact time to the proven optimum
SECTOR_GAP = 1e-6  # "proven optimum" for figure 1
SOCIETY_GAP = 5e-3  # figure 2: the proven relative gap asked of both methods
SOCIETY_SIZES = (100, 500, 1000, 2000, 5000)  # figure 2's SAA years
TARGET_YEARS = 2000  # figure 2's goal: from this size on, the gap within --society-limit
BAR_FACTOR = 0.6  # figure 1: the CVaR bar, as a share of the CVaR of the optimum without it
BUDGET_FACTOR = 0.5  # figure 2: the total budget, as a share of the unbudgeted optimum's spend
SOCIETY_BAR_FACTOR = 0.95  # figure 2: society's bar, as a share of the CVaR of the budget-only optimum


@dataclass(frozen=True)
class Settings:
    """How much work each part does; ``--quick`` shrinks all of it for a smoke test."""

    quick: bool
    repeats: int
    sector: str
    years: int
    naive_limit: float
    part: str
    society_sizes: tuple[int, ...]
    society_limit: float
    direct_limit: float
    society_gap: float

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        quick = bool(args.quick)
        return cls(
            quick=quick,
            repeats=args.repeats or 1,
            sector=args.sector,
            years=args.years or (200 if quick else 1000),
            naive_limit=args.naive_limit,
            part=args.part,
            society_sizes=tuple(args.society_years or ((50, 100) if quick else SOCIETY_SIZES)),
            society_limit=args.society_limit or (60.0 if quick else 600.0),
            direct_limit=args.direct_limit or (60.0 if quick else 600.0),
            society_gap=SOCIETY_GAP,
        )


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's own options (``--quick`` and ``--json`` are shared by all suites)."""
    parser.add_argument(
        "--repeats",
        type=int,
        metavar="N",
        help="interleaved rounds of figure 1 (default 1: the naive solve takes 20 minutes)",
    )
    parser.add_argument("--sector", default="finance", help="sector of figure 1 (default finance: most events)")
    parser.add_argument("--years", type=int, metavar="N", help="engine years of figure 1 (default 1000)")
    parser.add_argument(
        "--naive-limit", type=float, default=1200.0, metavar="S", help="time limit of a naive solve (default 1200 s)"
    )
    parser.add_argument(
        "--part",
        choices=("all", "formulations", "society"),
        default="all",
        help="run figure 1, figure 2 or both (default)",
    )
    parser.add_argument(
        "--society-years", type=int, nargs="+", metavar="N", help="sizes of figure 2 (default 100 500 1000 2000 5000)"
    )
    parser.add_argument(
        "--society-limit", type=float, metavar="S", help="time limit of the decomposition in figure 2 (default 600 s)"
    )
    parser.add_argument("--direct-limit", type=float, metavar="S",
                        help="time limit of the direct MILP in figure 2 (default 600 s)")  # fmt: skip


def sector_problem(world: World, settings: Settings) -> tuple[Instance, Any, float]:
    """The sector's instance (own losses, F-N lines off, its bar made binding) and its events."""
    sample = draw_events(world, settings.years, SEED)
    s = world.sector_ids.index(settings.sector)
    instance, events = build_instance_and_events(world, sample, [s])
    instance = instance.replace(counted_layers=OWN_LAYERS, fn_imposed=False)
    free = solve(instance, bars=False, options=SolverOptions(gap=SECTOR_GAP))
    assert free.evaluation is not None
    bar = BAR_FACTOR * float(free.evaluation.cvar[0])
    level = instance.bars[0].level
    return instance.replace(bars=(Bar(settings.sector, (0,), level, bar),)), events, bar


def bench_formulations(world: World, settings: Settings) -> tuple[list[Figure], dict[str, Any]]:
    """Figure 1."""
    log(f"figure 1: {settings.sector}, {settings.years:,} years, bar at {BAR_FACTOR} x the CVaR of its free optimum")
    instance, events, bar = sector_problem(world, settings)
    exact = SolverOptions(gap=SECTOR_GAP)
    cases = {
        "compact_lazy": partial(solve, instance, options=exact),
        "compact_all_rows": partial(solve, instance, options=exact, lazy=False),
        "naive": partial(solve, instance, options=SolverOptions(gap=SECTOR_GAP, time_limit=settings.naive_limit),
                         events=events),
    }  # fmt: skip
    log(f"figure 1: {events.matrix.shape[0]:,} events; {settings.repeats} interleaved round(s) of 3 cases")
    timings = interleaved_best(cases, settings.repeats)
    results: dict[str, Solution] = timings.results
    best = timings.best
    naive_done = results["naive"].status == "optimal"
    objectives = [r.objective for r in results.values() if np.isfinite(r.objective)]  # a stopped naive: its best
    spread = (max(objectives) - min(objectives)) / abs(min(objectives)) if objectives else np.nan
    stats = {name: r.stats for name, r in results.items()}
    note = "" if naive_done else f"naive stopped at its {settings.naive_limit:.0f} s limit: the ratio is a lower bound"
    figures = [
        info("compact, lazy risk rows (as riskmodel optimize): time to optimum", best["compact_lazy"], "s",
             f"{stats['compact_lazy'].get('cvar_rows', 0)} CVaR rows, {stats['compact_lazy'].get('rounds')} rounds"),
        info("compact, every CVaR row: time to optimum", best["compact_all_rows"], "s",
             f"{stats['compact_all_rows'].get('cvar_rows', 0)} CVaR rows"),
        info("naive, a row per event per year: time to optimum", best["naive"], "s",
             f"{stats['naive'].get('event_rows', 0):,} event rows, {stats['naive'].get('cvar_rows', 0)} CVaR rows"),
        check("naive / compact (lazy)", best["naive"] / best["compact_lazy"], "x", ">=", RATIO_GOAL, note),
        info("naive / compact (every CVaR row)", best["naive"] / best["compact_all_rows"], "x"),
        check("objectives agree (relative spread)", spread, "", "<=", 1e-6),
    ]  # fmt: skip
    raw = {
        "sector": settings.sector,
        "years": settings.years,
        "bar": bar,
        "rounds": timings.rounds,
        "objectives": {name: r.objective for name, r in results.items()},
        "statuses": {name: r.status for name, r in results.items()},
        "stats": stats,
    }
    return figures, raw


@dataclass(frozen=True)
class SocietyRun:
    """One size of figure 2 by one method."""

    years: int
    method: str  # decomposition (as riskmodel optimize solves it) or direct (one MILP)
    status: str
    gap: float
    objective: float
    bound: float
    seconds: float
    stats: dict[str, int]


def society_problem(world: World, years: int, limit: float, gap: float) -> Instance:
    """The coupled society problem on ``years`` engine years: every critical sector,
    every layer counted, F-N lines off, a total budget of BUDGET_FACTOR x the unbudgeted
    optimum's spend and a bar on society's CVaR 0.99 at SOCIETY_BAR_FACTOR x that of the
    budget-only optimum, so both bind."""
    sample = draw_events(world, years, SEED)
    full = build_instance(world, sample).replace(fn_imposed=False)
    options = SolverOptions(gap=gap, time_limit=limit)
    free = solve(full, options=options)
    assert free.evaluation is not None
    budgeted = full.replace(budget_total=BUDGET_FACTOR * float(free.evaluation.cost.sum()))
    first = solve(budgeted, options=options)
    assert first.x is not None
    bar = Bar("society", tuple(range(full.n_sectors)), 0.99, SOCIETY_BAR_FACTOR * total_cvar(full, first.x, 0.99))
    return budgeted.replace(bars=(*budgeted.bars, bar))


def society_runs(problem: Instance, settings: Settings) -> list[SocietyRun]:
    """Figure 2 at one size: the decomposition, then the direct MILP (time-limited)."""
    runs = []
    for method, limit in (("decomposition", settings.society_limit), ("direct", settings.direct_limit)):
        start = time.perf_counter()
        options = SolverOptions(gap=settings.society_gap, time_limit=limit)
        solution = solve(problem, options=options, decompose=method == "decomposition")
        seconds = time.perf_counter() - start
        runs.append(
            SocietyRun(problem.years, method, solution.status, solution.gap, solution.objective, solution.bound,
                       seconds, solution.stats)
        )  # fmt: skip
        log(f"figure 2: {problem.years:,} years, {method}: {solution.status}, gap {solution.gap:.3%}, {seconds:.1f} s")
    return runs


def bench_society(world: World, settings: Settings) -> tuple[list[Figure], dict[str, Any]]:
    """Figure 2: time to the gap against the SAA years, decomposition beside the direct MILP."""
    runs: list[SocietyRun] = []
    sectors, options = len(world.critical_sectors), world.catalogue.n_options
    for years in settings.society_sizes:
        log(f"figure 2: society, {years:,} years x {sectors} sectors x {options} options")
        problem = society_problem(world, years, settings.society_limit, settings.society_gap)
        runs.extend(society_runs(problem, settings))
    figures = []
    for r in runs:
        done = r.status == "optimal"
        note = f"{r.status}, gap {r.gap:.3%}" if np.isfinite(r.gap) else f"{r.status}, no portfolio found"
        if r.method == "decomposition":
            note += f", {r.stats.get('rounds')} rounds, {r.stats.get('columns')} columns, {r.stats.get('cuts')} cuts"
        name = f"society {r.years:,} years, {r.method}: time to {settings.society_gap:.1%}"
        limit = settings.society_limit if r.method == "decomposition" else settings.direct_limit
        if r.method == "decomposition" and r.years >= TARGET_YEARS:
            figures.append(check(name, r.seconds if done else None, "s", "<=", settings.society_limit, note))
        else:
            figures.append(info(name, r.seconds if done else None, "s", note if done else f"{note} at {limit:.0f} s"))
    print_scaling(runs, settings.society_gap)
    raw = {"runs": [vars(r) for r in runs], "sectors": sectors, "options": options}
    return figures, raw


def print_scaling(runs: list[SocietyRun], gap: float) -> None:
    """The scaling table: per size, each method's time and status, and the gap it proved."""
    print(f"\nsociety problem, time to a proven {gap:.1%} gap (10 sectors x full catalogue, budget and bar binding)")
    print(f"{'years':>6}  {'decomposition':>32}  {'direct MILP':>32}")
    for years in sorted({r.years for r in runs}):
        cells = []
        for method in ("decomposition", "direct"):
            r = next(r for r in runs if r.years == years and r.method == method)
            gap = f"{r.gap:6.2%}" if np.isfinite(r.gap) else "no portfolio"
            cells.append(f"{r.seconds:7.1f} s {r.status:>10} {gap}")
        print(f"{years:>6}  {cells[0]:>32}  {cells[1]:>32}")


def run(args: argparse.Namespace) -> int:
    """Run the whole suite, print the table and optionally write the JSON; returns the exit code."""
    settings = Settings.from_args(args)
    started = time.perf_counter()
    log(f"load average at start: {load_average()} ({os.cpu_count()} CPUs; solves use one thread)")
    world = load_world()
    first, first_raw = bench_formulations(world, settings) if settings.part in ("all", "formulations") else ([], {})
    second, second_raw = bench_society(world, settings) if settings.part in ("all", "society") else ([], {})
    figures = first + second
    elapsed = time.perf_counter() - started
    log(f"load average at end: {load_average()}")
    print_table(f"optimize benchmarks ({'quick' if settings.quick else 'full'} run, {elapsed:.0f} s)", figures)
    if args.json is not None:
        raw = {"formulations": first_raw, "society": second_raw, "elapsed_seconds": elapsed}
        write_json(args.json, "optimize", vars(settings), figures, raw)
        print(f"results written to {args.json}")
    return 0
