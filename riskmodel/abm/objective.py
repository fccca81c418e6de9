"""What a set of measures costs an operator a year, as it sees it: its decision objective.

The operator bears its own layer (:data:`riskmodel.optimize.instance.OWN_LAYERS`, what
``optimize --partial`` counts) and ``liability_share`` of the loss its failures cause
others (its users' and the cascade's, as the optimiser's ``Instance.liability``): with
``liability_share = 0`` it counts exactly what ``optimize --partial`` counts, with 1
society's loss. On top of it, per failure ``f`` of threat ``h`` at rate ``lambda_h`` (the
rate it believes, after its measures):

* a reputational loss ``reputation_revenue_share * revenue`` when ``f`` is public: a
  disaster, or a failure whose persons affected reach the press threshold
  (``P(persons >= threshold)`` from the Beta depth of the threat, after the measures'
  depth cut);
* insurance (when on): the insurer pays ``cover`` of the direct loss above the deductible;
  the operator pays the premium, ``1 + loading`` times the expected payout at its public
  rates, with its measures (``rated``) or without any (a flat premium: measures then
  save the insurer, not the operator - moral hazard);
* the expected penalty, ``penalty_share[sector] * revenue`` a year per mandatory measure
  of its sector it lacks (the model's ``penalty_share``, from ``penalty_revenue_share``;
  ministries that enforce more or less may change it);
* risk aversion ``a``: exponential utility with absolute risk aversion ``a / revenue``,
  in its mean-variance form: ``(a / revenue) / 2`` times the variance of the annual loss
  (compound Poisson: ``sum_h lambda_h E[Y_h^2]``, the parts of one failure's loss taken
  as independent and the insured direct loss scaled by its expected retained share).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import stats

from riskmodel.abm.rules import Rules
from riskmodel.abm.valuation import EventValues, limited_ratio
from riskmodel.engine.kernels import DISASTER
from riskmodel.measures import effect_products
from riskmodel.schema import OperatorBehaviour
from riskmodel.world import World


@dataclass(frozen=True)
class OwnCosts:
    """The parts of an operator's yearly cost of failures, per row (yen a year)."""

    loss: np.ndarray  # expected retained direct loss plus the liability share of users' loss
    reputation: np.ndarray
    insurance: np.ndarray  # premium
    penalty: np.ndarray
    risk: np.ndarray  # the risk premium

    def total(self) -> np.ndarray:
        return self.loss + self.reputation + self.insurance + self.penalty + self.risk


class Press:
    """The chance that a failure reaches the press: a disaster always, another when the
    persons it affects reach ``threshold`` (its depth is Beta, cut by the measures' depth
    multiplier; where the failed system is one every reached user passes, its persons do
    not depend on the depth, and its mean persons are taken). The multipliers take few
    values, so the chances are kept per value."""

    def __init__(self, world: World, values: EventValues, threshold: float):
        t = world.threats
        self._disaster = t.kind == DISASTER
        self._depth = (t.depth_alpha, t.depth_beta)
        self._passed = world.passed_system[world.operators.sector][:, None] > 0
        mean_draw = t.depth_alpha / (t.depth_alpha + t.depth_beta)
        self._full = values.persons / np.where(self._passed, 1.0, mean_draw[None, :])  # at full depth
        self.threshold = threshold
        self._cache: dict[float, np.ndarray] = {}

    def __call__(self, rows: np.ndarray, depth: np.ndarray) -> np.ndarray:
        """``[..., row, threat]`` for operators ``rows`` with depth multipliers ``depth[..., row]``."""
        distinct, inverse = np.unique(depth, return_inverse=True)
        table = np.stack([self._at(float(d)) for d in distinct])  # [multiplier, operator, threat]
        return table[inverse.reshape(depth.shape), rows.reshape((1,) * (depth.ndim - 1) + (-1,))]

    def _at(self, depth: float) -> np.ndarray:
        if depth not in self._cache:
            scaled = self._full * depth
            cut = np.divide(self.threshold, scaled, out=np.full_like(scaled, np.inf), where=scaled > 0)
            chance = np.where(self._passed, cut <= 1.0, stats.beta.sf(np.minimum(cut, 2.0), *self._depth))
            self._cache[depth] = np.where(self._disaster, 1.0, chance)
        return self._cache[depth]


