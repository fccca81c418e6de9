"""The catalogue's rules by measure: prerequisites, exclusions, levels.

A portfolio holds at most one level of a measure, every prerequisite of a measure it
holds, and never two measures that exclude each other (``riskmodel.portfolio`` checks
files against the same rules). The agents check them before every change.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.world import World


@dataclass(frozen=True)
class Rules:
    requires: np.ndarray  # [measure, measure]: the first needs the second
    excludes: np.ndarray  # [measure, measure], symmetric
    first_option: np.ndarray  # [measure]: its first level's option
    option_measure: np.ndarray  # [option] -> measure
    depth: np.ndarray  # [measure]: length of its chain of prerequisites
    levels: np.ndarray  # [option, measure] 0/1: the option is a level of the measure

    @classmethod
    def of(cls, world: World) -> Rules:
        cat = world.catalogue
        n = len(cat.measure_ids)
        requires, excludes = cat.requires, cat.excludes
        depth = np.zeros(n, dtype=np.int64)
        for _ in range(n):  # prerequisites first: the longest chain below each measure
            deeper = np.array([1 + depth[requires[m]].max() if requires[m].any() else 0 for m in range(n)])
            if np.array_equal(deeper, depth):
                break
            depth = deeper
        first = np.array([np.flatnonzero(cat.option_measure == m)[0] for m in range(n)], dtype=np.int64)
        levels = (cat.option_measure[:, None] == np.arange(n)[None, :]).astype(np.int64)
        return cls(requires, excludes, first, cat.option_measure, depth, levels)

    def measures_held(self, in_place: np.ndarray) -> np.ndarray:
        """``[..., measure]``: which measures (at any level) each row of ``in_place`` holds."""
        return (in_place.astype(np.int64) @ self.levels) > 0  # integers: exact, no BLAS

    def allowed(self, held: np.ndarray, option: int) -> bool:
        """Whether ``option`` may join the measures ``held`` (other levels of its own
        measure aside): its prerequisites held, nothing it excludes held."""
        m = int(self.option_measure[option])
        others = held.copy()
        others[m] = False
        return not (self.requires[m] & ~others).any() and not (self.excludes[m] & others).any()

    def needed(self, held: np.ndarray, measure: int) -> bool:
        """Whether another measure held requires ``measure``."""
        return bool(self.requires[held, measure].any())
