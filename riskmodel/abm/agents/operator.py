"""Infrastructure operators: they suffer IT failures, report or hide them, and invest.

An operator's state lives in the model's arrays, row ``index`` (its row of the world's
operator table), so that the daily work - failures, recoveries, losses - runs for all
operators at once in the engine's kernel. The agent makes the decisions: once a fiscal
year it puts its sector's new mandatory measures in place (each with the scenario's
compliance probability, when it pays with the expected penalty, within its security
budget), drops a voluntary measure that no longer pays for itself, and adopts
recommended measures by its own cost-benefit (what a measure saves *the operator* by its
objective, :mod:`riskmodel.abm.objective`: its direct loss, its liability share of its
users', reputation, penalties, insurance and risk, at the rates it believes,
:mod:`riskmodel.abm.beliefs`); it also carries its propensity to hide incidents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from riskmodel.abm.choices import Changes

if TYPE_CHECKING:
    from riskmodel.abm.model import CriticalInfrastructureModel


class Operator(mesa.Agent):
    """An operator of a critical-infrastructure sector in one power area."""

    model: CriticalInfrastructureModel

    def __init__(self, model: CriticalInfrastructureModel, index: int):
        super().__init__(model)
        self.index = index
        self.sector = int(model.world.operators.sector[index])

    # --- what it is ------------------------------------------------------------------
    @property
    def sector_id(self) -> str:
        return self.model.world.sector_ids[self.sector]

    @property
    def region_id(self) -> str:
        return self.model.world.region_ids[int(self.model.world.operators.region[self.index])]

    @property
    def revenue(self) -> float:
        return float(self.model.world.operators.revenue[self.index])

    @property
    def budget(self) -> float:
        """The most it spends on security a year, in yen."""
        return self.model.settings.operators.budget_revenue_share * self.revenue

    # --- what it has ---------------------------------------------------------------------
    @property
    def options(self) -> np.ndarray:
        """Its row of ``in_place``: which measure options it has."""
        return self.model.in_place[self.index]

    @property
    def measures(self) -> int:
        return int(self.options.sum())

    @property
    def security_spend(self) -> float:
        """Yen a year its measures cost."""
        return float(np.sum(self.model.option_cost[self.index] * self.options))

    @property
    def mandatory_in_place(self) -> int:
        """Measures of the standard in force this fiscal year that it has."""
        return int((self.model.held(self.index) & self.model.mandatory_in_force[self.sector]).sum())

    @property
    def compliance(self) -> float:
        """Share of the standard's mandatory measures in force this year it has (1 when none)."""
        required = int(self.model.mandatory_in_force[self.sector].sum())
        return self.mandatory_in_place / required if required else 1.0

    @property
    def hide_probability(self) -> float:
        return float(self.model.hide_probability[self.index])

    @property
    def ceptoar_member(self) -> bool:
        return bool(self.model.member[self.index])

    @property
    def exercised(self) -> bool:
        """Whether an exercise's effects are with it this fiscal year."""
        return bool(self.model.exercised_until[self.index] >= self.model.fiscal_year)

    @property
    def true_failures(self) -> int:
        return int(self.model.op_failures[self.index, 0])

    @property
    def reported_failures(self) -> int:
        return int(self.model.op_failures[self.index, 1])

    @property
    def loss(self) -> float:
        """Society's loss of its failures this fiscal year (own, users' and others' layers), yen."""
        return float(self.model.op_loss[self.index])

    # --- what it decides -------------------------------------------------------------------
    def comply(self, changes: Changes | None = None) -> bool:
        """Put its sector's mandatory measures in place, prerequisites first, then cheapest
        first, within the security budget. At a fiscal year's end (``changes`` given) each
        missing one goes in with the compliance probability if it pays for the operator, the
        expected penalty for lacking it included, and to make room it drops its
        own voluntary measures, those that remove least of its loss per yen first; at the
        start (no ``changes``) the standards in force are met as far as the budget allows.
        A measure that cannot go in is what the compliance figure counts. Returns whether
        anything changed."""
        model = self.model
        rules = model.rules
        held = model.held(self.index)
        missing = np.flatnonzero(model.mandatory[self.sector] & ~held)
        costs = model.option_cost[self.index]
        chance = model.settings.operators.compliance_probability
        changed = False
        for m in sorted(missing, key=lambda m: (rules.depth[m], costs[rules.first_option[m]])):
            option = int(rules.first_option[m])
            if changes is not None and (
                model.compliance_draws[self.index, m] >= chance
                or changes.loss_removed[option, self.index] < changes.cost_added[option, self.index]
            ):
                continue  # not ready this year, or not worth it even with the penalty
            held = model.held(self.index)
            if (rules.requires[m] & ~held).any():
                continue  # a prerequisite that could not go in
            clashes = np.flatnonzero(rules.excludes[m] & held)
            if not all(model.droppable(self.index, rules.first_option[c]) for c in clashes):
                continue
            if self.security_spend + costs[option] > self.budget:
                if changes is None or not self._make_room(costs[option], changes):
                    continue
                changed = True
            for clash in clashes:
                model.remove_measure(self.index, clash)
            model.in_place[self.index, option] = True
            changed = True
        return changed

    def _make_room(self, needed: float, changes: Changes) -> bool:
        """Drop voluntary measures, least loss removed per yen first, until ``needed`` yen
        fit in the budget; drop nothing if even all of them would not make room."""
        model = self.model
        keep_value = -changes.loss_removed[:, self.index]
        saving = -changes.cost_added[:, self.index]
        candidates = [
            k
            for k in np.argsort(keep_value / np.where(saving > 0, saving, np.inf), kind="stable")
            if self.options[changes.options[k]] and saving[k] > 0 and model.droppable(self.index, changes.options[k])
        ]
        if self.security_spend - sum(saving[k] for k in candidates) + needed > self.budget:
            return False
        for k in candidates:
            if self.security_spend + needed <= self.budget:
                break
            model.in_place[self.index, changes.options[k]] = False
        return True

    def reconsider(self, changes: Changes) -> bool:
        """Drop the measure that pays least for itself, if it removes less loss for the
        operator than it costs; mandatory measures and prerequisites of others stay."""
        model = self.model
        keep_value = -changes.loss_removed[:, self.index]  # loss the option's removal would add
        saving = -changes.cost_added[:, self.index]
        droppable = (~changes.adds[:, self.index]) & (saving > 0) & (keep_value < saving)
        candidates = [k for k in np.flatnonzero(droppable) if model.droppable(self.index, int(changes.options[k]))]
        if not candidates:
            return False
        worst = min(candidates, key=lambda k: keep_value[k] / saving[k])
        model.in_place[self.index, changes.options[worst]] = False
        return True

    def adopt(self, changes: Changes) -> bool:
        """Adopt the option with the best ratio of the operator's own loss removed to its
        cost among those it finds worth adopting (:meth:`~riskmodel.abm.model.
        CriticalInfrastructureModel.adoptable`) and the catalogue's rules allow. Returns
        whether it adopted one."""
        model = self.model
        eligible = model.adoptable_now[:, self.index]
        gain = changes.loss_removed[eligible, self.index]
        ratio = gain / changes.cost_added[eligible, self.index]
        for k in np.flatnonzero(eligible)[np.argsort(-ratio, kind="stable")]:
            option = int(changes.options[k])
            if model.allowed(self.index, option):
                model.remove_measure(self.index, int(model.rules.option_measure[option]))
                model.in_place[self.index, option] = True
                return True
        return False
