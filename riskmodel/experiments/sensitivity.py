"""Sensitivity indices through SALib: Morris elementary effects and Sobol indices.

The design was sampled by SALib (``design.uncertainties = "morris"`` or ``"sobol"``), and
SALib's analyser reads the same unit matrix (the points' ``u.<factor>`` columns) in the
same order. Each design point ran ``replications`` times on common random numbers, and
the replication index is used to tell the parameters' effect from Monte Carlo noise:

* the indices of the replication mean (SALib's point estimate and its bootstrap
  interval half-width, ``*_conf``): the parameters' effect with the noise averaged down;
* ``*_rep_sd``: the spread of the same index computed replication by replication (one
  seed per analysis): how much one Monte Carlo run per point would move it;
* ``noise_share``: the within-point variance over replications, as a share of the total
  variance of the runs' outcome: how much of what varies is Monte Carlo noise.

With ``combine = "factorial"`` and levers, every lever setting has its own sample and its
own indices (``lever_set``).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.errors import InputError
from riskmodel.experiments.results import ExperimentData

INDICES = {"morris": ("mu_star", "sigma", "mu"), "sobol": ("S1", "ST")}
CONF = {"mu_star": "mu_star_conf", "S1": "S1_conf", "ST": "ST_conf"}


def problem_of(data: ExperimentData) -> dict:
    """The SALib problem of the sampled factors (unit bounds, as they were sampled)."""
    names = [c.removeprefix("u.") for c in data.points.columns if c.startswith("u.")]
    return {"num_vars": len(names), "names": names, "bounds": [[0.0, 1.0]] * len(names)}


def _analyze(method: str, problem: dict, x: np.ndarray, y: np.ndarray, design: dict, seed: int,
             resamples: int) -> dict:  # fmt: skip
    from SALib.analyze import morris, sobol

    if method == "morris":
        return morris.analyze(problem, x, y, num_resamples=resamples, num_levels=design["levels"], seed=seed)
    return sobol.analyze(problem, y, calc_second_order=design["second_order"], num_resamples=resamples, seed=seed)


def sensitivity(data: ExperimentData, outcomes: list[str] | None = None, resamples: int = 1000,
                seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """One row per lever set, outcome and factor: the method's indices, their bootstrap
    interval half-widths (``*_conf``), their spread over replications (``*_rep_sd``) and
    the outcome's Monte Carlo ``noise_share``."""
    design = data.spec["design"]
    method = design["uncertainties"]
    if method not in INDICES:
        raise InputError(data.path, "design.uncertainties", method, "a morris or sobol design for sensitivity indices")
    problem = problem_of(data)
    units = [f"u.{name}" for name in problem["names"]]
    wide = data.wide()
    rows = []
    for lever_set, points in data.points.groupby("lever_set", sort=True):
        points = points.sort_values("sample")
        x = points[units].to_numpy()
        runs = wide[wide.lever_set == lever_set]
        for outcome in outcomes or data.outcome_names:
            grid = runs.pivot(index="point_id", columns="replication", values=outcome).reindex(points.point_id)
            if grid.isna().all(axis=1).any():
                continue  # a point without a finished run: SALib needs every point
            mean = grid.mean(axis=1).to_numpy()
            within = np.nanmean(grid.var(axis=1, ddof=1).to_numpy()) if grid.shape[1] > 1 else np.nan
            total = np.nanvar(grid.to_numpy(), ddof=1)
            found = _analyze(method, problem, x, mean, design, seed, resamples)
            per_rep = [_analyze(method, problem, x, grid[r].to_numpy(), design, seed, 10)
                       for r in grid.columns if not grid[r].isna().any()]  # fmt: skip
            for i, name in enumerate(problem["names"]):
                row = {"lever_set": lever_set, "outcome": outcome, "factor": name}
                for index in INDICES[method]:
                    row[index] = float(found[index][i])
                    if index in CONF:
                        row[CONF[index]] = float(found[CONF[index]][i])
                    row[f"{index}_rep_sd"] = float(np.std([r[index][i] for r in per_rep], ddof=1)) if len(
                        per_rep) > 1 else np.nan  # fmt: skip
                row["noise_share"] = float(within / total) if total > 0 else np.nan
                rows.append(row)
    return pd.DataFrame(rows)


def figures(table: pd.DataFrame, method: str, folder: Path) -> list[Path]:
    """One bar chart per outcome (first lever set): mu* (Morris) or S1 and ST (Sobol),
    with their bootstrap intervals."""
    from riskmodel.report.figures import save, sensitivity_bars

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    first = table[table.lever_set == table.lever_set.min()]
    for outcome, rows in first.groupby("outcome", sort=False):
        rows = rows.sort_values("mu_star" if method == "morris" else "ST")
        path = folder / f"sensitivity_{outcome}.png"
        save(sensitivity_bars(rows, str(outcome), method), path, dpi=100)
        written.append(path)
    return written
