"""Each mechanism of the agent model moves its outputs the way it should.

A directional test runs two arms of an experiment on the same seeds and asserts that the
95% confidence interval of the paired difference (Student's t on its standard error)
lies on the expected side of zero. Seeds are fixed, so the tests are deterministic. Where
an arm changes nothing but the mechanism under test, the engine's per-day streams pair the
arms event by event, and some effects can be checked exactly as well.
"""

from __future__ import annotations

import numpy as np
import pytest
from abm_helpers import only, over_seeds, paired_interval, run, with_abm, yearly

from riskmodel.abm.agents import Attacker, Ministry, Operator
from riskmodel.abm.choices import evaluate_changes
from riskmodel.abm.cohorts import Cohorts
from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.measures import no_measures
from riskmodel.schema import Scenario
from riskmodel.world import build_world

SEEDS = range(6)


@pytest.fixture(scope="module")
def japan(japan_at_priors):
    """The mechanisms act on failures: these tests run the default scenario at its prior
    rates (see conftest), where a few seeds hold enough failures for a paired interval."""
    return japan_at_priors


def total(model, name: str, first: int = 0) -> float:
    """A yearly array series summed over its years from the ``first``."""
    return float(sum(np.sum(v) for v in yearly(model, name)[first:]))


def daily(model, name: str) -> np.ndarray:
    return np.stack(model.datacollector.get_model_vars_dataframe()[name].to_numpy())


def reported_share(model) -> float:
    return total(model, "reported_failures") / total(model, "true_failures")


def operator_records(model):
    """The operators' yearly records, with their row of the world's operator table."""
    records = model.yearly.get_agenttype_vars_dataframe(Operator).reset_index()
    index = {a.unique_id: a.index for a in model.operators}
    return records.assign(operator=records.AgentID.map(index))


def options_of(world, *names: str) -> list[int]:
    """The first level's option of each named measure."""
    cat = world.catalogue
    return [int(np.flatnonzero(cat.option_measure == cat.measure_ids.index(n))[0]) for n in names]


# --- concealment and immunity ----------------------------------------------------------------


def test_reported_failures_never_exceed_true_ones_and_disasters_are_never_hidden(japan):
    model = run(japan, {}, seed=0, years=2)
    true, reported = daily(model, "true_failures"), daily(model, "reported_failures")
    assert (reported <= true).all()
    assert 0 < reported.sum() < true.sum()
    disasters = [japan.threat_ids.index(t) for t in ("earthquake", "typhoon_flood")]
    np.testing.assert_array_equal(reported[:, :, disasters], true[:, :, disasters])


def test_blame_raises_hiding_and_immunity_lowers_it(japan):
    low = over_seeds(japan, only("concealment", concealment__blame=0.0), reported_share, SEEDS, 2)
    high = over_seeds(japan, only("concealment", concealment__blame=2.0), reported_share, SEEDS, 2)
    immune = over_seeds(
        japan,
        only("concealment", concealment__blame=2.0, concealment__immunity_from_fiscal_year=2006),
        reported_share,
        SEEDS,
        2,
    )
    assert paired_interval(high, low)[1] < 0
    assert paired_interval(immune, high)[0] > 0


def first_mandates(model) -> dict[tuple[int, int], int]:
    """(sector, measure) -> the first fiscal year in which it was mandatory."""
    first: dict[tuple[int, int], int] = {}
    records = model.yearly.get_model_vars_dataframe()
    for year, mandatory in zip(records.fiscal_year, records.mandatory, strict=True):
        for sector, measure in zip(*np.nonzero(mandatory), strict=True):
            first.setdefault((int(sector), int(measure)), int(year))
    return first


def test_ministries_respond_later_when_incidents_are_hidden(japan):
    """Ministries see only reported failures: with much hidden, each measure they mandate
    becomes mandatory later (a measure never mandated counts as the year after the run)."""
    years = 6

    def delays(seed: int) -> float:
        seen = first_mandates(run(japan, only("pdca"), seed, years))
        hidden = first_mandates(run(japan, only("pdca", "concealment", concealment__blame=3.0), seed, years))
        end = japan.scenario.horizon.start_fiscal_year + years
        return float(np.mean([hidden.get(key, end) - year for key, year in seen.items()]))

    assert paired_interval(np.array([delays(seed) for seed in SEEDS]), np.zeros(len(SEEDS)))[0] > 0


# --- PDCA and standards ------------------------------------------------------------------------


