"""The SAA model against the engine: same measure algebra, same losses, same risk figures.

Checks on the default scenario: the chains reproduce ``protection()``'s multipliers and,
event by event, the engine's residual losses (exactly for linear events, from above for
the bounded ones); the SAA's expected loss of a portfolio agrees with the engine's mean
on the same years within standard errors (expected thinning is unbiased); with no
measures the SAA's CVaR and F-N verdicts are the engine's. Then the duration credit
of trips events, mandatory measures and a plainly reported infeasible sector.
"""

from __future__ import annotations

import copy
import math
import tomllib

import numpy as np
import pytest

from riskmodel.engine.kernels import trips_share
from riskmodel.engine.simulate import simulate
from riskmodel.measures import protection
from riskmodel.metrics import FN_BINS_PER_DECADE, fn_curve, fn_exceeds
from riskmodel.optimize import optimize
from riskmodel.optimize.build import build_instance, build_instance_and_events, duration_credit
from riskmodel.optimize.diagnose import diagnose
from riskmodel.optimize.evaluate import bar_losses, chain_values, cvar, evaluate
from riskmodel.optimize.instance import OTHERS, OWN, OWN_LAYERS, USERS, Bar
from riskmodel.optimize.sample import draw_events
from riskmodel.optimize.solve import SolverOptions, solve
from riskmodel.portfolio import in_place_matrix
from riskmodel.scenario import default_scenario_path
from riskmodel.schema import Scenario
from riskmodel.world import build_world

YEARS, SEED = 800, 21


@pytest.fixture(scope="module")
def japan(japan_at_priors):
    """The default scenario at its prior rates (see conftest): a finance F-N line out of
    the catalogue's reach and externalities large enough to change society's choice, the
    cases these tests need."""
    return japan_at_priors


@pytest.fixture(scope="module")
def sample(japan):
    return draw_events(japan, YEARS, SEED)


@pytest.fixture(scope="module")
def full(japan, sample):
    return build_instance(japan, sample)


def random_portfolio(instance, rng, share=0.35):
    return rng.random((instance.n_sectors, instance.n_options)) < share


def factor_value(instance, x_sector, name):
    """prod_j (1 - e_j x_j) of the factor that multiplies ``name`` (1 if no option acts on it)."""
    for f, names in enumerate(instance.factor_names):
        if name in names.split("|"):
            return float(np.prod(1.0 - instance.factors[f] * x_sector))
    return 1.0


def test_factors_are_the_engines_multipliers(japan, full):
    rng = np.random.default_rng(1)
    x = random_portfolio(full, rng)
    sectors = [japan.sector_ids.index(s) for s in full.sector_ids]
    prot = protection(japan, in_place_matrix(japan, {s: list(np.flatnonzero(x[i])) for i, s in enumerate(sectors)}))
    share = japan.threats.detection_share
    for i, s in enumerate(sectors):
        o = int(np.flatnonzero(japan.operators.sector == s)[0])
        value = {
            name: factor_value(full, x[i], name) for name in ("duration", "detection", "depth", "cascade", "direct")
        }
        for h, threat in enumerate(japan.threat_ids):
            duration = value["duration"] * (1 - share[h] + share[h] * value["detection"])
            assert prot.survive[o, h] == pytest.approx(factor_value(full, x[i], f"survive:{threat}"), rel=1e-12)
            assert prot.duration[o, h] == pytest.approx(duration, rel=1e-12)
            assert prot.direct[o, h] == pytest.approx(duration * value["depth"] * value["direct"], rel=1e-12)
        assert prot.depth[o] == pytest.approx(value["depth"], rel=1e-12)
        assert prot.cascade[o] == pytest.approx(value["cascade"], rel=1e-12)


