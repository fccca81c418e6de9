"""Shared contractors: one contractor's fault takes several client operators down at once.

A tiny world: one sector of five operators (Zipf sizes) in one region, two threats of the
same kind (``fault`` and ``contractor_fault``), continuous service, no cascade, and one
measure (``clauses``) that halves an operator's contractor faults. ``share`` of the
sector's contractor faults strike its shared contractor, whose clients are its
``members`` largest operators.
"""

from __future__ import annotations

import copy
import math

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskmodel.abm.valuation import event_values
from riskmodel.calibration.check import reported_events
from riskmodel.calibration.observation import ReportingFilter
from riskmodel.cli import app
from riskmodel.engine.simulate import simulate
from riskmodel.errors import InputError
from riskmodel.measures import no_measures
from riskmodel.scenario import load_scenario
from riskmodel.schema import SHARED_GROUPS, Scenario
from riskmodel.toy import compound_poisson_document, write_toml
from riskmodel.world import build_world

RATE, CONTRACTOR_RATE, OPERATORS = 2.0, 1.5, 5
PROVENANCE = {"assumption": "test"}


def tiny(share: float | None = None, members: int | None = 3, system: float | None = None) -> dict:
    """The tiny world's document; ``share`` None leaves the shared contractor out,
    ``system`` adds a shared system of the two largest operators (every threat)."""
    doc = compound_poisson_document(n_sectors=1, rate=RATE, median_share=1e-4, sigma=0.8, value_of_time=500.0)
    sector = doc["sectors"][0]
    sector["operators"]["count"] = OPERATORS
    sector["it_dependence"] = {"share": 0.5, "concentration": 5.0, **PROVENANCE}
    contractor = copy.deepcopy(doc["threats"][0])
    contractor.update(id="contractor_fault", name="Contractor fault")
    contractor["frequency"]["rate"] = CONTRACTOR_RATE
    contractor["duration"]["median_hours"] = 3.0
    doc["threats"].append(contractor)
    doc["measures"] = [
        {
            "id": "clauses",
            "name": "Contract clauses",
            "pillar": "outsourcing",
            "levels": [{"cost_fixed": 0.0, "effects": {"frequency": {"contractor_fault": 0.5}}, **PROVENANCE}],
        }
    ]
    if system is not None:
        sector["shared_system"] = {"share": system, "members": 2, **PROVENANCE}
    if share is not None:
        sector["shared_contractor"] = {"share": share, **PROVENANCE}
        if members is not None:
            sector["shared_contractor"]["members"] = members
    return doc


def world_of(doc: dict):
    return build_world(Scenario.model_validate(doc))


def clients(world) -> np.ndarray:
    """The contractor's clients found by brute force: the sector's largest by users."""
    spec = world.scenario.sectors[0].shared_contractor
    return np.sort(np.argsort(-world.operators.users, kind="stable")[: spec.members])


def by_event(elt: pd.DataFrame):
    return elt.groupby(["year", "event"], sort=False)


def test_share_one_takes_exactly_the_clients_down_with_one_outage():
    """Every contractor fault is the contractor's: each such event has one row per client
    (the three largest operators), one day, one duration, one Beta draw (depth over IT
    dependence); the sector's other faults stay single operators."""
    world = world_of(tiny(share=1.0, members=3))
    elt = simulate(world, years=400, seed=4, elt=True).elt
    expected = clients(world)
    assert list(expected) == [0, 1, 2]
    it = world.operators.it_dependence
    contractor = elt[elt.threat == "contractor_fault"]
    events = 0
    for _, event in by_event(contractor):
        events += 1
        assert list(event.operator) == list(expected)
        assert event.day.nunique() == 1
        assert event.duration_hours.nunique() == 1
        draw = event.depth.to_numpy() / it[event.operator.to_numpy()]
        np.testing.assert_allclose(draw, draw[0], rtol=1e-12)
    assert events > 400 * CONTRACTOR_RATE * OPERATORS * 0.9
    assert by_event(elt[elt.threat == "fault"]).size().max() == 1


