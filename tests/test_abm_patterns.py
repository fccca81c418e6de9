"""Pattern-oriented tests of the agent model (issue 12): extreme conditions, the PDCA
test's false-alarm rate under constant risk, target reachability reported, directional
responses on paired seeds with intervals (and equivalence margins where "no effect" is the
claim), and the ODD description kept equal to the scenario's ``[abm]`` tables.

Statistical tolerances come from standard errors: a rate's binomial SE over the
sector-years tested, a paired difference's Student-t interval over seeds
(:func:`abm_helpers.paired_interval`). Seeds are fixed, so every test is deterministic.
"""

from __future__ import annotations

import math
import re
import tomllib
from importlib import resources
from pathlib import Path

import numpy as np
import pytest
from abm_helpers import only, over_seeds, paired_interval, run, with_abm, yearly

from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.engine.kernels import OP_USERS

ODD = Path(__file__).resolve().parents[1] / "docs" / "ODD.md"
CONSTANT_RISK = only("concealment", "pdca", pdca__failure_reduction=0.0)  # nothing moves the risk


@pytest.fixture(scope="module")
def japan(japan_at_priors):
    """The mechanisms act on failures: these tests run the default scenario at its prior
    rates (see conftest), where a few seeds hold enough failures for a paired interval."""
    return japan_at_priors


def misses_tested(model) -> tuple[int, int]:
    """(misses, sector-years tested): critical sector-years that had a target when checked."""
    critical = model.world.critical_sectors
    misses = n = 0
    for year, missed, p_value in zip(
        yearly(model, "fiscal_year"), yearly(model, "target_missed"), yearly(model, "target_p_value"), strict=True
    ):
        if year == model.start_year:  # the first plan's targets are fixed at FY2006's end
            continue
        assert (np.asarray(p_value)[critical] <= 1.0).all()
        misses += int(np.asarray(missed)[critical].sum())
        n += len(critical)
    return misses, n


# --- the ODD description stays true ---------------------------------------------------------------


def _cell(value: object) -> str:
    """A scenario value as the ODD's parameter table writes it."""
    if isinstance(value, dict) or (isinstance(value, list) and value and isinstance(value[0], dict)):
        return f"{len(value)} entries"
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, list):
        return ", ".join(map(str, value))
    if isinstance(value, int | float) and abs(value) >= 10_000:
        return f"{value:,.0f}"
    return str(value)


def test_the_odd_parameter_list_is_the_scenarios():
    """docs/ODD.md's parameter table names every key of the default scenario's ``[abm]``
    tables with its default, nothing else, each with a provenance."""
    text = ODD.read_text(encoding="utf-8")
    row = r"^\| `(abm(?:\.[a-z_]+){2,3})` \| ([^|]*) \| (source|assumption|switch) \| ([^|]+) \|$"
    rows = re.findall(row, text, re.M)
    listed = {path: default.strip() for path, default, _, why in rows if why.strip()}
    scenario = tomllib.loads((resources.files("riskmodel") / "data" / "japan.toml").read_text(encoding="utf-8"))

    def parameters(prefix: str, body: dict) -> dict[str, str]:
        """A table's keys; a sub-table with its own provenance (``[abm.operators.beliefs]``)
        is a table of parameters, each listed, not a table of entries."""
        found: dict[str, str] = {}
        for key, value in body.items():
            if key in ("source", "assumption"):
                continue
            if isinstance(value, dict) and ("source" in value or "assumption" in value):
                found |= parameters(f"{prefix}.{key}", value)
            else:
                found[f"{prefix}.{key}"] = _cell(value)
        return found

    expected: dict[str, str] = {}
    for table, body in scenario["abm"].items():
        expected |= parameters(f"abm.{table}", body)
    assert len(rows) == len(listed), "a parameter listed twice or without its reason"
    assert set(listed) == set(expected), set(listed) ^ set(expected)
    assert listed == expected


def test_the_replicated_screening_is_the_screening_with_replications_over_nine_years():
    """experiments/abm_assumptions_morris_replicated.toml screens what the one-replication
    screening does (factors, ranges, design, outcomes, seed): only the replications, the
    fiscal years and the name differ, so the two cannot drift apart."""
    folder = Path(__file__).parents[1] / "experiments"
    once, replicated = (tomllib.loads((folder / f"{name}.toml").read_text(encoding="utf-8"))
                        for name in ("abm_assumptions_morris", "abm_assumptions_morris_replicated"))  # fmt: skip
    assert (replicated["experiment"]["replications"], replicated["run"]["size"]) == (4, 9)
    for spec in (once, replicated):
        for key in ("name", "description", "replications"):
            spec["experiment"].pop(key)
        spec["run"].pop("size")
    assert once == replicated


