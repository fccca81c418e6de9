"""Solving a model with HiGHS or CBC, reading each solver's own status and gap, and
re-verifying the answer before calling it optimal.

PuLP's own status is not enough: it reports "Optimal" for a CBC run that stopped at its
time limit, and HiGHS's time-limit status maps to "Optimal" as well. So the status and
the gap come from the solver itself (``highspy.Highs`` kept by ``pulp.HiGHS``; CBC's log),
and then :func:`verify` recomputes everything from the chosen binaries alone with the
numpy evaluator: rules, budgets, bars and the objective, which must match the solver's.
"""

from __future__ import annotations

import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, replace
from functools import cache
from pathlib import Path

import highspy
import numpy as np
import pulp

from riskmodel.optimize.decompose import solve_coupled
from riskmodel.optimize.evaluate import (
    TOLERANCE,
    Evaluation,
    bar_losses,
    chain_values,
    evaluate,
    lower_quantile,
    money_scale,
)
from riskmodel.optimize.instance import EventLosses, Instance
from riskmodel.optimize.milp import TOTAL, Active, Goal, Model, build_model
from riskmodel.optimize.result import Solution, SolverOptions, VerificationError, goal_value

SOLVERS = ("highs", "cbc")
SEPARABLE = ("total", "cost")  # goals that are sums over sectors
ABSOLUTE_GAP = 1e-10  # in model units (objectives near 1): the relative gap decides
MIN_SOLVE_SECONDS = 0.01  # a time-limited loop stops rather than start a shorter solve
OBJECTIVE_TOLERANCE = 1e-5  # solver's objective against the evaluator's, relative to the instance's money scale


@dataclass(frozen=True)
class _Outcome:
    """What a solver says about its run, in model units."""

    status: str  # optimal, time_limit, infeasible
    has_solution: bool
    objective: float
    bound: float


@cache
def _quiet_highs() -> None:
    """HiGHS prints a banner on stdout when a process makes its first ``Highs`` object,
    before any option can silence it; make that first object with stdout pointed away."""
    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "w") as null:
            os.dup2(null.fileno(), 1)
            highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)


def _run_highs(model: Model, options: SolverOptions) -> _Outcome:
    _quiet_highs()
    solver = pulp.HiGHS(
        msg=False,
        gapRel=options.gap,
        gapAbs=ABSOLUTE_GAP,
        threads=options.threads,
        timeLimit=options.time_limit,
        mip_allow_restart=False,
    )  # HiGHS's own tolerances (1e-9 made it prune the best portfolio); no restart: HiGHS 1.16's
    # re-presolve after the root node returned a worse portfolio as optimal on a small model
    # with tangent cuts (tests/test_optimize_milp.py, frontier seed 10), which it solves right without
    model.problem.solve(solver)
    highs = model.problem.solverModel
    status = highs.getModelStatus()
    info = highs.getInfo()
    kinds = highspy.HighsModelStatus
    if status == kinds.kOptimal:
        return _Outcome("optimal", True, info.objective_function_value, info.mip_dual_bound)
    if status == kinds.kInfeasible:
        return _Outcome("infeasible", False, np.nan, np.nan)
    if status in (kinds.kTimeLimit, kinds.kInterrupt, kinds.kIterationLimit, kinds.kSolutionLimit):
        found = info.primal_solution_status == highspy.SolutionStatus.kSolutionStatusFeasible
        return _Outcome("time_limit", found, info.objective_function_value if found else np.nan, info.mip_dual_bound)
    raise RuntimeError(f"HiGHS stopped with status {highs.modelStatusToString(status)}")


_CBC_NUMBER = r"([-+0-9.eE]+)"


def _run_cbc(model: Model, options: SolverOptions) -> _Outcome:
    with tempfile.TemporaryDirectory() as folder:
        log = Path(folder) / "cbc.log"
        solver = pulp.COIN_CMD(
            path=pulp.PULP_CBC_CMD.pulp_cbc_path,
            msg=False,
            gapRel=options.gap,
            gapAbs=ABSOLUTE_GAP,
            threads=options.threads,
            timeLimit=options.time_limit,
            logPath=str(log),
        )
        model.problem.solve(solver)
        text = log.read_text(encoding="utf-8", errors="replace")
    return parse_cbc_log(text, options.time_limit is not None)


def _cbc_bound(text: str) -> float:
    """CBC's proven lower bound: the summary's ``Lower bound:`` line, else the last
    ``best possible`` of its search messages (Cbc0001I/Cbc0005I/Cbc0011I), else NaN."""
    bound = re.search(r"^Lower bound:\s+" + _CBC_NUMBER, text, re.MULTILINE)
    if bound:
        return float(bound.group(1))
    possible = re.findall(r"best possible " + _CBC_NUMBER, text)
    return float(possible[-1]) if possible else np.nan


