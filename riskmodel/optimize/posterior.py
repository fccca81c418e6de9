"""Posterior draws in the optimiser: how many draws the SAA years take, and which draws
files the SAA may use (the draws themselves: :class:`riskmodel.calibration.posterior.PosteriorDraws`).

The convention is the one of ``simulate --posterior``
(:mod:`riskmodel.calibration.posterior`): block ``b`` of ``BLOCK_YEARS`` years takes draw
``b mod D``. A year keeps its keyed random numbers whatever draw it takes, so the SAA's
years, the out-of-sample years and a plain run's years are the same years, and two
portfolios judged on them face the same draws (common random numbers).

The SAA instance of years drawn across draws is built with the scenario's own measure
effects, costs, cascade weights and bars (:func:`riskmodel.optimize.build.build_instance`
reads those from the world, the rest from the events): a draws file may change what
generates the events (frequencies, exposures, durations, severities) but not those, and
one that does is refused (:func:`check_saa`).
"""

from __future__ import annotations

import numpy as np

from riskmodel.calibration.posterior import PosteriorDraws
from riskmodel.engine.simulate import BLOCK_YEARS
from riskmodel.errors import InputError
from riskmodel.optimize.build import _catalogue_arrays, _costs
from riskmodel.world import World


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


def check_saa(posterior: PosteriorDraws, years: int) -> None:
    """Refuse draws (among those ``years`` SAA years take) that change what the SAA
    builder reads from the world rather than from the events."""
    base = _saa_inputs(posterior.world)
    for draw in sorted({posterior.draw_of_block(b) for b in range(blocks_of(years))}):
        drawn = _saa_inputs(posterior.world_of(draw))
        if any(a.shape != b.shape or not np.array_equal(a, b) for a, b in zip(base, drawn, strict=True)):
            raise InputError(posterior.path, f"draw {draw}", "(changes measures, costs, cascade weights or bars)",
                             "draws that change only what generates events: frequencies, exposures, durations, "
                             "severities")  # fmt: skip
