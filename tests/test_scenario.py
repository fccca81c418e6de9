"""The packaged Japan scenario: contents, provenance and the interdependency it implies."""

from __future__ import annotations

import tomllib

import numpy as np
import pandas as pd
import pytest
from pydantic import BaseModel

from riskmodel.errors import InputError
from riskmodel.interdependency import dependence_ranking, read_io_table, spectral_radius
from riskmodel.scenario import default_scenario_path, load_scenario, packaged_file, validate_model
from riskmodel.schema import Scenario, Sourced

CRITICAL = {
    "information_communications", "finance", "aviation", "railways", "electricity",
    "gas", "government_services", "medical", "water", "logistics",
}  # fmt: skip


def test_sectors_regions_ministries(japan):
    assert set(japan.critical_ids) == CRITICAL
    assert len(japan.sector_ids) == 11 and "rest_of_economy" in japan.sector_ids
    assert len(japan.region_ids) == 10
    kinds = {m.kind for m in japan.scenario.ministries}
    assert kinds == {"ministry", "cabinet_centre"}
    supervised = {s for m in japan.scenario.ministries for s in m.sectors}
    assert supervised == CRITICAL
    electricity = japan.sector_ids.index("electricity")
    assert np.array_equal(np.sort(japan.operators.region[japan.operators.sector == electricity]), np.arange(10))


def test_threats_and_catalogue(japan):
    kinds = {t.kind for t in japan.scenario.threats}
    assert kinds == {"cyber", "unintentional", "disaster"}
    measures = japan.scenario.measures
    assert len(measures) >= 20
    assert {m.pillar for m in measures} == {
        "organisation", "information", "requirements", "systems",
        "business_continuity", "leak_prevention", "outsourcing",
    }  # fmt: skip
    assert any(len(m.levels) > 1 for m in measures)
    assert any(m.requires for m in measures) and any(m.excludes for m in measures)


def test_every_table_with_numbers_has_provenance():
    scenario = load_scenario()

    def walk(node):
        if isinstance(node, Sourced):
            assert (node.source or "").strip() or (node.assumption or "").strip()
            yield node
        if isinstance(node, list):
            for item in node:
                yield from walk(item)
        elif isinstance(node, BaseModel):
            for name in type(node).model_fields:
                yield from walk(getattr(node, name))

    assert sum(1 for _ in walk(scenario)) > 150
    data = tomllib.loads(default_scenario_path().read_text())
    del data["threats"][0]["frequency"]["assumption"]
    with pytest.raises(InputError, match=r"threats\[id=ddos\]\.frequency.*provenance"):
        validate_model(Scenario, data, "x.toml")


def test_nisc_static_finding_is_reproduced(japan):
    """Communications, electricity and water are the sectors the others depend on most."""
    ranking = dependence_ranking(japan.cascade, japan.sector_ids, list(japan.critical))
    assert set(ranking.sector[:3]) == {"information_communications", "electricity", "water"}


def test_interdependency_is_well_posed(japan):
    cas = japan.cascade
    assert spectral_radius(cas.national) < 1
    assert spectral_radius(cas.regional) == pytest.approx(spectral_radius(cas.national), rel=1e-9)
    assert np.allclose(cas.regional.sum(axis=1), np.tile(cas.national.sum(axis=1), cas.n_regions))
    assert (cas.k > 0).all() and (cas.k <= 1).all()
    assert (cas.leontief >= -1e-12).all()


def test_io_table_and_split(japan):
    table = read_io_table(packaged_file("japan_io_2011_13sector.csv"))
    assert len(table.sectors) == 13
    assert japan.sector_output.sum() == pytest.approx(table.output.sum() * 1e6, rel=1e-12)
    # domestic intermediate sales never exceed output once imports are removed
    assert (table.flows.sum(axis=1) < table.output).all()
    egw = japan.sector_ids.index("electricity")
    assert japan.sector_output[egw] == pytest.approx(0.63 * table.output[4] * 1e6)


def test_seed_incident_table():
    incidents = pd.read_csv(packaged_file("incidents_seed.csv"))
    assert len(incidents) == 9
    assert set(incidents.threat_kind) == {"unintentional"}
    assert set(incidents.sector) <= CRITICAL
    assert incidents.loc[incidents.sector == "railways", "persons_affected"].item() == 2_600_000
