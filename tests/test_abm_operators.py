"""Operators' decisions and attackers' adaptation: beliefs, objective, lags, spin-up,
outside option, measure fatigue; and the agreement of operators with the optimiser.

Decision tests run one investment round on the same draws in both arms (the round's
draws come from one stream whatever is decided), so a comparison between arms is exact
rather than statistical; tests of random mechanisms use binomial or Poisson standard
errors.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pytest
from abm_helpers import only, with_abm

from riskmodel.abm import investment
from riskmodel.abm.beliefs import Beliefs, shared_evidence
from riskmodel.abm.choices import LossWeights, evaluate_changes
from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.abm.valuation import limited_ratio
from riskmodel.measures import no_measures
from riskmodel.overrides import overrides_from
from riskmodel.schema import SHARED_GROUPS
from riskmodel.schema import Beliefs as BeliefSettings
from riskmodel.world import with_overrides

OWN = {"start.enabled": False}  # a decision round from nothing in place, unless a test says otherwise


def operators(**levers) -> dict:
    """Levers for operators alone (no other mechanism), ``a__b`` for ``a.b`` under
    ``operators`` unless the name starts with another table."""
    chosen = only("operators")
    for key, value in {**OWN, **levers}.items():
        path = key.replace("__", ".")
        chosen[path if path.split(".")[0] in ("fatigue", "attackers") else f"operators.{path}"] = value
    return chosen


def round_of(world, seed: int = 0, in_place=None, **levers) -> CriticalInfrastructureModel:
    """A model after one investment round (no days run)."""
    model = CriticalInfrastructureModel(with_abm(world, operators(**levers)), in_place, fiscal_years=0, seed=seed)
    model._decide(model.rng)
    return model


def adopted(model) -> int:
    return int(model.in_place.sum())


# --- beliefs ---------------------------------------------------------------------------------


def test_a_belief_update_is_the_gamma_poisson_posterior():
    settings = BeliefSettings(prior_shape=4.0, shared_reach=0.25, memory=1.0, assumption="test")
    beliefs = Beliefs(settings, (1, 2))
    beliefs.observe(np.array([[3.0, 0.0]]), np.array([[2.0, 1.0]]), np.array([[4.0, 0.0]]), np.array([[8.0, 0.0]]))
    # shape 4 + 3 own + 4 shared; rate 4 + 2 own + 0.25 * 8 shared
    np.testing.assert_allclose(beliefs.multiplier(), [[11.0 / 8.0, 4.0 / 5.0]])


def test_beliefs_recover_a_known_rate_multiplier():
    """Twenty years of Poisson counts at twice the public rate (exposure 1.5 a year): the
    posterior mean's expectation is ``(4 + 2 * 30) / (4 + 30)``, the data's 2 shrunk to
    the prior's 1 by the prior's weight; across 200 operators the mean of the posterior
    means comes within 4 standard errors of it."""
    settings = BeliefSettings(prior_shape=4.0, shared_reach=0.25, memory=1.0, assumption="test")
    rng = np.random.default_rng(5)
    exposure = np.full((200, 1), 1.5)
    beliefs = Beliefs(settings, exposure.shape)
    nothing = np.zeros_like(exposure)
    for _ in range(20):
        beliefs.observe(rng.poisson(2.0 * exposure).astype(float), exposure, nothing, nothing)
    seen = 20 * 1.5
    expected = (4.0 + 2.0 * seen) / (4.0 + seen)
    se = math.sqrt(2.0 * seen) / (4.0 + seen) / math.sqrt(exposure.size)
    assert np.mean(beliefs.multiplier()) == pytest.approx(expected, abs=4 * se)


def test_only_members_hear_shared_incidents_and_not_of_themselves():
    sector = np.array([0, 0, 0, 1])
    member = np.array([True, True, False, True])
    shared = np.array([[5.0], [7.0]])
    expected = np.array([[1.0], [2.0], [4.0], [3.0]])
    counts, exposure = shared_evidence(sector, member, shared, expected)
    np.testing.assert_array_equal(counts[:, 0], [5.0, 5.0, 0.0, 7.0])
    np.testing.assert_array_equal(exposure[:, 0], [2.0, 1.0, 0.0, 0.0])


def test_operators_decide_on_what_they_believe_and_the_switch_gives_the_true_rates(japan):
    model = CriticalInfrastructureModel(with_abm(japan, operators()), fiscal_years=0, seed=0)
    np.testing.assert_allclose(model.decision_rates(), model.public_rates())  # the prior's mean
    model.beliefs.alpha[:] *= 2.0
    np.testing.assert_allclose(model.decision_rates(), 2.0 * model.public_rates())
    known = CriticalInfrastructureModel(with_abm(japan, operators(beliefs__enabled=False)), fiscal_years=0, seed=0)
    np.testing.assert_array_equal(known.decision_rates(), known.operator_rates())


def test_members_learn_from_shared_incidents_and_others_do_not(japan):
    """A year with no failures of their own, with and without incidents shared in finance:
    the shared ones raise the finance members' beliefs and no one else's."""

    def learnt(shared: float) -> tuple[np.ndarray, np.ndarray]:
        model = CriticalInfrastructureModel(with_abm(japan, operators()), fiscal_years=0, seed=0)
        finance = japan.operators.sector == japan.sector_ids.index("finance")
        model.member[:] = finance & (np.arange(len(japan.operators)) % 2 == 0)
        model.shared_counts[japan.sector_ids.index("finance")] = shared
        model._learn()
        return model.beliefs.multiplier(), model.member

    quiet, member = learnt(0.0)
    told, _ = learnt(50.0)
    assert (told[member] > quiet[member]).all()
    np.testing.assert_array_equal(told[~member], quiet[~member])
    assert (quiet < 1.0).all()  # a year without failures lowers every belief


def test_operators_count_their_own_failures_by_threat(japan):
    model = CriticalInfrastructureModel(with_abm(japan, operators()), fiscal_years=1, seed=0)
    for _ in range(364):  # the year's end would learn and start counting again
        model.step()
    counts = model.op_threat_failures
    np.testing.assert_array_equal(model.sector_sums(counts), model.fy_true)
    np.testing.assert_array_equal(counts.sum(axis=1), model.op_failures[:, 0])


# --- the objective ---------------------------------------------------------------------------


@pytest.mark.parametrize(("liability", "weights"), [(0.0, (1.0, 0.0, 0.0)), (1.0, (1.0, 1.0, 1.0))])
def test_with_only_liability_the_objective_is_the_optimisers_loss(japan, liability, weights):
    """One meaning of the operator's own loss: the own layer (optimize.instance.OWN_LAYERS,
    what ``optimize --partial`` counts) at liability 0, society's loss at liability 1."""
    levers = {"liability_share": liability, "reputation_revenue_share": 0.0, "penalty_revenue_share": 0.0,
              "risk_aversion": 0.0}  # fmt: skip
    model = CriticalInfrastructureModel(with_abm(japan, operators(**levers)), fiscal_years=0, seed=0)
    rows = np.arange(len(japan.operators))
    rng = np.random.default_rng(1)
    in_place = rng.random((3, *model.in_place.shape)) < 0.2
    rates = model.operator_rates()
    own = model.objective()(japan, model.values, rates, in_place, rows)
    expected = LossWeights(*weights)(japan, model.values, rates, in_place, rows)
    np.testing.assert_allclose(own, expected, rtol=1e-12)


