"""Posterior draws in the optimiser: which draw each block of years takes, and the
scenario at the draws' means.

The convention is the one of ``simulate --posterior``
(:mod:`riskmodel.calibration.posterior`): block ``b`` of ``BLOCK_YEARS`` years takes draw
``b mod D``. A year keeps its keyed random numbers whatever draw it takes, so the SAA's
years, the out-of-sample years and a plain run's years are the same years, and two
portfolios judged on them face the same draws (common random numbers).

The SAA instance of years drawn across draws is built with the scenario's own measure
effects, costs, cascade weights and bars (:func:`riskmodel.optimize.build.build_instance`
reads those from the world, the rest from the events): a draws file may change what
generates the events (frequencies, exposures, durations, severities) but not those, and
one that does is refused (:meth:`PosteriorDraws.check_saa`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.calibration.posterior import draw_overrides, read_draws
from riskmodel.engine.inputs import KernelInputs
from riskmodel.engine.simulate import BLOCK_YEARS
from riskmodel.errors import InputError
from riskmodel.measures import no_measures, protection
from riskmodel.optimize.build import _catalogue_arrays, _costs
from riskmodel.overrides import Override
from riskmodel.world import World, with_overrides

BlockInputs = Callable[[int], KernelInputs]


def blocks_of(years: int) -> int:
    """Blocks of ``BLOCK_YEARS`` years in ``years`` years (the last may be short)."""
    return -(-years // BLOCK_YEARS)


def _saa_inputs(world: World) -> list[np.ndarray]:
    """What the SAA builder reads from the world besides the events (see the module's docstring)."""
    cat, op, threats = world.catalogue, world.operators, world.threats
    rules = [world.scenario.sectors[s].acceptability for s in world.critical_sectors]
    arrays = [np.asarray(v) for v in _catalogue_arrays(world).values() if isinstance(v, np.ndarray)]
    arrays += [getattr(cat, name) for name in ("frequency", "duration", "depth", "cascade", "detection", "direct",
                                               "mandatory")]  # fmt: skip
    arrays += [_costs(world, world.critical_sectors), threats.detection_share, threats.kind, world.service_kind,
               world.service_hours, world.cascade_share, world.cascade.others_weight, op.node,
               op.node_share]  # fmt: skip
    arrays.append(np.array([[r.cvar_level, r.cvar_max, r.fn_constant, r.fn_exponent, r.fn_min_persons]
                            for r in rules if r is not None]))  # fmt: skip
    return [np.asarray(a) for a in arrays]


@dataclass
class PosteriorDraws:
    """A checked draws file over a world: draw ``d``'s world (built once), the world at
    the draws' means, and the kernel inputs each block of years takes."""

    world: World
    path: str
    draws: pd.DataFrame
    _worlds: dict[int, World] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, world: World, path: str | Path) -> PosteriorDraws:
        posterior = cls(world, str(path), read_draws(path))
        posterior.world_of(0)  # a bad file is reported before any year is simulated
        return posterior

    @property
    def n_draws(self) -> int:
        return len(self.draws)

    def world_of(self, draw: int) -> World:
        if draw not in self._worlds:
            drawn = with_overrides(self.world, draw_overrides(self.draws, draw))
            if len(drawn.operators) != len(self.world.operators):
                raise InputError(self.path, "columns", "(operators change)", "draws that keep the scenario's operators")
            self._worlds[draw] = drawn
        return self._worlds[draw]

    def mean_world(self) -> World:
        """The scenario with every override path at the mean of its draws."""
        paths = [c for c in self.draws.columns if c != "draw"]
        return with_overrides(self.world, [Override(p, float(self.draws[p].mean())) for p in paths])

    def draw_of_block(self, block: int) -> int:
        return block % self.n_draws

    def draw_of_year(self, years: np.ndarray) -> np.ndarray:
        """The draw (row position in the file) each year takes."""
        return (np.asarray(years) // BLOCK_YEARS) % self.n_draws

    def block_inputs(self, in_place: np.ndarray | None) -> BlockInputs:
        """Block ``b``'s kernel inputs with the measures ``in_place`` (``None``: none):
        those of draw ``b mod D``, each built once."""
        matrix = no_measures(self.world) if in_place is None else in_place
        built: dict[int, KernelInputs] = {}

        def inputs(block: int) -> KernelInputs:
            draw = self.draw_of_block(block)
            if draw not in built:
                drawn = self.world_of(draw)
                built[draw] = KernelInputs.build(drawn, protection(drawn, matrix))
            return built[draw]

        return inputs

    def check_saa(self, years: int) -> None:
        """Refuse draws (among those ``years`` SAA years take) that change what the SAA
        builder reads from the world rather than from the events."""
        base = _saa_inputs(self.world)
        for draw in sorted({self.draw_of_block(b) for b in range(blocks_of(years))}):
            drawn = _saa_inputs(self.world_of(draw))
            if any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(base, drawn, strict=True)):
                raise InputError(self.path, f"draw {draw}", "(changes measures, costs, cascade weights or bars)",
                                 "draws that change only what generates events: frequencies, exposures, durations, "
                                 "severities")  # fmt: skip
