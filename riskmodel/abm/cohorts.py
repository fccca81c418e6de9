"""The individuals' state, one row per cohort: hygiene, infection, anxiety.

Each day, for every cohort at once:

* infection: ``i += beta (1 - h)(1 - i) - rho i`` per day (``rho`` the clean-up rate);
  ``beta`` is set per cohort so that the start is a steady state holding the domestic
  bots of the scenario, spread over cohorts in proportion to their users without good
  hygiene;
* anxiety: the event part ``e`` decays with the half-life and rises by ``outage_weight``
  per outage hour and ``leak_weight`` per leak a member suffered that day, and by
  ``news_weight`` per IT failure the press reported that day anywhere; the index is
  ``background (1 - relief (h - h0) / (1 - h0)) + e`` (people who protect themselves worry
  less, by ``hygiene_relief``) and the anxious share ``1 - exp(-index)``. The event part
  starts at its steady state under the outages, leaks and news expected at the start, so
  the first fiscal year is not a warm-up, and the background is what is left of the index
  that makes the scenario's ``anxious_share`` anxious at the start: the less the events
  explain, the larger the part no policy on failures can move.

A cohort's members suffer the outages of operators in their power area in proportion to
their dependence on services; the leaks, in proportion to their numbers. Means over
cohorts are weighted by users and summed in cohort order, so they are the same bits
whatever the BLAS.
"""

from __future__ import annotations

import math

import numpy as np

from riskmodel.abm.daily_engine import DAYS_PER_YEAR
from riskmodel.schema import AgentModelSettings
from riskmodel.world import World


class Cohorts:
    """Arrays of the individuals' cohorts (power area x age band x sub-cohort).

    ``outage_hours`` and ``leaks`` (per power area, a day) and ``news`` (publicised
    failures a day) are what the cohorts can expect at the start; the anxiety they cause
    starts at its steady state.
    """

    def __init__(
        self, world: World, settings: AgentModelSettings, outage_hours: np.ndarray, leaks: np.ndarray, news: float
    ):
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
        # what a member suffers of an area's person-hours of outage (by dependence) and of its leaks
        weighted = np.bincount(self.region, weights=self.users * dependence, minlength=n_regions)
        self.outage_exposure = dependence / weighted[self.region]
        self.leak_exposure = 1.0 / np.bincount(self.region, weights=self.users, minlength=n_regions)[self.region]

        domestic = settings.botnet.bots * settings.botnet.domestic_share
        # below 1: the scenario check keeps domestic bots under the unprotected users
        self.infected = domestic * (1.0 - self.hygiene) / np.sum(self.users * (1.0 - self.hygiene))
        self.cleanup = spec.cleanup_per_year / DAYS_PER_YEAR
        self.pressure = self.cleanup * self.infected / ((1.0 - self.hygiene) * (1.0 - self.infected))

        self.relief = spec.hygiene_relief
        self.decay = 0.5 ** (1.0 / spec.anxiety_half_life_days)
        self.outage_weight = spec.outage_weight
        self.leak_weight = spec.leak_weight
        self.news_weight = spec.news_weight
        self.excess = self._daily_rise(outage_hours, leaks, news) / (1.0 - self.decay)
        self.background = np.maximum(-math.log(1.0 - spec.anxious_share) - self.excess, 0.0)
        self._refresh()

    def __len__(self) -> int:
        return int(self.users.size)

    def _daily_rise(self, outage_hours: np.ndarray, leaks: np.ndarray, news: float) -> np.ndarray:
        return (
            self.outage_weight * self.outage_exposure * outage_hours[self.region]
            + self.leak_weight * self.leak_exposure * leaks[self.region]
            + self.news_weight * news
        )

    def _refresh(self) -> None:
        relief = self.relief * (self.hygiene - self.start_hygiene) / (1.0 - self.start_hygiene)
        self.index = self.background * (1.0 - relief) + self.excess
        self.anxious = 1.0 - np.exp(-self.index)

    def step(self, outage_hours: np.ndarray, leaks: np.ndarray, news: float) -> None:
        """One day: ``outage_hours[region]`` person-hours of outage and ``leaks[region]``
        persons whose data leaked, in each power area, and ``news`` IT failures the press
        reported."""
        self.infected += self.pressure * (1.0 - self.hygiene) * (1.0 - self.infected) - self.cleanup * self.infected
        self.excess *= self.decay
        self.excess += self._daily_rise(outage_hours, leaks, news)
        self._refresh()

    def floor(self) -> np.ndarray:
        """The anxious share left with no outages, leaks or news and full hygiene: the
        background less its full relief. A target below it cannot be reached."""
        return 1.0 - np.exp(-self.background * (1.0 - self.relief))

    def campaign(self, gain: float) -> None:
        """An awareness campaign closes ``gain`` of the gap to full hygiene."""
        self.hygiene += gain * (1.0 - self.hygiene)
        self._refresh()

    def slip(self, decay: float) -> None:
        """A year without a campaign: hygiene slips back toward its start."""
        self.hygiene -= decay * (self.hygiene - self.start_hygiene)
        self._refresh()

    def bots(self) -> float:
        """Infected machines of the cohorts."""
        return float(np.sum(self.users * self.infected))

    def mean(self, values: np.ndarray) -> float:
        """User-weighted mean over the cohorts."""
        return float(np.sum(self.users * values) / np.sum(self.users))

    def region_mean(self, values: np.ndarray) -> np.ndarray:
        """User-weighted mean over each power area's cohorts."""
        n = int(self.region.max()) + 1
        return np.bincount(self.region, weights=self.users * values, minlength=n) / np.bincount(
            self.region, weights=self.users, minlength=n
        )
