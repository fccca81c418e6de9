"""Common random numbers across parameter changes (issue 10).

With the same seed, a parameter change alters only the draws it governs: raising a rate
keeps every event drawn at the lower rate and adds events; raising a severity parameter
never lowers any event's loss. Compared year by year and event by event on event loss
tables (ELTs) of random small scenarios, and year by year on the default scenario.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from riskmodel.engine.simulate import simulate
from riskmodel.scenario import load_scenario
from riskmodel.schema import Scenario
from riskmodel.toy import compound_poisson_document
from riskmodel.world import build_world

YEARS = 150
EVENT_COLUMNS = ["day", "operator", "duration_hours", "depth", "persons", "own", "users", "others"]
LOSS_COLUMNS = ["own", "users", "others"]
REL = 1e-9  # severity changes: the clipped cascade and its closed form agree to rounding


def small_document(draw) -> dict:
    """A random small scenario: 2-3 sectors of 1-6 operators over two regions, a cyber
    and an unintentional threat (Poisson or negative binomial), and a regional disaster."""
    n_sectors = draw(st.integers(2, 3))
    doc = compound_poisson_document(
        n_sectors=n_sectors,
        rate=1.0,
        value_of_time=draw(st.sampled_from([0.0, 800.0])),
        cascade_share=draw(st.sampled_from([0.0, 0.3, 1.0])),
        matrix=[[0.2] * (n_sectors + 1) for _ in range(n_sectors + 1)],
    )
    provenance = {"assumption": "test"}
    doc["regions"] = [
        {"id": "east", "name": "East", "population": 3e6, **provenance},
        {"id": "west", "name": "West", "population": 2e6, **provenance},
    ]
    for sector in doc["sectors"][:-1]:
        sector["operators"]["count"] = draw(st.integers(1, 6))
        sector["operators"]["size_exponent"] = draw(st.sampled_from([0.0, 1.0, 2.0]))
        sector["exposure"]["disaster"] = draw(st.sampled_from([0.5, 1.0]))
    base = doc["threats"][0]
    threats = []
    for h, kind in enumerate(("cyber", "unintentional", "disaster")):
        threat = copy.deepcopy(base)
        threat["id"], threat["name"], threat["kind"] = f"threat_{h}", f"Threat {h}", kind
        frequency = threat["frequency"]
        frequency["dispersion"] = draw(st.sampled_from([0.0, 0.5]))
        if kind == "disaster":
            frequency["rate"] = 0.0
            frequency["regional_rates"] = {"east": draw(st.floats(0.05, 1.0)), "west": draw(st.floats(0.05, 1.0))}
            frequency["hit_probability"] = draw(st.floats(0.2, 0.9))
        else:
            frequency["rate"] = draw(st.floats(0.05, 3.0))
        threat["duration"]["median_hours"] = draw(st.floats(0.5, 24.0))
        threat["duration"]["sigma"] = draw(st.floats(0.3, 1.5))
        threat["depth"] = {"alpha": draw(st.floats(0.5, 3.0)), "beta": draw(st.floats(0.5, 6.0)), **provenance}
        loss = threat["direct_loss"]
        loss["median_revenue_share"] = draw(st.floats(1e-5, 1e-2))
        loss["sigma"] = draw(st.floats(0.3, 2.0))
        loss["tail_probability"] = draw(st.sampled_from([0.0, 0.05]))
        loss["tail_shape"] = draw(st.floats(0.0, 0.8))
        threats.append(threat)
    doc["threats"] = threats
    return doc


documents = st.composite(small_document)


def run_elt(doc: dict, seed: int, years: int = YEARS) -> pd.DataFrame:
    world = build_world(Scenario.model_validate(doc))
    return simulate(world, years=years, seed=seed, elt=True).elt


def groups(elt: pd.DataFrame) -> dict[tuple, pd.DataFrame]:
    """Event rows by (year, threat, sector or region), in the engine's order: single
    failures by sector, a disaster's hits by region (its events' hits together)."""
    single = ~elt.threat.eq("threat_2")
    slot = elt.sector.where(single, "region:" + elt.region)
    return {
        key: frame[EVENT_COLUMNS].reset_index(drop=True) for key, frame in elt.groupby([elt.year, elt.threat, slot])
    }


def assert_prefix(short: pd.DataFrame, long: pd.DataFrame) -> None:
    assert len(short) <= len(long)
    pd.testing.assert_frame_equal(short, long.iloc[: len(short)].reset_index(drop=True), check_exact=True)


def assert_nested(low: pd.DataFrame, high: pd.DataFrame) -> None:
    """Every group of ``low``'s events is a prefix (exactly equal rows) of ``high``'s."""
    low_groups, high_groups = groups(low), groups(high)
    assert set(low_groups) <= set(high_groups)
    for key, frame in low_groups.items():
        assert_prefix(frame, high_groups[key])


@settings(max_examples=15, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_raising_a_rate_keeps_every_event_and_adds(data, seed):
    """A threat's rate (or a disaster's regional rates) up by a random factor: every
    (year, threat, sector or region) keeps its events, identical, and may add more; the
    other threats' events are untouched. Lowering it is the same comparison reversed."""
    doc = data.draw(documents())
    h = data.draw(st.integers(0, 2))
    factor = data.draw(st.floats(1.01, 3.0))
    raised = copy.deepcopy(doc)
    frequency = raised["threats"][h]["frequency"]
    if h == 2:
        frequency["regional_rates"] = {r: v * factor for r, v in frequency["regional_rates"].items()}
    else:
        frequency["rate"] *= factor
    low, high = run_elt(doc, seed), run_elt(raised, seed)
    assert_nested(low, high)
    name = f"threat_{h}"
    others_low, others_high = groups(low[low.threat != name]), groups(high[high.threat != name])
    assert others_low.keys() == others_high.keys()
    for key, frame in others_low.items():
        pd.testing.assert_frame_equal(frame, others_high[key], check_exact=True)
    assert len(high[high.threat == name]) >= len(low[low.threat == name])


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_changing_dispersion_keeps_the_common_events(data, seed):
    """Over-dispersion changed at a fixed mean: counts may move either way (no coupling
    can avoid it), but in every group one run's events are a prefix of the other's."""
    doc = data.draw(documents())
    h = data.draw(st.integers(0, 2))
    other = copy.deepcopy(doc)
    other["threats"][h]["frequency"]["dispersion"] = data.draw(st.sampled_from([0.0, 0.2, 1.0, 3.0]))
    a, b = groups(run_elt(doc, seed)), groups(run_elt(other, seed))
    for key in a.keys() & b.keys():
        short, long = sorted((a[key], b[key]), key=len)
        assert_prefix(short, long)


