"""The agent model's day: the engine draws the day's failures, the agents react.

A mixin of :class:`~riskmodel.abm.model.CriticalInfrastructureModel`, kept apart so that a
reader finds the daily schedule in one place: the fiscal year begins or ends on its day,
attackers re-aim, the day's failures reach the agents (reports or hiding, hidden
incidents found out, sharing, attackers' credit, the news and anxiety), alerts start,
fade and end, and the daily figures are collected.
"""

from __future__ import annotations

import math

import numpy as np

from riskmodel.abm.daily_engine import DAYS_PER_YEAR
from riskmodel.abm.reporters import FY_MEANS
from riskmodel.abm.tally import tally_day
from riskmodel.engine.events import Events
from riskmodel.engine.kernels import OP_DEPTH_SCALE, hours_per_person


class DaySchedule:
    """The day (``step``) and what it updates; mixed into the model."""

    def step(self) -> None:
        """One day."""
        if self.day % DAYS_PER_YEAR == 0:
            self._begin_year()
        if self.settings.attackers.enabled and self.day % self.settings.attackers.replan_days == 0:
            self._replan()
        self._absorb(self.engine.run_day(self.day))
        tomorrow = self.day + 1
        # alerts that started or end, and (their blocking fading) those running
        due = self._alerts_changed | (self._alert_ends <= tomorrow) | np.isfinite(self._alert_ends)
        if due.any():
            self._apply_operator_factors(tomorrow, np.flatnonzero(due))
        self._update_daily_figures()
        self.datacollector.collect(self)
        self.day = tomorrow
        if self.day % DAYS_PER_YEAR == 0:
            self._end_year()
        self.running = self.day < self.total_days

    def _absorb(self, events: Events) -> None:
        """Let a day's failures reach the agents.

        The agents' draws of the day are one per operator for each decision (hide, share,
        whose attack, whether a hidden one is found out), taken whatever the day's events,
        so a change in one operator's failures leaves the others' decisions as they were.
        """
        world, abm = self.world, self.settings
        hide, share, credit, found = self.rng.random((4, len(world.operators)))
        o, sector, threat = events.operator, events.sector, events.threat
        reported = np.zeros(len(events), dtype=bool)
        # the event's Beta draw from its depth (the draw times the operator's depth scale)
        scale = self.engine.op_float[o, OP_DEPTH_SCALE]
        draw = np.divide(events.depth, scale, out=np.zeros(len(events)), where=scale > 0)
        person_hours = events.persons * hours_per_person(
            world.service_kind[sector].astype(float), world.passed_system[sector], events.duration_hours,
            world.delay_hours[sector], draw,
        )  # fmt: skip
        tally_day(
            sector, threat, o, events.region, events.persons, person_hours,
            events.own, events.users, events.others, hide[o], self.hide_probability,
            abm.concealment.public_persons, abm.concealment.enabled, self._public,
            self._leaking, abm.individuals.leak_share, self.day_true, self.day_reported,
            self.day_loss, self.op_failures, self.op_loss, self._outage_hours, self._leaks, reported,
        )  # fmt: skip
        np.add.at(self.op_threat_failures, (o, events.threat), 1.0)  # what each operator learns from
        n_sectors = world.n_sectors
        it_failure = ~self._public[threat]  # disasters aside
        public = events.persons >= abm.concealment.public_persons
        serious = reported & it_failure & (person_hours >= abm.pdca.serious_person_hours)
        self.fy_serious += np.bincount(sector[serious], minlength=n_sectors)
        self.fy_serious_public += np.bincount(sector[serious & public], minlength=n_sectors)
        for row in np.flatnonzero(reported & it_failure & public):
            self.fy_public_failures.append((float(events.persons[row]), int(threat[row])))
        self.fy_nonpublic_reported += np.bincount(sector[reported & it_failure & ~public], minlength=n_sectors)
        discovered = ~reported & (found[o] < self.detection_probability)
        self.fy_found_out += np.bincount(sector[discovered], minlength=n_sectors)
        self.fy_penalties += abm.concealment.penalty_yen * int(discovered.sum())
        news = int((it_failure & public).sum())
        self.fy_news += news
        if abm.information_sharing.enabled:
            sharing = abm.information_sharing
            shared = (
                reported
                & self.member[o]
                & self._shareable[threat]
                & (share[o] < sharing.share_probability * (1.0 - sharing.competitor_reluctance))
            )
            np.add.at(self.shared_counts, (sector[shared], threat[shared]), 1.0)
            for row in np.flatnonzero(shared):
                self._alert(int(sector[row]), int(threat[row]))
            on_alert = self.alert_until[self.member][:, self._shareable] > self.day
            self.fy_alerted_member_days += float(on_alert.sum())
            self.fy_member_days += float(on_alert.size)
        self._credit_attackers(events, credit[o])
        self.fy_true += self.day_true
        self.fy_reported += self.day_reported
        self.fy_loss += self.day_loss
        self.cohorts.step(self._outage_hours, self._leaks, float(news))
        self.foreign_bots *= (1.0 + abm.botnet.foreign_growth) ** (1.0 / DAYS_PER_YEAR)
        botnet = self.foreign_bots + self.cohorts.bots()
        self.ddos_capacity = (botnet / abm.botnet.bots) ** abm.botnet.ddos_elasticity
        self.outages.update(self.day, events)

    def _alert(self, sector: int, threat: int) -> None:
        """A member shared an incident: the CEPTOAR's members (every CEPTOAR's, once the
        Council works) are on guard against that threat from tomorrow for ``alert_days``."""
        recipients = self.member if self.council else self.member & (self.world.operators.sector == sector)
        self.alert_until[recipients, threat] = self.day + 1 + self.settings.information_sharing.alert_days
        self._alerts_changed[threat] = True

    def _update_standing_figures(self) -> None:
        """Figures that change only when measures, standards or CEPTOARs change."""
        ops = self.world.operators
        in_force = self.mandatory_in_force[ops.sector]
        required = in_force.sum(axis=1)
        met = (self.held() & in_force).sum(axis=1)
        compliance = np.where(required > 0, met / np.maximum(required, 1), 1.0)
        self.compliance = float(compliance.mean()) if compliance.size else 1.0
        self.security_spend = float(np.sum(self.option_cost * self.in_place))
        self.mandatory_measures = int(self.mandatory_in_force.sum())
        self.recommended_measures = int((self.recommended & ~self.mandatory_in_force).sum())
        working = self.member & self.ceptoar_active[ops.sector]
        self.ceptoar_share = float(working.mean()) if working.size else 0.0

    def _update_daily_figures(self, accumulate: bool = True) -> None:
        """The individuals' figures and the alerts, each day."""
        cohorts = self.cohorts
        self.botnet_size = self.foreign_bots + cohorts.bots()
        self.infected_share = cohorts.mean(cohorts.infected)
        self.hygiene = cohorts.mean(cohorts.hygiene)
        self.anxiety_index = cohorts.mean(cohorts.index)
        self.anxious_share = cohorts.mean(cohorts.anxious)
        self.alerted_operators = int((self.alert_until > self.day + 1).any(axis=1).sum())
        if accumulate:
            for name in FY_MEANS:
                self._fy_sums[name] = self._fy_sums.get(name, 0.0) + getattr(self, name)

    def fy_mean(self, name: str) -> float:
        """Mean of a daily figure over the fiscal year's days so far."""
        days = self.day % DAYS_PER_YEAR or DAYS_PER_YEAR
        return self._fy_sums.get(name, math.nan) / days
