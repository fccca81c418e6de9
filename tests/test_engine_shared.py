"""Shared systems, a failure's reach and operators' IT dependence against closed forms.

A tiny world: one sector of four operators (Zipf sizes) in one region, continuous service,
Beta(1, 1) depth (mean 1/2), lognormal durations (median 1 h, sigma 1: mean e^0.5 h),
lognormal direct losses with a small median (so the cap at a year's revenue does not bind).
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from riskmodel.calibration.check import reported_events
from riskmodel.calibration.observation import ReportingFilter
from riskmodel.engine.inputs import KernelInputs
from riskmodel.engine.kernels import NODE_OTHERS
from riskmodel.engine.simulate import simulate
from riskmodel.errors import InputError
from riskmodel.measures import no_measures, protection
from riskmodel.schema import Scenario
from riskmodel.streams import OPERATOR_STREAM, counter_rng
from riskmodel.toy import compound_poisson_document, lognormal_moments
from riskmodel.world import build_world, operator_it_dependence

RATE, MEDIAN, SIGMA, VOT, OUTPUT = 3.0, 1e-4, 0.8, 500.0, 1e12
PROVENANCE = {"assumption": "test"}


def tiny(share: float | None = None, members: int | None = 2, reach: float | None = None, it_share: float = 1.0,
         concentration: float | None = None, cascade: float = 0.0, count: int = 4) -> dict:  # fmt: skip
    """The tiny world's document; ``share`` None leaves the shared system out."""
    doc = compound_poisson_document(
        n_sectors=2, rate=RATE, median_share=MEDIAN, sigma=SIGMA, value_of_time=VOT, output=OUTPUT,
        cascade_share=cascade, matrix=[[0.1] * 3 for _ in range(3)],
    )  # fmt: skip
    sector = doc["sectors"][0]
    sector["operators"]["count"] = count
    sector["it_dependence"] = {"share": it_share, **PROVENANCE}
    if concentration is not None:
        sector["it_dependence"]["concentration"] = concentration
    if reach is not None:
        sector["reach"] = {"share": reach, **PROVENANCE}
    if share is not None:
        sector["shared_system"] = {"share": share, **PROVENANCE}
        if members is not None:
            sector["shared_system"]["members"] = members
    return doc


def world_of(doc: dict):
    return build_world(Scenario.model_validate(doc))


def run(doc: dict, years: int, seed: int = 7):
    return simulate(world_of(doc), years=years, seed=seed, ylt=True, elt=True)


def test_shared_systems_off_change_nothing():
    """No table, a share of 0, and a reach equal to the IT dependence: the same bytes."""
    base = run(tiny(it_share=0.6), 400)
    for doc in (tiny(share=0.0, it_share=0.6), tiny(reach=0.6, it_share=0.6), tiny(share=0.0, members=None)):
        if doc["sectors"][0]["it_dependence"]["share"] != 0.6:
            doc["sectors"][0]["it_dependence"]["share"] = 0.6
        other = run(doc, 400)
        pd.testing.assert_frame_equal(other.elt, base.elt, check_exact=True)
        pd.testing.assert_frame_equal(other.ylt, base.ylt, check_exact=True)


def test_a_shared_event_is_the_sum_over_its_members():
    """Each shared event has one row per member, all with the event's one outage (same
    duration, same Beta draw); persons are users x draw x reach, the loss to others the
    linear cascade ``v' (S - I) c* d`` of each member; the event's figures are the sums."""
    doc = tiny(share=0.5, members=3, reach=0.9, it_share=0.5, cascade=0.5)
    world = world_of(doc)
    result = simulate(world, years=300, seed=3, elt=True)
    elt = result.elt
    members = world.shared.members_of(0)
    assert list(members) == [0, 1, 2]  # the three largest of four Zipf-sized operators
    inputs = KernelInputs.build(world, protection(world, no_measures(world)))
    op = world.operators
    shared = elt[elt.sector == "sector_0"].groupby(["year", "event"]).filter(lambda g: len(g) > 1)
    assert len(shared) > 0
    for _, event in shared.groupby(["year", "event"]):
        o = event.operator.to_numpy()
        assert list(o) == list(members)
        draw = event.depth.to_numpy() / op.it_dependence[o]
        np.testing.assert_allclose(draw, draw[0], rtol=1e-12)
        np.testing.assert_array_equal(event.duration_hours.to_numpy(), event.duration_hours.iloc[0])
        np.testing.assert_allclose(event.persons.sum(), draw[0] * (op.users[o] * op.reach[o]).sum(), rtol=1e-12)
        shock = event.depth.to_numpy() * op.node_share[o] * world.cascade_share[0]
        others = inputs.casc[7][op.node[o], NODE_OTHERS] * shock * event.duration_hours.to_numpy()
        np.testing.assert_allclose(event.others.to_numpy(), others, rtol=1e-12)
        users = event.persons.to_numpy() * event.duration_hours.to_numpy() * VOT
        np.testing.assert_allclose(event.users.to_numpy(), users, rtol=1e-12)
    # singles stay one operator each, picked by size
    singles = elt[elt.sector == "sector_0"].groupby(["year", "event"]).filter(lambda g: len(g) == 1)
    assert singles.operator.nunique() == 4