def test_chains_give_each_events_expected_residual_loss(japan, sample, full):
    """Layer by layer, the SAA's expected loss is the sum over events of survive x the
    engine's residual loss: equal for linear events; for trips services an upper bound
    (their exact residual is computed here from the kernel's formula) below the value
    that credits no duration measure at all."""
    rng = np.random.default_rng(2)
    x = random_portfolio(full, rng, share=0.5)
    sectors = [japan.sector_ids.index(s) for s in full.sector_ids]
    prot = protection(japan, in_place_matrix(japan, {s: list(np.flatnonzero(x[i])) for i, s in enumerate(sectors)}))
    saa = evaluate(full, x).layers
    events = sample.events
    o, h, s = events.operator, events.threat, events.sector
    keep = prot.survive[o, h]
    duration = events.duration_hours * prot.duration[o, h]
    hours = japan.service_hours[s]
    trips = japan.service_kind[s] == 1
    users_factor = np.where(trips, trips_share(duration, hours) / trips_share(events.duration_hours, hours),
                            prot.duration[o, h])  # fmt: skip
    exact = {
        OWN: keep * events.own * prot.direct[o, h],
        USERS: keep * events.users * prot.depth[o] * users_factor,
        OTHERS: keep * events.others * prot.depth[o] * prot.cascade[o] * prot.duration[o, h],
    }
    for i, sector in enumerate(sectors):
        mine = s == sector
        for layer, values in exact.items():
            engine = values[mine].sum() / sample.years
            if layer == USERS and trips[mine].any():
                no_credit = (keep * events.users * prot.depth[o])[mine].sum() / sample.years
                assert engine * (1 - 1e-12) <= saa[layer, i] <= no_credit * (1 + 1e-12)
            else:
                assert saa[layer, i] == pytest.approx(engine, rel=1e-9), (full.sector_ids[i], layer)


def _engine_and_saa_years(japan, full, x):
    """[sector] the engine's annual losses on the SAA's years under portfolio ``x``, and the
    SAA's (its own blocking coins, the expected values of the linear effects)."""
    sectors = [japan.sector_ids.index(s) for s in full.sector_ids]
    in_place = in_place_matrix(japan, {s: list(np.flatnonzero(x[i])) for i, s in enumerate(sectors)})
    ylt = simulate(japan, in_place, years=YEARS, seed=SEED, ylt=True).ylt
    engine = ylt.pivot(index="year", columns="sector", values="total")
    w = chain_values(full, x)
    return [(engine[s].to_numpy(), bar_losses(full, x, w, (i,))) for i, s in enumerate(full.sector_ids)]


def test_saa_expected_loss_matches_the_engine_on_the_same_years(japan, full):
    """With common random numbers the engine's years under a portfolio are the SAA's
    years with each event kept or dropped by the engine's coins; the SAA keeps or drops it
    by its own coins with the same chances. Paired over years, the difference has mean 0
    (two-sided, 4 SE) where every event is linear, and is never in the engine's favour
    elsewhere (one-sided)."""
    x = random_portfolio(full, np.random.default_rng(3), share=0.5)
    for i, (engine, saa) in enumerate(_engine_and_saa_years(japan, full, x)):
        difference = saa - engine
        se = difference.std(ddof=1) / math.sqrt(YEARS)
        assert se > 0
        assert difference.mean() > -4 * se, full.sector_ids[i]
        if full.bounded_share[i] == 0:
            assert difference.mean() < 4 * se, full.sector_ids[i]


def test_saa_cvar_matches_the_engine_on_the_same_years(japan, full):
    """The SAA's tail is the engine's, not that of expected-thinned years (whose CVaR is
    lower, by Jensen): the CVaR_0.9 of each sector's SAA years under a portfolio equals the
    engine's on the same years within 4 standard errors of the difference, estimated by a
    paired bootstrap over years (seeded); never lower where the SAA bounds a loss."""
    x = random_portfolio(full, np.random.default_rng(4), share=0.5)
    rng = np.random.default_rng(5)
    resample = rng.integers(0, YEARS, size=(400, YEARS))
    for i, (engine, saa) in enumerate(_engine_and_saa_years(japan, full, x)):
        difference = float(cvar(saa, 0.9) - cvar(engine, 0.9))
        se = np.std(cvar(saa[resample], 0.9) - cvar(engine[resample], 0.9), ddof=1)
        assert se > 0
        assert difference > -4 * se, full.sector_ids[i]
        if full.bounded_share[i] == 0:
            assert difference < 4 * se, full.sector_ids[i]


