"""The calibration sections: a ``calibrate fit`` folder (fitted parameters with their 90%
intervals against their priors, which of them the data identify and which the prior
decides, the posterior predictive check of each incident, the count targets and where the
data and the reporting filters come from) and a ``calibrate recover`` folder (how often
the nominal 90% intervals covered known parameters)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.calibration.observation import read_targets
from riskmodel.calibration.outputs import CHECK_SCHEMA, RECOVERY_SCHEMA
from riskmodel.errors import InputError
from riskmodel.report import figures
from riskmodel.report.html import inline

SYMBOLS = {"duration_shift": "delta", "duration_spread": "kappa", "common_factor": "mu"}


def _number(value: float) -> str:
    """Three significant digits; the data set no bound: an open end."""
    if not np.isfinite(value):
        return "∞" if value > 0 else "−∞"
    return f"{value:.3g}"


def _fitted(folder: Path) -> tuple[list[dict[str, Any]], pd.DataFrame]:
    fitted = pd.read_parquet(folder / "fitted.parquet")
    rows = [
        {"parameter": r.parameter, "symbol": SYMBOLS.get(r.parameter, ""), "kind": r.kind, "sector": r.sector,
         "path": r.path, "data": int(r.data), "estimate": _number(r.estimate),
         "interval": f"{_number(r.low)} – {_number(r.high)}",
         "posterior": f"{_number(r.posterior_low)} – {_number(r.posterior_high)}",
         "prior": f"{_number(r.prior_low)} – {_number(r.prior_high)}", "width_ratio": f"{r.width_ratio:.2f}",
         "identified": bool(r.identified)}
        for r in fitted.itertuples()
    ]  # fmt: skip
    return rows, fitted


def _filters(path: str) -> tuple[list[dict[str, Any]], str]:
    """The reporting filters the fit assumed, read again from the targets file it names."""
    try:
        targets = read_targets(path)
    except (InputError, OSError) as exc:
        return [], f"the targets file could not be read again ({exc})"
    return [{"id": f.id, "kinds": ", ".join(f.kinds), "threshold": f.min_duration_hours,
             "share": f.min_operator_share, "coverage": f.coverage_text(), "years": f"{f.first_year}–{f.last_year}",
             "provenance": f.provenance} for f in targets.filters], ""  # fmt: skip


def _counts(folder: Path) -> list[dict[str, Any]]:
    """The count targets, summed over their years: reported failures by filter, sector and kind."""
    counts = pd.read_csv(folder / "count_targets.csv", keep_default_na=False)
    grouped = counts.groupby(["filter", "threat_kind", "sector"], sort=False)
    table = grouped.agg(first=("year", "min"), last=("year", "max"), count=("count", "sum")).reset_index()
    return table.to_dict("records")


def context(folder: Path, summary: dict) -> dict[str, Any]:
    rows, fitted = _fitted(folder)
    check = pd.read_csv(folder / "predictive_check.csv", dtype={"date": str, "reported": str})
    check = check[CHECK_SCHEMA.names]
    filters, why_not = _filters(summary["targets"])
    shown = {"fits": inline(figures.calibration_fits(fitted), "fitted parameters against their priors")}
    if len(check):
        shown["check"] = inline(figures.predictive_check(check), "posterior predictive check of each incident")
    identified = [f"{r['kind']} {r['symbol'] or r['sector']}" for r in rows if r["identified"]]
    return {
        "summary": summary,
        "rows": rows,
        "identified": identified,
        "prior_driven": sum(not r["identified"] for r in rows),
        "check": check.to_dict("records"),
        "implausible": int((~check["plausible"].astype(bool)).sum()),
        "filters": filters,
        "no_filters": why_not,
        "counts": _counts(folder),
        "figures": shown,
    }


def recovery_context(folder: Path, summary: dict) -> dict[str, Any]:
    """``recovery.csv``: coverage of the nominal 90% intervals over synthetic data sets."""
    table = pd.read_csv(folder / "recovery.csv", keep_default_na=False)  # an empty sector: a kind's parameter
    table = table[RECOVERY_SCHEMA.names]
    within = (table["coverage"] - 0.9).abs() <= 2 * table["coverage_se"]
    rows = [{**r, "within": bool(w)} for r, w in zip(table.to_dict("records"), within, strict=True)]
    return {
        "rows": rows,
        "within": int(within.sum()),
        "data_sets": sorted({int(n) for n in table["data_sets"]}),
        "figure": inline(figures.recovery_coverage(table), "coverage of the 90% intervals in recovery"),
    }
