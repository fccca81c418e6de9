"""The agent model's fiscal year: its start (plans, exercises, standards in force) and its
end (evaluation against the Basic Plan's targets, the ministries' PDCA review, the year's
figures, investment).

A mixin of :class:`~riskmodel.abm.model.CriticalInfrastructureModel`.
"""

from __future__ import annotations

import math

import numpy as np

from riskmodel.abm.daily_engine import DAYS_PER_YEAR
from riskmodel.abm.reporters import FY_MEANS


class FiscalYear:
    """The fiscal year's beginning and end; mixed into the model."""

    def _begin_year(self) -> None:
        self.fiscal_year = self.start_year + self.day // DAYS_PER_YEAR
        counters = (
            self.fy_true, self.fy_reported, self.fy_loss, self.op_failures, self.op_loss, self.shared_counts,
            self.fy_serious, self.fy_serious_public, self.fy_found_out, self.fy_nonpublic_reported,
        )  # fmt: skip
        for counter in counters:
            counter[:] = 0
        self.fy_alerted_member_days = self.fy_member_days = 0.0
        self.fy_state_cost = self.fy_sharing_cost = self.fy_exercise_cost = self.fy_penalties = 0.0
        self.fy_news = 0
        self.fy_public_failures = []
        self._fy_sums = {}
        self.ministries.do("plan_year", self.fiscal_year)
        self.fy_sharing_cost = (
            float(np.sum(self.member & self.ceptoar_active[self.world.operators.sector]))
            * self.settings.information_sharing.membership_cost
        )
        self._decide_hiding()  # the chance of being found out may have changed
        if self.settings.individuals.use_elasticity > 0:
            self.adjust_use()
        self.engine.new_year(self.fiscal_year)
        self._apply_operator_factors(self.day)
        self.attackers.do("reset_year")
        self.mandatory_in_force = self.mandatory.copy()
        self._update_standing_figures()
        self._in_force = {
            "mandatory": self.mandatory_in_force.copy(),
            "mandatory_measures": self.mandatory_in_force.sum(axis=1),
            "recommended_measures": (self.recommended & ~self.mandatory_in_force).sum(axis=1),
            "compliance": self.compliance,
            "security_spend": self.security_spend,
            "ceptoar_share": self.ceptoar_share,
        }

    def _end_year(self) -> None:
        fiscal_year = self.fiscal_year
        self.ministries.do("review", fiscal_year)
        self.cabinet_centre.evaluate(fiscal_year)
        pdca = self.settings.pdca
        if pdca.enabled:
            self.fy_state_cost += pdca.mandate_cost * float(self.mandatory_in_force[self.world.critical_sectors].sum())
        if self.fy_member_days > 0:
            self._alert_coverage = self.fy_alerted_member_days / self.fy_member_days
        self._fy_region_anxious = self.cohorts.region_mean(self.cohorts.anxious)
        self.year_figures = self._year_figures(fiscal_year)
        self.yearly.collect(self)
        if self.settings.operators.enabled:
            self._invest()

    def _year_figures(self, fiscal_year: int) -> dict[str, object]:
        n_sectors = self.world.n_sectors
        targets = self.targets.per_operator(fiscal_year, self.sector_size)
        missed = np.zeros(n_sectors, dtype=bool)
        p_value = np.ones(n_sectors)
        indicator = np.zeros(n_sectors)
        for ministry in self.ministries:
            for sector, flag in ministry.missed.items():
                missed[sector] = flag
                p_value[sector] = ministry.p_value[sector]
                indicator[sector] = ministry.indicator[sector]
        reachable = self.targets.reachable.get(fiscal_year)
        return {
            "fiscal_year": fiscal_year,
            "true_failures": self.fy_true.copy(),
            "reported_failures": self.fy_reported.copy(),
            "loss": self.fy_loss.copy(),
            "failures_per_operator": indicator,
            "serious_failures": self.fy_serious.astype(float),
            "reporting_estimate": self.reporting_estimate.copy(),
            "found_out": self.fy_found_out.astype(float),
            "failures_target": targets if targets is not None else np.full(n_sectors, np.nan),
            "target_missed": missed,
            "target_p_value": p_value,
            "target_reachable": reachable.astype(float) if reachable is not None else np.full(n_sectors, np.nan),
            "shared_incidents": self.shared_counts.sum(axis=1),
            "alert_coverage": self._alert_coverage if self.fy_member_days > 0 else math.nan,
            "ceptoar_members": int(self.member.sum()),
            "sharing_cost": self.fy_sharing_cost,
            "exercise_cost": self.fy_exercise_cost,
            "state_cost": self.fy_state_cost,
            "penalties": self.fy_penalties,
            "news": self.fy_news,
            "campaign": bool(self.campaigning),
            "it_use": self.cohorts.mean(self.use_factor[self.cohorts.region]),
            "anxious_target": self.targets.anxious.get(fiscal_year, math.nan),
            "anxious_floor": self.cohorts.mean(self.cohorts.floor()),
            **{name: self.fy_mean(name) for name in FY_MEANS},
            "botnet_size": self.botnet_size,
            "attack_attempts": self.attack_attempts.copy(),
            **self._in_force,
        }
