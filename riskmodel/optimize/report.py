"""The files of an optimisation run: summary JSON, portfolio TOML, frontier CSV and plot,
per-measure CSV, instruments CSV (when asked), and with a posterior the portfolio chosen at
the posterior means and the robustness CSV. Money in yen a year; the same settings give the
same bytes."""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.optimize.analysis import ExternalityPrice, frontier_level, total_cvar
from riskmodel.optimize.posterior import blocks_of
from riskmodel.optimize.run import OptimizationResult
from riskmodel.portfolio import write_portfolio
from riskmodel.report.figures import frontier, save


def _plain(value: object) -> object:
    """JSON-ready: numpy scalars to Python, NaN and infinities to null, recursively."""
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_plain(v) for v in value]
    if isinstance(value, np.bool_ | bool):
        return bool(value)
    if isinstance(value, np.integer):
        return int(value)
    if isinstance(value, float | np.floating):
        return float(value) if math.isfinite(value) else None
    return value


def _sectors(result: OptimizationResult) -> dict[str, dict[str, object]]:
    table = result.sector_table()
    out = {}
    for row in table.to_dict("records"):
        entry: dict[str, object] = {
            "measures": row["measures"],
            "cost": row["cost"],
            "expected_loss": row["expected_loss"],
            "expected_loss_unmitigated": row["expected_loss_unmitigated"],
            "cvar": row["cvar"],
            "cvar_unmitigated": row["cvar_unmitigated"],
            "cvar_level": row["cvar_level"],
            "cvar_max": row["cvar_max"],
            "fn_ratio": row["fn_ratio"],
            "bounded_share": row["bounded_share"],
            "acceptability": row.get("acceptability"),
        }
        if "oos_expected_loss" in row:
            entry["out_of_sample"] = {
                "expected_loss": row["oos_expected_loss"],
                "ci": [row["oos_ci_low"], row["oos_ci_high"]],
                "cvar": row["oos_cvar"],
                "meets_bar": row["oos_meets_bar"],
            }
        if "gordon_loeb_bound" in row:
            entry["gordon_loeb"] = {"bound": row["gordon_loeb_bound"], "spend_below_bound": row["below_gordon_loeb"]}
        out[row["sector"]] = entry
    return out


def _comparison(frame: pd.DataFrame, fresh: ExternalityPrice | None) -> dict[str, object]:
    totals = frame[frame["sector"] == "total"].set_index("portfolio")
    layers = ["cost", "own", "users", "others", "external", "loss", "social_cost"]
    per_sector = {
        sector: {name: group.set_index("portfolio").loc[name, layers].to_dict() for name in ("partial", "society")}
        for sector, group in frame[frame["sector"] != "total"].groupby("sector", sort=False)
    }
    document: dict[str, object] = {
        "price_of_externalities": totals.loc["partial", "social_cost"] - totals.loc["society", "social_cost"],
        "partial": totals.loc["partial", layers].to_dict(),
        "society": totals.loc["society", layers].to_dict(),
        "sectors": per_sector,
    }
    if fresh is not None:
        document["price_of_externalities_out_of_sample"] = {
            "estimate": fresh.mean, "ci": [fresh.ci_low, fresh.ci_high], "years": fresh.years, "seed": fresh.seed,
        }  # fmt: skip
    return document


def _posterior(result: OptimizationResult) -> dict[str, object]:
    """The draws file, the draws the SAA and the fresh years took, and the robust portfolio
    against the one chosen at the posterior means (totals; per sector in robustness.csv)."""
    posterior, settings = result.posterior, result.settings
    assert posterior is not None
    document: dict[str, object] = {
        "draws_file": posterior.path,
        "draws": posterior.n_draws,
        "saa_draws": min(posterior.n_draws, blocks_of(settings.years)),
        "posterior_mean_portfolio": (OptimizationResult(result.world, settings, "optimal", result.posterior_mean)
                                     .portfolio() if result.posterior_mean else None),
    }  # fmt: skip
    if result.robustness is not None:
        totals = result.robustness[result.robustness["sector"] == "total"].set_index("figure")
        document["robust_against_posterior_mean"] = {
            figure: {"robust": row["robust"], "posterior_mean": row["posterior_mean"],
                     "robust_minus_mean": row["robust_minus_mean"],
                     "ci": [row["robust_minus_mean_ci_low"], row["robust_minus_mean_ci_high"]]}
            for figure, row in totals.iterrows()
        }  # fmt: skip
        document["eval_draws"] = int(totals["draws"].iloc[0])
    return document