def expected_event_loss(world, rows: np.ndarray) -> float:
    """E[loss] of a failure of operators ``rows`` at once (no cascade): direct loss
    revenue x E[ratio] plus users' loss users x reach x E[draw] x E[hours] x value of time."""
    m1, _ = lognormal_moments(MEDIAN, SIGMA)
    op = world.operators
    return float((op.revenue[rows] * m1 + op.users[rows] * op.reach[rows] * 0.5 * math.exp(0.5) * VOT).sum())


@pytest.mark.parametrize("share,members", [(0.0, 2), (0.4, 2), (1.0, 4)])
def test_annual_loss_and_counts_match_the_closed_form(share, members):
    """E[annual loss] = rate [(1 - p) sum_o w_o E[L_o] + p sum_m E[L_m]]; failure events a
    year stay the sector's rate (rate per operator x operators); operators down a year are
    rate (1 - p + p M). Tolerance: 4 SE."""
    years = 20_000
    doc = tiny(share=share, members=members, reach=0.7, it_share=0.5, concentration=5.0)
    world = world_of(doc)
    result = simulate(world, years=years, seed=11, ylt=True, elt=True)
    ylt = result.ylt[result.ylt.sector == "sector_0"].set_index("year").reindex(range(years), fill_value=0)
    rows = np.flatnonzero(world.operators.sector == 0)
    weights = world.operators.sector_share[rows] / world.operators.sector_share[rows].sum()
    single = sum(w * expected_event_loss(world, np.array([o])) for w, o in zip(weights, rows, strict=True))
    members_of = world.shared.members_of(0)
    rate = float(world.sector_rate[0].sum())
    assert rate == pytest.approx(RATE * 4)
    expected = rate * ((1 - share) * single + share * expected_event_loss(world, members_of))
    total = ylt.total.to_numpy()
    assert abs(total.mean() - expected) < 4 * total.std(ddof=1) / math.sqrt(years)
    down = ylt.events.to_numpy()
    assert abs(down.mean() - rate * (1 - share + share * members)) < 4 * down.std(ddof=1) / math.sqrt(years)
    events = result.elt[result.elt.sector == "sector_0"].groupby("year").event.nunique()
    events = events.reindex(range(years), fill_value=0).to_numpy()
    assert abs(events.mean() - rate) < 4 * events.std(ddof=1) / math.sqrt(years)


def test_raising_the_shared_share_only_turns_events_shared():
    """Same seed: every event shared at the lower share is the same shared event at the
    higher one, and every single failure at the higher share is the same at the lower."""
    low, high = run(tiny(share=0.2, members=3), 60).elt, run(tiny(share=0.6, members=3), 60).elt
    low_events = {key: g.drop(columns="event").reset_index(drop=True) for key, g in low.groupby(["year", "event"])}
    high_events = {key: g.drop(columns="event").reset_index(drop=True) for key, g in high.groupby(["year", "event"])}
    assert set(low_events) == set(high_events)  # one event each, shared or not
    n_shared = 0
    for key, frame in low_events.items():
        if len(frame) > 1:
            n_shared += 1
            pd.testing.assert_frame_equal(frame, high_events[key], check_exact=True)
        if len(high_events[key]) == 1:
            pd.testing.assert_frame_equal(high_events[key], frame, check_exact=True)
    assert n_shared > 0


def test_the_predictive_check_counts_a_shared_failure_once():
    """A shared system's failure is one reported failure with its members' persons summed."""
    world = world_of(tiny(share=0.5, members=3, reach=0.9))
    f = ReportingFilter("all", ("unintentional",), 0.0, 0.0, (1.0, 1.0), 2000, 2000, "test")
    reported = reported_events(world, f, 200, 5)
    elt = simulate(world, years=200, seed=5, elt=True).elt
    by_event = elt.groupby(["year", "event"]).persons.sum()
    assert len(reported) == len(by_event)
    np.testing.assert_allclose(np.sort(reported.persons.to_numpy()), np.sort(by_event.to_numpy()), rtol=1e-12)


