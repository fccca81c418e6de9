"""The ``simulate`` section: per-sector risk, EP curves with bands, F-N curves against the
lines, convergence, and a plain reading of which sectors are unacceptable and why."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.engine.kernels import LAYERS
from riskmodel.metrics import FN_BINS_PER_DECADE
from riskmodel.report import curves, figures
from riskmodel.report.html import inline
from riskmodel.report.sections.world import world_of
from riskmodel.schema import Acceptability


def _layers(folder: Path) -> pd.DataFrame | None:
    """Mean annual loss of each layer by sector, from the year loss table when it is there."""
    path = folder / "ylt.parquet"
    if not path.exists():
        return None
    ylt = pd.read_parquet(path)
    years = ylt["year"].nunique()
    return ylt.groupby("sector", sort=False)[[*LAYERS, "external", "total"]].sum() / years


def _fn_ratio(fn: pd.DataFrame, sector: str, rule: Acceptability) -> float:
    """How far the sector's F-N curve reaches above its tolerability line: the largest ratio
    of frequency to the line, judged as the class is (the curve at a bin's lower edge
    against the line at its upper edge; :func:`riskmodel.metrics.fn_exceeds`)."""
    upper = fn["persons"] * 10.0 ** (1.0 / FN_BINS_PER_DECADE)
    judged = (upper > rule.fn_min_persons) & (fn[sector] > 0)
    if not judged.any():
        return 0.0
    line = rule.fn_constant / upper[judged] ** rule.fn_exponent
    return float(np.max(fn[sector][judged] / line))


def _reading(name: str, entry: dict, rule: Acceptability, fn: pd.DataFrame) -> dict[str, Any]:
    """Why a sector is in its class: its CVaR against the bar and its F-N curve against the line."""
    cvar = entry["tvar"].get(str(rule.cvar_level))
    fn_ratio = _fn_ratio(fn, name, rule) if name in fn else float("nan")
    reasons = []
    if cvar is not None and cvar > rule.cvar_max:
        reasons.append(f"its CVaR {rule.cvar_level:g} of {cvar / 1e9:,.0f} bn yen is {cvar / rule.cvar_max:.2f}x "
                       f"its bar of {rule.cvar_max / 1e9:,.0f} bn yen")  # fmt: skip
    if fn_ratio > 1:
        reasons.append(f"its F-N curve reaches {fn_ratio:.2f}x its tolerability line")
    return {"sector": name, "class": entry["acceptability"], "reasons": reasons, "cvar": cvar,
            "cvar_max": rule.cvar_max, "fn_ratio": fn_ratio}  # fmt: skip


def context(folder: Path, summary: dict) -> dict[str, Any]:
    layers = _layers(folder)
    rows = []
    for name, entry in [*summary["sectors"].items(), ("total", summary["total"])]:
        se = entry["aal_se"] or 0.0
        row = {"sector": name, "aal": entry["aal"], "low": entry["aal"] - 1.96 * se, "high": entry["aal"] + 1.96 * se,
               "tvar": entry["tvar"]["0.99"], "class": entry.get("acceptability", ""),
               "rp": entry.get("return_period_loss", {})}  # fmt: skip
        if layers is not None:
            part = layers.sum() if name == "total" else layers.loc[name]
            row.update({k: part[k] for k in LAYERS})
            row["external_share"] = part["external"] / part["total"] if part["total"] else float("nan")
        rows.append(row)

    ep = [curves.from_ylt(pd.read_parquet(folder / "ylt.parquet"))] if layers is not None else []
    oep = pd.read_csv(folder / "ep_curves.csv")
    oep = oep.rename(columns={"oep_loss": "loss"}).assign(kind="OEP", low=np.nan, high=np.nan)
    ep.append(oep[oep["sector"] == "total"][curves.COLUMNS])
    years = summary["years"]
    shown = {"ep": inline(figures.ep_curves(pd.concat(ep), years), "exceedance-probability curves")}

    world, why_not = world_of(summary["provenance"])
    fn = pd.read_csv(folder / "fn_curve.csv")
    classes = {name: entry["acceptability"] for name, entry in summary["sectors"].items()}
    rules: dict[str, Acceptability] = {}
    if world is not None:
        rules = {world.sector_ids[s]: world.scenario.sectors[s].acceptability for s in world.critical_sectors}
    shown["fn"] = inline(figures.fn_curves(fn, rules, classes, years), "F-N curves")
    shown["convergence"] = inline(figures.convergence(pd.read_csv(folder / "convergence.csv")), "convergence")
    readings = [_reading(name, summary["sectors"][name], rule, fn) for name, rule in rules.items() if rule]
    return {
        "rows": rows,
        "has_layers": layers is not None,
        "periods": list(summary["total"].get("return_period_loss", {})),
        "figures": shown,
        "readings": readings,
        "no_rules": why_not,
        "years": years,
        "posterior": _posterior(summary.get("posterior")),
    }


def _posterior(block: dict | None) -> dict[str, Any] | None:
    """A ``--posterior`` run's AAL with its uncertainty split into Monte Carlo error and
    parameter uncertainty (the summary's ``posterior`` block), one row a sector."""
    if block is None:
        return None
    rows = [{"sector": name, **entry} for name, entry in block["aal"].items()]
    return {**{k: v for k, v in block.items() if k != "aal"}, "rows": rows}