def parse_cbc_log(text: str, time_limited: bool = False) -> _Outcome:
    """CBC's own verdict from its log: the ``Result -`` line, objective and lower bound.

    Without a ``Result -`` line CBC stopped before its search: infeasible if its first LP
    is ("Problem is infeasible"); else, under a time limit, the limit (its
    pre-processing, cut short, may say "infeasible", which proves nothing); else a fault
    (RuntimeError)."""
    result = re.search(r"^Result - (.*)$", text, re.MULTILINE)
    if result is None:
        if re.search(r"^Problem is infeasible", text, re.MULTILINE):  # its first LP: proven
            return _Outcome("infeasible", False, np.nan, np.nan)
        if time_limited:
            return _Outcome("time_limit", False, np.nan, np.nan)
        raise RuntimeError(f"CBC ended without a verdict: {text.strip().splitlines()[-1:]}")
    verdict = result.group(1).lower()
    if "infeasible" in verdict:
        return _Outcome("infeasible", False, np.nan, np.nan)
    objective = re.search(r"^Objective value:\s+" + _CBC_NUMBER, text, re.MULTILINE)
    value = float(objective.group(1)) if objective else np.nan
    if verdict.startswith("optimal solution found"):
        bound = _cbc_bound(text)
        return _Outcome("optimal", True, value, value if np.isnan(bound) else bound)
    if verdict.startswith("stopped"):
        found = objective is not None and "no feasible solution" not in text.lower()
        return _Outcome("time_limit", found, value, _cbc_bound(text))
    raise RuntimeError(f"CBC ended with an unexpected verdict: {result.group(1)}")


def _breaches(instance: Instance, evaluation: Evaluation, bars: bool) -> list[str]:
    """The rules, budgets and (with ``bars``) risk bars a portfolio breaks."""
    problems = []
    if not evaluation.rules_ok.all():
        problems.append("a catalogue rule or mandatory measure")
    if not evaluation.budget_ok:
        problems.append("a budget")
    if bars and not evaluation.bars_ok.all():
        problems.append("a CVaR bar")
    if bars and not evaluation.fn_ok.all():
        problems.append("an F-N line")
    return problems


def verify(instance: Instance, model: Model, outcome: _Outcome, bars: bool) -> tuple[np.ndarray, Evaluation]:
    """Recompute the solver's portfolio with the evaluator; raise VerificationError if it
    breaks a rule, a budget or (with ``bars``) a bar, or if the objectives differ."""
    x = model.portfolio()
    evaluation = evaluate(instance, x)
    problems = _breaches(instance, evaluation, bars)
    mine = goal_value(instance, x, evaluation, model.goal)
    scale = 1.0 if model.goal.kind == "fn" else money_scale(instance)
    theirs = outcome.objective * (1.0 if model.goal.kind == "fn" else model.unit)
    if not abs(mine - theirs) <= OBJECTIVE_TOLERANCE * max(abs(mine), scale):
        problems.append(f"the objective ({mine:.10g} evaluated, {theirs:.10g} by the solver)")
    if problems:
        raise VerificationError(f"the solver's portfolio breaks {', '.join(problems)}")
    return x, evaluation


def _solve_model(
    instance: Instance, goal: Goal, bars: bool, options: SolverOptions, events: EventLosses | None
) -> Solution:
    """Build, solve and verify one model."""
    start = time.perf_counter()
    model = build_model(instance, goal, bars, events)
    built = time.perf_counter()
    outcome = (_run_highs if options.solver == "highs" else _run_cbc)(model, options)
    solved = time.perf_counter()
    bound = outcome.bound * (1.0 if goal.kind == "fn" else model.unit)
    if not outcome.has_solution:
        return Solution(outcome.status, None, None, np.nan, bound, np.nan, built - start, solved - built, model.stats)
    x, evaluation = verify(instance, model, outcome, bars)
    objective = goal_value(instance, x, evaluation, goal)
    gap = max(0.0, objective - bound) / max(abs(objective), 1e-12) if np.isfinite(bound) else np.nan
    return Solution(outcome.status, x, evaluation, objective, bound, gap, built - start, solved - built, model.stats)


