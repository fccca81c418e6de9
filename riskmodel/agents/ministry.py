"""Ministries and the cabinet centre: the PDCA cycle on safety standards.

A ministry supervises sectors. It sees only the incidents operators report, so its
picture of risk is as biased as concealment makes it, and it builds that picture up year
by year from none: the more is hidden, the later its estimate of a threat's rate rises
high enough to justify a mandatory measure. Once a fiscal year it checks each
sector's reported failures per operator against the Basic Plan's target and acts: where
the target is missed it makes mandatory the recommended measures whose estimated social
loss removed (every layer, from its reported failure rates) best covers the sector's
compliance cost, and wherever compliance costs more than the risk a mandatory measure
removes, it moves that measure back to recommended. It sets up its sectors' CEPTOARs when
their time comes.

The cabinet centre (NISC) is the coordinating kind: it also sets the Basic Plan's targets
from the indicators of the year before each plan, runs the cross-sector exercises and the
awareness campaigns, and decides immunity for reporting and the CEPTOAR Council.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

from riskmodel.abm.choices import SOCIETY, Changes, evaluate_changes

if TYPE_CHECKING:
    from riskmodel.abm.model import CriticalInfrastructureModel


class Ministry(mesa.Agent):
    """A ministry supervising one or more critical sectors."""

    model: CriticalInfrastructureModel

    def __init__(self, model: CriticalInfrastructureModel, ministry_id: str, sectors: list[int]):
        super().__init__(model)
        self.ministry_id = ministry_id
        self.sectors = sectors
        n_threats = len(model.world.threat_ids)
        # reported failures a year by sector and threat; no statistics before the first reports
        self.estimated_rate = np.zeros((model.world.n_sectors, n_threats))
        self.indicator: dict[int, float] = {}
        self.missed: dict[int, bool] = {}

    @property
    def mandatory_measures(self) -> int:
        return int(self.model.mandatory[self.sectors].sum())

    @property
    def recommended_measures(self) -> int:
        return int((self.model.recommended[self.sectors] & ~self.model.mandatory[self.sectors]).sum())

    @property
    def targets_missed(self) -> int:
        return sum(self.missed.values())

    def plan_year(self, fiscal_year: int) -> None:
        """At the start of a fiscal year: set up the CEPTOARs whose time has come."""
        for sector in self.sectors:
            start = self.model.ceptoar_start.get(sector)
            if start is not None and start == fiscal_year:
                self.model.establish_ceptoar(sector)

    def review(self, fiscal_year: int) -> None:
        """The yearly CHECK and ACT: indicators against targets, then the standards."""
        model = self.model
        pdca = model.settings.pdca
        for sector in self.sectors:
            reported = model.fy_reported[sector]
            self.indicator[sector] = float(reported.sum()) / model.sector_size[sector]
            self.estimated_rate[sector] = pdca.memory * reported + (1.0 - pdca.memory) * self.estimated_rate[sector]
            target = model.targets.failures_per_operator(sector, fiscal_year)
            self.missed[sector] = target is not None and self.indicator[sector] > target
        if not pdca.enabled or not self.sectors:
            return
        rows = np.flatnonzero(np.isin(model.world.operators.sector, self.sectors))
        options = np.arange(model.world.catalogue.n_options)
        changes = evaluate_changes(
            model.world, model.values, self._estimated_rates(), model.in_place, rows, options, SOCIETY
        )
        for sector in self.sectors:
            in_sector = model.world.operators.sector[rows] == sector
            self._demote(sector, changes, in_sector)
            if self.missed[sector]:
                self._mandate(sector, changes, in_sector)

    def _estimated_rates(self) -> np.ndarray:
        """Failures a year per operator and threat as the ministry sees them: its estimate of
        each sector's reported rate, spread over the operators as the hazard spreads them."""
        model = self.model
        shape = model.values.rate
        sector = model.world.operators.sector
        totals = model.sector_matrix @ shape  # [sector, threat]
        share = np.divide(shape, totals[sector], out=np.zeros_like(shape), where=totals[sector] > 0)
        estimate = self.estimated_rate[sector]
        return share * estimate * np.isin(sector, self.sectors)[:, None]

    def _mandate(self, sector: int, changes: Changes, in_sector: np.ndarray) -> None:
        """Make mandatory the recommended measures whose estimated social loss removed best
        covers the compliance cost of the operators that lack them."""
        model = self.model
        pdca = model.settings.pdca
        has = model.mandatory[sector]
        candidates = [
            m
            for m in range(len(model.world.catalogue.measure_ids))
            if model.recommended[sector, m]
            and not has[m]
            and not (model.requires[m] & ~has).any()
            and not (model.excludes[m] & has).any()
        ]
        if not candidates:
            return
        levels = model.first_option[candidates]
        adds = changes.adds[levels] & in_sector[None, :]
        gain = np.where(adds, changes.loss_removed[levels], 0.0).sum(axis=1)
        cost = np.where(adds, changes.cost_added[levels], 0.0).sum(axis=1)
        ratio = np.divide(gain, cost, out=np.full_like(gain, np.inf), where=cost > 0)
        chosen: list[int] = []
        for k in np.argsort(-ratio, kind="stable"):
            if len(chosen) == pdca.max_new_mandatory or ratio[k] < pdca.mandate_ratio or gain[k] <= 0:
                break
            m = candidates[k]
            if not model.excludes[m, chosen].any():
                chosen.append(m)
        model.mandatory[sector, chosen] = True

    def _demote(self, sector: int, changes: Changes, in_sector: np.ndarray) -> None:
        """Move back to recommended a mandatory measure whose compliance costs more than
        ``1 / demote_ratio`` times the estimated social loss it removes, over all the
        sector's operators: those that have it (what dropping it would add) and those that
        lack it (what adding it would remove)."""
        model = self.model
        pdca = model.settings.pdca
        # a measure another mandatory measure requires stays as long as that one does
        needed = model.requires[model.mandatory[sector]].any(axis=0)
        option_measure = model.world.catalogue.option_measure
        for m in np.flatnonzero(model.mandatory[sector] & ~needed):
            levels = option_measure == m
            has = (~changes.adds[levels]).any(axis=0) & in_sector
            first = model.first_option[m]
            removed = -np.where(~changes.adds[levels] & has, changes.loss_removed[levels], 0.0).sum()
            removed += np.where(~has & in_sector, changes.loss_removed[first], 0.0).sum()
            cost = -np.where(~changes.adds[levels] & has, changes.cost_added[levels], 0.0).sum()
            cost += np.where(~has & in_sector, changes.cost_added[first], 0.0).sum()
            if cost > 0 and removed < pdca.demote_ratio * cost:
                model.mandatory[sector, m] = False