def test_operators_adopt_the_measure_that_pays_best_for_them(japan):
    model = CriticalInfrastructureModel(with_abm(japan, only("operators")), fiscal_years=1, seed=0)
    rows = np.arange(len(japan.operators))
    options = np.arange(japan.catalogue.n_options)
    changes = evaluate_changes(
        japan, model.values, model.decision_rates(), model.in_place, rows, options, model.objective()
    )
    adoptable = model.adoptable(changes)
    model.adoptable_now = adoptable
    gain, cost = changes.loss_removed, changes.cost_added
    ratio = np.divide(gain, cost, out=np.zeros_like(gain), where=cost > 0)
    adopters = 0
    for operator in list(model.operators)[::25]:
        before = operator.options.copy()
        eligible = [k for k in np.flatnonzero(adoptable[:, operator.index]) if model.allowed(operator.index, k)]
        assert operator.adopt(changes) == bool(eligible)
        if eligible:
            adopters += 1
            chosen = int(np.flatnonzero(operator.options & ~before)[0])
            assert ratio[chosen, operator.index] == max(ratio[k, operator.index] for k in eligible)
            assert ratio[chosen, operator.index] >= model.settings.operators.adoption_ratio
    assert adopters > 0


def test_investment_keeps_the_catalogues_rules_and_the_budgets(japan):
    model = run(japan, {}, seed=3, years=4)
    rules, cat = model.rules, japan.catalogue
    levels = model.in_place.astype(int) @ rules.levels
    assert levels.max() <= 1  # one level per measure
    held = levels > 0
    for m in range(len(cat.measure_ids)):
        assert not (held[:, m][:, None] & rules.requires[m][None, :] & ~held).any()  # prerequisites held
        assert not (held[:, m][:, None] & rules.excludes[m][None, :] & held).any()  # no exclusions
    spend = (model.option_cost * model.in_place).sum(axis=1)
    budget = model.settings.operators.budget_revenue_share * japan.operators.revenue
    assert (spend <= budget * (1 + 1e-12)).all()


def test_investment_lowers_losses_at_a_cost(japan):
    def loss(model) -> float:
        return total(model, "loss", first=1)  # after the first year's investment

    invest = over_seeds(japan, only("operators"), loss, SEEDS, 3)
    idle = over_seeds(japan, only(), loss, SEEDS, 3)
    assert paired_interval(invest, idle)[1] < 0
    assert yearly(run(japan, only("operators"), 0, 2), "security_spend")[1] > 0


def test_pdca_mandates_measures_and_compliance_costs_operators(japan):
    def spend(model) -> float:
        return float(sum(yearly(model, "security_spend")))

    # targets that ask for no serious failures by FY2008: misses the ministries' test sees
    strict = only("operators", "pdca", pdca__failure_reduction=1.0)
    with_pdca = over_seeds(japan, strict, spend, SEEDS, 4)
    without = over_seeds(japan, only("operators"), spend, SEEDS, 4)
    assert paired_interval(with_pdca, without)[0] > 0
    model = run(japan, strict, 0, 4)
    assert yearly(model, "mandatory_measures")[-1].sum() > 0


def test_a_mandatory_measure_that_costs_more_than_it_removes_goes_back_to_recommended(japan):
    data = japan.scenario.model_dump()
    for measure in data["measures"]:
        if measure["id"] == "seismic_resilience":  # dearer than any loss it could remove
            measure["levels"][0]["cost_fixed"] = 5e11
        if measure["id"] == "change_management":  # free: never worth demoting
            measure["levels"][0].update(cost_fixed=0.0, cost_revenue_share=0.0)
    for ministry in data["ministries"]:
        ministry["mandatory"] = ["seismic_resilience", "change_management"]
    world = build_world(Scenario.model_validate(data))
    model = run(world, only("operators", "pdca"), seed=0, years=1)
    catalogue = world.catalogue.measure_ids
    critical = world.critical_sectors
    assert not model.mandatory[critical, catalogue.index("seismic_resilience")].any()
    assert model.mandatory[critical, catalogue.index("change_management")].all()
    # in force during the year, and beyond every operator's budget: compliance one half
    assert yearly(model, "compliance")[0] == pytest.approx(0.5)


def test_a_measure_everyone_has_does_not_stop_mandating(japan):
    """Where every operator already holds a recommended measure, the others are still
    weighed: the ministry mandates as many as pass its test."""
    finance = japan.sector_ids.index("finance")
    in_place = no_measures(japan)
    in_place[japan.operators.sector == finance, options_of(japan, "web_application_firewall")[0]] = True
    model = CriticalInfrastructureModel(with_abm(japan, only("pdca")), in_place, fiscal_years=2, seed=0)
    model.run_model()
    ministry = next(m for m in model.agents_by_type[Ministry] if finance in m.sectors)
    model.fy_reported[finance] = 50 * model.sector_size[finance]  # a dreadful year
    model.fy_serious[finance] = 50 * model.sector_size[finance]
    model.targets.ratio[model.fiscal_year] = np.zeros(japan.n_sectors)  # against a target of none
    before = model.mandatory[finance].copy()
    ministry.review(model.fiscal_year)
    new = model.mandatory[finance] & ~before
    assert new.sum() == model.settings.pdca.max_new_mandatory
    assert not new[japan.catalogue.measure_ids.index("web_application_firewall")]


