"""The ``optimize`` kind: the portfolio optimiser, its outcomes, tables and files."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.optimize import OptimizationResult, Settings, SolverOptions, optimize
from riskmodel.optimize.report import summary, write_outputs
from riskmodel.runs.result import TOTAL, LazyTables, Outcome, Progress, expand
from riskmodel.runs.spec import RunSpec
from riskmodel.world import World

OUTCOMES = (
    Outcome("has_portfolio", "flag", "1 when a portfolio meets the bars within the budget, else 0"),
    Outcome("objective", "yen a year", "annual cost plus expected counted loss of the chosen portfolio(s)"),
    Outcome("cost", "yen a year", "annual cost of the chosen measures", ("sector",)),
    Outcome("expected_loss", "yen a year", "expected counted loss after the measures, on the SAA years", ("sector",)),
    Outcome("oos_expected_loss", "yen a year", "expected counted loss on fresh engine years (out of sample)",
            ("sector",)),
    Outcome("oos_ci_low", "yen a year", "lower end of its 95% interval", ("sector",)),
    Outcome("oos_ci_high", "yen a year", "upper end of its 95% interval", ("sector",)),
    Outcome("gap", "yen a year", "Mak-Morton-Wood optimality-gap estimate (NaN: not estimated)"),
    Outcome("price_of_externalities", "yen a year", "social cost of the partial optima minus society's, out of "
            "sample, paired (society mode; NaN otherwise)"),
    Outcome("price_of_externalities_ci_low", "yen a year", "lower end of its 95% interval"),
    Outcome("price_of_externalities_ci_high", "yen a year", "upper end of its 95% interval"),
    Outcome("value_of_robustness", "yen a year", "with a posterior: social cost of the portfolio chosen at the "
            "posterior means minus the robust one's, out of sample across draws, paired (NaN otherwise)"),
    Outcome("value_of_robustness_ci_low", "yen a year", "lower end of its 95% interval"),
    Outcome("value_of_robustness_ci_high", "yen a year", "upper end of its 95% interval"),
    Outcome("acceptable_share_robust", "share", "with a posterior: share of draws in which the sector meets its "
            "bars under the robust portfolio (total: every sector)", ("sector",)),
    Outcome("acceptable_share_posterior_mean", "share", "the same under the portfolio chosen at the posterior means",
            ("sector",)),
)


def settings_of(spec: RunSpec) -> Settings:
    """The optimiser's settings from a spec's size, seed and options."""
    options = dict(spec.options)
    solver = SolverOptions(solver=options.pop("solver"), gap=options.pop("gap"), time_limit=options.pop("time_limit"))
    return Settings(years=spec.size, seed=spec.seed, solver=solver, **options)  # type: ignore[arg-type]


def execute(spec: RunSpec, world: World, in_place: np.ndarray | None, progress: Progress,
            stream_to: Path | None) -> OptimizationResult:  # fmt: skip
    """Optimise (a portfolio in ``spec`` is not an input of the optimiser and is refused)."""
    return optimize(world, settings_of(spec), progress)


def _sectors(result: OptimizationResult) -> list[str]:
    return [s for p in result.problems for s in p.instance.sector_ids]


def outcomes(result: OptimizationResult) -> dict[str, float]:
    table = result.sector_table().set_index("sector") if result.has_portfolio else None
    sectors = _sectors(result)
    oos = result.out_of_sample
    fresh = result.externality
    robust = result.robustness.set_index(["sector", "figure"]) if result.robustness is not None else None

    def value(name: str, sector: str | None, layer: str | None) -> float:
        if name == "has_portfolio":
            return float(result.has_portfolio)
        if table is None:
            return np.nan
        if name == "objective":
            return result.objective
        if name == "gap":
            return result.gap.estimate if result.gap is not None else np.nan
        if name.startswith("value_of_robustness"):
            if robust is None:
                return np.nan
            row = robust.loc[(TOTAL, "social_cost")]
            return {"value_of_robustness": -row["robust_minus_mean"],
                    "value_of_robustness_ci_low": -row["robust_minus_mean_ci_high"],
                    "value_of_robustness_ci_high": -row["robust_minus_mean_ci_low"]}[name]  # fmt: skip
        if name.startswith("acceptable_share"):
            column = "robust" if name.endswith("robust") else "posterior_mean"
            return robust.loc[(sector, "acceptable"), column] if robust is not None else np.nan
        if name.startswith("price_of_externalities"):
            if fresh is None:
                return np.nan
            return {"price_of_externalities": fresh.mean, "price_of_externalities_ci_low": fresh.ci_low,
                    "price_of_externalities_ci_high": fresh.ci_high}[name]  # fmt: skip
        if name.startswith("oos_"):
            if oos is None:
                return np.nan
            if sector == TOTAL:
                mean, _, low, high = oos.total
                return {"oos_expected_loss": mean, "oos_ci_low": low, "oos_ci_high": high}[name]
            return table.loc[sector, name]
        column = table[name]
        return column.sum() if sector == TOTAL else column[sector]

    return expand(OUTCOMES, sectors, (), value)


def _portfolio_table(result: OptimizationResult) -> pd.DataFrame:
    rows = [(sector, entry) for sector, entries in result.portfolio().items() for entry in entries]
    return pd.DataFrame(rows, columns=["sector", "measure"])


def tables(result: OptimizationResult) -> LazyTables:
    makers = {
        "sectors": lambda: result.sector_table().drop(columns="measures"),
        "portfolio": lambda: _portfolio_table(result),
    }
    for name in ("frontier", "measures", "gordon_loeb", "comparison", "instruments", "robustness"):
        if getattr(result, name) is not None:
            makers[name] = lambda name=name: getattr(result, name)
    return LazyTables(makers)


def write(result: OptimizationResult, folder: Path, document: dict) -> list[str]:
    return write_outputs(result, folder, document)


__all__ = ["OUTCOMES", "execute", "outcomes", "summary", "tables", "write"]
