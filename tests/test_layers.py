"""Loss layers on constructed cases: each yen of society's loss counted once, in one layer.

A tiny world with known IO coefficients: one operator (sector 0) and the rest of the
economy (sector 1), one region, a hand-written A*, outputs and value added. Every event's
layers are checked against closed forms computed here from those numbers alone (the
DIIM's static closed form ``S = (I - A*)^-1``), not from the engine's own tables.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from riskmodel.engine.kernels import LAYERS, cascade_hourly
from riskmodel.engine.simulate import simulate
from riskmodel.errors import InputError
from riskmodel.scenario import check_references
from riskmodel.schema import Scenario
from riskmodel.toy import compound_poisson, compound_poisson_document
from riskmodel.world import build_world

A_STAR = [[0.10, 0.25], [0.30, 0.05]]  # a*_ij: sector i's inoperability per unit of sector j's
OUTPUT = [2.0e12, 5.0e12]  # yen a year
VALUE_ADDED = [0.8e12, 3.0e12]  # yen a year: value-added ratios 0.4 and 0.6
CASCADE_SHARE = 0.5
VALUE_OF_TIME = 600.0  # yen per user-hour
USERS = 1000.0  # the toy's users per sector
YEARS = 400


def tiny(matrix: list[list[float]] = A_STAR) -> dict:
    return compound_poisson_document(
        n_sectors=1, rate=3.0, value_of_time=VALUE_OF_TIME, cascade_share=CASCADE_SHARE, depth=(2.0, 2.0),
        matrix=matrix, outputs=OUTPUT, value_added=VALUE_ADDED,
    )  # fmt: skip


@pytest.fixture(scope="module")
def run():
    world = build_world(Scenario.model_validate(tiny()))
    return world, simulate(world, years=YEARS, seed=5, elt=True, ylt=True)


def closed_form_others(depth: np.ndarray, hours: np.ndarray) -> np.ndarray:
    """v' (S - I) c* D: the value added everyone but the failing operator loses."""
    leontief = np.linalg.inv(np.eye(2) - np.array(A_STAR))
    v = np.array(VALUE_ADDED) / 8760.0  # yen an hour
    shock = depth * CASCADE_SHARE  # one operator: all of its node's output
    return (v @ leontief[:, 0] - v[0]) * shock * hours


def test_each_layer_is_its_closed_form(run):
    _, result = run
    elt = result.elt
    assert len(elt) > 500 and (elt.sector == "sector_0").all()
    depth, hours = elt.depth.to_numpy(), elt.duration_hours.to_numpy()
    assert np.allclose(elt.users, USERS * depth * hours * VALUE_OF_TIME, rtol=1e-12)
    assert np.allclose(elt.others, closed_form_others(depth, hours), rtol=1e-9)
    # valued at value added, not gross output: x' (S - I) c* D would be larger here
    leontief = np.linalg.inv(np.eye(2) - np.array(A_STAR))
    x = np.array(OUTPUT) / 8760.0
    gross = (x @ leontief[:, 0] - x[0]) * depth * CASCADE_SHARE * hours
    assert (elt.others < 0.75 * gross).all()


def test_the_cascade_is_split_between_own_output_and_others_with_nothing_left(run):
    """The hourly DIIM's lost value added (every sector) is the failing operator's own lost
    output ``v_0 c* D``, which the own layer holds (lost fees), plus the others' layer."""
    world, result = run
    cas = world.cascade
    v = np.array(VALUE_ADDED) / 8760.0
    for row in result.elt.head(40).itertuples():
        shock = row.depth * CASCADE_SHARE
        by_sector = np.zeros(2)
        cascade_hourly(
            np.array([0]), np.array([shock]), np.array([row.duration_hours]), 1, cas.local, cas.spread,
            cas.region_weight, cas.k, cas.value_added, cas.sector_va_weight, cas.leontief, by_sector,
        )  # fmt: skip
        own_output = v[0] * shock * row.duration_hours
        assert by_sector.sum() == pytest.approx(own_output + row.others, rel=1e-9)


def test_without_interdependency_nothing_falls_on_others():
    """With A* = 0 the cascade reaches no one but the failing operator, whose lost output
    its own layer already holds: others lose nothing, and the own and users' layers are the
    same yen as with the cascade on (same keyed draws), so society's loss is own + users."""
    with_cascade = simulate(build_world(compound_poisson(**_kwargs(A_STAR))), years=YEARS, seed=5, elt=True).elt
    alone = simulate(build_world(compound_poisson(**_kwargs([[0.0, 0.0], [0.0, 0.0]]))), years=YEARS, seed=5,
                     elt=True).elt  # fmt: skip
    assert (alone.others == 0).all()
    for column in ("own", "users", "duration_hours", "depth"):
        assert np.array_equal(alone[column].to_numpy(), with_cascade[column].to_numpy()), column


def _kwargs(matrix: list[list[float]]) -> dict:
    return {"n_sectors": 1, "rate": 3.0, "value_of_time": VALUE_OF_TIME, "cascade_share": CASCADE_SHARE,
            "depth": (2.0, 2.0), "matrix": matrix, "outputs": OUTPUT, "value_added": VALUE_ADDED}  # fmt: skip


def test_layers_add_up_to_society_and_external(run):
    """Year table: society's loss is own + users + others and the ELT's layers sum to it,
    each once; the external cost is everything but the own layer; the summary's layers
    add up to the AAL."""
    _, result = run
    elt, ylt = result.elt, result.ylt
    assert LAYERS == ("own", "users", "others")
    by_year = elt.groupby("year")[list(LAYERS)].sum().reindex(ylt.year, fill_value=0.0)
    for layer in LAYERS:
        assert np.allclose(ylt[layer], by_year[layer].to_numpy(), rtol=1e-12)
    society = elt.own + elt.users + closed_form_others(elt.depth.to_numpy(), elt.duration_hours.to_numpy())
    assert ylt.total.sum() == pytest.approx(society.sum(), rel=1e-9)
    assert np.allclose(ylt.external, ylt.total - ylt.own, rtol=1e-12, atol=1e-6)
    summary = result.summary()
    assert sum(summary["layers"].values()) == pytest.approx(summary["total"]["aal"], rel=1e-9)


def test_value_added_above_output_is_refused():
    document = tiny()
    document["interdependency"]["value_added"] = [3.0e12, 3.0e12]
    with pytest.raises(InputError, match=r"interdependency.value_added\[0\]"):
        check_references(Scenario.model_validate(document), Path("tiny.toml"))
