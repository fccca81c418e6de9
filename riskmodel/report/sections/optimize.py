"""The ``optimize`` section: the portfolio by sector and its cost, the residual loss in and
out of sample, the frontier with the chosen point and the CVaR bar, per-measure ROSI, the
Gordon-Loeb check, and (society mode) partial against society with the price of
externalities."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from riskmodel.report import figures
from riskmodel.report.html import inline


def _chosen(summary: dict) -> dict[str, tuple[float, float, float | None]]:
    """The chosen point of each frontier problem from the summary: society's sums, or each
    sector's own (the summary gives a CVaR only per sector, or society's joint bar's)."""
    sectors = summary["sectors"]
    if summary["objective"] is None:  # no portfolio met the bars
        return {}
    if summary["mode"] == "society":
        cvar = (summary.get("society_bar") or {}).get("cvar")
        cost = sum(entry["cost"] for entry in sectors.values())
        return {"society": (cost, sum(entry["expected_loss"] for entry in sectors.values()), cvar)}
    return {name: (entry["cost"], entry["expected_loss"], entry["cvar"]) for name, entry in sectors.items()}


def context(folder: Path, summary: dict) -> dict[str, Any]:
    shown = {}
    if (folder / "frontier.csv").exists():
        frontier = figures.frontier(pd.read_csv(folder / "frontier.csv"), summary, _chosen(summary))
        shown["frontier"] = inline(frontier, "cost-risk frontier")
    measures = pd.read_csv(folder / "measures.csv").to_dict("records") if (folder / "measures.csv").exists() else []
    return {
        "summary": summary,
        "sectors": summary["sectors"],
        "total_cost": sum(entry["cost"] or 0.0 for entry in summary["sectors"].values()),
        "measures": measures,
        "figures": shown,
        "comparison": summary.get("comparison"),
    }
