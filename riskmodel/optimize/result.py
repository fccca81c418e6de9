"""What a solve returns, and the options it takes: shared by the direct formulation
(:mod:`.solve`) and the decomposition (:mod:`.decompose`)."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.optimize.evaluate import Evaluation, bar_losses, chain_values
from riskmodel.optimize.instance import Instance
from riskmodel.optimize.milp import Goal


class VerificationError(RuntimeError):
    """The solver's portfolio fails a rule or a bar, or its objective does not match the
    evaluator's: a solver or model fault, never reported as a result."""


@dataclass(frozen=True)
class SolverOptions:
    """Which solver, the relative gap at which it may stop, a time limit, and threads (1
    by default: the same answer on every run)."""

    solver: str = "highs"
    gap: float = 1e-4
    time_limit: float | None = None
    threads: int = 1


@dataclass(frozen=True)
class Solution:
    """A solved (or proven infeasible) model, verified.

    ``status``: ``optimal`` (proven within the requested gap), ``time_limit`` (stopped
    early; ``x`` is the best portfolio found, if any) or ``infeasible``. ``objective`` is
    the goal's value of ``x`` from the evaluator and ``bound`` the solver's proven lower
    bound, both in yen a year (or a ratio for an F-N goal).
    """

    status: str
    x: np.ndarray | None
    evaluation: Evaluation | None
    objective: float
    bound: float
    gap: float
    build_seconds: float
    solve_seconds: float
    stats: dict[str, int]


def goal_value(instance: Instance, x: np.ndarray, evaluation: Evaluation, goal: Goal) -> float:
    """The evaluator's value of what ``goal`` minimises (of the portfolio ``x``)."""
    if goal.kind == "total":
        value = goal.price * float(evaluation.cost.sum()) + float(evaluation.counted.sum())
        if goal.tail:
            years, weights = (np.array(a) for a in zip(*goal.tail, strict=True))
            losses = bar_losses(instance, x, chain_values(instance, x), tuple(range(instance.n_sectors)))
            value += float(weights @ losses[years])
        return value
    if goal.kind == "cost":
        return float(evaluation.cost.sum())
    if goal.kind == "cvar":
        return float(evaluation.cvar[goal.index])
    return float(evaluation.fn_ratio[goal.index])