def test_the_limited_loss_ratio_matches_its_definition(japan):
    x, g = limited_ratio(japan)
    assert (np.diff(g, axis=1) >= -1e-15).all()  # E[min(R, x)] grows with x
    assert (g <= x[None, :] + 1e-15).all()
    np.testing.assert_array_equal(g[:, 0], 0.0)
    model = CriticalInfrastructureModel(with_abm(japan, operators()), fiscal_years=0, seed=0)
    mean_ratio = model.values.own / japan.operators.revenue[:, None]
    np.testing.assert_allclose(g[:, -1], mean_ratio[0], rtol=1e-9)  # E[min(R, 1)] = E[R]


def test_reputation_and_liability_raise_adoption(japan):
    none = round_of(japan, liability_share=0.0, reputation_revenue_share=0.0)
    both = round_of(japan, liability_share=0.5, reputation_revenue_share=0.02)
    assert adopted(both) > adopted(none)


def test_risk_aversion_raises_adoption(japan):
    assert adopted(round_of(japan, risk_aversion=50.0)) > adopted(round_of(japan, risk_aversion=0.0))


def test_full_cover_without_deductible_lowers_adoption_and_a_rated_premium_raises_it(japan):
    base = {"insurance__enabled": True, "insurance__cover": 1.0, "insurance__deductible_revenue_share": 0.0,
            "risk_aversion": 0.0}  # fmt: skip
    uninsured = round_of(japan, risk_aversion=0.0)
    flat = round_of(japan, **base)
    rated = round_of(japan, **base, insurance__rated=True)
    assert adopted(flat) < adopted(uninsured)  # moral hazard
    assert adopted(rated) > adopted(flat)