def test_ministries_see_through_the_measures_they_know_of(japan):
    """Reported failures are counted after the measures in place; the ministry's estimate
    of a threat's rate is before them, so with nothing hidden it is the scenario's rate."""
    in_place = no_measures(japan)
    in_place[:, options_of(japan, "web_application_firewall", "vulnerability_management")] = True
    finance, h = japan.sector_ids.index("finance"), japan.threat_ids.index("web_exploit")

    def estimate(model) -> float:
        ministry = next(m for m in model.agents_by_type[Ministry] if finance in m.sectors)
        return float(ministry.estimated_rate[finance, h])

    estimates = over_seeds(japan, only(), estimate, range(8), 3, in_place)
    low, high = paired_interval(estimates, np.full(estimates.size, japan.sector_rate[finance, h]), confidence=0.99)
    assert low < 0 < high


# --- information sharing (CEPTOAR) ------------------------------------------------------------


def test_information_sharing_protects_members_and_only_them(japan):
    years, seeds = 3, range(5)  # CEPTOARs work from FY2007
    free = only("information_sharing", information_sharing__membership_cost=0.0)  # the invited all join
    on = [run(japan, free, seed, years) for seed in seeds]
    off = [run(japan, only(), seed, years) for seed in seeds]
    members = on[0].member.copy()
    assert 0 < members.sum() < members.size

    def failures(model, group: np.ndarray) -> np.ndarray:
        records = operator_records(model)
        later = records[records.Step > 365]  # from FY2007 on
        per_operator = later.groupby(later.operator).true_failures.sum()
        return per_operator.reindex(np.flatnonzero(group), fill_value=0).to_numpy()

    member_on = np.array([failures(m, members).sum() for m in on])
    member_off = np.array([failures(m, members).sum() for m in off])
    assert paired_interval(member_on, member_off)[1] < 0
    for a, b in zip(on, off, strict=True):  # the same events, and no alert ever reaches a non-member
        np.testing.assert_array_equal(failures(a, ~members), failures(b, ~members))
    alerted = on[0].alert_until > 0
    assert alerted[members].any() and not alerted[~members].any()
    disasters = [japan.threat_ids.index(t) for t in ("earthquake", "typhoon_flood")]
    assert not alerted[:, disasters].any()  # nothing to share about an earthquake


def test_sharing_speeds_detection_at_members(japan):
    """With blocking off, sharing only cuts detection delays: the same failures happen, and
    members lose less to them."""
    seeds, years = range(5), 3
    levers = only("information_sharing", information_sharing__blocking=0.0, information_sharing__membership_cost=0.0)
    on = [run(japan, levers, seed, years) for seed in seeds]
    off = [run(japan, only(), seed, years) for seed in seeds]
    members = on[0].member

    def member_loss(model) -> float:
        records = operator_records(model)
        return float(records[np.isin(records.operator, np.flatnonzero(members))].loss.sum())

    for a, b in zip(on, off, strict=True):
        np.testing.assert_array_equal(daily(a, "true_failures"), daily(b, "true_failures"))
    assert paired_interval([member_loss(m) for m in on], [member_loss(m) for m in off])[1] < 0


# --- attackers ------------------------------------------------------------------------------------


def test_attackers_reproduce_the_scenario_rates_when_nothing_is_hardened(japan):
    model = CriticalInfrastructureModel(japan, fiscal_years=1, seed=0)
    cyber = model.cyber
    attempts = sum(a.attempts for a in model.agents_by_type[Attacker])
    np.testing.assert_allclose(attempts[:, cyber], japan.sector_rate[:, cyber], rtol=1e-12)
    kinds = {k.id: k.count for k in japan.scenario.abm.attackers.kinds}
    counted = {kind: sum(a.kind == kind for a in model.agents_by_type[Attacker]) for kind in kinds}
    assert counted == kinds
    assert {a.origin for a in model.agents_by_type[Attacker]} <= set(japan.scenario.abm.attackers.origins)