def test_unmitigated_risk_figures_are_the_engines(japan, full):
    """With no measures the SAA's CVaR of each sector's annual loss is the engine's (the
    sketch's bins hold 0.1%); its F-N ratio is the engine's curve against the line one bin
    further out than fn_exceeds draws it (persons of a mitigated event may fall anywhere
    in a bin), so an F-N line the SAA accepts, fn_exceeds accepts."""
    result = simulate(japan, years=YEARS, seed=SEED)
    none = evaluate(full, np.zeros((full.n_sectors, full.n_options), dtype=bool))
    for i, sector in enumerate(full.sector_ids):
        s = japan.sector_ids.index(sector)
        rule = japan.scenario.sectors[s].acceptability
        assert none.cvar[i] == pytest.approx(result.aggregate.tvar(rule.cvar_level, s), rel=2e-3)
        persons, frequency = fn_curve(result.fn_counts[s], YEARS)
        beyond = persons * 10.0 ** (2.0 / FN_BINS_PER_DECADE)  # one bin above the upper edge
        judged = (beyond > rule.fn_min_persons) & (frequency > 0)
        ratio = np.max(frequency[judged] * beyond[judged] ** rule.fn_exponent / rule.fn_constant, initial=0.0)
        assert none.fn_ratio[i] == pytest.approx(ratio, rel=1e-12)
        if none.fn_ok[i]:  # the SAA's line is the stricter one
            assert not fn_exceeds(result.fn_counts[s], YEARS, rule)


@pytest.mark.parametrize("seed", range(5))
def test_duration_credit_bounds_trips_losses(seed):
    """``g(m) <= alpha m + 1 - alpha`` on a fine grid of m, and no larger alpha would do."""
    rng = np.random.default_rng(seed)
    n = 400
    duration = rng.lognormal(2.5, 1.2, n)
    hours = rng.choice([8.0, 16.0, 19.0, 24.0], n)
    m_min = rng.uniform(0.05, 0.9, n)
    alpha = duration_credit(duration, hours, m_min)
    grid = np.linspace(0.0, 1.0, 2001)
    m = m_min[:, None] + (1.0 - m_min[:, None]) * grid[None, :]
    g = trips_share(m * duration[:, None], hours[:, None]) / trips_share(duration, hours)[:, None]
    assert np.all(g <= alpha[:, None] * m + 1.0 - alpha[:, None] + 1e-12)
    tighter = np.minimum(alpha + 1e-3, 1.0)
    broken = np.any(g > tighter[:, None] * m + 1.0 - tighter[:, None] + 1e-12, axis=1)
    assert np.all(broken | (alpha > 1.0 - 1e-3))
    assert np.all(alpha[duration <= hours] > 1.0 - 1e-12)  # exact (g(m) = m) within a service day


def scenario_with_mandatory(measures: list[str]):
    doc = tomllib.loads(default_scenario_path().read_text(encoding="utf-8"))
    doc = copy.deepcopy(doc)
    next(m for m in doc["ministries"] if m["id"] == "fsa")["mandatory"] = measures
    return build_world(Scenario.model_validate(doc))


def test_mandatory_measures_are_fixed_on():
    world = scenario_with_mandatory(["staff_training", "backup_site"])
    result = optimize(world, mode="sector", sector="finance", fn=False, years=150, eval_years=200,
                      replications=0, frontier_points=0)  # fmt: skip
    assert result.status == "optimal"
    chosen = result.portfolio()["finance"]
    assert "staff_training" in chosen
    assert any(m.startswith("backup_site") for m in chosen)
    free = optimize(scenario_with_mandatory([]), mode="sector", sector="finance", fn=False, years=150,
                    eval_years=200, replications=0, frontier_points=0)  # fmt: skip
    assert not any(m.startswith("backup_site") for m in free.portfolio()["finance"])
    assert result.objective >= free.objective


def test_mandatory_measures_over_the_budget_are_named():
    world = scenario_with_mandatory(["backup_site"])
    result = optimize(world, mode="sector", sector="finance", fn=False, budget=1e6, years=100)
    assert result.status == "infeasible" and not result.has_portfolio
    binding = result.diagnoses["finance"].binding()
    assert any(line.startswith("budget: the mandatory measures alone cost") for line in binding), binding


def test_an_unreachable_fn_line_is_relaxed_to_the_lowest_reachable_ratio(japan):
    """Finance's F-N line cannot be met with the catalogue at any cost (the engine, with
    every measure in place, agrees): the diagnosis finds the lowest ratio reachable, and the
    answer is the cheapest portfolio within 1% of it."""
    result = optimize(japan, mode="sector", sector="finance", years=300, replications=0, frontier_points=0,
                      eval_years=300)  # fmt: skip
    assert result.status == "optimal" and result.has_portfolio
    (relaxed,) = result.relaxed
    assert relaxed.bar == "finance" and relaxed.kind == "fn" and relaxed.limit == 1.0
    original = result.problems[0].instance.replace(fn_limit=result.problems[0].instance.fn_limit / relaxed.relaxed_to)
    diagnosis = diagnose(original, SolverOptions())
    check = next(c for c in diagnosis.checks if c.kind == "fn")
    assert check.verdict == "unreachable at any cost"
    assert 1.0 < check.any_cost <= check.within_budget < check.unmitigated
    assert relaxed.reachable == pytest.approx(check.any_cost, rel=1e-9)
    assert any("finance: F-N line unreachable at any cost" in line for line in diagnosis.binding())
    x = result.problems[0].solution.x
    ratio = evaluate(original, x).fn_ratio[0]  # against the scenario's own line
    assert check.any_cost * (1 - 1e-9) <= ratio <= relaxed.relaxed_to * (1 + 1e-9)


