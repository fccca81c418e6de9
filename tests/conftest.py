"""Shared fixtures: the default world and small runs, built once per test session."""

from __future__ import annotations

import pytest

from riskmodel.engine.simulate import simulate
from riskmodel.toy import compound_poisson
from riskmodel.world import World, build_world, load_world


@pytest.fixture(scope="session")
def japan() -> World:
    return load_world()


@pytest.fixture(scope="session")
def japan_run(japan):
    """2,000 years of the default scenario with both loss tables kept."""
    return simulate(japan, years=2000, seed=11, ylt=True, elt=True)


@pytest.fixture(scope="session")
def toy_world() -> World:
    return build_world(compound_poisson(n_sectors=3, rate=2.0, median_share=1e-3, sigma=0.8))
