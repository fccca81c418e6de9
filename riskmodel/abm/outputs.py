"""What an agent-model run writes: declared tables, the summary and its figure.

Like the engine's loss tables (:mod:`riskmodel.outputs`), each table has a fixed schema
with a description per column, so that downstream tools can rely on names, types and
units:

* ``model_timeseries.parquet``: one row per day and series value, in long form (``variable``
  names a series of :data:`riskmodel.abm.reporters.DAILY_SERIES`; ``sector``, ``threat`` and
  ``layer`` are set where the series is broken down by them);
* ``agents_yearly.parquet``: one row per agent and fiscal year, with the columns of its kind
  (the others null).

``abm_summary.json`` gives the spin-up's years and the rounds its last year took to its
fixed point, each fiscal year's headline figures (with the costs of sharing,
exercises and the state's policies) and, by sector, the Basic Plan's indicator (serious
failures per operator corrected for reporting), its target, the test's mid-p value and
verdict, whether the target is reachable, and the incidents shared.
"""

from __future__ import annotations

import datetime as dt
import json
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskmodel.abm.agents import Attacker, CabinetCentre, Individual, Ministry, Operator
from riskmodel.abm.daily_engine import DAYS_PER_YEAR
from riskmodel.abm.investment import FIXED_POINT_TOLERANCE
from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.abm.reporters import DAILY_SERIES, YEARLY_FIGURES
from riskmodel.engine.kernels import LAYERS
from riskmodel.outputs import described
from riskmodel.report.figures import abm_timeseries, save

TIMESERIES_SCHEMA = pa.schema(
    [
        described("day", pa.int32(), "day of the run, 0-based"),
        described("date", pa.date32(), "calendar date (fiscal years start on 1 April; 365 days each)"),
        described("fiscal_year", pa.int16(), "fiscal year"),
        described("variable", pa.string(), "series name (see riskmodel.abm.reporters.DAILY_SERIES)"),
        described("sector", pa.string(), "sector, for series by sector", nullable=True),
        described("threat", pa.string(), "threat, for series by threat", nullable=True),
        described("layer", pa.string(), "loss layer, for losses", nullable=True),
        described("value", pa.float64(), "the value (yen for money, counts, shares)"),
    ]
)

AGENT_COLUMNS: list[tuple[str, pa.DataType, str]] = [
    ("sector", pa.string(), "operator: its sector"),
    ("region", pa.string(), "operator, individuals: power area"),
    ("ministry", pa.string(), "ministry: its id"),
    ("kind", pa.string(), "attacker: criminal, hacktivist or state"),
    ("origin", pa.string(), "attacker: country of origin"),
    ("age_band", pa.string(), "individuals: age band"),
    ("measures", pa.int32(), "operator: measure options in place during the year"),
    ("mandatory_in_place", pa.int32(), "operator: mandatory measures it has"),
    ("compliance", pa.float64(), "operator: share of its sector's mandatory measures it has"),
    ("security_spend", pa.float64(), "operator: yearly cost of its measures, yen"),
    ("true_failures", pa.int32(), "operator: its IT failures in the year"),
    ("reported_failures", pa.int32(), "operator: of which reported to its ministry"),
    ("loss", pa.float64(), "operator: direct, users' and economy loss of its failures, yen"),
    ("hide_probability", pa.float64(), "operator: chance it hides a failure the press does not report"),
    ("ceptoar_member", pa.bool_(), "operator: member of its sector's CEPTOAR"),
    ("exercised", pa.bool_(), "operator: an exercise's effects are with it this year"),
    ("mandatory_measures", pa.int32(), "ministry: mandatory measures over its sectors, at the year's end"),
    ("recommended_measures", pa.int32(), "ministry: recommended (not mandatory) measures over its sectors"),
    ("targets_missed", pa.int32(), "ministry: its sectors that missed the Basic Plan's target"),
    ("attempts_per_year", pa.float64(), "attacker: attempts a year at its current aim"),
    ("successes", pa.int32(), "attacker: IT failures its attacks caused in the year"),
    ("payoff", pa.float64(), "attacker: what its successes were worth to it (yen, or persons for hacktivists)"),
    ("users", pa.float64(), "individuals: internet users in the cohort"),
    ("hygiene", pa.float64(), "individuals: share practising good hygiene"),
    ("infected_share", pa.float64(), "individuals: share of machines infected"),
    ("anxiety_index", pa.float64(), "individuals: IT-anxiety index"),
    ("anxious_share", pa.float64(), "individuals: share anxious about using IT"),
]
AGENTS_SCHEMA = pa.schema(
    [
        described("fiscal_year", pa.int16(), "fiscal year"),
        described("agent_type", pa.string(), "Operator, Ministry, CabinetCentre, Attacker or Individual"),
        described("agent_id", pa.int32(), "Mesa unique_id"),
        *(described(name, kind, doc, nullable=True) for name, kind, doc in AGENT_COLUMNS),
    ]
)
RENAMED = {"sector_id": "sector", "region_id": "region", "ministry_id": "ministry"}


