"""The individuals' state, one row per cohort: hygiene, infection, anxiety.

Each day, for every cohort at once:

* infection: ``i += beta (1 - h)(1 - i) - rho i`` per day (``rho`` the clean-up rate);
  ``beta`` is set per cohort so that the start is a steady state holding the domestic
  bots of the scenario, spread over cohorts in proportion to their users without good
  hygiene;
* anxiety: the event part ``e`` decays with the half-life and rises by ``outage_weight``
  per outage hour and ``leak_weight`` per leak a member suffered that day; the index is
  ``background (1 - h) / (1 - h0) + e`` and the anxious share ``1 - exp(-index)``, so
  people who protect themselves also worry less, and the background alone gives the
  scenario's starting anxious share.

A cohort's members suffer the outages of operators in their power area in proportion to
their dependence on services.
"""

from __future__ import annotations

import math

import numpy as np

from riskmodel.abm.daily_engine import DAYS_PER_YEAR
from riskmodel.schema import AgentModelSettings
from riskmodel.world import World


class Cohorts:
    """Arrays of the individuals' cohorts (power area x age band x sub-cohort)."""

    def __init__(self, world: World, settings: AgentModelSettings):
        spec = settings.individuals
        population = np.array([r.population for r in world.scenario.regions])
        n_regions, n_bands, per_band = population.size, len(spec.age_bands), spec.cohorts_per_band
        self.region = np.repeat(np.arange(n_regions), n_bands * per_band)
        self.band = np.tile(np.repeat(np.arange(n_bands), per_band), n_regions)
        user_share = np.array([b.user_share for b in spec.age_bands])
        self.users = spec.users * (population / population.sum())[self.region] * user_share[self.band] / per_band
        self.start_hygiene = np.array([b.hygiene for b in spec.age_bands])[self.band]
        self.hygiene = self.start_hygiene.copy()
        dependence = np.array([b.dependence for b in spec.age_bands])[self.band]
        weight = self.users * dependence
        # exposure per member per person-hour (or person) suffered in the cohort's area
        self.exposure = dependence / np.bincount(self.region, weights=weight, minlength=n_regions)[self.region]

        domestic = settings.botnet.bots * settings.botnet.domestic_share
        # below 1: the scenario check keeps domestic bots under the unprotected users
        self.infected = domestic * (1.0 - self.hygiene) / (self.users @ (1.0 - self.hygiene))
        self.cleanup = spec.cleanup_per_year / DAYS_PER_YEAR
        self.pressure = self.cleanup * self.infected / ((1.0 - self.hygiene) * (1.0 - self.infected))

        self.background = -math.log(1.0 - spec.anxious_share)
        self.decay = 0.5 ** (1.0 / spec.anxiety_half_life_days)
        self.outage_weight = spec.outage_weight
        self.leak_weight = spec.leak_weight
        self.excess = np.zeros_like(self.users)

    def __len__(self) -> int:
        return int(self.users.size)

    def step(self, outage_hours: np.ndarray, leaks: np.ndarray) -> None:
        """One day: ``outage_hours[region]`` person-hours of outage and ``leaks[region]``
        persons whose data leaked, in each power area."""
        self.infected += self.pressure * (1.0 - self.hygiene) * (1.0 - self.infected) - self.cleanup * self.infected
        self.excess *= self.decay
        self.excess += self.exposure * (
            self.outage_weight * outage_hours[self.region] + self.leak_weight * leaks[self.region]
        )

    def campaign(self, gain: float) -> None:
        """An awareness campaign closes ``gain`` of the gap to full hygiene."""
        self.hygiene += gain * (1.0 - self.hygiene)

    def slip(self, decay: float) -> None:
        """A year without a campaign: hygiene slips back toward its start."""
        self.hygiene -= decay * (self.hygiene - self.start_hygiene)

    def index(self) -> np.ndarray:
        return self.background * (1.0 - self.hygiene) / (1.0 - self.start_hygiene) + self.excess

    def anxious(self) -> np.ndarray:
        return 1.0 - np.exp(-self.index())

    def bots(self) -> float:
        """Infected machines of the cohorts."""
        return float(self.users @ self.infected)

    def mean(self, values: np.ndarray) -> float:
        """User-weighted mean over the cohorts."""
        return float(self.users @ values / self.users.sum())
