"""Persons a failure affects and their hours: :func:`reached_outcome` against closed forms,
its properties, and the engine and the agents' valuation counting with it.

A failure stops the service of the draw's share of the users it reaches who meet it (all,
for a continuous service; those who travel in the outage, ``trips_share``, for trips),
each for the whole outage or delay. Where the failed system is one every reached user
passes (a trips service with a reach table: gates, check-in), it affects all who travel in
the outage, each held up by the draw's share of the delay: more persons, the same hours.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import integrate
from scipy.stats import lognorm

from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.abm.objective import Press
from riskmodel.abm.valuation import event_values
from riskmodel.engine.kernels import DISASTER, hours_per_person, reached_outcome, trips_share
from riskmodel.engine.simulate import simulate
from riskmodel.schema import Scenario
from riskmodel.toy import compound_poisson_document
from riskmodel.world import build_world

USERS, REACH, HOURS, DELAY, VOT = 1000.0, 0.8, 16.0, 3.0, 2000.0


def trips_world(reach: float | None = REACH):
    """One trips sector with one operator (1,000 users, 16 service hours, 3 h delay at full
    depth, IT dependence 1, a reach table of ``reach`` unless None), Beta(1, 4) depths and
    lognormal durations (median 1 h, sigma 1)."""
    doc = compound_poisson_document(n_sectors=1, rate=40.0, value_of_time=VOT, depth=(1.0, 4.0))
    sector = doc["sectors"][0]
    sector["users"].update(service="trips", service_hours=HOURS, delay_hours=DELAY)
    if reach is not None:
        sector["reach"] = {"share": reach, "assumption": "test"}
    return build_world(Scenario.model_validate(doc))


# --- the function -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("trips", "passed", "duration", "draw", "persons", "hours"),
    [
        (1.0, 1.0, 4.0, 0.25, 0.25, 0.25 * 0.25 * DELAY),  # a quarter of the service day, held up 0.75 h each
        (1.0, 1.0, 4.0, 1.0, 0.25, 0.25 * DELAY),  # a whole stop: the same persons, the whole delay
        (1.0, 1.0, 20.0, 0.5, 1.0, 0.5 * DELAY),  # longer than the service day: the day's trips
        (1.0, 1.0, 48.0, 0.5, 2.0, 2.0 * 0.5 * DELAY),  # two days: two days of trips
        (1.0, 0.0, 4.0, 0.25, 0.25 * 0.25, 0.25 * 0.25 * DELAY),  # no passed system: the draw's share, whole delay
        (0.0, 0.0, 5.0, 0.3, 0.3, 0.3 * 5.0),  # continuous: the draw's share, for the whole outage
    ],
)
def test_reached_outcome_closed_forms(trips, passed, duration, draw, persons, hours):
    got = reached_outcome(trips, passed, duration, HOURS, DELAY, draw)
    assert got == pytest.approx((persons, hours), rel=1e-15)


positive = st.floats(0.01, 2000.0)
share = st.floats(0.0, 1.0)


@settings(max_examples=200, deadline=None)
@given(d1=positive, d2=positive, draw1=share, draw2=share, service=st.floats(1.0, 24.0), delay=st.floats(0.0, 10.0))
def test_trips_persons_grow_with_the_outage_and_ignore_the_draw(d1, d2, draw1, draw2, service, delay):
    """Trips persons: non-decreasing in the duration (a measure that shortens outages
    never adds persons), independent of the draw; hours linear in the draw and equal to
    the draw's share of persons for the whole delay (the users' loss of a partial stop)."""
    short, long = sorted((d1, d2))
    p_short, _ = reached_outcome(1.0, 1.0, short, service, delay, draw1)
    p_long, h_long = reached_outcome(1.0, 1.0, long, service, delay, draw1)
    p_other, h_other = reached_outcome(1.0, 1.0, long, service, delay, draw2)
    assert p_short <= p_long
    assert p_other == p_long == trips_share(long, service)
    assert h_long == pytest.approx(trips_share(long, service) * draw1 * delay, rel=1e-12, abs=1e-300)
    assert h_other * draw1 == pytest.approx(h_long * draw2, rel=1e-12, abs=1e-300)


@settings(max_examples=200, deadline=None)
@given(duration=positive, draw=share, service=st.floats(1.0, 24.0), delay=st.floats(0.0, 10.0),
       trips=st.sampled_from([0.0, 1.0]))  # fmt: skip
def test_a_passed_system_changes_persons_not_hours(duration, draw, service, delay, trips):
    """The same failure with and without a passed system (which only trips services have):
    the same person-hours, persons times their hours each; at least as many persons with
    it (all who meet it against the draw's share of them)."""
    p_all, h_all = reached_outcome(trips, trips, duration, service, delay, draw)
    p_share, h_share = reached_outcome(trips, 0.0, duration, service, delay, draw)
    assert h_all == pytest.approx(h_share, rel=1e-12, abs=1e-300)
    assert h_all == p_all * hours_per_person(trips, trips, duration, delay, draw)
    assert p_share == pytest.approx(p_all * (draw if trips else 1.0), rel=1e-12, abs=1e-300) and p_share <= p_all


@settings(max_examples=100, deadline=None)
@given(durations=st.lists(positive, min_size=1, max_size=8), draw=share, service=st.floats(1.0, 24.0),
       trips=st.sampled_from([0.0, 1.0]))  # fmt: skip
def test_arrays_give_what_scalars_give(durations, draw, service, trips):
    """The valuation calls the function on arrays, the kernel on scalars: the same numbers."""
    d = np.array(durations)
    persons, hours = reached_outcome(trips, 1.0 - trips, d, service, DELAY, np.full(d.size, draw))
    for i, duration in enumerate(durations):
        assert (persons[i], hours[i]) == reached_outcome(trips, 1.0 - trips, duration, service, DELAY, draw)


# --- the engine and the valuation count with it ----------------------------------------------


@pytest.mark.parametrize("reach", [REACH, None])
def test_engine_persons_and_users_loss_of_every_failure(reach):
    """Every failure of the trips world. With a reach table: persons = users x reach x
    trips share of its duration, whatever its depth. Without: the users of the output it
    stops, users x depth x trips share (the reach is the IT dependence, 1). Either way the
    users' loss is ``users x draw x reach`` persons each delayed the whole ``delay_hours``
    (depth is the draw, the IT dependence being 1), the same events (same keyed draws)."""
    elt = simulate(trips_world(reach), years=50, seed=5, elt=True).elt
    assert len(elt) > 1000 and elt["depth"].std() > 0.1
    d, draw = elt["duration_hours"].to_numpy(), elt["depth"].to_numpy()
    share, reached = trips_share(d, HOURS), USERS * (1.0 if reach is None else reach)
    np.testing.assert_allclose(elt["persons"].to_numpy(), reached * share * (draw if reach is None else 1.0),
                               rtol=1e-12)  # fmt: skip
    np.testing.assert_allclose(elt["users"].to_numpy(), reached * draw * share * DELAY * VOT, rtol=1e-12)
    if reach is None:  # a reach table of 1 = the IT dependence: the same users' loss, more persons
        whole = simulate(trips_world(1.0), years=50, seed=5, elt=True).elt
        np.testing.assert_allclose(whole["users"].to_numpy(), elt["users"].to_numpy(), rtol=1e-12)
        assert (whole["persons"].to_numpy() >= elt["persons"].to_numpy()).all()


def test_valuation_persons_and_hours_are_their_expectations():
    """The agents' valuation of one failure: persons = users x reach x E[trips share], by
    integrating the lognormal duration (median 1 h, sigma 1) independently of the
    valuation's quadrature (times E[draw] = 1/5 of Beta(1, 4) without a reach table, the
    reach then being the IT dependence, 1); person-hours = users x reach x E[trips share]
    x E[draw] x delay either way."""
    duration = lognorm(s=1.0, scale=1.0)
    mean_share, _ = integrate.quad(lambda x: trips_share(x, HOURS) * duration.pdf(x), 0, math.inf, limit=200)
    for reach, persons in ((REACH, USERS * REACH * mean_share), (None, USERS * mean_share * 0.2)):
        values = event_values(trips_world(reach))
        assert values.persons[0, 0] == pytest.approx(persons, rel=1e-6)
        hours = USERS * (1.0 if reach is None else reach) * mean_share * 0.2 * DELAY
        assert values.person_hours[0, 0] == pytest.approx(hours, rel=1e-6)


def test_the_agents_count_the_engines_person_hours(japan_at_priors):
    """The agent model's day: the person-hours of outage its individuals suffer are the
    engine's, the users' loss over the value of time (every sector of the default values
    time), the passed systems of aviation and railways included, where a person loses the
    draw's share of the delay. At the prior rates, so that 30 days hold such failures."""
    japan = japan_at_priors
    model = CriticalInfrastructureModel(japan, fiscal_years=1, seed=4)
    engine_hours = suffered = 0.0
    passed = 0
    for day in range(30):
        events = model.engine.run_day(day)
        model._absorb(events)
        engine_hours += float((events.users / japan.value_of_time[events.sector]).sum())
        suffered += float(model._outage_hours.sum())
        passed += int(japan.passed_system[events.sector].sum())
    assert passed > 0 and (japan.value_of_time[japan.critical_sectors] > 0).all()
    assert suffered == pytest.approx(engine_hours, rel=1e-9)


def test_press_chance_of_a_passed_system_is_its_persons_against_the_threshold(japan):
    """The chance a failure reaches the press: for a passed system (aviation, railways)
    persons do not depend on the depth, so it is 1 where the mean persons under the
    measures' depth multiplier reach the threshold and 0 below; elsewhere the Beta tail,
    strictly between 0 and 1 for some operators."""
    values = event_values(japan)
    press = Press(japan, values, 50_000.0)
    rows = np.arange(len(japan.operators))
    multiplier = np.full(rows.size, 0.5)
    chance = press(rows, multiplier)
    single = japan.threats.kind != DISASTER
    passed = japan.passed_system[japan.operators.sector] > 0
    expected = (values.persons * 0.5 >= 50_000.0)[passed][:, single]
    np.testing.assert_array_equal(chance[passed][:, single], expected)
    assert expected.any() and not expected.all()
    other = chance[~passed][:, single]
    assert ((other > 0) & (other < 1)).any()
