"""Shared fixtures: the default world and small runs, built once per test session."""

from __future__ import annotations

import pytest

from riskmodel.calibration.model import prior_world
from riskmodel.engine.simulate import simulate
from riskmodel.toy import compound_poisson
from riskmodel.world import World, build_world, load_world


@pytest.fixture(scope="session")
def japan() -> World:
    return load_world()


@pytest.fixture(scope="session")
def japan_at_priors() -> World:
    """The default scenario at its priors, the rates before calibration (unintentional
    failures about ten times, cyber attacks about fifty times the calibrated ones): failures
    enough for the agent model's directional tests to see a mechanism act on a few seeds."""
    return prior_world(load_world())


@pytest.fixture(scope="session")
def japan_run(japan):
    """2,000 years of the default scenario with both loss tables kept."""
    return simulate(japan, years=2000, seed=11, ylt=True, elt=True)


@pytest.fixture(scope="session")
def toy_world() -> World:
    return build_world(compound_poisson(n_sectors=3, rate=2.0, median_share=1e-3, sigma=0.8))