def test_share_zero_changes_no_byte():
    """A shared contractor of share 0 (with or without a shared system before it) gives
    the same event and year tables as no table at all: its uniform is never drawn."""
    for system in (None, 0.4):
        base = simulate(world_of(tiny(system=system)), years=300, seed=9, ylt=True, elt=True)
        other = simulate(world_of(tiny(share=0.0, system=system)), years=300, seed=9, ylt=True, elt=True)
        pd.testing.assert_frame_equal(other.elt, base.elt, check_exact=True)
        pd.testing.assert_frame_equal(other.ylt, base.ylt, check_exact=True)


def test_a_contractor_after_the_shared_system_moves_only_single_contractor_faults():
    """Same seed: adding a contractor keeps every shared-system event and every event of
    the other threat; it only turns single contractor faults into the clients' events."""
    before = simulate(world_of(tiny(system=0.3)), years=100, seed=2, elt=True).elt
    after = simulate(world_of(tiny(share=0.4, system=0.3)), years=100, seed=2, elt=True).elt
    old = {key: g.drop(columns="event").reset_index(drop=True) for key, g in by_event(before)}
    new = {key: g.drop(columns="event").reset_index(drop=True) for key, g in by_event(after)}
    assert set(old) == set(new)
    moved = 0
    for key, frame in old.items():
        if len(frame) > 1 or frame.threat.iloc[0] == "fault":
            pd.testing.assert_frame_equal(new[key], frame, check_exact=True)
        elif len(new[key]) > 1:
            moved += 1
            assert list(new[key].operator) == [0, 1, 2]
    assert moved > 0


@pytest.mark.parametrize("share,members,system", [(0.3, 3, None), (1.0, 4, None), (0.4, 3, 0.3)])
def test_operators_down_per_year_match_the_closed_form(share, members, system):
    """Contractor faults a year take rate (1 - q - p + q M_s + p M) operators down (p the
    contractor's share, M its clients; q and M_s = 2 the shared system's); events a year
    stay the rate; each operator's downs match the agents' valuation rate. Tolerance 4 SE."""
    years = 20_000
    world = world_of(tiny(share=share, members=members, system=system))
    elt = simulate(world, years=years, seed=13, elt=True).elt
    contractor = elt[elt.threat == "contractor_fault"]
    rate = CONTRACTOR_RATE * OPERATORS
    q = system or 0.0
    down = contractor.groupby("year").size().reindex(range(years), fill_value=0).to_numpy()
    expected = rate * (1 - q - share + q * 2 + share * members)
    assert abs(down.mean() - expected) < 4 * down.std(ddof=1) / math.sqrt(years)
    events = contractor.groupby("year").event.nunique().reindex(range(years), fill_value=0).to_numpy()
    assert abs(events.mean() - rate) < 4 * events.std(ddof=1) / math.sqrt(years)
    h = world.threat_ids.index("contractor_fault")
    per_operator = event_values(world).rate[:, h]
    assert per_operator.sum() == pytest.approx(expected, rel=1e-12)
    counts = contractor.groupby(["year", "operator"]).size().unstack(fill_value=0)
    counts = counts.reindex(index=range(years), columns=range(OPERATORS), fill_value=0).to_numpy()
    se = counts.std(axis=0, ddof=1) / math.sqrt(years)
    assert np.all(np.abs(counts.mean(axis=0) - per_operator) <= 4 * se)  # an operator never down: 0 <= 0


