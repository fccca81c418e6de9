"""What the measures in place do to each operator: multipliers and annual cost.

Effects combine multiplicatively: a threat's events survive all of an operator's
measures with probability ``prod_j (1 - e_jh x_j)``, and likewise for duration, depth,
cascade share and direct loss. Every multiplier lies in [0, 1], so adding a measure can
only lower a loss; the engine draws every random number whether or not an event is
blocked, which keeps the same random years under every portfolio (common random numbers).
"""

from __future__ import annotations

from dataclasses import dataclass, fields

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


@dataclass(frozen=True)
class EffectProducts:
    """``prod_j (1 - e_j)`` over the options in place, one product per kind of effect.

    Arrays have any leading shape (operators, or operators x candidate options); ``survive``
    has a trailing threat axis. :meth:`protection` turns them into the engine's
    multipliers, so that whoever evaluates a change of measures (the agents' cost-benefit,
    the optimiser) uses the engine's own algebra.
    """

    survive: np.ndarray  # [..., threat]
    duration: np.ndarray  # [...] outage-duration products
    detection: np.ndarray  # [...] products of the detection-delay cuts
    depth: np.ndarray
    cascade: np.ndarray
    direct: np.ndarray

    def reshape(self, leading: tuple[int, ...]) -> EffectProducts:
        """The same products with the row axis split into ``leading`` axes."""
        arrays = (getattr(self, f.name) for f in fields(self))
        return EffectProducts(*(a.reshape(leading + a.shape[1:]) for a in arrays))

    def protection(self, world: World, cost: np.ndarray) -> Protection:
        """The multipliers: an outage's duration is cut by ``duration`` and its
        detection-delay share ``a_h`` by ``detection``; the direct loss scales with
        duration, depth and its own cuts."""
        share = world.threats.detection_share
        duration = self.duration[..., None] * (1.0 - share * (1.0 - self.detection[..., None]))
        direct = duration * self.depth[..., None] * self.direct[..., None]
        return Protection(self.survive, duration, self.depth, self.cascade, direct, cost)


def _row_keys(in_place: np.ndarray) -> np.ndarray:
    """One sortable key per row of a boolean matrix: a 64-bit integer while the row fits
    in 64 bits (fast to sort), else the row's packed bytes."""
    packed = np.packbits(in_place, axis=1)
    if packed.shape[1] > 8:
        return packed
    wide = np.zeros((packed.shape[0], 8), dtype=np.uint8)
    wide[:, : packed.shape[1]] = packed
    return wide.view(np.uint64)[:, 0]


def effect_products(world: World, in_place: np.ndarray) -> EffectProducts:
    """The effect products of ``in_place[row, option]`` (bool); a row is an operator or
    any other combination of options to evaluate. Rows with the same options share one
    computation (many operators of a sector have the same portfolio)."""
    cat = world.catalogue
    in_place = np.asarray(in_place, dtype=bool)
    if in_place.ndim != 2 or in_place.shape[1] != cat.n_options:
        raise ValueError(f"in_place has shape {in_place.shape}, expected (rows, {cat.n_options})")
    _, first, inverse = np.unique(_row_keys(in_place), axis=0, return_index=True, return_inverse=True)
    distinct = in_place[first]

    def product(reduction: np.ndarray) -> np.ndarray:
        """prod_j (1 - e_j) over the options in place, multiplied out option by option
        (exact and order-fixed, so results do not depend on a BLAS's threading)."""
        result = np.ones((distinct.shape[0], *reduction.shape[1:]))
        for option in range(cat.n_options):
            chosen = distinct[:, option]
            if chosen.any():
                result[chosen] *= 1.0 - reduction[option]
        return result[inverse.reshape(-1)]

    return EffectProducts(
        survive=product(cat.frequency),
        duration=product(cat.duration),
        detection=product(cat.detection),
        depth=product(cat.depth),
        cascade=product(cat.cascade),
        direct=product(cat.direct),
    )


def annual_cost(world: World, in_place: np.ndarray) -> np.ndarray:
    """Yen a year each operator spends on the options it has in place."""
    per_option = world.catalogue.option_costs(world.operators.revenue)
    return (np.asarray(in_place, dtype=float) * per_option).sum(axis=1)


def protection(world: World, in_place: np.ndarray) -> Protection:
    """Multipliers and costs for ``in_place[operator, option]`` (bool)."""
    in_place = np.asarray(in_place, dtype=bool)
    if in_place.shape != (len(world.operators), world.catalogue.n_options):
        raise ValueError(
            f"in_place has shape {in_place.shape}, expected {(len(world.operators), world.catalogue.n_options)}"
        )
    return effect_products(world, in_place).protection(world, annual_cost(world, in_place))