def hardened_finance(world) -> np.ndarray:
    """Finance operators with strong cyber defences; the rest with none."""
    in_place = no_measures(world)
    finance = world.operators.sector == world.sector_ids.index("finance")
    cat = world.catalogue
    for name, level in (("web_application_firewall", 1), ("vulnerability_management", 1), ("ddos_mitigation", 2),
                        ("endpoint_protection", 1), ("access_control", 1)):  # fmt: skip
        option = np.flatnonzero(cat.option_measure == cat.measure_ids.index(name))[level - 1]
        in_place[finance, option] = True
    return in_place


def test_hardening_one_sector_displaces_attacks_to_the_others(japan):
    """Attackers measure payoffs against the start: finance hardened after it (with no
    outside option, so that every attempt stays in the model)."""
    finance = japan.sector_ids.index("finance")
    others = [s for s in japan.critical_sectors if s != finance]
    levers = {**only("attackers"), "attackers.outside_option": 0.0}
    plain = CriticalInfrastructureModel(with_abm(japan, levers), fiscal_years=1, seed=0)
    plain.step()
    hard = CriticalInfrastructureModel(with_abm(japan, levers), fiscal_years=1, seed=0)
    hard.in_place[:] = hardened_finance(japan)
    hard._set_protection()
    hard.step()
    assert hard.attack_attempts[finance] < plain.attack_attempts[finance]
    assert (hard.attack_attempts[others] > plain.attack_attempts[others]).all()
    np.testing.assert_allclose(hard.attack_attempts.sum(), plain.attack_attempts.sum(), rtol=1e-9)

    def other_cyber_failures(model) -> float:
        return float(sum(f[others][:, model.cyber].sum() for f in yearly(model, "true_failures")))

    def after_hardening(seed: int, hardened: bool) -> float:
        model = CriticalInfrastructureModel(with_abm(japan, levers), fiscal_years=2, seed=seed)
        if hardened:
            model.in_place[:] = hardened_finance(japan)
            model._set_protection()
        model.run_model()
        return other_cyber_failures(model)

    displaced = np.array([after_hardening(seed, True) for seed in SEEDS])
    baseline = np.array([after_hardening(seed, False) for seed in SEEDS])
    assert paired_interval(displaced, baseline)[0] > 0


def test_infected_individuals_feed_the_botnet_and_its_attacks(japan):
    """Campaigns clean machines: fewer bots, fewer DDoS attempts, fewer DDoS failures."""
    levers = only("attackers", botnet__domestic_share=0.5, botnet__ddos_elasticity=2.0)
    ddos = japan.threat_ids.index("ddos")

    def ddos_failures(model) -> float:
        return float(sum(f[:, ddos].sum() for f in yearly(model, "true_failures")[1:]))

    campaigns = over_seeds(japan, {**levers, "awareness.enabled": True}, ddos_failures, SEEDS, 4)
    none = over_seeds(japan, levers, ddos_failures, SEEDS, 4)
    assert paired_interval(campaigns, none)[1] < 0
    with_campaigns, without = run(japan, {**levers, "awareness.enabled": True}, 0, 4), run(japan, levers, 0, 4)
    assert yearly(with_campaigns, "botnet_size")[-1] < yearly(without, "botnet_size")[-1]
    assert with_campaigns.engine.rate_factor[:, ddos].sum() < without.engine.rate_factor[:, ddos].sum()


# --- cross-sector exercises -----------------------------------------------------------------------


def test_exercises_shorten_participants_outages_and_their_cascades(japan):
    seeds = range(5)
    on = [run(japan, only("exercises"), seed, 2) for seed in seeds]
    off = [run(japan, only(), seed, 2) for seed in seeds]
    participants = on[0].exercised_until >= on[0].start_year
    assert participants.sum() == 2 * japan.scenario.abm.exercises.participants_per_year  # two years' invitations

    def loss(model, group: np.ndarray) -> float:
        records = operator_records(model)
        return float(records[np.isin(records.operator, np.flatnonzero(group))].loss.sum())

    assert paired_interval([loss(m, participants) for m in on], [loss(m, participants) for m in off])[1] < 0
    # the same failures in both arms: exercises change what a failure costs, not whether it happens
    np.testing.assert_array_equal(daily(on[0], "true_failures"), daily(off[0], "true_failures"))


