"""Answers with intervals: per design point means, and paired lever differences.

``summarize`` gives, for each design point and outcome, the mean over the replications,
its standard error and a 95% t interval. ``paired_differences`` compares each value of a
lever with the lever's first value, run by run: with common random numbers replication
``r`` of both settings used the same seed (and the same uncertain sample), so the
difference of the pair removes the noise the two share, and its interval is the t
interval of the paired differences. ``figures`` draws one chart per outcome.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from riskmodel.experiments.results import ExperimentData
from riskmodel.intervals import INTERVAL_COLUMNS, grouped_intervals


def _long(data: ExperimentData, outcomes: list[str] | None) -> pd.DataFrame:
    wide = data.wide()
    names = outcomes or data.outcome_names
    keys = ["run_id", "point_id", "replication", "lever_set", "sample", *data.parameter_paths]
    return wide.melt(id_vars=keys, value_vars=names, var_name="outcome", value_name="value")


def summarize(data: ExperimentData, outcomes: list[str] | None = None) -> pd.DataFrame:
    """Per design point and outcome: the varied paths, n, mean, se, ci_low, ci_high."""
    long = _long(data, outcomes)
    keys = ["point_id", *data.parameter_paths, "outcome"]
    return grouped_intervals(long, keys)


def paired_differences(data: ExperimentData, outcomes: list[str] | None = None) -> pd.DataFrame:
    """Each lever value against the lever's first value, paired on the replication, the
    uncertain sample and the other levers' values: lever, value, baseline, ``given`` (the
    other levers' values, as text), outcome, n, mean, se, ci_low, ci_high of
    (value - baseline)."""
    long = _long(data, outcomes)
    rows = []
    for lever in data.spec["levers"]:
        path, baseline = lever["path"], lever["values"][0]
        others = [p for p in data.lever_paths if p != path]
        pair = [*others, "sample", "replication", "outcome"]
        base = long[long[path] == _typed(long[path], baseline)].set_index(pair)["value"]
        for value in lever["values"][1:]:
            arm = long[long[path] == _typed(long[path], value)].set_index(pair)["value"]
            diff = (arm - base).dropna().rename("value").reset_index()
            diff["given"] = diff[others].astype(str).radd([f"{p}=" for p in others]).agg(", ".join, axis=1) if (
                others) else ""  # fmt: skip
            groups = grouped_intervals(diff, ["given", "outcome"])
            groups.insert(0, "baseline", baseline)
            groups.insert(0, "value", value)
            groups.insert(0, "lever", path)
            rows.append(groups)
    if not rows:
        return pd.DataFrame(columns=["lever", "value", "baseline", "given", "outcome", *INTERVAL_COLUMNS])
    return pd.concat(rows, ignore_index=True)


def _typed(column: pd.Series, value: object) -> object:
    """A lever value as its column holds it (text when the column is text)."""
    return str(value) if column.dtype == object and not isinstance(value, str) else value


def figures(data: ExperimentData, folder: Path, outcomes: list[str] | None = None) -> list[Path]:
    """One chart per outcome: the mean and 95% interval of each lever setting (pooled over
    uncertain samples and replications), levers' values as labels."""
    from riskmodel.report.figures import save, setting_intervals

    long = _long(data, outcomes)
    levers = data.lever_paths
    if levers:
        long["setting"] = long[levers].astype(str).agg(", ".join, axis=1)
    else:
        long["setting"] = "all"
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for outcome, rows in long.groupby("outcome", sort=False):
        table = grouped_intervals(rows, ["setting"]).set_index("setting")
        path = folder / f"summary_{outcome}.png"
        save(setting_intervals(table, outcome, ", ".join(levers) if levers else outcome), path, dpi=100)
        written.append(path)
    return written
