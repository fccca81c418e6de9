"""The ``abm`` section: the fiscal years' indicators against the Basic Plan's targets, true
against reported failures, standards and compliance, anxiety and the botnet."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from riskmodel.report import figures
from riskmodel.report.html import billions, inline, percent

# (heading, path in a fiscal year's figures, format) of the indicators shown with their intervals
SPREAD = (
    ("IT failures", ("true_failures",), "{:,.0f}".format),
    ("reported", ("reported_failures",), "{:,.0f}".format),
    ("own (bn yen)", ("loss", "own"), billions),
    ("users (bn yen)", ("loss", "users"), billions),
    ("others (bn yen)", ("loss", "others"), billions),
    ("security spend (bn yen)", ("security_spend",), billions),
    ("compliance", ("compliance",), percent),
    ("anxious", ("anxious_share",), percent),
)


def _spread(intervals: dict) -> list[dict[str, Any]]:
    """Each fiscal year's indicators as ``mean (low to high)`` over the replications."""
    rows = []
    for year, figures_of_year in intervals.items():
        cells = []
        for _, path, shown in SPREAD:
            stats: Any = figures_of_year
            for key in path:
                stats = stats.get(key) if stats is not None else None
            if stats is None:
                cells.append("–")
            elif stats["ci_low"] is None:
                cells.append(shown(stats["mean"]))
            else:
                cells.append(f"{shown(stats['mean'])} ({shown(stats['ci_low'])} to {shown(stats['ci_high'])})")
        rows.append({"year": year, "cells": cells})
    return rows


def context(folder: Path, summary: dict) -> dict[str, Any]:
    """Replication 0's indicators and targets, and with several replications every
    indicator's mean and 95% interval over them."""
    years = summary["fiscal_years"]
    last = years[max(years, key=int)]
    targets = [
        {"sector": name, **{k: entry[k] for k in ("failures_per_operator", "failures_target", "target_missed")},
         "true": entry["true_failures"], "reported": entry["reported_failures"]}
        for name, entry in last["sectors"].items()
    ]  # fmt: skip
    replications = summary.get("replications", {"count": 1})
    intervals = replications.get("fiscal_years")
    return {
        "years": years,
        "replications": replications["count"],
        "spread_headings": [heading for heading, _, _ in SPREAD],
        "spread": _spread(intervals) if intervals else [],
        "last_year": max(years, key=int),
        "targets": targets,
        "figure": inline(figures.abm_timeseries([summary]), "agent-model indicators by fiscal year"),
    }