def _violated(instance: Instance, x: np.ndarray, evaluation: Evaluation, active: Active) -> Active:
    """The active rows plus those the portfolio breaks: for a bar above its limit, the
    years of its tail, ``T = {y: L_y(x) >= VaR(x)}``; for the F-N lines, the grid rows
    above their line.

    ``T`` is enough for progress: it holds at least ``(1 - beta) S`` years, so with its
    rows the RU function of ``x`` over the active years has slope <= 0 below ``VaR(x)``
    and equals the full one above it; the model's CVaR of ``x`` is then the true one,
    above the bar, and ``x`` is cut off. Adding only ``T`` (not every year above the
    model's RU threshold) keeps the models small: a year's row brings its groups of
    blockable events with it."""
    years = dict(active.years)
    w = chain_values(instance, x)
    for b in np.flatnonzero(~np.atleast_1d(evaluation.bars_ok)):
        bar = instance.bars[b]
        losses = bar_losses(instance, x, w, bar.sectors)
        var = float(lower_quantile(losses, bar.level))
        years[int(b)] = np.union1d(years.get(int(b), []), np.flatnonzero(losses >= var)).astype(np.int64)
    ratio = (instance.fn_rows @ w) / instance.fn_limit if instance.fn_imposed else np.zeros(0)
    rows = np.union1d(active.fn_rows, np.flatnonzero(ratio > 1.0 + TOLERANCE)).astype(np.int64)
    return Active(years, rows)


def _time_left(options: SolverOptions, start: float) -> SolverOptions | None:
    """``options`` with the time limit that remains since ``start``; None once less than
    MIN_SOLVE_SECONDS remain (a solve that short proves nothing and some solvers then
    misreport: CBC's cut-short pre-processing can say "infeasible")."""
    if options.time_limit is None:
        return options
    left = options.time_limit - (time.perf_counter() - start)
    return replace(options, time_limit=left) if left >= MIN_SOLVE_SECONDS else None


def _lazy(instance: Instance, goal: Goal, options: SolverOptions) -> Solution:
    """Constraint generation for the risk rows: solve with none, add the CVaR years and
    F-N rows the solution breaks, solve again, until it breaks none.

    Every model in the sequence holds a subset of the full model's rows, so it is a
    relaxation: its proven bound is a bound of the full problem, and a solution that
    meets every bar (checked by the evaluator on all years) is the full optimum within the
    same gap. The first round is the problem without bars, which often suffices; when a
    bar binds, only the years near its tail ever get a row.
    """
    active = Active({}, np.zeros(0, dtype=np.int64))
    start = time.perf_counter()
    built = solved = 0.0
    rounds = 0
    while True:
        rounds += 1
        left = _time_left(options, start)
        if left is None:  # out of time between rounds, with a portfolio that breaks a bar
            return Solution("time_limit", None, None, np.nan, np.nan, np.nan, built, solved, {"rounds": rounds})
        clock = time.perf_counter()
        model = build_model(instance, goal, True, None, active)
        built += time.perf_counter() - clock
        clock = time.perf_counter()
        outcome = (_run_highs if options.solver == "highs" else _run_cbc)(model, left)
        solved += time.perf_counter() - clock
        stats = {**model.stats, "rounds": rounds}
        bound = outcome.bound * model.unit
        if not outcome.has_solution:
            return Solution(outcome.status, None, None, np.nan, bound, np.nan, built, solved, stats)
        x, evaluation = verify(instance, model, outcome, bars=False)
        if bool(evaluation.feasible):
            objective = goal_value(instance, x, evaluation, goal)
            gap = max(0.0, objective - bound) / max(abs(objective), 1e-12)
            return Solution(outcome.status, x, evaluation, objective, bound, gap, built, solved, stats)
        if outcome.status == "time_limit":  # out of time with a portfolio that breaks a bar
            return Solution("time_limit", None, None, np.nan, bound, np.nan, built, solved, stats)
        grown = _violated(instance, x, evaluation, active)
        unchanged = np.array_equal(grown.fn_rows, active.fn_rows) and all(
            np.array_equal(grown.years[b], active.years.get(b, [])) for b in grown.years
        )
        if unchanged:
            raise VerificationError("a bar is broken although all its rows are in the model")
        active = grown


def independent_parts(instance: Instance) -> list[list[int]]:
    """Groups of sectors whose problems share nothing: no total budget and no bar spans
    two groups. Every chain belongs to one sector (its failures' losses depend only on
    its own measures), so without coupling the problem splits exactly by sector."""
    if np.isfinite(instance.budget_total):
        return [list(range(instance.n_sectors))]
    group = list(range(instance.n_sectors))

    def root(s: int) -> int:
        while group[s] != s:
            s = group[s]
        return s

    for bar in instance.bars:
        for s in bar.sectors[1:]:
            group[root(s)] = root(bar.sectors[0])
    parts: dict[int, list[int]] = {}
    for s in range(instance.n_sectors):
        parts.setdefault(root(s), []).append(s)
    return list(parts.values())