SEVERITY = st.sampled_from(["median_hours", "median_revenue_share", "sigma_duration", "sigma_loss", "alpha", "beta",
                            "tail_shape"])  # fmt: skip


def raise_severity(doc: dict, h: int, what: str, factor: float) -> dict:
    """``doc`` with one severity parameter of threat ``h`` made worse by ``factor``."""
    doc = copy.deepcopy(doc)
    threat = doc["threats"][h]
    if what == "median_hours":
        threat["duration"]["median_hours"] *= factor
    elif what == "median_revenue_share":
        threat["direct_loss"]["median_revenue_share"] *= factor
    elif what == "sigma_duration":
        threat["duration"]["sigma"] *= factor
    elif what == "sigma_loss":
        threat["direct_loss"]["sigma"] *= factor
    elif what == "alpha":
        threat["depth"]["alpha"] *= factor
    elif what == "beta":
        threat["depth"]["beta"] /= factor
    else:
        threat["direct_loss"]["tail_shape"] = min(0.95, threat["direct_loss"]["tail_shape"] + factor - 1.0)
    return doc


@settings(max_examples=20, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1), what=SEVERITY)
def test_raising_severity_never_lowers_an_events_loss(data, seed, what):
    """A median (duration, loss share), the depth (alpha up, beta down) or a tail shape made
    worse: the same events (count, operator, day) and no event's duration, depth or loss
    falls. A sigma made larger: the same for the events above the median (``z > 0``)."""
    doc = data.draw(documents())
    h = data.draw(st.integers(0, 2))
    worse = raise_severity(doc, h, what, data.draw(st.floats(1.01, 2.0)))
    before, after = run_elt(doc, seed), run_elt(worse, seed)
    keys = ["year", "threat", "sector", "region", "operator", "day"]
    pd.testing.assert_frame_equal(before[keys], after[keys])
    rows = np.ones(len(before), dtype=bool)
    world = build_world(Scenario.model_validate(doc))
    if what.startswith("sigma"):
        # above the median: z > 0, read off the unchanged run (an event of another threat is unaffected)
        threat = doc["threats"][h]
        mine = (before.threat == f"threat_{h}").to_numpy()
        if what == "sigma_duration":
            median = threat["duration"]["median_hours"] * world.duration_scale[world.operators.sector[before.operator]]
            rows = ~mine | (before.duration_hours.to_numpy() > median)
        else:
            median = threat["direct_loss"]["median_revenue_share"] * world.operators.revenue[before.operator]
            rows = ~mine | (before.own.to_numpy() > median)
    for column in ["duration_hours", "depth", "own", "users"]:
        old, new = before[column].to_numpy()[rows], after[column].to_numpy()[rows]
        assert (new >= old * (1 - REL) - 1e-6).all(), column
    # others' loss: per failure; a disaster's clipped total is shared between its hits in
    # proportion to their unclipped contributions, so it is compared per event
    single = ~before.threat.eq("threat_2").to_numpy()
    old, new = before.others.to_numpy(), after.others.to_numpy()
    assert (new[single & rows] >= old[single & rows] * (1 - REL) - 1e-6).all()
    event_rows = pd.Series(rows).groupby([before.year, before.event]).transform("all").to_numpy()
    per_event = pd.DataFrame({"year": before.year, "event": before.event, "old": before[LOSS_COLUMNS].sum(axis=1),
                              "new": after[LOSS_COLUMNS].sum(axis=1)})[~single & event_rows]  # fmt: skip
    sums = per_event.groupby(["year", "event"])[["old", "new"]].sum()
    assert (sums.new >= sums.old * (1 - REL) - 1e-6).all()