def test_measures_act_on_each_client():
    """A client with contract clauses (halving its contractor faults) drops out of some of
    the contractor's events and nothing else changes: its rows are a subset of the
    unmitigated run's, every other row is the same, and it keeps about half its events
    (4 SE of a binomial); a shared event keeps it only when it keeps every client without
    the measure (one survival uniform for the event)."""
    world = world_of(tiny(share=1.0, members=3))
    in_place = no_measures(world)
    in_place[1, 0] = True
    plain = simulate(world, years=2000, seed=6, elt=True).elt.drop(columns="event")
    measured = simulate(world, in_place=in_place, years=2000, seed=6, elt=True).elt.drop(columns="event")
    others = plain[plain.operator != 1].reset_index(drop=True)
    pd.testing.assert_frame_equal(measured[measured.operator != 1].reset_index(drop=True), others, check_exact=True)
    mine, theirs = measured[measured.operator == 1], plain[plain.operator == 1]
    key = ["year", "day", "threat", "duration_hours", "depth"]
    merged = mine.merge(theirs, on=key, how="left", suffixes=("", "_plain"), indicator=True)
    assert len(merged) == len(mine) and (merged["_merge"] == "both").all()
    for threat in ("contractor_fault", "fault"):
        n, kept = (theirs.threat == threat).sum(), (mine.threat == threat).sum()
        p = 0.5 if threat == "contractor_fault" else 1.0
        assert abs(kept - p * n) <= 4 * math.sqrt(n * p * (1 - p)) + 1e-9
    shared = measured[measured.threat == "contractor_fault"].groupby(["year", "day", "duration_hours"])
    assert shared.operator.apply(lambda o: set(o) in ({0, 2}, {0, 1, 2})).all()


def test_the_predictive_check_counts_a_contractors_fault_once():
    """A contractor's fault is one reported failure, its clients' persons summed."""
    world = world_of(tiny(share=0.6, members=3))
    f = ReportingFilter("all", ("unintentional",), 0.0, 0.0, (1.0, 1.0), 2000, 2000, "test")
    reported = reported_events(world, f, 200, 5)
    by_event = simulate(world, years=200, seed=5, elt=True).elt.groupby(["year", "event"]).persons.sum()
    assert len(reported) == len(by_event) < len(simulate(world, years=200, seed=5, elt=True).elt)
    np.testing.assert_allclose(np.sort(reported.persons.to_numpy()), np.sort(by_event.to_numpy()), rtol=1e-12)


@pytest.mark.parametrize(
    "change,field",
    [
        ({"members": 6}, r"shared_contractor\.members.*at most 5"),
        ({"threats": ["nothing"]}, r"shared_contractor\.threats\[0\].*one of"),
        ({"regions": ["nowhere"]}, r"shared_contractor\.regions\[0\].*one of"),
        ({"share": 0.8}, r"shared_contractor\.share.*at most 0\.3"),
    ],
)
def test_bad_shared_contractors_are_refused(change, field, tmp_path):
    """Each a one-line InputError; through the CLI, exit status 2 and that one line."""
    doc = tiny(share=0.2, system=0.7)
    doc["sectors"][0]["shared_contractor"].update(change)
    path = write_toml(doc, tmp_path / "bad.toml")
    with pytest.raises(InputError, match=field):
        build_world(load_scenario(path), path)
    result = CliRunner().invoke(app, ["simulate", "--scenario", str(path), "--years", "10", "--out", str(tmp_path)])
    assert result.exit_code == 2
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")


def test_default_contractors_take_their_clients_down(japan):
    """In the default scenario every critical sector has a shared contractor whose
    clients are its largest operators and whose share covers contractor faults only."""
    groups, op = japan.shared, japan.operators
    h = japan.threat_ids.index("contractor_fault")
    for s in japan.critical_sectors:
        spec = japan.scenario.sectors[s].shared_contractor
        kinds = [SHARED_GROUPS[groups.kind[g]] for g in range(groups.first[s], groups.first[s + 1])]
        assert kinds[-1] == "shared_contractor"  # after the shared system, where there is one
        g = groups.first[s + 1] - 1
        rows = np.flatnonzero(op.sector == s)
        largest = np.sort(rows[np.argsort(-op.users[rows], kind="stable")][: spec.members])
        np.testing.assert_array_equal(groups.members_of(g), largest)
        assert groups.share[g, h] == spec.share > 0
        assert np.count_nonzero(groups.share[g]) == 1