@settings(max_examples=60, deadline=None)
@given(
    share=st.floats(0.0, 1.0),
    concentration=st.floats(0.05, 1000.0),
    weights=st.lists(st.floats(1e-6, 1.0), min_size=1, max_size=40),
    seed=st.integers(0, 2**32 - 1),
)
def test_operator_it_dependence_keeps_the_weighted_mean(share, concentration, weights, seed):
    """Output-weighted mean exactly the sector's share (1e-12), every value in [0, 1]."""
    w = np.array(weights)
    x = operator_it_dependence(share, concentration, w, np.random.default_rng(seed))
    assert np.all((x >= 0.0) & (x <= 1.0))
    assert abs(float(w @ x / w.sum()) - share) < 1e-12


def test_it_dependence_draws_are_keyed_by_sector():
    """Each sector's operators draw from their own stream: changing one sector's spread
    changes no other sector's IT dependence nor any of its events; the draws are the
    stream's Beta draws, scaled."""
    doc = tiny(it_share=0.5, concentration=4.0)
    doc["sectors"][1]["it_dependence"] = {"share": 0.3, "concentration": 8.0, **PROVENANCE}
    world = world_of(doc)
    op = world.operators
    first = op.sector == 0
    raw = counter_rng(0, OPERATOR_STREAM, 0).beta(0.5 * 4.0, 0.5 * 4.0, first.sum())
    np.testing.assert_allclose(op.it_dependence[first] / raw, (op.it_dependence[first] / raw)[0], rtol=1e-12)
    assert np.ptp(op.it_dependence[first]) > 0
    changed = tiny(it_share=0.5, concentration=40.0)
    changed["sectors"][1]["it_dependence"] = {"share": 0.3, "concentration": 8.0, **PROVENANCE}
    other = world_of(changed)
    np.testing.assert_array_equal(other.operators.it_dependence[~first], op.it_dependence[~first])
    assert not np.array_equal(other.operators.it_dependence[first], op.it_dependence[first])
    a = simulate(world, years=300, seed=2, elt=True).elt
    b = simulate(other, years=300, seed=2, elt=True).elt
    keep = ["year", "event", "day", "operator", "duration_hours", "depth", "persons", "own", "users", "others"]
    pd.testing.assert_frame_equal(
        a.loc[a.sector == "sector_1", keep].reset_index(drop=True).drop(columns="event"),
        b.loc[b.sector == "sector_1", keep].reset_index(drop=True).drop(columns="event"),
        check_exact=True,
    )
    pd.testing.assert_frame_equal(
        a.loc[a.sector == "sector_0", ["year", "operator", "duration_hours"]].reset_index(drop=True),
        b.loc[b.sector == "sector_0", ["year", "operator", "duration_hours"]].reset_index(drop=True),
        check_exact=True,
    )


@pytest.mark.parametrize(
    "change,field",
    [
        ({"members": 5}, r"shared_system\.members.*at most 4"),
        ({"regions": ["nowhere"]}, r"shared_system\.regions\[0\].*one of"),
    ],
)
def test_bad_shared_systems_are_refused(change, field, tmp_path):
    from riskmodel.scenario import load_scenario
    from riskmodel.toy import write_toml

    doc = tiny(share=0.5)
    doc["sectors"][0]["shared_system"].update(change)
    path = write_toml(doc, tmp_path / "bad.toml")
    with pytest.raises(InputError, match=field):
        build_world(load_scenario(path), path)


def test_default_world_keeps_each_sectors_it_dependence(japan):
    """In the default scenario operators differ, and each sector's output-weighted IT
    dependence is its table's value to 1e-12; the shared systems have their members."""
    op = japan.operators
    for s in japan.critical_sectors:
        rows = op.sector == s
        mean = float(op.it_dependence[rows] @ op.revenue[rows] / op.revenue[rows].sum())
        assert abs(mean - japan.it_dependence[s]) < 1e-12
        assert np.ptp(op.it_dependence[rows]) > 0
    aviation, railways = japan.sector_ids.index("aviation"), japan.sector_ids.index("railways")
    kanto = int(((op.sector == railways) & (op.region == japan.region_ids.index("tokyo"))).sum())
    for s, members in ((aviation, 3), (railways, kanto)):
        system = japan.shared.first[s]  # a sector's shared system comes first of its groups
        assert japan.shared.members_of(system).size == members
        assert japan.shared.share[system].max() > 0