# --- extreme conditions -------------------------------------------------------------------------


def test_certain_discovery_with_heavy_penalties_ends_hiding_and_reporting_is_seen_whole(japan):
    levers = only("concealment", "pdca", concealment__detection_probability=1.0, concealment__penalty=10.0)
    model = run(japan, levers, seed=0, years=2)
    assert model.hide_probability.max() < 1e-6
    true, reported = (sum(np.sum(x) for x in yearly(model, name)) for name in ("true_failures", "reported_failures"))
    assert reported >= true - 1  # at most a stray draw below 1e-6
    # nothing hidden, nothing found out, and the ministries' estimate moves toward all reported
    assert sum(np.sum(x) for x in yearly(model, "found_out")) == 0
    assert (model.reporting_estimate[model.world.critical_sectors] > japan.scenario.abm.pdca.reporting_prior).all()


def test_prohibitive_costs_leave_no_members_participants_or_campaigns(japan):
    dear = only(
        "information_sharing", "exercises", "awareness",
        information_sharing__membership_cost=1e15, exercises__cost_per_participant=1e15,
        awareness__anxiety_threshold=0.999,
    )  # fmt: skip
    model = run(japan, dear, seed=0, years=3)
    assert not model.member.any() and (model.shared_counts == 0).all()
    assert (model.alert_until == 0).all() and (model.exercised_in < 0).all()
    assert model.campaigns_run == 0
    for name in ("sharing_cost", "exercise_cost", "state_cost"):
        assert sum(yearly(model, name)) == 0.0


def test_free_membership_and_participation_take_every_invitation(japan):
    spec = japan.scenario.abm
    free = only(
        "information_sharing", "exercises",
        information_sharing__membership_cost=0.0, exercises__cost_per_participant=0.0,
    )  # fmt: skip
    model = run(japan, free, seed=0, years=2)
    ops = japan.operators
    for sector in np.flatnonzero(model.ceptoar_active):
        size = int((ops.sector == sector).sum())
        assert model.member[ops.sector == sector].sum() == round(spec.information_sharing.membership_share * size)
    assert (model.exercised_in >= 0).sum() == 2 * spec.exercises.participants_per_year


def test_shared_counts_hold_the_incidents_shared_this_year(japan):
    model = run(japan, only("information_sharing", information_sharing__membership_cost=0.0), seed=0, years=2)
    counts = model.shared_counts
    assert counts.dtype == np.float64 and counts.shape == (japan.n_sectors, len(japan.threat_ids))
    assert counts.sum() > 0 and (counts >= 0).all()
    assert (counts[:, ~model._shareable] == 0).all()
    assert (counts[~model.ceptoar_active] == 0).all()
    assert np.array_equal(yearly(model, "shared_incidents")[-1], counts.sum(axis=1))


def test_an_alert_fades_with_its_half_life(japan):
    spec = japan.scenario.abm.information_sharing
    model = run(japan, only("information_sharing", information_sharing__membership_cost=0.0), seed=0, years=2)
    day = model.day
    alerted = np.argwhere(model.alert_until > day)
    assert alerted.size
    o, h = alerted[0]
    age = day - (model.alert_until[o, h] - spec.alert_days)
    expected = 1.0 - spec.blocking * 0.5 ** (age / spec.alert_half_life_days)
    model._apply_operator_factors(day)
    assert model.engine.survive_factor[o, h] == pytest.approx(expected, rel=1e-12)


def test_the_foreign_botnet_grows_at_its_stated_rate(japan):
    model = run(japan, only(), seed=0, years=1)
    growth = japan.scenario.abm.botnet.foreign_growth
    assert model.foreign_bots == pytest.approx(model.start_foreign_bots * (1 + growth), rel=1e-9)


def test_online_use_falls_with_anxiety_and_scales_the_persons_reached(japan):
    spec = japan.scenario.abm.individuals
    levers = only(individuals__use_elasticity=spec.use_elasticity)  # only() switches the feedback off
    model = CriticalInfrastructureModel(with_abm(japan, levers), fiscal_years=1, seed=0)
    rise = np.linspace(0.0, 1.0, len(japan.region_ids))
    model._fy_region_anxious = model._start_anxious + rise
    model.adjust_use()
    np.testing.assert_allclose(model.use_factor, 1.0 - np.minimum(spec.use_elasticity * rise, spec.max_use_cut))
    model._apply_operator_factors(0)
    users = model.engine.base.ops[1][:, OP_USERS] * model.use_factor[japan.operators.region]
    np.testing.assert_array_equal(model.engine.op_float[:, OP_USERS], users)


