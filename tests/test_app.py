"""The dashboard's observations of the running agent model (no browser): the grid of
today's outages is the model's outages in progress, counted again from the day's events."""

from __future__ import annotations

import numpy as np
import pytest

from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.app.observe import last_day, outages_today

DAYS = 120


@pytest.fixture(scope="module")
def stepped(japan) -> tuple[CriticalInfrastructureModel, list[dict], list]:
    """A model stepped ``DAYS`` days with every day's events recorded as the engine gave
    them, and the grid the dashboard showed after each day."""
    model = CriticalInfrastructureModel(japan, fiscal_years=1, seed=5)
    days: list[dict] = []
    engine_day = model.engine.run_day

    def recorded(day: int):
        events = engine_day(day)
        days.append({"day": day, "region": events.region.copy(), "sector": events.sector.copy(),
                     "hours": events.duration_hours.copy()})  # fmt: skip
        return events

    model.engine.run_day = recorded
    assert last_day(model) == "no day simulated yet" and outages_today(model).to_numpy().sum() == 0
    grids = []
    for _ in range(DAYS):
        model.step()
        grids.append(outages_today(model))
    return model, days, grids


def running_on(days: list[dict], today: int, n_regions: int, n_sectors: int) -> np.ndarray:
    """Brute force: every failure started on day ``d`` lasting ``h`` hours runs on the days
    ``t`` with ``d <= t < d + h / 24``; count those running ``today`` by area and sector."""
    counts = np.zeros((n_regions, n_sectors), dtype=np.int64)
    for record in days:
        if record["day"] > today:
            continue
        for region, sector, hours in zip(record["region"], record["sector"], record["hours"], strict=True):
            if today < record["day"] + hours / 24.0:
                counts[region, sector] += 1
    return counts


def test_the_grid_is_the_models_outages_of_the_day(stepped, japan):
    model, days, grids = stepped
    carried = 0
    for today, grid in enumerate(grids):
        expected = running_on(days, today, len(japan.region_ids), japan.n_sectors)[:, japan.critical_sectors]
        assert grid.to_numpy().tolist() == expected.tolist(), today
        assert list(grid.index) == japan.region_ids and list(grid.columns) == japan.critical_ids
        started_today = running_on([days[today]], today, len(japan.region_ids), japan.n_sectors)
        carried += int(expected.sum() - started_today[:, japan.critical_sectors].sum())
    assert sum(int(g.to_numpy().sum()) for g in grids) > 0
    assert carried > 0  # some outage ran on past the day it started: the grid is not only the day's failures
    assert last_day(model) == "29 Jul " + str(model.start_year)  # day 119 of a fiscal year starting 1 April