def _dates(model: CriticalInfrastructureModel, days: np.ndarray) -> np.ndarray:
    """Calendar dates of run days: fiscal year y starts on 1 April of y; 365 days a year."""
    epoch = dt.date(1970, 1, 1).toordinal()
    first_days = np.array(
        [dt.date(model.start_year + k, 4, 1).toordinal() - epoch for k in range(model.n_years + 1)], dtype=np.int64
    )
    return (first_days[days // DAYS_PER_YEAR] + days % DAYS_PER_YEAR).astype("datetime64[D]")


def timeseries_table(model: CriticalInfrastructureModel) -> pa.Table:
    """The daily series in long form (``model_timeseries.parquet``): one series after the
    other, each by sector, threat or layer where it has them, day by day."""
    world = model.world
    frame = model.datacollector.get_model_vars_dataframe()
    n_days = len(frame)
    critical = world.critical_sectors
    sectors = np.array(world.critical_ids, dtype=object)
    columns: dict[str, list[np.ndarray]] = {name: [] for name in ("variable", "sector", "threat", "layer", "value")}

    def add(variable: str, values: np.ndarray, sector=None, threat=None, layer=None) -> None:
        """``values[day, k]`` for ``k`` over the labels given (a column each)."""
        n = values.size
        columns["variable"].append(np.full(n, variable, dtype=object))
        for name, labels in (("sector", sector), ("threat", threat), ("layer", layer)):
            columns[name].append(np.full(n, None, dtype=object) if labels is None else np.repeat(labels, n_days))
        columns["value"].append(values.T.reshape(-1).astype(float))

    for name in DAILY_SERIES:
        column = frame[name]
        if name in ("true_failures", "reported_failures", "loss"):
            stacked = np.stack(column.to_numpy())[:, critical, :]  # [day, sector, threat or layer]
            inner = np.array(world.threat_ids if name != "loss" else LAYERS, dtype=object)
            flat = stacked.reshape(n_days, -1)
            outer_labels = np.repeat(sectors, inner.size)
            inner_labels = np.tile(inner, sectors.size)
            if name == "loss":
                add(name, flat, sector=outer_labels, layer=inner_labels)
            else:
                add(name, flat, sector=outer_labels, threat=inner_labels)
        elif name == "attack_attempts":
            add(name, np.stack(column.to_numpy())[:, critical], sector=sectors)
        else:
            add(name, column.to_numpy(dtype=float)[:, None])
    n_rows = sum(v.size for v in columns["value"])
    days = np.tile(np.arange(n_days, dtype=np.int32), n_rows // max(n_days, 1))
    data = {
        "day": days,
        "date": _dates(model, days.astype(np.int64)),
        "fiscal_year": (model.start_year + days // DAYS_PER_YEAR).astype(np.int16),
        **{name: np.concatenate(parts) for name, parts in columns.items()},
    }
    return pa.Table.from_pydict(data, schema=TIMESERIES_SCHEMA)


def agents_table(model: CriticalInfrastructureModel) -> pa.Table:
    """One row per agent and fiscal year (``agents_yearly.parquet``)."""
    frames = []
    for kind in (Operator, Ministry, CabinetCentre, Attacker, Individual):
        if kind not in model.agent_types:
            continue
        frame = model.yearly.get_agenttype_vars_dataframe(kind)
        if frame.empty:
            continue
        frame = frame.reset_index().rename(columns={"Step": "step", "AgentID": "agent_id", **RENAMED})
        frame["fiscal_year"] = model.start_year + frame.pop("step") // DAYS_PER_YEAR - 1
        frame["agent_type"] = kind.__name__
        frames.append(frame)
    table = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=AGENTS_SCHEMA.names)
    for name in AGENTS_SCHEMA.names:
        if name not in table:
            table[name] = None
    table = table.sort_values(["fiscal_year", "agent_id"], kind="stable")
    return pa.Table.from_pandas(
        table[AGENTS_SCHEMA.names], schema=AGENTS_SCHEMA, preserve_index=False
    ).replace_schema_metadata()


YEARLY_SCHEMA = pa.schema(
    [
        described("fiscal_year", pa.int16(), "fiscal year"),
        described("variable", pa.string(), "figure name (see riskmodel.abm.reporters.YEARLY_FIGURES)"),
        described("sector", pa.string(), "sector, for figures by sector", nullable=True),
        described("threat", pa.string(), "threat, for figures by threat", nullable=True),
        described("layer", pa.string(), "loss layer, for losses", nullable=True),
        described("measure", pa.string(), "measure, for the standards' lists", nullable=True),
        described("value", pa.float64(), "the value (yen for money, counts, shares, 1/0 for flags)"),
    ]
)


def yearly_table(model: CriticalInfrastructureModel) -> pd.DataFrame:
    """The fiscal-year figures in long form, one value per row: arrays by sector and
    threat, layer or measure are unpacked (critical sectors only), scalars kept as they are."""
    world = model.world
    critical = world.critical_sectors
    inner = {"threat": world.threat_ids, "layer": list(LAYERS), "measure": world.catalogue.measure_ids}
    rows: list[tuple] = []
    for record in model.yearly.get_model_vars_dataframe().to_dict("records"):
        year = int(record["fiscal_year"])
        for name in YEARLY_FIGURES:
            if name == "fiscal_year":
                continue
            value = np.asarray(record[name], dtype=float)
            if value.ndim == 0:
                rows.append((year, name, None, None, None, None, float(value)))
                continue
            column = "layer" if name == "loss" else "measure" if name == "mandatory" else "threat"
            for s in critical:
                sector = world.sector_ids[s]
                if value.ndim == 1:
                    rows.append((year, name, sector, None, None, None, float(value[s])))
                    continue
                for k, label in enumerate(inner[column]):
                    cells = {"threat": None, "layer": None, "measure": None, column: label}
                    rows.append((year, name, sector, cells["threat"], cells["layer"], cells["measure"],
                                 float(value[s, k])))  # fmt: skip
    frame = pd.DataFrame(rows, columns=YEARLY_SCHEMA.names)
    frame["fiscal_year"] = frame["fiscal_year"].astype("int16")
    return frame


def _number(value: float) -> float | None:
    value = float(value)
    return value if math.isfinite(value) else None


def _flag(value: float) -> bool | None:
    """A 1/0 figure as a flag; NaN (not set) as null."""
    return None if math.isnan(float(value)) else bool(value)


def summary(model: CriticalInfrastructureModel) -> dict:
    """The ``abm_summary.json`` document: each fiscal year's headline figures, by sector too."""
    world = model.world
    critical = world.critical_sectors
    years = {}
    for record in model.yearly.get_model_vars_dataframe().to_dict("records"):
        loss = record["loss"]
        sectors = {}
        for s in critical:
            sectors[world.sector_ids[s]] = {
                "true_failures": int(record["true_failures"][s].sum()),
                "reported_failures": int(record["reported_failures"][s].sum()),
                "loss": {layer: float(loss[s, k]) for k, layer in enumerate(LAYERS)},
                "mandatory_measures": int(record["mandatory_measures"][s]),
                "mandatory": [world.catalogue.measure_ids[m] for m in np.flatnonzero(record["mandatory"][s])],
                "failures_per_operator": float(record["failures_per_operator"][s]),
                "serious_failures": int(record["serious_failures"][s]),
                "reporting_estimate": float(record["reporting_estimate"][s]),
                "failures_target": _number(record["failures_target"][s]),
                "target_missed": bool(record["target_missed"][s]),
                "target_p_value": float(record["target_p_value"][s]),
                "target_reachable": _flag(record["target_reachable"][s]),
                "shared_incidents": float(record["shared_incidents"][s]),
                "attack_attempts": float(record["attack_attempts"][s]),
            }
        years[str(record["fiscal_year"])] = {
            "true_failures": int(record["true_failures"].sum()),
            "reported_failures": int(record["reported_failures"].sum()),
            "loss": {layer: float(loss[:, k].sum()) for k, layer in enumerate(LAYERS)},
            "anxious_share": float(record["anxious_share"]),
            "anxious_target": _number(record["anxious_target"]),
            "anxious_floor": float(record["anxious_floor"]),
            "anxiety_index": float(record["anxiety_index"]),
            "botnet_size": round(float(record["botnet_size"])),
            "infected_share": float(record["infected_share"]),
            "hygiene": float(record["hygiene"]),
            "mandatory_measures": int(record["mandatory_measures"].sum()),
            "recommended_measures": int(record["recommended_measures"].sum()),
            "compliance": float(record["compliance"]),
            "security_spend": float(record["security_spend"]),
            "ceptoar_share": float(record["ceptoar_share"]),
            "ceptoar_members": int(record["ceptoar_members"]),
            "alert_coverage": _number(record["alert_coverage"]),
            "sharing_cost": float(record["sharing_cost"]),
            "exercise_cost": float(record["exercise_cost"]),
            "state_cost": float(record["state_cost"]),
            "penalties": float(record["penalties"]),
            "news": int(record["news"]),
            "campaign": bool(record["campaign"]),
            "it_use": float(record["it_use"]),
            "sectors": sectors,
        }
    start = model.settings.operators.start
    spin_up = {
        "years": start.years if start.enabled and model.settings.operators.enabled else 0,
        "last_year_rounds": model.spin_up_rounds,
        "converged": model.spin_up_converged,
        "tolerance": FIXED_POINT_TOLERANCE,
    }
    return {"scenario": world.name, "seed": model.seed, "spin_up": spin_up, "fiscal_years": years}


def write_outputs(model: CriticalInfrastructureModel, folder: Path, document: dict) -> list[str]:
    """Write the run's tables, its summary ``document`` and figure into ``folder``; returns
    the file names."""
    pq.write_table(timeseries_table(model), folder / "model_timeseries.parquet", compression="zstd")
    pq.write_table(agents_table(model), folder / "agents_yearly.parquet", compression="zstd")
    (folder / "abm_summary.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    save(abm_timeseries([document]), folder / "abm_timeseries.png")
    return ["abm_summary.json", "model_timeseries.parquet", "agents_yearly.parquet", "abm_timeseries.png"]
