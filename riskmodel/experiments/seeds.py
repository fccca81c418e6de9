"""Seeds of an experiment's runs and samplers, from its one root seed.

A run's seed comes from ``numpy.random.SeedSequence(root, spawn_key=(replication,))``:
replication ``r`` has the same seed at every design point (common random numbers), so
the difference between two lever settings in one replication is not blurred by
different draws, and paired intervals are narrow. With ``crn = false`` the design point
joins the key and every run has its own stream. Nothing here depends on the order runs
are executed in, how many workers there are, or where they run.
"""

from __future__ import annotations

import numpy as np

DESIGN_KEY = 2**32  # spawn key of the samplers' seed, apart from every replication's


def run_seed(root: int, replication: int, point: int | None = None) -> int:
    """The seed of replication ``replication`` (at design point ``point`` when runs do not
    share common random numbers), a whole number below 2**63."""
    key = (replication,) if point is None else (replication, point)
    return int(np.random.SeedSequence(root, spawn_key=key).generate_state(1, np.uint64)[0] >> np.uint64(1))


def design_seed(root: int) -> int:
    """The seed of the design's samplers (SALib's and NumPy's), a 32-bit whole number."""
    return int(np.random.SeedSequence(root, spawn_key=(DESIGN_KEY,)).generate_state(1, np.uint32)[0])