def japan_with(scale_threat: int | None, scenario: Scenario) -> object:
    doc = scenario.model_dump()
    if scale_threat is not None:
        frequency = doc["threats"][scale_threat]["frequency"]
        frequency["rate"] *= 1.05
        frequency["regional_rates"] = {r: v * 1.05 for r, v in frequency["regional_rates"].items()}
    return build_world(Scenario.model_validate(doc))


def test_default_scenario_rate_rises_never_lower_a_years_loss():
    """On the default scenario, a 5% rise of each threat's rate in turn, 2,000 years: no
    year's loss, in total or in any sector, goes down, and the rest of the years' events
    stay as they were (the year's events count only rises)."""
    scenario = load_scenario()
    years, seed = 2000, 17
    base = simulate(japan_with(None, scenario), years=years, seed=seed, ylt=True).ylt.set_index(["year", "sector"])
    for h in range(len(scenario.threats)):
        raised = simulate(japan_with(h, scenario), years=years, seed=seed, ylt=True).ylt.set_index(["year", "sector"])
        assert (raised.total >= base.total).all(), scenario.threats[h].id
        assert (raised.events >= base.events).all()
        by_year = raised.total.groupby(level="year").sum() - base.total.groupby(level="year").sum()
        assert (by_year >= 0).all()
        assert (by_year > 0).any()


def test_same_seed_paired_difference_is_far_less_variable(japan):
    """The issue's example: DDoS rate up 5%, same seed. Paired year differences are never
    negative, and their variance is a small fraction of independent seeds'."""
    scenario = load_scenario()
    h = [t.id for t in scenario.threats].index("ddos")
    years = 2000
    base = simulate(japan, years=years, seed=1, ylt=True).ylt.groupby("year").total.sum().to_numpy()
    raised_world = japan_with(h, scenario)
    same = simulate(raised_world, years=years, seed=1, ylt=True).ylt.groupby("year").total.sum().to_numpy()
    other = simulate(raised_world, years=years, seed=2, ylt=True).ylt.groupby("year").total.sum().to_numpy()
    assert (same >= base).all()
    assert np.var(same - base) * 10 < np.var(other - base)


