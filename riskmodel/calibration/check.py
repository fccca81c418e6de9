"""Structural check: is each reported incident a plausible draw of the calibrated model?

The posterior predictive distribution of a sector's reported failures is simulated: the
engine runs years under posterior draws (each draw through its overrides), and its event
table is put through the incident's reporting filter (kind, duration threshold, major
operator; coverage thins all alike and does not change the distribution). An incident is
plausible when its reported figure lies inside the central 90% region of that distribution
for its sector: at least 5% of reported failures are at or below it (its range's upper
end) and at least 5% at or above it (its range's lower end). Durations and persons are
checked separately, where the incident reports them, and jointly where it reports both:
persons among the reported failures whose duration is like the incident's (within a factor
``LIKE`` of its range), since a model can reach a number of persons only through outages
far longer than the one reported. Persons are compared only where the data say they count
the persons the failure reached (``persons_measure`` ``reach``, see
:mod:`riskmodel.incidents`), what the model's persons count: a figure of persons who
suffered a further consequence is of another nature.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import pandas as pd

from riskmodel.calibration.observation import ReportingFilter, Targets
from riskmodel.calibration.outputs import CHECK_SCHEMA, conform
from riskmodel.engine.simulate import simulate
from riskmodel.overrides import Override
from riskmodel.schema import THREAT_KINDS
from riskmodel.world import World, with_overrides

TAIL = 0.05  # each side of the central 90% region
LIKE = 1.5  # durations within this factor of an incident's range count as like it


def reported_events(world: World, f: ReportingFilter, years: int, seed: int) -> pd.DataFrame:
    """The failures of ``years`` simulated years (no measures) that pass filter ``f``:
    kind, threshold and major operator.

    A failure is an event of a sector: a shared system's failure (several operators down at
    once, one row each in the event table) is one failure, with the persons of all its
    members, its longest outage, and the members' sector share together."""
    elt = simulate(world, years=years, seed=seed, elt=True).elt
    op = world.operators
    sector_total = np.bincount(op.sector, weights=op.sector_share)
    elt["share"] = (op.sector_share / sector_total[op.sector])[elt["operator"].to_numpy()]
    events = elt.groupby(["year", "event", "sector", "threat"], observed=True, sort=False).agg(
        duration_hours=("duration_hours", "max"), persons=("persons", "sum"), share=("share", "sum")
    )
    events = events.reset_index()
    kind = dict(zip(world.threat_ids, world.threats.kind, strict=True))
    keep = (
        events["threat"].map(lambda t: THREAT_KINDS[kind[t]] in f.kinds)
        & (events["duration_hours"] >= f.min_duration_hours)
        & (events["share"] >= f.min_operator_share)
    )
    return events.loc[keep, ["year", "sector", "threat", "duration_hours", "persons"]].reset_index(drop=True)


def predictive_events(world: World, draws: pd.DataFrame, targets: Targets, years_per_draw: int, seed: int,
                      progress: Callable[[str, int, int], None] | None = None) -> dict[str, pd.DataFrame]:  # fmt: skip
    """Reported failures per filter, pooled over the posterior draws (each a world)."""
    paths = [c for c in draws.columns if c != "draw"]
    pooled: dict[str, list[pd.DataFrame]] = {f.id: [] for f in targets.filters}
    for i, row in enumerate(draws.itertuples(index=False)):
        values = dict(zip(draws.columns, row, strict=True))
        drawn = with_overrides(world, [Override(p, float(values[p])) for p in paths])
        for f in targets.filters:
            pooled[f.id].append(reported_events(drawn, f, years_per_draw, seed))
        if progress is not None:
            progress("simulating the posterior predictive", i + 1, len(draws))
    return {name: pd.concat(frames, ignore_index=True) for name, frames in pooled.items()}


def predictive_check(data: pd.DataFrame, predicted: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per incident and reported magnitude (duration, persons): where it falls in
    its sector's predictive distribution of reported failures."""
    rows = []
    for _, incident in data.iterrows():
        events = predicted[incident["observation"]]
        events = events[events["sector"] == incident["sector"]]
        checks = []
        if not np.isnan(incident["duration_hours_high"]):
            low, high = incident["duration_hours_low"], incident["duration_hours_high"]
            shown = f"{low:g}" if low == high else f"{low:g}-{high:g}"
            checks.append(("duration_hours", events["duration_hours"].to_numpy(), low, high, shown))
        if not np.isnan(incident["persons_affected"]) and incident["persons_measure"] == "reach":
            persons = incident["persons_affected"]
            checks.append(("persons_affected", events["persons"].to_numpy(), persons, persons, f"{persons:,.0f}"))
            if not np.isnan(incident["duration_hours_high"]):
                hours = events["duration_hours"]
                like = (hours >= incident["duration_hours_low"] / LIKE) & (
                    hours <= incident["duration_hours_high"] * LIKE
                )
                checks.append(("persons_affected | duration", events.loc[like, "persons"].to_numpy(), persons, persons,
                               f"{persons:,.0f} in {checks[0][4]} h"))  # fmt: skip
        for magnitude, values, low, high, shown in checks:
            n = max(values.size, 1)
            below, above = float((values <= high).sum() / n), float((values >= low).sum() / n)
            rows.append({"date": incident["date"], "sector": incident["sector"],
                         "event": str(incident.get("event", "")), "magnitude": magnitude, "reported": shown,
                         "p_below": below, "p_above": above,
                         "plausible": bool(values.size and below >= TAIL and above >= TAIL)})  # fmt: skip
    return conform(pd.DataFrame(rows, columns=CHECK_SCHEMA.names), CHECK_SCHEMA)
