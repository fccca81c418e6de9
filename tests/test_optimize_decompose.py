"""The decomposition of coupled society problems against brute force and the direct MILP.

Instances are the random ones of tests/test_optimize_milp.py (up to 12 binaries, a total
budget or a society bar on some); enumeration with the numpy evaluator gives the true
optimum. The decomposition must bracket it with its proven bound and its verified
portfolio, and ``solve`` (which finishes with the direct MILP where the bound cannot close
the gap) must reach it.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from test_optimize_milp import EXACT, all_portfolios, enumerate_best, random_instance

from riskmodel.optimize.decompose import coupled_bars, solve_coupled, tail_weights
from riskmodel.optimize.evaluate import bar_losses, chain_values, cvar, evaluate
from riskmodel.optimize.instance import Instance
from riskmodel.optimize.milp import Goal
from riskmodel.optimize.result import goal_value
from riskmodel.optimize.solve import solve


def coupled_instances() -> list[int]:
    """Seeds of random instances with two sectors sharing a budget or a binding society bar."""
    seeds = []
    for seed in range(60):
        instance = random_instance(seed)
        if instance.n_sectors > 1 and (math.isfinite(instance.budget_total) or coupled_bars(instance)):
            seeds.append(seed)
    return seeds


COUPLED = coupled_instances()


def sector_solver(part: Instance, goal: Goal, options) -> object:
    return solve(part, goal, True, options, decompose=False)


def test_there_are_coupled_instances_of_every_kind():
    kinds = {"budget": 0, "bar": 0, "infeasible": 0}
    for seed in COUPLED:
        instance = random_instance(seed)
        kinds["budget"] += math.isfinite(instance.budget_total)
        kinds["bar"] += bool(coupled_bars(instance))
        kinds["infeasible"] += enumerate_best(instance)[0] is None
    assert min(kinds.values()) >= 3, kinds


@pytest.mark.parametrize("seed", COUPLED)
def test_decomposition_brackets_the_enumerated_optimum(seed):
    """Its bound is at most the optimum, its portfolio is feasible and at least the
    optimum, and within the gap it claims; ``infeasible`` only when nothing is."""
    instance = random_instance(seed)
    best, _ = enumerate_best(instance)
    solution = solve_coupled(instance, Goal(), EXACT, sector_solver)
    if solution.status == "infeasible":
        assert best is None
        return
    if best is None:
        assert solution.x is None
        return
    assert solution.bound <= best * (1 + 1e-9) + 1e-12
    if solution.x is not None:
        assert bool(evaluate(instance, solution.x).feasible)
        assert solution.objective >= best * (1 - 1e-9)
        assert solution.objective - solution.bound <= solution.gap * abs(solution.objective) * (1 + 1e-9) + 1e-12
    if solution.status == "optimal":
        assert solution.objective <= best * (1 + 1e-9)


@pytest.mark.parametrize("seed", COUPLED)
def test_solve_matches_the_direct_milp(seed):
    """The path riskmodel optimize takes (decomposition, then the direct MILP if needed)
    and the direct MILP alone reach the same optimum and status."""
    instance = random_instance(seed)
    priced = solve(instance, options=EXACT)
    direct = solve(instance, options=EXACT, decompose=False)
    assert priced.status == direct.status
    if direct.x is not None:
        assert abs(priced.objective - direct.objective) <= 1e-6 * abs(direct.objective)


@pytest.mark.parametrize("seed", range(8))
def test_tail_goal_equals_enumeration(seed):
    """A ``total`` goal with year weights (the pricing problem) reaches the enumerated
    minimum of price x cost + counted loss + sum_y weight_y L_y."""
    instance = random_instance(seed).restrict([0])
    rng = np.random.default_rng(seed)
    years = rng.choice(instance.years, size=5, replace=False)
    goal = Goal(
        "total", price=float(rng.uniform(0.5, 3.0)), tail=tuple((int(y), float(rng.uniform(0, 0.2))) for y in years)
    )
    everyone = all_portfolios(instance)
    evaluation = evaluate(instance, everyone)
    losses = bar_losses(instance, everyone, chain_values(instance, everyone), (0,))
    values = goal.price * evaluation.cost.sum(axis=-1) + evaluation.counted.sum(axis=-1)
    values = values + losses[:, [y for y, _ in goal.tail]] @ np.array([w for _, w in goal.tail])
    feasible = evaluation.feasible
    solution = solve(instance, goal, options=EXACT)
    if not feasible.any():
        assert solution.status == "infeasible"
        return
    best = float(values[feasible].min())
    assert solution.status == "optimal"
    assert abs(solution.objective - best) <= 1e-6 * abs(best)
    x = solution.x
    assert abs(goal_value(instance, x, evaluate(instance, x), goal) - solution.objective) <= 1e-9 * abs(best)


@pytest.mark.parametrize("n", [1, 7, 100, 333, 1000])
@pytest.mark.parametrize("level", [0.9, 0.95, 0.99, 0.995])
def test_tail_weights_give_the_cvar(n, level):
    """The cut of the sorted tail is the CVaR's dual: a distribution whose weights stay
    under 1 / ((1 - level) n), and the CVaR of the losses it was sorted on."""
    losses = np.random.default_rng(n).lognormal(0.0, 1.5, n)
    q = tail_weights(losses, level)
    assert abs(q.sum() - 1.0) <= 1e-12
    assert np.all(q >= 0) and np.all(q <= 1.0 / ((1.0 - level) * n) + 1e-15)
    assert abs(q @ losses - float(cvar(losses, level))) <= 1e-12 * float(cvar(losses, level))