def test_penalties_make_compliance_pay(japan):
    """Every recommended measure made mandatory, no budget limit: an operator complies with
    what pays for it, so the more a lacking measure costs in penalties, the more comply."""

    def compliance(penalty: float) -> float:
        model = CriticalInfrastructureModel(
            with_abm(
                japan, operators(penalty_revenue_share=penalty, compliance_probability=1.0, budget_revenue_share=1.0)
            ),
            fiscal_years=0,
        )
        model.mandatory[:] = model.recommended  # every recommended measure mandatory
        model._decide(model.rng)
        held = model.held() & model.mandatory[japan.operators.sector]
        return held.sum() / model.mandatory[japan.operators.sector].sum()

    assert compliance(0.0) < compliance(0.001) < compliance(0.05)


def test_the_budget_cap_binds_when_it_is_small(japan):
    share = 2e-5
    model = round_of(japan, budget_revenue_share=share)
    spend = (model.option_cost * model.in_place).sum(axis=1)
    budget = share * japan.operators.revenue
    assert (spend <= budget * (1 + 1e-12)).all()
    cheapest = model.option_cost.min(axis=1)
    at_cap = spend + cheapest > budget  # nothing more fits
    assert at_cap.mean() > 0.5
    assert spend.sum() < 0.5 * (round_of(japan).option_cost * round_of(japan).in_place).sum()


# --- lags, fatigue, spin-up --------------------------------------------------------------------


def test_a_decided_measure_works_within_the_year_with_the_adoption_rate(japan):
    """A round's first pick: ready with probability p, independently: binomial count."""
    rate = 0.3
    model = CriticalInfrastructureModel(with_abm(japan, operators(adoption_rate=rate)), fiscal_years=0, seed=2)
    model.adoption_draws = model.rng.random(model.adoption_draws.shape)
    rows = np.arange(len(japan.operators))
    options = np.arange(japan.catalogue.n_options)
    changes = evaluate_changes(japan, model.values, model.decision_rates(), model.in_place, rows, options,
                               model.objective())  # fmt: skip
    ready = model.adoptable(changes).sum()
    model.adoption_draws[:] = 0.0
    worth = model.adoptable(changes).sum()
    assert worth > 100
    assert abs(ready - rate * worth) < 4 * math.sqrt(worth * rate * (1 - rate))