@pytest.mark.parametrize("factor", [0.5, 2.0])
def test_agent_model_day_rates_are_nested(factor):
    """The kernel a day at a time (period 1/365, as the agent model runs it): a rate factor
    on one day only adds (factor > 1) or removes (factor < 1) that day's events."""
    from riskmodel.engine.inputs import KernelInputs
    from riskmodel.engine.kernels import ELT_FLOAT_COLUMNS, ELT_INT_COLUMNS, LAYERS, simulate_periods
    from riskmodel.engine.simulate import engine_key
    from riskmodel.measures import no_measures, protection
    from riskmodel.metrics import FN_BINS
    from riskmodel.world import load_world

    world = load_world()
    inputs = KernelInputs.build(world, protection(world, no_measures(world)))
    s = world.n_sectors

    def day_events(rate_factor: float) -> np.ndarray:
        ints, floats = np.zeros((20_000, len(ELT_INT_COLUMNS)), np.int64), np.zeros((20_000, len(ELT_FLOAT_COLUMNS)))
        rows = []
        for day in range(60):
            n = simulate_periods(
                engine_key(3), 1.0 / 365, 1, day, inputs.ops, (inputs.sect[0] * rate_factor, inputs.sect[1]),
                (inputs.thr[0], inputs.thr[1] * rate_factor, inputs.thr[2]), inputs.casc,
                np.zeros((1, s, len(LAYERS))), np.zeros((1, s + 1)), np.zeros((1, s), np.int64),
                np.zeros((s + 1, FN_BINS), np.int64), ints, floats,
            )  # fmt: skip
            rows.append(np.hstack([ints[:n, [0, 3, 5, 6]], floats[:n]]))
        return np.vstack(rows)

    base, changed = day_events(1.0), day_events(factor)
    low, high = (changed, base) if factor < 1 else (base, changed)
    high_rows = {tuple(row) for row in high}
    assert all(tuple(row) in high_rows for row in low)
    assert len(high) > len(low)
    assert math.isfinite(float(high[:, 4:].sum()))


@settings(max_examples=10, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data(), seed=st.integers(0, 2**32 - 1))
def test_raising_the_hit_probability_only_adds_hits(data, seed):
    """A disaster's hit of an operator is a keyed uniform below the hit probability: a
    higher probability keeps every hit (its day, operator, duration, depth, direct and
    users' loss; the shared production loss may change) and adds some."""
    doc = data.draw(documents())
    frequency = doc["threats"][2]["frequency"]
    higher = copy.deepcopy(doc)
    higher["threats"][2]["frequency"]["hit_probability"] = min(1.0, frequency["hit_probability"] * 1.3)
    columns = ["year", "region", "operator", "day", "duration_hours", "depth", "own", "users"]
    low, high = run_elt(doc, seed), run_elt(higher, seed)
    low_hits = low[low.threat == "threat_2"][columns]
    high_hits = {tuple(row) for row in high[high.threat == "threat_2"][columns].itertuples(index=False)}
    assert all(tuple(row) in high_hits for row in low_hits.itertuples(index=False))


def test_a_sectors_users_move_no_event_and_sizes_move_few():
    """Operators are picked by the inverse CDF of their cumulative shares. A sector's users
    scale every operator alike: no event moves. A new size exponent moves an event only if
    its uniform lies between an old and a new cumulative boundary: the share that moves
    stays below ``sum_i |C'_i - C_i|`` (plus 4.4 standard errors)."""
    doc = compound_poisson_document(n_sectors=2, rate=10.0)
    doc["sectors"][0]["operators"]["count"] = 12
    more_users = copy.deepcopy(doc)
    more_users["sectors"][0]["users"]["total"] *= 3.0
    steeper = copy.deepcopy(doc)
    steeper["sectors"][0]["operators"]["size_exponent"] = 1.2
    base = run_elt(doc, seed=5, years=300)
    users = run_elt(more_users, seed=5, years=300)
    sizes = run_elt(steeper, seed=5, years=300)
    keys = ["year", "sector", "operator", "day", "duration_hours", "depth", "own"]
    pd.testing.assert_frame_equal(base[keys], users[keys])
    mine = (base.sector == "sector_0").to_numpy()
    np.testing.assert_allclose(users.persons[mine], 3.0 * base.persons[mine], rtol=1e-12)
    assert len(sizes) == len(base)  # the same events (counts and survival do not depend on shares)
    moved = (sizes.operator.to_numpy() != base.operator.to_numpy())[mine]
    world, world_steeper = (build_world(Scenario.model_validate(d)) for d in (doc, steeper))
    first = world.operators.sector == 0
    shift = np.abs(
        np.cumsum(world_steeper.operators.sector_share[first]) - np.cumsum(world.operators.sector_share[first])
    )
    bound = float(shift.sum())
    assert 0 < moved.mean() <= bound + 4.42 * math.sqrt(bound * (1 - bound) / moved.size)