def test_cvar_bars_hold_in_the_chosen_portfolio(japan, sample):
    """A binding CVaR bar: the portfolio meets it on the SAA years, and costs more than
    the optimum without it."""
    loose = optimize(japan, sample=sample, mode="sector", sector="information_communications", fn=False,
                     years=YEARS, seed=SEED, replications=0, frontier_points=0, eval_years=500)  # fmt: skip
    bar = 0.8 * loose.sector_table()["cvar"].iloc[0]
    tight = optimize(japan, sample=sample, mode="sector", sector="information_communications", fn=False,
                     cvar_level=0.99, cvar_max=bar, years=YEARS, seed=SEED, replications=0, frontier_points=0,
                     eval_years=500)  # fmt: skip
    row = tight.sector_table().iloc[0]
    assert tight.status == "optimal" and row["cvar"] <= bar * (1 + 1e-6)
    assert tight.objective > loose.objective
    instance, x = tight.problems[0].instance, tight.problems[0].solution.x
    losses = bar_losses(instance, x, chain_values(instance, x), (0,))
    assert float(cvar(losses, 0.99)) == pytest.approx(row["cvar"], rel=1e-12)


def test_a_solve_stopped_by_its_time_limit_says_so(japan, full):
    """HiGHS stopped early: the status is time_limit (never optimal), and any portfolio
    returned is verified and comes with the solver's gap."""
    hard = full.replace(fn_imposed=False, budget_total=2e10)  # a total budget couples the sectors
    solution = solve(hard, options=SolverOptions(gap=0.0, time_limit=0.05))
    assert solution.status == "time_limit"
    if solution.x is not None:
        assert bool(solution.evaluation.feasible) and solution.gap >= 0


def test_every_formulation_finds_the_same_optimum_under_a_binding_bar(japan, sample):
    """Lazily generated CVaR rows, every CVaR row, and the naive row per event: the same
    optimum on a real sector whose bar binds."""
    s = japan.sector_ids.index("electricity")
    instance, events = build_instance_and_events(japan, sample, [s])
    instance = instance.replace(counted_layers=OWN_LAYERS, fn_imposed=False)
    exact = SolverOptions(gap=1e-6)
    free = solve(instance, bars=False, options=exact)
    bar = Bar("electricity", (0,), 0.99, 0.6 * float(free.evaluation.cvar[0]))
    instance = instance.replace(bars=(bar,))
    objectives = [
        solve(instance, options=exact).objective,
        solve(instance, options=exact, lazy=False).objective,
        solve(instance, options=exact, events=events).objective,
    ]
    assert max(objectives) - min(objectives) <= 1e-6 * min(objectives)
    assert min(objectives) > free.objective


def test_partial_and_society_compared_like_for_like(full):
    """The partial optimum faces society's constraints (here a total budget that binds) and
    counts each sector's own losses; society's optimum, feasible for the same constraints,
    is never worse in social cost on the same years."""
    three = full.restrict([1, 2, 6]).replace(fn_imposed=False)  # finance, aviation, government
    unbudgeted = solve(three, options=SolverOptions(gap=0.0))
    budget = 0.5 * float(unbudgeted.evaluation.cost.sum())
    society = three.replace(budget_total=budget)
    partial = society.replace(counted_layers=OWN_LAYERS)
    x_society = solve(society, options=SolverOptions(gap=0.0)).x
    x_partial = solve(partial, options=SolverOptions(gap=0.0)).x
    social = {name: evaluate(society, x) for name, x in (("society", x_society), ("partial", x_partial))}
    assert social["partial"].cost.sum() <= budget * (1 + 1e-9)  # the partial optimum keeps the budget too
    objective = {name: e.cost.sum() + e.counted.sum() for name, e in social.items()}
    assert objective["society"] <= objective["partial"] * (1 + 1e-9)
    assert not np.array_equal(x_society, x_partial)  # the externalities change the choice here