def test_anxiety_starts_at_the_scenarios_share(japan):
    model = CriticalInfrastructureModel(with_abm(japan, only()), fiscal_years=0, seed=0)
    assert model.anxious_share == pytest.approx(japan.scenario.abm.individuals.anxious_share, rel=1e-9)
    assert (model.cohorts.background >= 0).all() and (model.cohorts.excess > 0).all()
    # what no policy on failures can move: the background, less full hygiene's relief
    relief = japan.scenario.abm.individuals.hygiene_relief
    np.testing.assert_allclose(model.cohorts.floor(), 1 - np.exp(-model.cohorts.background * (1 - relief)))
    assert 0 < model.cohorts.mean(model.cohorts.floor()) < model.anxious_share


# --- PDCA: signal, not noise ---------------------------------------------------------------------


@pytest.mark.slow
def test_pdca_false_alarm_rate_under_constant_risk_is_near_its_nominal_level(japan):
    """Nothing changes the risk (operators, attackers, sharing, exercises off) and the plans
    ask for no reduction: the share of tested sector-years declared missed is the test's
    false-alarm rate within three binomial standard errors (the mid-p test is exact only
    for Poisson counts; the over-dispersion is approximated, so the tolerance is the SE's,
    not zero)."""
    alpha = japan.scenario.abm.pdca.false_alarm_rate
    misses = n = 0
    for seed in range(10):
        m, k = misses_tested(run(japan, CONSTANT_RISK, seed, 9))
        misses, n = misses + m, n + k
    rate = misses / n
    se = math.sqrt(alpha * (1 - alpha) / n)
    assert abs(rate - alpha) < 3 * se, (rate, n)


@pytest.mark.slow
def test_immunity_does_not_read_as_failure(japan):
    """With immunity from FY2009 operators report more; the ministries correct for the
    reporting rate they estimate, so the share of sector-years missed under constant risk
    stays within 0.05 of that without immunity (the interval of the paired difference
    inside the margin), while reports rise."""
    margin = 0.05
    immune = {**CONSTANT_RISK, "concealment.immunity_from_fiscal_year": 2009}

    def miss_rate(model) -> float:
        m, k = misses_tested(model)
        return m / k

    def reported(model) -> float:
        return float(sum(np.sum(x) for x in yearly(model, "reported_failures")[3:]))

    seeds = range(8)
    with_immunity = [run(japan, immune, seed, 9) for seed in seeds]
    without = [run(japan, CONSTANT_RISK, seed, 9) for seed in seeds]
    low, high = paired_interval([miss_rate(m) for m in with_immunity], [miss_rate(m) for m in without])
    assert -margin < low and high < margin
    assert paired_interval([reported(m) for m in with_immunity], [reported(m) for m in without])[0] > 0


def test_target_reachability_is_reported_not_assumed(japan):
    """Targets that ask for no reduction are all reachable; targets that ask for no
    serious failure at all are not (no catalogue removes every failure)."""
    easy = run(japan, only("pdca", pdca__failure_reduction=0.0), seed=0, years=3)
    reachable = np.array(yearly(easy, "target_reachable"))[:, japan.critical_sectors]
    assert (reachable == 1.0).all()
    hard = run(japan, only("pdca", pdca__failure_reduction=1.0), seed=0, years=3)
    last = np.asarray(yearly(hard, "target_reachable")[-1])[japan.critical_sectors]  # FY2008: ratio 0
    assert (last == 0.0).all()
    assert np.isfinite(np.asarray(yearly(hard, "failures_target")[-1])[japan.critical_sectors]).all()


def test_a_miss_needs_evidence(japan):
    """One year as bad as its reference is no miss at a target of no reduction; many more
    serious failures than the target allows is."""
    model = run(japan, only("pdca"), seed=0, years=2)
    ministry = next(m for m in model.ministries if m.sectors)
    sector = ministry.sectors[0]
    year = model.fiscal_year
    reference = model.targets.reference[year]
    exposure = float(reference.exposure[sector])
    model.targets.ratio[year][:] = 1.0
    model.fy_serious[sector] = int(reference.count[sector])
    assert ministry._test(sector, year, exposure) > 0.3
    model.fy_serious[sector] = int(4 * reference.count[sector]) + 20
    assert ministry._test(sector, year, exposure) < japan.scenario.abm.pdca.false_alarm_rate