def _solve_parts(
    instance: Instance, parts: list[list[int]], goal: Goal, bars: bool, options: SolverOptions
) -> Solution:
    """Solve independent parts one by one and put the portfolio back together."""
    solutions = []
    start = time.perf_counter()
    for part in parts:
        left = _time_left(options, start)
        if left is None:
            break
        solutions.append(solve(instance.restrict(part), goal, bars, left, decompose=False))
    stats: dict[str, int] = {"parts": len(parts)}
    for solution in solutions:
        for key, value in solution.stats.items():
            stats[key] = stats.get(key, 0) + value
    build = sum(s.build_seconds for s in solutions)
    solving = sum(s.solve_seconds for s in solutions)
    bound = float(sum(s.bound for s in solutions)) if len(solutions) == len(parts) else np.nan
    statuses = {s.status for s in solutions}
    if "infeasible" in statuses or len(solutions) < len(parts) or any(s.x is None for s in solutions):
        status = "infeasible" if "infeasible" in statuses else "time_limit"
        return Solution(status, None, None, np.nan, bound, np.nan, build, solving, stats)
    x = np.zeros((instance.n_sectors, instance.n_options), dtype=bool)
    for part, solution in zip(parts, solutions, strict=True):
        x[part] = solution.x
    evaluation = evaluate(instance, x)
    problems = _breaches(instance, evaluation, bars)
    if problems:
        raise VerificationError(f"the assembled portfolio breaks {', '.join(problems)}")
    objective = goal_value(instance, x, evaluation, goal)
    gap = max(0.0, objective - bound) / max(abs(objective), 1e-12)
    status = "optimal" if statuses == {"optimal"} else "time_limit"
    return Solution(status, x, evaluation, objective, bound, gap, build, solving, stats)


def _coupled(instance: Instance, goal: Goal, bars: bool, options: SolverOptions, lazy: bool) -> Solution:
    """Sectors coupled by a total budget or a bar over several sectors: column
    generation (:mod:`.decompose`), each sector's pricing problem solved as its own
    MILP. Where the Lagrangian bound cannot prove the requested gap (its columns are
    exhausted first, on small instances), the joint MILP finishes within the time left,
    and the better portfolio and the higher bound of the two are kept."""
    start = time.perf_counter()
    relaxed = instance if bars else instance.replace(bars=(), fn_imposed=False)

    def sector(part: Instance, sector_goal: Goal, sector_options: SolverOptions) -> Solution:
        return solve(part, sector_goal, True, sector_options, lazy=lazy, decompose=False)

    priced = solve_coupled(relaxed, goal, options, sector)
    result = priced
    if priced.status == "exhausted":
        left = _time_left(options, start)
        if left is None:
            result = replace(priced, status="time_limit")
        else:
            direct = solve(instance, goal, bars, left, lazy=lazy, decompose=False)
            better = direct if direct.x is not None and not direct.objective > priced.objective else priced
            bound = np.nanmax([direct.bound, priced.bound])
            gap = max(0.0, better.objective - bound) / max(abs(better.objective), 1e-12)
            status = "optimal" if better.x is not None and gap <= options.gap else direct.status
            stats = {**priced.stats, **{f"direct_{k}": v for k, v in direct.stats.items()}}
            result = replace(
                better,
                status=status,
                bound=bound,
                gap=gap if better.x is not None else np.nan,
                build_seconds=priced.build_seconds + direct.build_seconds,
                solve_seconds=priced.solve_seconds + direct.solve_seconds,
                stats=stats,
            )
    if result.x is None or bars:
        return result
    return replace(result, evaluation=evaluate(instance, result.x))  # figures of the bars dropped for the solve


def solve(
    instance: Instance,
    goal: Goal = TOTAL,
    bars: bool = True,
    options: SolverOptions | None = None,
    events: EventLosses | None = None,
    lazy: bool = True,
    decompose: bool = True,
) -> Solution:
    """Build, solve and verify the model of ``instance`` for ``goal``.

    ``bars=False`` drops the CVaR bars and F-N lines (rules and budgets stay). Two exact
    shortcuts: with ``decompose`` a problem whose sectors share no budget or bar is
    solved sector by sector (a joint branch-and-bound over independent parts closes its
    gap far more slowly), and a ``total`` goal whose sectors do share a budget or a bar
    by pricing the coupling (:func:`_coupled`); with ``lazy`` the risk rows are
    generated as needed (:func:`_lazy`). ``events`` selects the naive formulation
    (benchmark only; no shortcuts). ``decompose=False`` solves a coupled problem as one
    MILP: the reference the decomposition is tested and benchmarked against.
    """
    options = options or SolverOptions()
    if options.solver not in SOLVERS:
        raise ValueError(f"unknown solver {options.solver!r}; expected one of {SOLVERS}")
    if events is not None:
        return _solve_model(instance, goal, bars, options, events)
    if decompose and goal.kind in SEPARABLE:
        parts = independent_parts(instance)
        if len(parts) > 1:
            return _solve_parts(instance, parts, goal, bars, options)
        if goal.kind == "total" and instance.n_sectors > 1:
            return _coupled(instance, goal, bars, options, lazy)
    if bars and lazy and goal.kind in SEPARABLE:
        return _lazy(instance, goal, options)
    return _solve_model(instance, goal, bars, options, None)
