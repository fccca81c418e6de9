"""The operators' yearly investment: comply with the mandatory measures, drop what no
longer pays, adopt what pays by their own cost-benefit within their budgets.

A mixin of :class:`~riskmodel.abm.model.CriticalInfrastructureModel`.
"""

from __future__ import annotations

import numpy as np

from riskmodel.abm.choices import Changes, LossWeights, evaluate_changes


class Investment:
    """The operators' investment round at a fiscal year's end; mixed into the model."""

    def _invest(self) -> None:
        """Operators comply, drop what does not pay, and adopt what pays, by their own weights.

        Changes are valued for every operator once; after that only the operators whose
        measures changed are valued again, since nothing else moves another's values.
        """
        world = self.world
        weights = LossWeights(1.0, self.settings.operators.users_weight, 0.0)
        options = np.arange(world.catalogue.n_options)
        self.compliance_draws = self.rng.random((len(world.operators), len(world.catalogue.measure_ids)))

        def value(rows: np.ndarray) -> Changes:
            return evaluate_changes(world, self.values, self.operator_rates(), self.in_place, rows, options, weights)

        changes = value(np.arange(len(world.operators)))

        def decide(method: str, flagged: np.ndarray) -> bool:
            """Let the flagged operators decide; value again those whose measures changed."""
            concerned = self.operators.select(lambda agent: flagged[agent.index])
            moved = concerned.map(method, changes)
            movers = np.array([a.index for a, m in zip(concerned, moved, strict=True) if m], dtype=np.int64)
            if movers.size:
                fresh = value(movers)
                for name in ("adds", "loss_removed", "cost_added"):
                    getattr(changes, name)[:, movers] = getattr(fresh, name)
            return bool(movers.size)

        decide("comply", (self.mandatory[world.operators.sector] & ~self.held()).any(axis=1))
        # a voluntary measure that now costs more than it removes for the operator
        unpaid = ~changes.adds & (changes.cost_added < 0) & (changes.loss_removed > changes.cost_added)
        decide("reconsider", unpaid.any(axis=0))
        for _ in range(len(world.catalogue.measure_ids)):
            if not decide("adopt", self.adoptable(changes).any(axis=0)):
                break
        self._set_protection()
        self._apply_operator_factors(self.day)
        self._update_standing_figures()

    def adoptable(self, changes: Changes, operator: int | None = None) -> np.ndarray:
        """``[option, operator]`` (or ``[option]`` for one ``operator``): the options an
        operator would adopt by its own cost-benefit - recommended for its sector, not in
        place, affordable within its budget, and removing at least ``adoption_ratio`` times
        their cost in its own expected loss. (The catalogue's rules are checked when it
        adopts.)"""
        ops = self.world.operators
        spec = self.settings.operators
        rows = slice(None) if operator is None else operator
        spent = np.sum(self.option_cost[rows] * self.in_place[rows], axis=-1)
        room = spec.budget_revenue_share * ops.revenue[rows] - spent
        gain, cost = changes.loss_removed[:, rows], changes.cost_added[:, rows]
        recommended = self.recommended[ops.sector[rows]][..., self.rules.option_measure[changes.options]].T
        return changes.adds[:, rows] & (cost > 0) & (cost <= room) & (gain >= spec.adoption_ratio * cost) & recommended