# --- directional responses on paired seeds -------------------------------------------------------


def reported_share(model) -> float:
    return sum(np.sum(x) for x in yearly(model, "reported_failures")) / sum(
        np.sum(x) for x in yearly(model, "true_failures")
    )


def test_the_chance_of_being_found_out_raises_reporting(japan):
    seeds = range(4)
    likely = over_seeds(japan, only("concealment", concealment__detection_probability=0.3), reported_share, seeds, 1)
    unlikely = over_seeds(japan, only("concealment", concealment__detection_probability=0.0), reported_share, seeds, 1)
    assert paired_interval(likely, unlikely)[0] > 0


@pytest.mark.slow
def test_an_investigation_body_raises_reporting_and_lowers_losses(japan):
    """Switched on from FY2007, it makes hiding riskier (more reports) and measures work
    better (lower losses) with operators investing as usual."""
    levers = {"investigation.enabled": True, "investigation.from_fiscal_year": 2007}

    def later_loss(model) -> float:
        return float(sum(np.asarray(x)[:, :3].sum() for x in yearly(model, "loss")[2:]))

    seeds = range(6)
    on = [run(japan, levers, seed, 5) for seed in seeds]
    off = [run(japan, {}, seed, 5) for seed in seeds]
    assert paired_interval([reported_share(m) for m in on], [reported_share(m) for m in off])[0] > 0
    assert all(m.lessons.sum() > 0 for m in on)
    assert paired_interval([later_loss(m) for m in on], [later_loss(m) for m in off])[1] < 0


@pytest.mark.slow
def test_concealments_effect_on_loss_and_spending_has_a_direction_and_an_interval(japan):
    """Removing concealment (every failure reported) gives the ministries the whole
    picture; the paired effect on FY2008-14 loss plus spending is reported with its
    interval, and it lies inside a stated margin of 10% of the total (the claim that the
    shame culture moves the total by less than that)."""

    def total(model) -> float:
        loss = sum(np.asarray(x)[:, :3].sum() for x in yearly(model, "loss")[2:])
        return float(loss + sum(yearly(model, "security_spend")[2:]))

    seeds = range(8)
    on = over_seeds(japan, {}, total, seeds, 9)
    off = over_seeds(japan, {"concealment.enabled": False}, total, seeds, 9)
    low, high = paired_interval(on, off)
    margin = 0.10 * float(np.mean(off))
    assert -margin < low < high < margin


@pytest.mark.slow
def test_fewer_failures_mean_less_anxiety(japan):
    """Operators that invest cut outages, leaks and news, and so anxiety (paired seeds)."""

    def later_anxiety(model) -> float:
        return float(np.mean(yearly(model, "anxious_share")[1:]))

    seeds = range(4)
    invest = over_seeds(japan, only("operators"), later_anxiety, seeds, 3)
    idle = over_seeds(japan, only(), later_anxiety, seeds, 3)
    assert paired_interval(invest, idle)[1] < 0


@pytest.mark.slow
def test_ceptoars_and_exercises_cost_finite_amounts_for_what_they_save(japan):
    """Cost-effectiveness is measurable: each costs a positive, finite amount, and the loss
    it avoids (paired seeds) has an interval; sharing's lies above zero."""

    def loss(model) -> float:
        return float(sum(np.asarray(x)[:, :3].sum() for x in yearly(model, "loss")))

    seeds = range(5)
    base = [run(japan, {}, seed, 4) for seed in seeds]
    for mechanism, cost in (("information_sharing", "sharing_cost"), ("exercises", "exercise_cost")):
        without = [run(japan, {f"{mechanism}.enabled": False}, seed, 4) for seed in seeds]
        spent = np.array([sum(yearly(m, cost)) for m in base])
        assert (spent > 0).all() and np.isfinite(spent).all()
        low, high = paired_interval([loss(m) for m in without], [loss(m) for m in base])
        assert np.isfinite([low, high]).all()
        if mechanism == "information_sharing":
            assert low > 0
    coverage = [np.nanmean(yearly(m, "alert_coverage")[1:]) for m in base]
    assert all(0 < c < 1 for c in coverage)
