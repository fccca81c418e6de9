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
        self.ministries.do("plan_year", self.fiscal_year)
        self.engine.new_year(self.fiscal_year)
        self._apply_operator_factors(self.day)
        for counter in (self.fy_true, self.fy_reported, self.fy_loss, self.op_failures, self.op_loss):
            counter[:] = 0
        self._fy_sums = {}
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
        self.cabinet_centre.evaluate(fiscal_year)
        self.ministries.do("review", fiscal_year)
        self.year_figures = self._year_figures(fiscal_year)
        self.yearly.collect(self)
        if self.settings.operators.enabled:
            self._invest()

    def _year_figures(self, fiscal_year: int) -> dict[str, object]:
        targets = self.targets.failures.get(fiscal_year)
        missed = np.zeros(self.world.n_sectors, dtype=bool)
        for ministry in self.ministries:
            for sector, flag in ministry.missed.items():
                missed[sector] = flag
        return {
            "fiscal_year": fiscal_year,
            "true_failures": self.fy_true.copy(),
            "reported_failures": self.fy_reported.copy(),
            "loss": self.fy_loss.copy(),
            "failures_per_operator": self.fy_reported.sum(axis=1) / np.maximum(self.sector_size, 1),
            "failures_target": targets.copy() if targets is not None else np.full(self.world.n_sectors, np.nan),
            "target_missed": missed,
            "anxious_target": self.targets.anxious.get(fiscal_year, math.nan),
            **{name: self.fy_mean(name) for name in FY_MEANS},
            "botnet_size": self.botnet_size,
            "attack_attempts": self.attack_attempts.copy(),
            **self._in_force,
        }
