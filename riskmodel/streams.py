"""Counter-derived random streams, the one way every part of a run gets random numbers.

Every stream is ``SeedSequence(seed, spawn_key=(purpose, ...))``: a purpose below and
counters under it (a block of years, a day, a set-up step). A stream's draws never
depend on how much another stream drew, nor on threads or chunking, and two purposes
never share a stream.
"""

from __future__ import annotations

import numpy as np

ENGINE_STREAM = 0  # the Monte Carlo engine's blocks of years
ABM_STREAM = 1  # the agent model
THINNING_STREAM = 2  # the optimiser's blocking coins


def counter_rng(seed: int, *key: int) -> np.random.Generator:
    """The generator of stream ``key`` (a purpose, then its counters) of a run with root ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))
