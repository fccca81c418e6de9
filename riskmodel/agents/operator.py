"""Infrastructure operators: they suffer IT failures, report or hide them, and invest.

An operator's state lives in the model's arrays, row ``index`` (its row of the world's
operator table), so that the daily work - failures, recoveries, losses - runs for all
operators at once in the engine's kernel. The agent makes the decisions: once a fiscal
year it complies with its sector's mandatory measures within its security budget, drops a
measure that no longer pays for itself, and adopts recommended measures by its own
cost-benefit (the loss a measure removes *for the operator*: its direct loss and part of
its users'); it also carries its propensity to hide incidents.
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
        return float(self.model.option_cost[self.index] @ self.options)

    @property
    def mandatory_in_place(self) -> int:
        return int((self.model.has_measure(self.index) & self.model.mandatory[self.sector]).sum())

    @property
    def compliance(self) -> float:
        """Share of its sector's mandatory measures it has (1 when none is mandatory)."""
        required = int(self.model.mandatory[self.sector].sum())
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
        """Direct, users' and economy loss of its failures this fiscal year, yen."""
        return float(self.model.op_loss[self.index])

    # --- what it decides -------------------------------------------------------------------
    def comply(self, changes: Changes | None = None) -> bool:
        """Put the sector's mandatory measures in place, prerequisites first, then cheapest
        first, within the security budget; to make room it drops its own voluntary
        measures, those that remove least of its loss per yen first (``changes`` values
        them; without it, it drops none). A measure the budget cannot carry is left out,
        which is what the compliance figure measures. Returns whether anything changed."""
        model = self.model
        has = model.has_measure(self.index)
        missing = [m for m in range(has.size) if model.mandatory[self.sector, m] and not has[m]]
        costs = model.option_cost[self.index]
        changed = False
        for m in sorted(missing, key=lambda m: (model.measure_depth[m], costs[model.first_option[m]])):
            option = model.first_option[m]
            for clash in np.flatnonzero(model.excludes[m] & model.has_measure(self.index)):
                if not model.mandatory[self.sector, clash]:
                    model.remove_measure(self.index, clash)
                    changed = True
            if not model.allowed(self.index, option):
                continue
            if changes is not None and self.security_spend + costs[option] > self.budget:
                changed |= self._make_room(costs[option], changes)
            if self.security_spend + costs[option] <= self.budget:
                model.in_place[self.index, option] = True
                changed = True
        return changed

    def _make_room(self, needed: float, changes: Changes) -> bool:
        """Drop voluntary measures, least loss removed per yen first, until ``needed`` yen fit."""
        model = self.model
        keep_value = -changes.loss_removed[:, self.index]
        saving = -changes.cost_added[:, self.index]
        order = np.argsort(keep_value / np.where(saving > 0, saving, np.inf), kind="stable")
        dropped = False
        for k in order:
            if self.security_spend + needed <= self.budget:
                break
            option = int(changes.options[k])
            if self.options[option] and saving[k] > 0 and model.droppable(self.index, option):
                model.in_place[self.index, option] = False
                dropped = True
        return dropped

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
        eligible = model.adoptable(changes, self.index)
        gain = changes.loss_removed[eligible, self.index]
        ratio = gain / changes.cost_added[eligible, self.index]
        for k in np.flatnonzero(eligible)[np.argsort(-ratio, kind="stable")]:
            option = int(changes.options[k])
            if model.allowed(self.index, option):
                model.remove_measure(self.index, int(model.world.catalogue.option_measure[option]))
                model.in_place[self.index, option] = True
                return True
        return False
