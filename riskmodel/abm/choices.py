"""What changing one measure option is worth, for many operators and options at once.

A change toggles one option at one operator: it adds the option (dropping any other level
of the same measure) where the operator lacks it, and removes it where the operator has
it. :func:`evaluate_changes` values every (option, operator) change in one pass: it stacks
the toggled rows of ``in_place``, runs them through the engine's own effect algebra
(:func:`riskmodel.measures.effect_products`) and prices them with a decision-maker's
:class:`Objective`: ministries weigh the expected losses of every layer
(:class:`LossWeights`, :data:`SOCIETY`), operators their own costs
(:class:`riskmodel.abm.objective.OperatorObjective`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import numpy as np

from riskmodel.abm.valuation import EventValues, expected_losses
from riskmodel.measures import effect_products
from riskmodel.world import World


class Objective(Protocol):
    """What a decision-maker counts: the yearly cost of each row of ``in_place`` (the
    operators ``rows``, which ``values`` and ``rate`` match; ``in_place`` may carry a
    leading axis of alternatives)."""

    def __call__(
        self, world: World, values: EventValues, rate: np.ndarray, in_place: np.ndarray, rows: np.ndarray
    ) -> np.ndarray: ...


@dataclass(frozen=True)
class LossWeights:
    """Weights of the loss layers in a decision-maker's objective: its expected loss."""

    own: float
    users: float
    others: float

    def __call__(
        self, world: World, values: EventValues, rate: np.ndarray, in_place: np.ndarray, rows: np.ndarray
    ) -> np.ndarray:
        return weighted_loss(world, values, rate, in_place, self)


SOCIETY = LossWeights(1.0, 1.0, 1.0)


@dataclass(frozen=True)
class Changes:
    """Every toggle of ``options`` at operators ``rows``, with what it is worth.

    Arrays are ``[option, row]``. ``loss_removed`` is the weighted expected loss a year the
    change removes (negative when it adds loss, as removing an option does); ``cost_added``
    the change of annual cost in yen (negative when it saves).
    """

    options: np.ndarray
    rows: np.ndarray
    adds: np.ndarray
    loss_removed: np.ndarray
    cost_added: np.ndarray


def weighted_loss(
    world: World, values: EventValues, rate: np.ndarray, in_place: np.ndarray, weights: LossWeights
) -> np.ndarray:
    """Weighted expected annual loss of each row of ``in_place`` (rows match ``rate`` and
    ``values``; ``in_place`` may carry a leading axis of alternatives)."""
    leading = in_place.shape[:-1]
    products = effect_products(world, in_place.reshape(-1, in_place.shape[-1])).reshape(leading)
    prot = products.protection(world, np.zeros(leading))
    own, users, others = expected_losses(values, rate, prot)
    return (weights.own * own + weights.users * users + weights.others * others).sum(axis=-1)


def evaluate_changes(
    world: World,
    values: EventValues,
    rate: np.ndarray,
    in_place: np.ndarray,
    rows: np.ndarray,
    options: np.ndarray,
    objective: Objective,
) -> Changes:
    """Value toggling each of ``options`` at each operator of ``rows``.

    ``rate[operator, threat]`` is the decision-maker's view of failures a year before
    measures (for all operators; only ``rows`` are read).
    """
    cat = world.catalogue
    rows = np.asarray(rows, dtype=np.int64)
    options = np.asarray(options, dtype=np.int64)
    current = in_place[rows]
    toggled = np.repeat(current[None], options.size, axis=0)
    for k, option in enumerate(options):
        has = current[:, option]
        toggled[k][:, cat.option_measure == cat.option_measure[option]] = False
        toggled[k][~has, option] = True
    sub = EventValues(*(getattr(values, name)[rows] for name in EventValues.__dataclass_fields__))
    sub_rate = rate[rows]
    before = objective(world, sub, sub_rate, current, rows)
    after = objective(world, sub, sub_rate, toggled, rows)
    costs = world.catalogue.option_costs(world.operators.revenue[rows])
    cost_before = (current * costs).sum(axis=1)
    cost_after = (toggled * costs[None]).sum(axis=2)
    return Changes(
        options=options,
        rows=rows,
        adds=~current[:, options].T,
        loss_removed=before[None, :] - after,
        cost_added=cost_after - cost_before[None, :],
    )
