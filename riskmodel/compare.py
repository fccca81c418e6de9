"""Portfolios compared on the same simulated years: a planner's everyday question.

Every portfolio runs through the engine with the same seed, so each sees the same years:
events are drawn without measures and thinned by the measures in place (common random
numbers), and the difference between two portfolios year by year is the effect of the
measures alone, not of luck. The first portfolio is the reference; for each other one,
the paired differences of annual cost, expected loss by layer, social cost (cost plus
loss) and TVaR are given with 95% intervals: a t interval on the mean of the per-year
differences, and a paired bootstrap over years for TVaR. A portfolio's annual cost is
the cost of its measures at every operator of each sector (``none`` is no measures).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from riskmodel.engine.kernels import LAYERS
from riskmodel.intervals import mean_interval
from riskmodel.measures import annual_cost
from riskmodel.metrics import ACCEPTABILITY_CLASSES
from riskmodel.optimize.evaluate import cvar
from riskmodel.overrides import Override
from riskmodel.runs import RunSpec, run
from riskmodel.runs.result import Progress
from riskmodel.runs.run import prepare
from riskmodel.streams import BOOTSTRAP_STREAM, counter_rng

NO_MEASURES = "none"


@dataclass
class Comparison:
    """``summary``: per portfolio and sector (and ``total``), annual cost, expected loss by
    layer, social cost, TVaR and class; ``differences``: each portfolio against the
    first, per sector and measure, the paired mean difference with its 95% interval."""

    portfolios: list[str]
    years: int
    seed: int
    level: float
    summary: pd.DataFrame
    differences: pd.DataFrame


def _year_losses(ylt: pd.DataFrame, sectors: list[str], years: int) -> dict[str, pd.DataFrame]:
    """Layer -> [year, sector] annual loss (and ``total``), zeros where a year had none."""
    out = {}
    for layer in (*LAYERS, "total"):
        table = ylt.pivot(index="year", columns="sector", values=layer).reindex(range(years), fill_value=0.0)
        out[layer] = table.reindex(columns=sectors, fill_value=0.0)
    return out


def compare_portfolios(
    portfolios: Sequence[str],
    scenario: str | None = None,
    overrides: Iterable[Override] = (),
    years: int = 10_000,
    seed: int = 0,
    threads: int = 1,
    level: float = 0.99,
    bootstrap: int = 1000,
    progress: Progress | None = None,
) -> Comparison:
    """Compare ``portfolios`` (files, or ``none``) on the same ``years`` engine years."""
    overrides = tuple(overrides)
    losses, costs, classes = [], [], []
    sectors: list[str] = []
    for k, portfolio in enumerate(portfolios):
        spec = RunSpec(
            "simulate", scenario=scenario, overrides=overrides, seed=seed, size=years,
            portfolio=None if portfolio == NO_MEASURES else portfolio, options={"threads": threads},
        )  # fmt: skip
        stage = f"portfolio {k + 1} of {len(portfolios)}"
        heard = None if progress is None else lambda _, done, total, stage=stage: progress(stage, done, total)
        result = run(spec, heard)
        world, in_place = prepare(spec)  # the compiled world comes from the cache
        sectors = world.critical_ids
        spend = annual_cost(world, in_place) if in_place is not None else np.zeros(len(world.operators))
        by_sector = np.bincount(world.operators.sector, weights=spend, minlength=world.n_sectors)
        costs.append({s: float(by_sector[world.sector_ids.index(s)]) for s in sectors})
        losses.append(_year_losses(result.tables["ylt"], sectors, years))
        classes.append({s: ACCEPTABILITY_CLASSES[int(result.outcomes[f"acceptability.{s}"])] for s in sectors})
    rng = counter_rng(seed, BOOTSTRAP_STREAM)
    resamples = rng.integers(0, years, size=(bootstrap, years))
    rows, diffs = [], []
    for k, portfolio in enumerate(portfolios):
        for sector in [*sectors, "total"]:
            columns = sectors if sector == "total" else [sector]
            cost = sum(costs[k][s] for s in columns)
            year = {layer: losses[k][layer][columns].sum(axis=1).to_numpy() for layer in (*LAYERS, "total")}
            rows.append({
                "portfolio": portfolio, "sector": sector, "cost": cost,
                **{layer: float(year[layer].mean()) for layer in LAYERS},
                "loss": float(year["total"].mean()), "social_cost": cost + float(year["total"].mean()),
                f"tvar_{level}": float(cvar(year["total"], level)),
                "acceptability": classes[k][sector] if sector != "total" else "",
            })  # fmt: skip
            if k == 0:
                continue
            base = {layer: losses[0][layer][columns].sum(axis=1).to_numpy() for layer in (*LAYERS, "total")}
            base_cost = sum(costs[0][s] for s in columns)
            for measure in (*LAYERS, "loss", "social_cost"):
                layer = "total" if measure in ("loss", "social_cost") else measure
                extra = cost - base_cost if measure == "social_cost" else 0.0
                row = mean_interval(year[layer] - base[layer] + extra)
                mean, low, high = row["mean"], row["ci_low"], row["ci_high"]
                diffs.append((portfolio, sector, measure, mean, low, high))
            diffs.append((portfolio, sector, "cost", cost - base_cost, cost - base_cost, cost - base_cost))
            observed = float(cvar(year["total"], level) - cvar(base["total"], level))
            boot = cvar(year["total"][resamples], level) - cvar(base["total"][resamples], level)
            low, high = np.quantile(boot, [0.025, 0.975])
            diffs.append((portfolio, sector, f"tvar_{level}", observed, float(low), float(high)))
    differences = pd.DataFrame(diffs, columns=["portfolio", "sector", "measure", "difference", "ci_low", "ci_high"])
    return Comparison(list(portfolios), years, seed, level, pd.DataFrame(rows), differences)