class OperatorObjective:
    """The operators' objective; callable as a decision-maker's weighing of loss
    (:func:`riskmodel.abm.choices.evaluate_changes`)."""

    def __init__(
        self,
        world: World,
        spec: OperatorBehaviour,
        rules: Rules,
        mandatory: np.ndarray,
        penalty_share: np.ndarray,
        public_rate: np.ndarray,
        press: Press,
    ):
        self.world = world
        self.spec = spec
        self.rules = rules
        self.mandatory = mandatory  # [sector, measure]
        self.penalty_share = penalty_share  # [sector] expected penalty a year per lacking mandatory measure, of revenue
        self.public_rate = public_rate  # [operator, threat]: the insurer's rate
        self.press = press
        self._limited = limited_ratio(world) if spec.insurance.enabled else None

    def __call__(
        self, world: World, values: EventValues, rate: np.ndarray, in_place: np.ndarray, rows: np.ndarray
    ) -> np.ndarray:
        return self.costs(values, rate, in_place, rows).total()

    def costs(self, values: EventValues, rate: np.ndarray, in_place: np.ndarray, rows: np.ndarray) -> OwnCosts:
        """The cost parts of each row of ``in_place`` (operators ``rows``, which ``values``
        and ``rate`` match; ``in_place`` may carry a leading axis of alternatives)."""
        world, spec = self.world, self.spec
        leading = in_place.shape[:-1]
        products = effect_products(world, in_place.reshape(-1, in_place.shape[-1])).reshape(leading)
        prot = products.protection(world, np.zeros(leading))
        revenue = world.operators.revenue[rows]
        kept = rate * prot.survive
        users_depth = prot.duration * prot.depth[..., None]
        direct = values.own * prot.direct
        external = values.users * users_depth + values.others * users_depth * prot.cascade[..., None]
        liability = spec.liability_share * external
        retained = np.ones_like(direct)
        premium = np.zeros(leading)
        if spec.insurance.enabled:
            cover = spec.insurance.cover
            paid = cover * self._payout_ratio(prot.direct, revenue) * revenue[:, None]
            retained = 1.0 - np.divide(paid, direct, out=np.zeros_like(paid), where=direct > 0)
            direct = direct - paid
            basis = (
                paid
                if spec.insurance.rated
                else cover * self._payout_ratio(np.ones_like(paid), revenue) * (revenue[:, None])
            )
            premium = (1.0 + spec.insurance.loading) * (self.public_rate[rows] * (
                prot.survive if spec.insurance.rated else 1.0) * basis).sum(axis=-1)  # fmt: skip
        public = self.press(rows, prot.depth)
        reputation_each = spec.reputation_revenue_share * revenue[:, None]
        reputation = kept * public * reputation_each
        loss = kept * (direct + liability)
        held = self.rules.measures_held(in_place)
        lacking = (self.mandatory[world.operators.sector[rows]] & ~held).sum(axis=-1)
        penalty = self.penalty_share[world.operators.sector[rows]] * revenue * lacking
        risk = np.zeros(leading)
        if spec.risk_aversion > 0:
            direct_sq = values.own_sq * (prot.direct * retained) ** 2
            # users' and the cascade's loss of one failure move together (one depth, one
            # duration): their sum has the users' relative second moment
            relative_sq = np.divide(values.users_sq, values.users**2, out=np.ones_like(values.users_sq),
                                    where=values.users > 0)  # fmt: skip
            users_sq = liability**2 * relative_sq
            reputation_sq = reputation_each**2 * public
            cross = 2.0 * (direct * liability + (direct + liability) * reputation_each * public)
            variance = (kept * (direct_sq + users_sq + reputation_sq + cross)).sum(axis=-1)
            risk = 0.5 * spec.risk_aversion / revenue * variance
        return OwnCosts(loss.sum(axis=-1), reputation.sum(axis=-1), premium, penalty, risk)

    def _payout_ratio(self, m: np.ndarray, revenue: np.ndarray) -> np.ndarray:
        """``E[max(0, m R - d)]`` per unit of revenue for a failure whose direct-loss ratio
        ``R`` the measures scale by ``m`` (``[..., operator, threat]``)."""
        assert self._limited is not None
        x, g = self._limited
        d = self.spec.insurance.deductible_revenue_share
        point = np.minimum(np.divide(d, m, out=np.full_like(m, np.inf), where=m > 0), 1.0)
        mean = g[:, -1]  # E[min(R, 1)] = E[R]: ratios are capped at 1
        limited = np.empty_like(m)
        for h in range(g.shape[0]):
            limited[..., h] = np.interp(point[..., h], x, g[h])
        return m * (mean - limited)
