"""Sensitivity indices through SALib: Morris elementary effects and Sobol indices, and
first-order indices of the columns of a posterior sample.

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

A design that samples posterior draws (``distribution = "posterior"``: a calibration's
draws file) cannot use Morris or Sobol designs per parameter: the draws are dependent
(rates and durations were fitted jointly; several columns move with one fitted value), and
those samplers need independent inputs. For such an experiment the indices are computed
from the given data instead, SALib's ``delta`` analyser with ``method = "sobol"``: each
column's first-order index ``Var(E[Y | X_i]) / Var(Y)`` estimated by binning the draws,
which stays meaningful under dependence (the share of the outcome's variance that knowing
that parameter would remove: where better data would pay). Columns that are exact
monotone functions of each other (one fitted value behind several override paths) are one
factor (``linked`` names the others). A dummy factor (independent uniform numbers, seeded)
goes through the same estimator: its index is the noise floor of the estimate, so a
parameter matters only when its interval lies above the dummy's.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.errors import InputError
from riskmodel.experiments.results import ExperimentData

INDICES = {"morris": ("mu_star", "sigma", "mu"), "sobol": ("S1", "ST")}
DUMMY = "(dummy: noise floor)"
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


def replication_grid(runs: pd.DataFrame, points: pd.DataFrame, outcome: str) -> tuple[pd.DataFrame, np.ndarray, float]:
    """An outcome's runs as a grid (one row per design point in ``points``' order, one
    column per replication), each point's mean over its replications, and the outcome's
    Monte Carlo ``noise_share`` (within-point variance over the total variance)."""
    grid = runs.pivot(index="point_id", columns="replication", values=outcome).reindex(points.point_id)
    within = np.nanmean(grid.var(axis=1, ddof=1).to_numpy()) if grid.shape[1] > 1 else np.nan
    total = np.nanvar(grid.to_numpy(), ddof=1)
    return grid, grid.mean(axis=1).to_numpy(), float(within / total) if total > 0 else np.nan


def sensitivity(data: ExperimentData, outcomes: list[str] | None = None, resamples: int = 1000,
                seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """One row per lever set, outcome and factor: the method's indices, their bootstrap
    interval half-widths (``*_conf``), their spread over replications (``*_rep_sd``) and
    the outcome's Monte Carlo ``noise_share``."""
    design = data.spec["design"]
    method = method_of(data)
    if method == "posterior":
        return given_data_sensitivity(data, outcomes, resamples, seed)
    problem = problem_of(data)
    units = [f"u.{name}" for name in problem["names"]]
    wide = data.wide()
    rows = []
    for lever_set, points in data.points.groupby("lever_set", sort=True):
        points = points.sort_values("sample")
        x = points[units].to_numpy()
        runs = wide[wide.lever_set == lever_set]
        for outcome in outcomes or data.outcome_names:
            grid, mean, noise_share = replication_grid(runs, points, outcome)
            if grid.isna().all(axis=1).any():
                continue  # a point without a finished run: SALib needs every point
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
                row["noise_share"] = noise_share
                rows.append(row)
    return pd.DataFrame(rows)


def method_of(data: ExperimentData) -> str:
    """How the experiment's indices are computed: ``morris`` or ``sobol`` (its design), or
    ``posterior`` (from the given posterior draws)."""
    method = data.spec["design"]["uncertainties"]
    if method in INDICES:
        return method
    if posterior_paths(data):
        return "posterior"
    raise InputError(data.path, "design.uncertainties", method,
                     "a morris or sobol design, or posterior draws, for sensitivity indices")  # fmt: skip


def posterior_paths(data: ExperimentData) -> list[str]:
    """The varied paths that come from posterior draws files (every varied path that is
    neither a lever's nor another uncertainty's)."""
    named = set(data.lever_paths) | {u["path"] for u in data.spec["uncertainties"] if u.get("path")}
    return [p for p in data.parameter_paths if p not in named]


def linked_groups(draws: pd.DataFrame) -> list[list[str]]:
    """The columns of ``draws`` grouped by rank order: columns that are exact increasing
    or decreasing functions of each other are one group, in column order."""
    groups: dict[bytes, list[str]] = {}
    for column in draws.columns:
        ranks = draws[column].rank(method="dense").to_numpy()
        key = min(ranks.tobytes(), (ranks.max() + 1 - ranks).tobytes())
        groups.setdefault(key, []).append(str(column))
    return list(groups.values())


def given_data_sensitivity(data: ExperimentData, outcomes: list[str] | None = None, resamples: int = 1000,
                           seed: int = 0) -> pd.DataFrame:  # fmt: skip
    """One row per lever set, outcome and factor (a posterior column, with the columns
    ``linked`` to it, and the dummy): the first-order index ``S1`` of the replication
    mean, its bootstrap half-width ``S1_conf`` and the outcome's Monte Carlo
    ``noise_share``."""
    from SALib.analyze import delta

    groups = linked_groups(data.points[posterior_paths(data)])
    names = [group[0] for group in groups] + [DUMMY]
    wide = data.wide()
    rows = []
    for lever_set, points in data.points.groupby("lever_set", sort=True):
        points = points.sort_values("sample")
        dummy = np.random.default_rng(seed).random(len(points))
        x = np.column_stack([points[names[:-1]].to_numpy(dtype=float), dummy])
        runs = wide[wide.lever_set == lever_set]
        for outcome in outcomes or data.outcome_names:
            grid, mean, noise_share = replication_grid(runs, points, outcome)
            done = ~grid.isna().all(axis=1).to_numpy()
            if done.sum() < 2 or np.var(mean[done]) == 0:
                continue  # nothing varies: no share of variance to split
            problem = {"num_vars": len(names), "names": names,
                       "bounds": [[float(c.min()), float(c.max())] for c in x[done].T]}  # fmt: skip
            # SALib seeds NumPy's global generator only for a truthy seed: seed + 1 keeps seed 0 reproducible
            found = delta.analyze(problem, x[done], mean[done], num_resamples=resamples, seed=seed + 1,
                                  method="sobol")  # fmt: skip
            for i, (name, group) in enumerate(zip(names, [*groups, []], strict=True)):
                rows.append({"lever_set": lever_set, "outcome": outcome, "factor": name,
                             "linked": ", ".join(group[1:]), "S1": float(found["S1"][i]),
                             "S1_conf": float(found["S1_conf"][i]),
                             "noise_share": noise_share})  # fmt: skip
    return pd.DataFrame(rows)


def figures(table: pd.DataFrame, method: str, folder: Path) -> list[Path]:
    """One bar chart per outcome (first lever set): mu* (Morris), S1 and ST (Sobol) or S1
    (posterior draws), with their bootstrap intervals."""
    from riskmodel.report.figures import save, sensitivity_bars

    folder.mkdir(parents=True, exist_ok=True)
    written = []
    first = table[table.lever_set == table.lever_set.min()]
    for outcome, rows in first.groupby("outcome", sort=False):
        rows = rows.sort_values("mu_star" if method == "morris" else "ST" if method == "sobol" else "S1")
        path = folder / f"sensitivity_{outcome}.png"
        save(sensitivity_bars(rows, str(outcome), method), path, dpi=100)
        written.append(path)
    return written