class CabinetCentre(Ministry):
    """The cabinet centre (NISC): a ministry for its own sectors that also coordinates."""

    def plan_year(self, fiscal_year: int) -> None:
        """At the start of a fiscal year: immunity and the Council, exercises, awareness."""
        super().plan_year(fiscal_year)
        model = self.model
        abm = model.settings
        immunity = abm.concealment.immunity_from_fiscal_year
        model.set_immunity(immunity is not None and fiscal_year >= immunity)
        council = abm.information_sharing.council_from_fiscal_year
        model.council = council is not None and fiscal_year >= council
        exercises = abm.exercises
        if exercises.enabled and fiscal_year >= exercises.from_fiscal_year:
            self._invite_to_exercise(fiscal_year)
        awareness = abm.awareness
        model.campaign(awareness.enabled and fiscal_year >= awareness.from_fiscal_year)

    def _invite_to_exercise(self, fiscal_year: int) -> None:
        """The largest operators not exercised within the effect period take part."""
        model = self.model
        exercises = model.settings.exercises
        free = np.flatnonzero(model.exercised_until < fiscal_year)
        largest = free[np.argsort(-model.world.operators.revenue[free], kind="stable")]
        chosen = largest[: exercises.participants_per_year]
        model.exercised_until[chosen] = fiscal_year + exercises.effect_years - 1

    def evaluate(self, fiscal_year: int) -> None:
        """At a fiscal year's end: fix the next plan's targets when its baseline year ends."""
        self.model.targets.update(fiscal_year, self.model)
