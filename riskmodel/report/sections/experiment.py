"""The experiment section: a batch of runs from its DuckDB store. What was run (the spec,
its hash, the runs by status), per design point and outcome the mean over replications
with its 95% interval (a figure per outcome), the paired lever comparisons, and, for a
Morris or Sobol design, the sensitivity indices (SALib)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from riskmodel.experiments import load_experiment
from riskmodel.experiments.analysis import paired_differences, summarize
from riskmodel.experiments.sensitivity import INDICES, sensitivity
from riskmodel.report import figures
from riskmodel.report.html import inline

MAX_FIGURES = 8  # outcomes drawn; the tables hold every one


def _table(frame: pd.DataFrame) -> dict[str, Any]:
    """A frame as the template's header and rows, numbers in four significant digits."""
    def cell(value: object) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    return {"columns": list(frame.columns), "rows": [[cell(v) for v in row] for row in frame.itertuples(index=False)]}


def context(store: Path) -> dict[str, Any]:
    data = load_experiment(store)
    spec = data.spec
    summary = summarize(data)
    levers = spec.get("levers", [])
    design = (spec.get("design") or {}).get("uncertainties")
    indices = sensitivity(data) if design in INDICES else None
    counts = data.runs["status"].value_counts().to_dict()
    return {
        "name": spec["experiment"]["name"],
        "description": spec["experiment"].get("description", ""),
        "kind": spec["run"]["kind"],
        "seed": spec["experiment"]["seed"],
        "replications": spec["experiment"]["replications"],
        "points": len(data.points),
        "counts": counts,
        "summary": _table(summary),
        "paired": _table(paired_differences(data)) if levers else None,
        "method": design if indices is not None else None,
        "indices": _table(indices) if indices is not None else None,
        "figures": [inline(figures.intervals(summary, outcome), f"{outcome} by design point")
                    for outcome in data.outcome_names[:MAX_FIGURES]],
    }
