"""Counter-derived random streams, the one way every part of a run gets random numbers.

Every stream is ``SeedSequence(seed, spawn_key=(purpose, ...))``: a purpose below and
counters under it (a day, a set-up step). A stream's draws never depend on how much
another stream drew, nor on threads or chunking, and two purposes never share a stream.
The engine's kernels draw keyed numbers instead (Philox4x32-10, :mod:`riskmodel.engine.keyed`)
under a key made the same way (:func:`counter_key`), so no two purposes share a key either.
"""

from __future__ import annotations

import numpy as np

ENGINE_STREAM = 0  # the Monte Carlo engine's keyed draws
ABM_STREAM = 1  # the agent model
THINNING_STREAM = 2  # the optimiser's blocking coins
BOOTSTRAP_STREAM = 3  # resamples of years for paired intervals (riskmodel.compare)
CALIBRATION_STREAM = 4  # posterior draws, synthetic incident data and their reporting coins (riskmodel.calibration)
OPERATOR_STREAM = 5  # operators' traits drawn when a world is compiled (IT dependence), one stream per sector

# Purposes of the root seeds a run derives for further runs of its own (riskmodel.optimize:
# fresh years out of sample, and the gap's replication batches; the agent model's replications).
OUT_OF_SAMPLE_SEED, REPLICATION_SEED = 1, 2
# (riskmodel.calibration: the posterior predictive check's years, synthetic data sets' years)
PREDICTIVE_SEED, SYNTHETIC_SEED = 3, 4


def counter_rng(seed: int, *key: int) -> np.random.Generator:
    """The generator of stream ``key`` (a purpose, then its counters) of a run with root ``seed``."""
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=key)))


def derived_seed(seed: int, purpose: int, index: int = 0) -> int:
    """A root seed for further engine years, independent of ``seed``'s own years and of
    every other (purpose, index): drawn from ``SeedSequence((seed, purpose, index))``, so
    no two runs' years overlap the way ``seed + k`` offsets can."""
    return int(np.random.SeedSequence((seed, purpose, index)).generate_state(1, dtype=np.uint64)[0] >> 1)


def replication_seed(seed: int, replication: int) -> int:
    """The root seed of replication ``replication`` of a run with root ``seed``: the seed
    itself for replication 0 (one replication is the plain run), a derived seed after."""
    return seed if replication == 0 else derived_seed(seed, REPLICATION_SEED, replication)


def counter_key(seed: int, *key: int) -> np.ndarray:
    """The 64-bit key (two ``uint32`` words) of keyed draws for ``key`` in a run with root ``seed``."""
    return np.random.SeedSequence(seed, spawn_key=key).generate_state(2, dtype=np.uint32)
