"""Instruments that close the gap: applied, each reproduces society's portfolio, and each
setting is the least one, checked by enumerating every portfolio of small instances."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.optimize import linprog
from test_optimize_milp import EXACT, all_portfolios, random_instance

from riskmodel.optimize.evaluate import evaluate, money_scale
from riskmodel.optimize.instance import ALL_LAYERS, OTHERS, OWN, OWN_LAYERS, USERS
from riskmodel.optimize.instruments import close_gap, least_share, least_subsidy
from riskmodel.optimize.solve import solve

SEEDS = range(12)


def sector_problems(seed: int):
    """Each sector of a random instance alone: society's problem (every layer) and its optimum."""
    instance = random_instance(seed).replace(counted_layers=ALL_LAYERS, liability=0.0)
    for s in range(instance.n_sectors):
        alone = instance.restrict([s])
        solution = solve(alone, options=EXACT)
        if solution.x is not None:
            yield instance, s, np.asarray(solution.x[0], dtype=bool)


def lines(own):
    """Every portfolio of a one-sector problem: its private part a (cost + own loss), its
    external part b (users + others) and whether it is feasible."""
    everyone = all_portfolios(own)
    evaluation = evaluate(own, everyone)
    a = evaluation.cost[:, 0] + evaluation.layers[:, OWN, 0]
    b = evaluation.layers[:, USERS, 0] + evaluation.layers[:, OTHERS, 0]
    return everyone[:, 0], a, b, evaluation.feasible


def test_layer_weights_count_what_the_operator_bears():
    instance = random_instance(3)
    own = instance.replace(counted_layers=OWN_LAYERS, liability=0.25)
    assert own.layer_weights().tolist() == [1.0, 0.25, 0.25]
    external = instance.layer_mean[[USERS, OTHERS]].sum(axis=0)
    assert np.allclose(own.counted_mean(), instance.layer_mean[OWN] + 0.25 * external)
    assert instance.replace(counted_layers=ALL_LAYERS).layer_weights().tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("seed", SEEDS)
def test_least_share_is_where_society_becomes_the_operators_optimum(seed):
    """Against enumeration: the least share is the largest crossing of the target's line
    with a feasible portfolio's line that beats it at share 0 (or 0 if none does)."""
    for instance, s, target in sector_problems(seed):
        own = instance.restrict([s]).replace(counted_layers=OWN_LAYERS)
        share = least_share(own, target, EXACT)
        x, a, b, feasible = lines(own)
        t = next(i for i in range(len(x)) if np.array_equal(x[i], target))
        beats = feasible & (a < a[t]) & (b > b[t])
        expected = max([0.0, *((a[t] - a[beats]) / (b[beats] - b[t]))])
        assert share == pytest.approx(expected, abs=1e-6)
        # at the share, no feasible portfolio beats the target
        assert np.all(a[t] + share * b[t] <= a[feasible] + share * b[feasible] + 1e-6 * abs(a[t]) + 1e-9)


@pytest.mark.parametrize("seed", SEEDS)
def test_least_subsidy_is_the_enumerated_linear_programme(seed):
    """Against the linear programme over every feasible competitor at once."""
    for instance, s, target in sector_problems(seed):
        own = instance.restrict([s]).replace(counted_layers=OWN_LAYERS)
        subsidy = least_subsidy(own, target, EXACT)
        x, a, _, feasible = lines(own)
        t = next(i for i in range(len(x)) if np.array_equal(x[i], target))
        chosen = np.flatnonzero(target)
        margin = EXACT.gap * abs(a[t]) + 1e-12 * money_scale(own)
        rivals = feasible & ~np.all(x == target, axis=1) & (a < a[t] + margin)
        rows = ~x[rivals][:, chosen]
        lp = linprog(np.ones(chosen.size), A_ub=-rows.astype(float), b_ub=-(a[t] - a[rivals] + margin),
                     bounds=[(0, own.cost[0, j]) for j in chosen], method="highs")  # fmt: skip
        if lp.status == 2 or (rows.shape[0] and not rows.any(axis=1).all()):
            assert subsidy is None
            continue
        assert subsidy is not None
        # the cutting planes stop once the solver picks the target, which may be by less than
        # the margin the enumerated programme asks of every rival
        assert subsidy.sum() == pytest.approx(lp.fun, rel=1e-6, abs=2 * margin)


@pytest.mark.parametrize("seed", SEEDS)
def test_applied_instruments_reproduce_society(seed):
    """The issue's test: applying the liability share or the subsidy reproduces society's
    portfolio; the standard's response is the operators' optimum with society's measures
    mandatory."""
    for instance, s, target in sector_problems(seed):
        gap = close_gap(instance, s, target, EXACT)
        by_kind = {a.kind: a for a in gap.applied}
        assert by_kind["liability"].reproduces and by_kind["subsidy"].reproduces
        assert 0.0 <= by_kind["liability"].liability <= 1.0
        standard = by_kind["standard"]
        own = instance.restrict([s]).replace(counted_layers=OWN_LAYERS)
        mandatory = own.mandatory.copy()
        mandatory[0, np.unique(own.option_measure[target])] = True
        x, a, _, feasible = lines(own.replace(mandatory=mandatory))
        assert standard.x is not None
        best = a[feasible].min()
        assert a[np.all(x == standard.x, axis=1)][0] == pytest.approx(best, rel=1e-7)
        if np.array_equal(gap.own, target):
            assert by_kind["liability"].liability == 0.0 and by_kind["subsidy"].subsidy.sum() == 0.0


def test_some_instances_have_a_gap():
    """The checks above are not vacuous: several sectors' own optima differ from society's."""
    gaps = 0
    for seed in SEEDS:
        for instance, s, target in sector_problems(seed):
            own = solve(instance.restrict([s]).replace(counted_layers=OWN_LAYERS), options=EXACT).x
            gaps += own is not None and not np.array_equal(own[0], target)
    assert gaps >= 3