def summary(result: OptimizationResult) -> dict[str, object]:
    """The ``optimize_summary.json`` document."""
    settings = result.settings
    document: dict[str, object] = {
        "mode": settings.mode,
        "status": result.status,
        "scenario": result.world.name,
        "years": settings.years,
        "seed": settings.seed,
        "solver": {
            "name": settings.solver.solver,
            "gap": settings.solver.gap,
            "time_limit": settings.solver.time_limit,
            "threads": settings.solver.threads,
        },
        "fn_lines": settings.fn,
        "budget": settings.budget,
        "objective": result.objective if result.has_portfolio else None,
        "sectors": _sectors(result),
    }
    society_bars = [
        (p, b, bar) for p in result.problems for b, bar in enumerate(p.instance.bars) if len(bar.sectors) > 1
    ]
    for problem, b, bar in society_bars:
        value = problem.solution.evaluation.cvar[b] if problem.solution.evaluation is not None else None
        document["society_bar"] = {"cvar_level": bar.level, "cvar_max": bar.cvar_max, "cvar": value}
    oos = result.out_of_sample
    if oos is not None:
        mean, _, low, high = oos.total
        document["out_of_sample"] = {"expected_loss": mean, "ci": [low, high], "years": oos.years, "seed": oos.seed}
    gap = result.gap
    if gap is not None:
        document["gap"] = {
            "estimate": gap.estimate,
            "ci_upper": gap.ci_upper,
            "replications": len(gap.batches) + gap.infeasible,
            "batch_years": gap.years,
            "batches_breaking_bars": gap.violating,
            "batches_infeasible": gap.infeasible,
        }
    if result.comparison is not None:
        document["comparison"] = _comparison(result.comparison, result.externality)
    if result.posterior is not None:
        document["posterior"] = _posterior(result)
    if result.relaxed:
        document["relaxed_bars"] = [
            {"problem": r.problem, "bar": r.bar, "kind": r.kind, "limit": r.limit, "lowest_reachable": r.reachable,
             "relaxed_to": r.relaxed_to, "reading": r.sentence()}
            for r in result.relaxed
        ]  # fmt: skip
    if result.diagnoses:
        document["infeasible"] = {
            label: {
                "binding": diagnosis.binding(),
                "cheapest_portfolio_cost": diagnosis.cheapest,
                "checks": [
                    {
                        "sector": check.label,
                        "bar": check.kind,
                        "limit": check.limit,
                        "unmitigated": check.unmitigated,
                        "lowest_within_budget": check.within_budget,
                        "lowest_at_any_cost": check.any_cost,
                        "verdict": check.verdict,
                    }
                    for check in diagnosis.checks
                ],
            }
            for label, diagnosis in result.diagnoses.items()
        }
    return _plain(document)  # type: ignore[return-value]


def write_outputs(result: OptimizationResult, folder: Path, document: dict) -> list[str]:
    """Write the run's files, with its summary ``document``, into ``folder``; returns their names."""
    written = ["optimize_summary.json"]
    (folder / "optimize_summary.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    if not result.has_portfolio:
        return written
    settings = result.settings
    name = f"optimize_{settings.mode}"
    description = f"riskmodel optimize --{settings.mode}: {settings.years} years, seed {settings.seed}"
    write_portfolio(folder / "portfolio.toml", result.portfolio(), name, description)
    written.append("portfolio.toml")
    others = (("partial", result.partial, "partial optima"),
              ("posterior_mean", result.posterior_mean, "chosen at the posterior means"))  # fmt: skip
    for kind, problems, what in others:
        if problems and all(p.solution.x is not None for p in problems):
            portfolio = OptimizationResult(result.world, settings, "optimal", problems).portfolio()
            write_portfolio(folder / f"portfolio_{kind}.toml", portfolio, f"optimize_{kind}", f"{description} ({what})")
            written.append(f"portfolio_{kind}.toml")
    if result.frontier is not None:
        result.frontier.to_csv(folder / "frontier.csv", index=False)
        chosen = {}
        for problem in result.problems:
            evaluation = problem.solution.evaluation
            assert evaluation is not None
            risk = total_cvar(problem.instance, problem.solution.x, frontier_level(problem.instance))
            chosen[problem.label] = (float(evaluation.cost.sum()), float(evaluation.counted.sum()), risk)
        save(frontier(result.frontier, document, chosen), folder / "frontier.png")
        written += ["frontier.csv", "frontier.png"]
    if result.measures is not None:
        result.measures.to_csv(folder / "measures.csv", index=False)
        written.append("measures.csv")
    if result.instruments is not None:
        result.instruments.to_csv(folder / "instruments.csv", index=False)
        written.append("instruments.csv")
    if result.robustness is not None:
        result.robustness.to_csv(folder / "robustness.csv", index=False)
        written.append("robustness.csv")
    return written
