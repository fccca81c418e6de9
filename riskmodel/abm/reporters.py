"""What the agent model records: the daily series, the fiscal-year figures and the agents'
records, each named and described once (Mesa ``DataCollector`` reporters)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from riskmodel.abm.agents import Attacker, CabinetCentre, Individual, Ministry, Operator

if TYPE_CHECKING:
    from riskmodel.abm.model import CriticalInfrastructureModel
    from riskmodel.engine.events import Events

HOURS_PER_DAY = 24.0
FY_MEANS = ("anxious_share", "anxiety_index", "infected_share", "hygiene")
DAILY_ATTRIBUTES = {"true_failures": "day_true", "reported_failures": "day_reported", "loss": "day_loss"}
DAILY_SERIES = {
    "true_failures": "IT failures that day, by sector and threat",
    "reported_failures": "IT failures reported to the ministries that day, by sector and threat",
    "loss": "losses that day by sector and layer (own, users, others), yen",
    "attack_attempts": "attackers' attempts a year at that day's aim, by sector (cyber threats)",
    "mandatory_measures": "measures mandatory in a sector's standard, summed over sectors",
    "recommended_measures": "measures recommended but not mandatory, summed over sectors",
    "compliance": "operators' mean share of their sector's mandatory measures in place",
    "security_spend": "operators' spending on measures in place, yen a year",
    "botnet_size": "bots available to attackers, worldwide",
    "infected_share": "share of the individuals' machines infected (user-weighted)",
    "hygiene": "share of individuals practising good security hygiene (user-weighted)",
    "anxiety_index": "IT-anxiety index (user-weighted mean)",
    "anxious_share": "share of individuals anxious about using IT",
    "ceptoar_share": "share of operators that are members of a working CEPTOAR",
    "alerted_operators": "operators on information-sharing alert for the next day",
}


def figure(name: str, model: CriticalInfrastructureModel) -> object:
    """A fiscal-year figure for the yearly DataCollector."""
    return model.year_figures[name]


YEARLY_FIGURES = {
    "fiscal_year": "fiscal year",
    "true_failures": "IT failures, by sector and threat",
    "reported_failures": "IT failures reported to the ministries, by sector and threat",
    "loss": "losses by sector and layer (own, users, others), yen",
    "failures_per_operator": "serious failures per operator corrected for reporting, by sector (the indicator)",
    "serious_failures": "reported serious IT failures (disasters aside, outage at or above the bar), by sector",
    "reporting_estimate": "the ministries' estimate of the reporting rate of non-public failures, by sector",
    "found_out": "hidden failures found out, by sector",
    "failures_target": "the Basic Plan's target for serious failures per operator (true scale), by sector",
    "target_missed": "whether the sector missed its target (the ministry's test rejected it)",
    "target_p_value": "mid-p value of the test of the year against its target, by sector (1 without a target)",
    "target_reachable": "whether the target is reachable with every measure of the catalogue, by sector (1/0)",
    "shared_incidents": "incidents shared through the sector's CEPTOAR, by sector",
    "alert_coverage": "share of member-days on alert, averaged over the shared threats",
    "ceptoar_members": "operators that are CEPTOAR members",
    "sharing_cost": "members' CEPTOAR membership cost, yen",
    "exercise_cost": "participants' staff time for exercises, yen",
    "state_cost": "the state's cost of mandates in force, investigations and campaigns, yen",
    "penalties": "penalties operators paid for hidden failures found out, yen",
    "news": "IT failures the press reported (disasters aside)",
    "campaign": "whether the cabinet centre ran an awareness campaign",
    "it_use": "online use relative to the start (user-weighted)",
    "anxious_target": "the Basic Plan's target for the anxious share",
    "anxious_floor": "the anxious share with no outages, leaks or news and full hygiene (below it: unreachable)",
    "anxious_share": "share of individuals anxious about using IT (mean over the year)",
    "anxiety_index": "IT-anxiety index (mean over the year)",
    "infected_share": "share of machines infected (mean over the year)",
    "hygiene": "share practising good hygiene (mean over the year)",
    "botnet_size": "bots at the year's end",
    "attack_attempts": "attackers' attempts a year by sector at the year's end",
    "mandatory": "which measures are mandatory in each sector's standard, in force during the year",
    "mandatory_measures": "mandatory measures by sector, in force during the year",
    "recommended_measures": "recommended (not mandatory) measures by sector, in force during the year",
    "compliance": "operators' mean compliance with the mandatory measures in force, at the year's start",
    "security_spend": "operators' spending on measures during the year, yen",
    "ceptoar_share": "share of operators in a working CEPTOAR during the year",
}

MINISTRY_REPORTERS = {
    name: name for name in ("ministry_id", "mandatory_measures", "recommended_measures", "targets_missed")
}
AGENT_REPORTERS = {
    Operator: {
        name: name
        for name in (
            "sector_id",
            "region_id",
            "measures",
            "mandatory_in_place",
            "compliance",
            "security_spend",
            "true_failures",
            "reported_failures",
            "loss",
            "hide_probability",
            "ceptoar_member",
            "exercised",
        )
    },
    Ministry: MINISTRY_REPORTERS,
    CabinetCentre: MINISTRY_REPORTERS,
    Attacker: {name: name for name in ("kind", "origin", "attempts_per_year", "successes", "payoff")},
    Individual: {
        name: name
        for name in ("region_id", "age_band", "users", "hygiene", "infected_share", "anxiety_index", "anxious_share")
    },
}


class OutagesInProgress:
    """The outages running on the last day simulated, one entry per failing operator: what
    a map of today's outages shows (the daily series count failures as they start).

    The daily engine draws the day a failure starts, not its hour, so a failure is taken to
    start as its day does: one lasting ``h`` hours (``h > 0``) started on day ``d`` runs
    on days ``d`` to ``ceil(d + h / 24) - 1``. Each entry keeps its operator, power area,
    sector and threat (indices into the world's lists), its first day and the day (as a
    fraction) it ends.
    """

    FIELDS = ("operator", "region", "sector", "threat", "start", "end")

    def __init__(self) -> None:
        self.day = -1  # the day the entries are in progress on (-1: none simulated yet)
        self.columns: dict[str, np.ndarray] = {name: np.zeros(0, dtype=np.int64) for name in self.FIELDS[:-1]}
        self.columns["end"] = np.zeros(0)

    def update(self, day: int, events: Events) -> None:
        """Day ``day`` was simulated with ``events`` starting on it: drop the outages that
        ended before it, add its own that last."""
        new = {name: getattr(events, name) for name in self.FIELDS[:4]}
        new["start"] = np.full(len(events), day, dtype=np.int64)
        new["end"] = day + events.duration_hours / HOURS_PER_DAY
        running = {name: np.concatenate([self.columns[name], new[name]]) for name in self.FIELDS}
        keep = running["end"] > day
        self.columns = {name: values[keep] for name, values in running.items()}
        self.day = day

    def __len__(self) -> int:
        return int(self.columns["end"].size)
