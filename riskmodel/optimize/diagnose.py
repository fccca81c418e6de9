"""Why no portfolio meets the bars: the lowest risk reachable, and which bar binds.

When a problem is infeasible the planner needs to know what *is* reachable: for each
bar that the unmitigated years break, the lowest CVaR (or F-N ratio, the largest ratio
of the curve to its line) any portfolio reaches within the budget and at any cost
(extra solves that minimise that risk, under the catalogue rules and mandatory
measures); whether the rules themselves conflict; and whether the mandatory measures
alone already exceed the budget.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from riskmodel.optimize.evaluate import cvar, evaluate
from riskmodel.optimize.instance import Instance
from riskmodel.optimize.milp import Goal
from riskmodel.optimize.solve import SolverOptions, solve


@dataclass(frozen=True)
class BarCheck:
    """One risk bar: its limit, its unmitigated value and the lowest values reachable."""

    label: str  # the bar's sector, or "society"
    kind: str  # "cvar" (yen) or "fn" (ratio of the F-N curve to its line)
    limit: float
    unmitigated: float
    within_budget: float  # nan when the budget admits no portfolio at all
    any_cost: float

    @property
    def verdict(self) -> str:
        if self.any_cost > self.limit * (1 + 1e-6):
            return "unreachable at any cost"
        if not self.within_budget <= self.limit * (1 + 1e-6):
            return "reachable only above the budget"
        return "reachable within the budget"


def _billions(yen: float) -> str:
    """Yen as billions to three significant digits (a small bar must not print as 0.0)."""
    if not math.isfinite(yen) or yen == 0:
        return f"{yen / 1e9:,.1f} bn yen"
    decimals = max(0, 2 - math.floor(math.log10(abs(yen) / 1e9)))
    return f"{yen / 1e9:,.{decimals}f} bn yen"


@dataclass(frozen=True)
class Diagnosis:
    """What makes a problem infeasible."""

    rules_conflict: bool  # the catalogue rules and mandatory measures admit no portfolio
    cheapest: float  # yen a year of the cheapest portfolio the rules admit
    budget_short: bool  # the budget is below that
    checks: tuple[BarCheck, ...]
    budgeted: bool  # the problem has a budget at all

    def binding(self) -> list[str]:
        """Plain sentences: what binds."""
        if self.rules_conflict:
            return ["the catalogue rules and the mandatory measures conflict: no portfolio satisfies them"]
        lines = []
        if self.budget_short:
            lines.append(f"budget: the mandatory measures alone cost {self.cheapest / 1e9:,.2f} bn yen a year")
        for check in self.checks:
            if check.kind == "cvar":
                what = f"CVaR bar {_billions(check.limit)}"
                values = [_billions(v) for v in (check.within_budget, check.any_cost)]
            else:
                what = "F-N line"
                values = [f"{v:.2f}x its line" for v in (check.within_budget, check.any_cost)]
            reach = f"{values[0]} within the budget, {values[1]} at any cost" if self.budgeted else values[1]
            if check.verdict != "reachable within the budget":
                lines.append(f"{check.label}: {what} {check.verdict}: lowest reachable {reach}")
        if not lines:
            lines.append("the bars together: each is reachable alone within the budget, but not all at once")
        return lines


def _lowest(instance: Instance, sectors: tuple[int, ...], goal: Goal, options: SolverOptions) -> float:
    """The lowest value of ``goal`` (a risk of ``sectors``) over the portfolios the rules
    and budgets admit. Without a total budget the other sectors cannot matter, so a
    sector's own risk is minimised on that sector alone."""
    if math.isinf(instance.budget_total) and len(sectors) < instance.n_sectors:
        instance = instance.restrict(list(sectors))  # one sector: its own bar is the only one left
        goal = Goal(goal.kind, 0)
    solution = solve(instance, goal=goal, bars=False, options=options)
    return solution.objective if solution.x is not None else math.nan


def diagnose(instance: Instance, options: SolverOptions) -> Diagnosis:
    """Explain an infeasible instance (see the module docstring)."""
    free = instance.replace(budget=np.full(instance.n_sectors, math.inf), budget_total=math.inf)
    cheapest = solve(free, goal=Goal("cost"), bars=False, options=options)
    budgeted = bool(np.isfinite(instance.budget).any() or np.isfinite(instance.budget_total))
    if cheapest.x is None:
        return Diagnosis(True, math.nan, False, (), budgeted)
    within = solve(instance, goal=Goal("cost"), bars=False, options=options)
    unmitigated = evaluate(instance, np.zeros((instance.n_sectors, instance.n_options), dtype=bool))
    checks = []
    for b, bar in enumerate(instance.bars):
        if cvar(instance.unmitigated_losses(bar.sectors), bar.level) <= bar.cvar_max:
            continue
        goal = Goal("cvar", b)
        reach = _lowest(instance, bar.sectors, goal, options) if within.x is not None else math.nan
        lowest = _lowest(free, bar.sectors, goal, options)
        checks.append(BarCheck(bar.label, "cvar", bar.cvar_max, float(unmitigated.cvar[b]), reach, lowest))
    for s, sector in enumerate(instance.sector_ids):
        if not instance.fn_imposed or unmitigated.fn_ratio[s] <= 1.0:
            continue
        goal = Goal("fn", s)
        reach = _lowest(instance, (s,), goal, options) if within.x is not None else math.nan
        lowest = _lowest(free, (s,), goal, options)
        checks.append(BarCheck(sector, "fn", 1.0, float(unmitigated.fn_ratio[s]), reach, lowest))
    return Diagnosis(False, cheapest.objective, within.x is None, tuple(checks), budgeted)
