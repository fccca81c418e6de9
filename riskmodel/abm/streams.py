"""The agent model's random streams, derived from one root seed by counters.

As everywhere (:mod:`riskmodel.streams`), every stream is
``SeedSequence(seed, spawn_key=(ABM_STREAM, family, ...))``: the agents' own draws
(Mesa's ``model.rng``), each part of the set-up, and the engine's hazards per day and per
fiscal year. A stream's draws then never depend on how much another stream drew, so
switching one mechanism on or off leaves the other draws of a run as they were.
"""

from __future__ import annotations

import numpy as np

from riskmodel.streams import ABM_STREAM, counter_rng

AGENTS, ENGINE, SETUP = 0, 1, 2  # families
PROPENSITY, OUTSOURCING, ATTACKERS, SPINUP = 0, 1, 2, 3  # set-up streams


def stream(seed: int, *key: int) -> np.random.Generator:
    """The generator of stream ``key`` of a run with root ``seed``."""
    return counter_rng(seed, ABM_STREAM, *key)