def test_measures_lapse_at_the_rate_their_half_life_gives(japan):
    """Level-1 options of measures with no prerequisites, at random: the count that lapses
    is binomial with the half-life's yearly probability."""
    half_life = 3.0
    levers = operators(fatigue__enabled=True, fatigue__half_life_years=half_life)
    model = CriticalInfrastructureModel(with_abm(japan, levers), fiscal_years=0)
    rng = np.random.default_rng(0)
    model.in_place[:] = False
    first = japan.catalogue.option_measure  # one option per measure with no prerequisites: level 1 only
    free = ~model.rules.requires.any(axis=1)
    chosen = np.array([k for k in range(japan.catalogue.n_options)
                       if free[first[k]] and k == model.rules.first_option[first[k]]])  # fmt: skip
    model.in_place[:, chosen] = rng.random((len(japan.operators), chosen.size)) < 0.5
    before = model.in_place.sum()
    model._wear(rng.random(model.in_place.shape))
    lapsed = before - model.in_place.sum()
    p = 1.0 - 0.5 ** (1.0 / half_life)
    assert abs(lapsed - p * before) < 4 * math.sqrt(before * p * (1 - p))


def test_a_very_long_half_life_is_no_fatigue(japan):
    def after(**levers) -> np.ndarray:
        model = CriticalInfrastructureModel(with_abm(japan, operators(**levers)), fiscal_years=0, seed=1)
        for _ in range(3):
            model._decide(model.rng)
        return model.in_place

    np.testing.assert_array_equal(after(fatigue__enabled=False),
                                  after(fatigue__enabled=True, fatigue__half_life_years=1e9))  # fmt: skip


def test_the_spin_up_lands_on_the_scenarios_incident_level(japan):
    model = CriticalInfrastructureModel(with_abm(japan, operators(start__enabled=True)), fiscal_years=0, seed=0)
    assert model.in_place.sum() > 0
    scenario = model.sector_sums(model.public_rates() / model.baseline[japan.operators.sector])
    expected = model.sector_sums(model.operator_rates() * model.measure_survive())
    np.testing.assert_allclose(expected, scenario, rtol=1e-9)
    assert (model.baseline >= 1.0 - 1e-12).all()  # measures only ever block


def _spun_up(world, monkeypatch, seed: int = 0) -> tuple[CriticalInfrastructureModel, list[tuple]]:
    """A spun-up model and every decision round of its spin-up: (rates it was decided at,
    measures before, measures after, its random generator before)."""
    rounds = []
    decide = investment.Investment._decide

    def recorded(model, rng):
        before, rates, draws = model.in_place.copy(), model.baseline.copy(), copy.deepcopy(rng)
        decide(model, rng)
        rounds.append((rates, before, model.in_place.copy(), draws))

    monkeypatch.setattr(investment.Investment, "_decide", recorded)
    model = CriticalInfrastructureModel(with_abm(world, operators(start__enabled=True)), fiscal_years=0, seed=seed)
    return model, rounds


def test_the_spin_up_ends_at_a_fixed_point(japan, monkeypatch):
    """The measures in place at FY2006 are what the operators decide, from the last spin-up
    year's start and with its draws, at the very rates that make those measures land on the
    scenario's incident level: deciding again at the final rates changes nothing."""
    model, rounds = _spun_up(japan, monkeypatch)
    years = japan.scenario.abm.operators.start.years
    assert model.spin_up_converged and len(rounds) == years - 1 + model.spin_up_rounds
    assert 2 <= model.spin_up_rounds < investment.FIXED_POINT_CAP  # the first round was not the fixed point
    rates, before, after, draws = rounds[-1]
    np.testing.assert_allclose(rates, model.baseline, rtol=investment.FIXED_POINT_TOLERANCE)
    np.testing.assert_array_equal(after, model.in_place)
    for _, start, _, _ in rounds[years - 1 :]:  # every round of the last year starts from the same measures
        np.testing.assert_array_equal(start, before)
    # once more at the final rates, from the year's start with the same draws: the same measures
    model.in_place = before.copy()
    model._decide(copy.deepcopy(draws))
    np.testing.assert_array_equal(model.in_place, after)
    level = model.sector_sums(model.public_rates() / model.baseline[japan.operators.sector])
    expected = model.sector_sums(model.operator_rates() * model.measure_survive())
    np.testing.assert_allclose(expected, level, rtol=1e-9)


