"""What the measures in place do to each operator: multipliers and annual cost.

Effects combine multiplicatively: a threat's events survive all of an operator's
measures with probability ``prod_j (1 - e_jh x_j)``, and likewise for duration, depth,
cascade share and direct loss. Every multiplier lies in [0, 1], so adding a measure can
only lower a loss; the engine draws every random number whether or not an event is
blocked, which keeps the same random years under every portfolio (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.world import World


@dataclass(frozen=True)
class Protection:
    """Per-operator effect multipliers of a set of measures in place."""

    survive: np.ndarray  # [operator, threat] share of events not blocked
    duration: np.ndarray  # [operator, threat] outage-duration multiplier
    depth: np.ndarray  # [operator] inoperability multiplier
    cascade: np.ndarray  # [operator] multiplier of the share reaching the cascade
    direct: np.ndarray  # [operator, threat] direct-loss multiplier
    cost: np.ndarray  # [operator] yen per year


def no_measures(world: World) -> np.ndarray:
    """An empty ``in_place`` matrix: no operator has any measure."""
    return np.zeros((len(world.operators), world.catalogue.n_options), dtype=bool)


def protection(world: World, in_place: np.ndarray) -> Protection:
    """Multipliers and costs for ``in_place[operator, option]`` (bool)."""
    cat = world.catalogue
    in_place = np.asarray(in_place, dtype=bool)
    x = in_place.astype(float)
    if x.shape != (len(world.operators), cat.n_options):
        raise ValueError(f"in_place has shape {x.shape}, expected {(len(world.operators), cat.n_options)}")

    def product(reduction: np.ndarray) -> np.ndarray:
        """prod_j (1 - e_j) over the options in place, multiplied out option by option
        (exact and order-fixed, so results do not depend on a BLAS's threading)."""
        result = np.ones((x.shape[0], *reduction.shape[1:]))
        for option in range(cat.n_options):
            chosen = in_place[:, option]
            if chosen.any():
                result[chosen] *= 1.0 - reduction[option]
        return result

    survive = product(cat.frequency)
    duration_only = product(cat.duration)
    detection_left = product(cat.detection)
    share = world.threats.detection_share[None, :]
    duration = duration_only[:, None] * (1.0 - share * (1.0 - detection_left[:, None]))
    depth = product(cat.depth)
    cascade = product(cat.cascade)
    direct = duration * depth[:, None] * product(cat.direct)[:, None]
    revenue = world.operators.revenue
    cost = (x * (cat.cost_fixed[None, :] + cat.cost_revenue_share[None, :] * revenue[:, None])).sum(axis=1)
    return Protection(survive, duration, depth, cascade, direct, cost)
