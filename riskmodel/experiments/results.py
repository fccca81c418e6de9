"""Reading an experiment back: ``load_experiment(path)`` gives its tables as DataFrames."""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from riskmodel.experiments.store import Store, stored_spec


@dataclass
class ExperimentData:
    """An experiment as DataFrames: ``points`` (one row per design point), ``runs`` (one
    row per run: status, seed, wall time, worker, error), ``outcomes`` (long: run_id,
    outcome, value; kept outcomes of the runs done) and ``spec`` (the spec's data)."""

    path: Path
    spec: dict[str, Any]
    points: pd.DataFrame
    runs: pd.DataFrame
    outcomes: pd.DataFrame

    @property
    def lever_paths(self) -> list[str]:
        return [lever["path"] for lever in self.spec["levers"]]

    @property
    def parameter_paths(self) -> list[str]:
        """Every varied path (the points' value columns)."""
        fixed = {"point_id", "lever_set", "sample"}
        return [c for c in self.points.columns if c not in fixed and not c.startswith("u.")]

    @property
    def outcome_names(self) -> list[str]:
        return list(dict.fromkeys(self.outcomes["outcome"]))

    def wide(self) -> pd.DataFrame:
        """One row per run done: run_id, point_id, replication, lever_set, sample, the varied paths, and one
        column per kept outcome."""
        values = self.outcomes.pivot(index="run_id", columns="outcome", values="value")[self.outcome_names]
        done = self.runs[self.runs.status == "done"][["run_id", "point_id", "replication"]]
        frame = done.merge(self.points[["point_id", "lever_set", "sample", *self.parameter_paths]], on="point_id")
        return frame.merge(values.reset_index(), on="run_id").sort_values("run_id").reset_index(drop=True)

    def failures(self) -> pd.DataFrame:
        return self.runs[self.runs.status == "failed"].reset_index(drop=True)

    def table(self, name: str) -> pd.DataFrame:
        """A run table kept by the spec (``[outcomes] tables``), every run's rows with its run_id."""
        with Store(self.path, read_only=True) as store:
            return store.table(name)


def load_experiment(path: str | Path) -> ExperimentData:
    """The experiment in the store at ``path``."""
    path = Path(path)
    spec, _ = stored_spec(path)
    with Store(path, read_only=True) as store:
        points = store.frame("SELECT * FROM points ORDER BY point_id")
        runs = store.frame("SELECT * FROM runs ORDER BY run_id")
        outcomes = store.frame("SELECT o.* FROM outcomes o JOIN runs r USING (run_id) WHERE r.status = 'done' "
                               "ORDER BY run_id, o.rowid")  # fmt: skip
    return ExperimentData(path, json.loads(json.dumps(spec)), points, runs, outcomes)