def test_the_spin_ups_iteration_stops_at_its_cap(japan, monkeypatch):
    """With one round allowed the last year is decided once, as before the iteration: not
    converged, and FY2006 still lands on the scenario's level (the rescaling is exact)."""
    monkeypatch.setattr(investment, "FIXED_POINT_CAP", 1)
    model, rounds = _spun_up(japan, monkeypatch)
    assert model.spin_up_rounds == 1 and not model.spin_up_converged
    rates = rounds[-1][0]
    assert np.max(np.abs(rates / model.baseline - 1)) > 0.01  # decided at rates the rescaling then moved
    level = model.sector_sums(model.public_rates() / model.baseline[japan.operators.sector])
    expected = model.sector_sums(model.operator_rates() * model.measure_survive())
    np.testing.assert_allclose(expected, level, rtol=1e-9)


def test_a_portfolio_goes_on_top_of_the_spin_up_in_the_same_world(japan):
    levers = operators(start__enabled=True)
    plain = CriticalInfrastructureModel(with_abm(japan, levers), fiscal_years=0, seed=0)
    given = hardened_finance(japan)
    model = CriticalInfrastructureModel(with_abm(japan, levers), given, fiscal_years=0, seed=0)
    assert (model.in_place | ~given).all()  # everything given is in place
    np.testing.assert_array_equal(model.baseline, plain.baseline)  # the same rates before measures
    untouched = ~given.any(axis=1)
    np.testing.assert_array_equal(model.in_place[untouched], plain.in_place[untouched])


# --- attackers ---------------------------------------------------------------------------------


def test_attackers_leave_when_payoffs_fall_by_their_outside_option(japan):
    """Hardening finance after the start: with no outside option the attempts move to the
    other sectors (total conserved); with a full one, finance's lost attempts leave and
    no other sector gains."""
    finance = japan.sector_ids.index("finance")
    others = [s for s in japan.critical_sectors if s != finance]

    def attempts(outside: float, hardened: bool) -> np.ndarray:
        levers = {**only("attackers"), "attackers.outside_option": outside}
        model = CriticalInfrastructureModel(with_abm(japan, levers), fiscal_years=1, seed=0)
        if hardened:
            model.in_place[:] = hardened_finance(japan)
            model._set_protection()
        model.step()
        return model.attack_attempts

    for outside in (0.0, 1.0):
        plain, hard = attempts(outside, False), attempts(outside, True)
        assert hard[finance] < plain[finance]
        if outside == 0.0:
            np.testing.assert_allclose(hard.sum(), plain.sum(), rtol=1e-9)
            assert (hard[others] > plain[others]).all()
        else:
            np.testing.assert_allclose(hard[others], plain[others], rtol=1e-9)
            assert hard.sum() < plain.sum()


def hardened_finance(world) -> np.ndarray:
    in_place = no_measures(world)
    finance = world.operators.sector == world.sector_ids.index("finance")
    cat = world.catalogue
    for name in ("web_application_firewall", "vulnerability_management", "endpoint_protection", "access_control"):
        in_place[finance, np.flatnonzero(cat.option_measure == cat.measure_ids.index(name))[0]] = True
    return in_place


# --- agreement with the optimiser --------------------------------------------------------------

AS_THE_OPTIMISER = {
    "liability_share": 0.0,  # the own layer only, optimize.instance.OWN_LAYERS
    "reputation_revenue_share": 0.0,
    "penalty_revenue_share": 0.0,
    "risk_aversion": 0.0,
    "adoption_ratio": 1.0,
    "adoption_rate": 1.0,
    "budget_revenue_share": 1.0,  # no budget cap
    "beliefs__enabled": False,  # the true rates
    "fatigue__enabled": False,
}


def settled_operators(world) -> CriticalInfrastructureModel:
    """Operators with the optimiser's weights, investing round after round until nothing changes."""
    model = CriticalInfrastructureModel(with_abm(world, operators(**AS_THE_OPTIMISER)), fiscal_years=0, seed=0)
    for _ in range(20):
        before = model.in_place.copy()
        model._decide(model.rng)
        if np.array_equal(before, model.in_place):
            return model
    pytest.fail("the operators' choices did not settle")


