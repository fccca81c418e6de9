"""Individuals: cohorts of internet users by power area and age band.

A cohort's security hygiene (the share of its members who keep their machines patched
and protected), its infected share (machines in botnets) and its IT-anxiety index are
rows of the model's cohort arrays, updated for all cohorts at once each day
(:meth:`riskmodel.abm.model.CriticalInfrastructureModel.step`): infections arise among
members without good hygiene and are cleaned up over months; anxiety rises with the
outage hours and data leaks the cohort suffers in its area and fades with a half-life;
awareness campaigns raise hygiene. The agent reads out its row.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa

if TYPE_CHECKING:
    from riskmodel.abm.model import CriticalInfrastructureModel


class Individual(mesa.Agent):
    """A cohort of internet users of one power area and age band."""

    model: CriticalInfrastructureModel

    def __init__(self, model: CriticalInfrastructureModel, index: int, region_id: str, age_band: str):
        super().__init__(model)
        self.index = index
        self.region_id = region_id
        self.age_band = age_band

    @property
    def users(self) -> float:
        return float(self.model.cohorts.users[self.index])

    @property
    def hygiene(self) -> float:
        return float(self.model.cohorts.hygiene[self.index])

    @property
    def infected_share(self) -> float:
        return float(self.model.cohorts.infected[self.index])

    @property
    def anxiety_index(self) -> float:
        return float(self.model.cohorts.index[self.index])

    @property
    def anxious_share(self) -> float:
        return float(self.model.cohorts.anxious[self.index])
