"""What the panels show, read from the running model: its daily DataCollector and the
counters its agents keep. Tidy frames, so the panels only draw."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from riskmodel.abm.daily_engine import DAYS_PER_YEAR
from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.engine.kernels import LAYERS


def outages_today(model: CriticalInfrastructureModel) -> pd.DataFrame:
    """Outages in progress on the last day simulated by power area (rows) and critical
    sector (columns): failing operators whose outage started that day or earlier and has
    not ended (the model's :class:`~riskmodel.abm.reporters.OutagesInProgress`)."""
    world = model.world
    running = model.outages.columns
    counts = np.zeros((len(world.region_ids), world.n_sectors), dtype=np.int64)
    np.add.at(counts, (running["region"], running["sector"]), 1)
    return pd.DataFrame(counts[:, world.critical_sectors], index=world.region_ids, columns=world.critical_ids)


def last_day(model: CriticalInfrastructureModel) -> str:
    """The date of the last day simulated (fiscal years of 365 days from 1 April, as in the
    outputs), or that none has been."""
    day = model.outages.day
    if day < 0:
        return "no day simulated yet"
    return f"{_date(model, day):%d %b %Y}"


def _date(model: CriticalInfrastructureModel, day: int) -> dt.date:
    return dt.date(model.start_year + day // DAYS_PER_YEAR, 4, 1) + dt.timedelta(days=day % DAYS_PER_YEAR)


def daily(model: CriticalInfrastructureModel) -> pd.DataFrame:
    """One row a day simulated: failures (true, reported; all critical sectors), losses by
    layer (yen), the anxious share and its target, the standards, compliance, the botnet."""
    frame = model.datacollector.get_model_vars_dataframe()
    critical = model.world.critical_sectors
    days = np.arange(len(frame))
    out = pd.DataFrame({"day": days, "fiscal_year": model.start_year + days // DAYS_PER_YEAR})
    if len(frame) == 0:
        return out.assign(**{name: [] for name in ("true", "reported", *LAYERS, "anxious_share", "anxious_target",
                                                   "mandatory_measures", "compliance", "botnet_size")})  # fmt: skip
    out["true"] = np.stack(frame["true_failures"].to_numpy())[:, critical].sum(axis=(1, 2))
    out["reported"] = np.stack(frame["reported_failures"].to_numpy())[:, critical].sum(axis=(1, 2))
    loss = np.stack(frame["loss"].to_numpy())[:, critical].sum(axis=1)
    for k, layer in enumerate(LAYERS):
        out[layer] = loss[:, k]
    out["anxious_target"] = [model.targets.anxious.get(year, np.nan) for year in out["fiscal_year"]]
    for name in ("anxious_share", "mandatory_measures", "compliance", "botnet_size"):
        out[name] = frame[name].to_numpy(dtype=float)
    return out


def today(model: CriticalInfrastructureModel) -> str:
    """The day counter as a reader wants it: days simulated, and the date and fiscal year
    of the next day (fiscal years start on 1 April and have 365 days, as in the outputs)."""
    fiscal_year = model.start_year + model.day // DAYS_PER_YEAR
    date = _date(model, model.day)
    return f"Day {model.day:,} of {model.total_days:,}: next {date:%d %b %Y}, fiscal year {fiscal_year}"