def test_exercises_cut_the_cascade_alone_when_outages_are_not_shortened(japan):
    """With the duration cut off, exercises leave every outage, and its direct and users'
    losses, as they were, and cut the production lost in the cascade: never more on any
    day, and by a share whose interval over seeds lies below zero."""
    # free to take part: with no cut of its own outages an operator would not pay for the day
    levers = only("exercises", exercises__duration_cut=0.0, exercises__cost_per_participant=0.0)
    change = []
    for seed in range(5):
        on, off = daily(run(japan, levers, seed, 1), "loss"), daily(run(japan, only(), seed, 1), "loss")
        np.testing.assert_array_equal(on[:, :, :2], off[:, :, :2])
        assert (on[:, :, 2].sum(axis=1) <= off[:, :, 2].sum(axis=1) * (1 + 1e-12)).all()
        change.append(on[:, :, 2].sum() / off[:, :, 2].sum() - 1.0)
    assert paired_interval(np.array(change), np.zeros(len(change)))[1] < 0


# --- individuals ---------------------------------------------------------------------------------


def test_anxiety_rises_with_outages_in_the_cohorts_area_and_fades_with_its_half_life(japan):
    n_regions = len(japan.region_ids)
    cohorts = Cohorts(japan, japan.scenario.abm, np.zeros(n_regions), np.zeros(n_regions), 0.0)
    spec = japan.scenario.abm.individuals
    start = cohorts.index.copy()
    hours = np.zeros(n_regions)
    hours[japan.region_ids.index("tokyo")] = 1e7
    cohorts.step(hours, np.zeros_like(hours), 0.0)
    risen = cohorts.index - start
    tokyo = cohorts.region == japan.region_ids.index("tokyo")
    assert (risen[tokyo] > 0).all() and (risen[~tokyo] == 0).all()
    # person-hours per member, by dependence: the area's members share the 1e7 hours
    np.testing.assert_allclose((risen[tokyo] / spec.outage_weight) @ cohorts.users[tokyo], 1e7, rtol=1e-12)
    none = np.zeros_like(hours)
    for _ in range(round(spec.anxiety_half_life_days)):
        cohorts.step(none, none, 0.0)
    np.testing.assert_allclose(cohorts.excess[tokyo], risen[tokyo] / 2, rtol=1e-9)


def test_anxiety_starts_at_its_steady_state(japan):
    """The first fiscal year is no warm-up: with nothing changing, the mean anxiety of the
    first year is that of the next ones."""
    levers = only()
    first = over_seeds(japan, levers, lambda m: yearly(m, "anxiety_index")[0], SEEDS, 3)
    later = over_seeds(japan, levers, lambda m: float(np.mean(yearly(m, "anxiety_index")[1:])), SEEDS, 3)
    low, high = paired_interval(first, later)
    assert low < 0 < high


def test_awareness_campaigns_raise_hygiene_and_lower_infection(japan):
    spec = japan.scenario.abm.awareness

    def last_year(model) -> tuple[float, float]:
        start = model.cohorts.start_hygiene
        # a campaign a year (anxiety stays above the threshold) closes a share of the gap, smaller each year
        kept = np.prod([1 - spec.hygiene_gain * spec.fatigue**k for k in range(model.n_years)])
        expected = 1 - (1 - start) * kept if model.settings.awareness.enabled else start
        np.testing.assert_allclose(model.cohorts.hygiene, expected)
        return yearly(model, "hygiene")[-1], yearly(model, "infected_share")[-1]

    hygiene, infected = over_seeds(japan, only("awareness"), last_year, SEEDS, 3).T
    hygiene_off, infected_off = over_seeds(japan, only(), last_year, SEEDS, 3).T
    assert paired_interval(hygiene, hygiene_off)[0] > 0
    assert paired_interval(infected, infected_off)[1] < 0


# --- outsourcing ---------------------------------------------------------------------------------


def contractor_faults(model) -> float:
    h = model.world.threat_ids.index("contractor_fault")
    return float(sum(f[:, h].sum() for f in yearly(model, "true_failures")))


def test_outsourcing_brings_contractor_faults_and_outsourcing_measures_cut_them(japan):
    shares = japan.scenario.abm.outsourcing.shares
    heavy = only("outsourcing", outsourcing__shares={s: min(0.95, 1.6 * v) for s, v in shares.items()})
    light = only("outsourcing", outsourcing__shares={s: 0.4 * v for s, v in shares.items()})
    assert paired_interval(over_seeds(japan, heavy, contractor_faults, SEEDS, 2),
                           over_seeds(japan, light, contractor_faults, SEEDS, 2))[0] > 0  # fmt: skip

    measured = no_measures(japan)
    measured[:, options_of(japan, "contractor_security_clauses", "contractor_audit")] = True
    with_measures = over_seeds(japan, only("outsourcing"), contractor_faults, SEEDS, 2, measured)
    without = over_seeds(japan, only("outsourcing"), contractor_faults, SEEDS, 2)
    assert paired_interval(with_measures, without)[1] < 0
