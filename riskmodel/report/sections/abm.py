"""The ``abm`` section: the fiscal years' indicators against the Basic Plan's targets, true
against reported failures, standards and compliance, anxiety and the botnet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskmodel.report import figures
from riskmodel.report.html import inline


def context(folder: Path, summary: dict) -> dict[str, Any]:
    """One summary today; several replications' summaries would give the figure its bands."""
    years = summary["fiscal_years"]
    last = years[max(years, key=int)]
    targets = [
        {"sector": name, **{k: entry[k] for k in ("failures_per_operator", "failures_target", "target_missed")},
         "true": entry["true_failures"], "reported": entry["reported_failures"]}
        for name, entry in last["sectors"].items()
    ]  # fmt: skip
    return {
        "years": years,
        "last_year": max(years, key=int),
        "targets": targets,
        "figure": inline(figures.abm_timeseries([summary]), "agent-model indicators by fiscal year"),
    }