def partial_optimum(world):
    """``optimize --partial`` with no CVaR bar or F-N line (the operators have none):
    the result and its portfolio as an ``in_place`` matrix."""
    from riskmodel.optimize import optimize

    result = optimize(world, mode="partial", fn=False, cvar_level=0.5, cvar_max=1e18, years=2000, seed=0,
                      eval_years=2000, replications=0, frontier_points=0)  # fmt: skip
    in_place = no_measures(world)
    for problem in result.problems:
        for s, sector_id in enumerate(problem.instance.sector_ids):
            rows = world.operators.sector == world.sector_ids.index(sector_id)
            in_place[np.ix_(rows, np.flatnonzero(problem.solution.x[s]))] = True
    errors = np.zeros(world.n_sectors)
    for row in result.out_of_sample.sectors.itertuples():
        errors[world.sector_ids.index(row.sector)] = row.se
    return in_place, errors


def own_cost(model, in_place: np.ndarray) -> np.ndarray:
    """``[operator]`` measures' cost plus expected own loss, yen a year."""
    rows = np.arange(len(model.world.operators))
    loss = LossWeights(1.0, 0.0, 0.0)(model.world, model.values, model.operator_rates(), in_place, rows)
    return loss + (model.option_cost * in_place).sum(axis=1)


@pytest.mark.slow
def test_operators_with_the_optimisers_weights_reproduce_its_partial_portfolios(japan):
    """With one operator per sector the operators' choice and the optimiser's are of the
    same thing. Operators who count what ``optimize --partial`` counts, know the true
    rates, have no budget cap and adopt at ratio 1 without lags or wear reach (greedy adds
    and drops, to a fixed point) the optimiser's cost + expected own loss in every sector
    within 3 of its sampling standard errors (the optimiser's choice is optimal for its
    2,000 sampled years, not for the expectation the operators use), and its very
    portfolio in most sectors (7 of the 10 at seed 0; the others differ by options worth
    less than that error)."""
    single = {f"sectors[id={japan.sector_ids[s]}].operators.count": 1 for s in japan.critical_sectors}
    single["sectors[id=electricity].operators.allocation"] = "population"
    groups = [(sector.id, name, getattr(sector, name)) for sector in japan.scenario.sectors for name in SHARED_GROUPS]
    single |= {f"sectors[id={sector}].{name}.members": 1 for sector, name, group in groups
               if group is not None and group.members is not None}  # fmt: skip
    world = with_overrides(japan, overrides_from(single))
    model = settled_operators(world)
    planner, error = partial_optimum(world)
    agents, optimum = model.sector_sums(own_cost(model, model.in_place)), model.sector_sums(own_cost(model, planner))
    critical = np.array(world.critical_sectors)
    assert (np.abs(agents - optimum)[critical] <= 3 * error[critical]).all()
    same = [bool(np.array_equal(model.in_place[s], planner[s])) for s in range(len(world.operators))]
    assert sum(same) >= len(critical) // 2


@pytest.mark.slow
def test_operators_choosing_alone_do_at_least_as_well_as_their_sectors_portfolio(japan):
    """In the scenario's world the optimiser gives all of a sector's operators one
    portfolio; operators choosing each their own (with the optimiser's weights) can only
    do better: per sector their cost + expected own loss is at most the optimiser's plus 3
    of its sampling standard errors, and at least 90% of them are at least as well off
    with their own choice as with their sector's (greedy choices are local optima)."""
    model = settled_operators(japan)
    planner, error = partial_optimum(japan)
    mine, theirs = own_cost(model, model.in_place), own_cost(model, planner)
    critical = np.array(japan.critical_sectors)
    assert (model.sector_sums(mine)[critical] <= model.sector_sums(theirs)[critical] + 3 * error[critical]).all()
    assert np.mean(mine <= theirs * (1 + 1e-9)) >= 0.9
