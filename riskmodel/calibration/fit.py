"""``calibrate``: fitted values with intervals, posterior draws and a calibrated scenario.

Order: durations first (their fit does not depend on the rates: coverage and the rate
cancel out of a reported duration's likelihood), then the rates given the durations
(which decide how many failures pass the threshold). The fitted table's rate factors are
the posterior given the durations' posterior mean; the draws carry both uncertainties:
each draw takes durations from their posterior, then the rates' posterior given them.
A filter's uncertain coverage is integrated out in the rates' posterior (a grid dimension,
see :mod:`riskmodel.calibration.frequency`): each draw takes a coverage too, so the
true-rate draws carry its spread, and the fitted table reports it as a parameter (prior-
driven: the data identify only the reported rate).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.calibration.frequency import RatePosterior, coverage_grid, rate_posteriors
from riskmodel.calibration.model import CalibrationModel
from riskmodel.calibration.observation import (
    DEFAULT_DATA,
    Targets,
    count_targets,
    read_targets,
    reportable_rates,
)
from riskmodel.calibration.outputs import FITTED_SCHEMA, conform
from riskmodel.calibration.severity import (
    DurationData,
    DurationFit,
    duration_data,
    duration_grid,
    fit_durations,
    prior_interval,
)
from riskmodel.errors import InputError
from riskmodel.incidents import read_incident_data
from riskmodel.scenario import packaged_file
from riskmodel.streams import CALIBRATION_STREAM, counter_rng
from riskmodel.world import World

LEVEL = 0.9
DRAWS = 1000
POSTERIOR_DRAWS, SYNTHETIC_DATA, SYNTHETIC_TRUTH = 0, 1, 2  # purposes under CALIBRATION_STREAM


@dataclass(frozen=True)
class KindDurations:
    """One kind's duration fit and its grid posterior."""

    data: DurationData
    fit: DurationFit
    grid: np.ndarray  # [cell, (delta, kappa)]
    weight: np.ndarray  # [cell]

    @classmethod
    def of(cls, d: DurationData, model: CalibrationModel, level: float = LEVEL) -> KindDurations:
        grid, weight = duration_grid(d, model)
        return cls(d, fit_durations(d, model, level), grid, weight)

    def mean(self) -> tuple[float, float]:
        return float(self.weight @ self.grid[:, 0]), float(self.weight @ self.grid[:, 1])

    def quantiles(self, column: int, level: float = LEVEL) -> tuple[float, float]:
        order = np.argsort(self.grid[:, column])
        cum = np.cumsum(self.weight[order])
        values = self.grid[order, column]
        low = values[np.searchsorted(cum, (1 - level) / 2)]
        return float(low), float(values[min(np.searchsorted(cum, (1 + level) / 2), cum.size - 1)])


@dataclass(frozen=True)
class Calibration:
    """What a calibration gives: tables, draws, the fitted parts and the data they used."""

    fitted: pd.DataFrame
    draws: pd.DataFrame
    counts: pd.DataFrame
    data: pd.DataFrame
    targets: Targets
    model: CalibrationModel
    durations: dict[str, KindDurations]
    rates: dict[str, RatePosterior]
    source: str  # the data file's name, for provenance

    def posterior_mean_overrides(self) -> dict[str, float]:
        """Each override path's posterior mean over the draws."""
        return {path: float(self.draws[path].mean()) for path in self.draws.columns if path != "draw"}


def _coverage_nodes(targets: Targets) -> tuple[np.ndarray, np.ndarray]:
    """The coverage grid of the targets' filter with a coverage range (one node, unused,
    when every coverage is known)."""
    f = targets.uncertain
    return coverage_grid(*f.coverage) if f is not None else coverage_grid(1.0, 1.0)


def expected_counts(model: CalibrationModel, targets: Targets, shifts: dict[str, tuple[float, float]],
                    kinds: list[str], nodes: np.ndarray) -> np.ndarray:  # fmt: skip
    """Reported failures the scenario predicts over the filters' windows, at each coverage
    node of the filter with a coverage range (the others at their known coverage):
    [kind, node, sector]."""
    mu, sigma = model.durations(shifts)
    total = np.zeros((len(kinds), nodes.size, len(model.sectors)))
    for f in targets.filters:
        rates = reportable_rates(model.rate, mu, sigma, model.log_scale, model.shares, model.groups, model.kind_of, f)
        coverage = nodes if f.uncertain else np.full(nodes.size, f.coverage[0])
        for i, kind in enumerate(kinds):
            if kind in rates:
                total[i] += coverage[:, None] * rates[kind][None, :] * f.years
    return total


def kind_durations(data: pd.DataFrame, targets: Targets, model: CalibrationModel) -> dict[str, DurationData]:
    """The reported durations of every kind with at least two of them (enough to fit)."""
    out = {}
    for kind in sorted({k for f in targets.filters for k in f.kinds}):
        d = duration_data(data, targets, model, kind)
        if len(d) >= 2:
            out[kind] = d
    return out


def reported_counts(counts: pd.DataFrame, model: CalibrationModel) -> dict[str, np.ndarray]:
    """Reported failures in the filters' windows per kind, for each sector."""
    totals = counts.groupby(["threat_kind", "sector"])["count"].sum()
    return {kind: totals[kind].reindex(model.sectors).to_numpy() for kind in sorted(counts["threat_kind"].unique())}


def fit_rates(n: dict[str, np.ndarray], model: CalibrationModel, targets: Targets,
              shifts: dict[str, tuple[float, float]]) -> dict[str, RatePosterior]:  # fmt: skip
    """The rates' posterior of every kind with reported counts ``n``, given durations ``shifts``."""
    kinds = list(n)
    coverage = _coverage_nodes(targets)
    expected = expected_counts(model, targets, shifts, kinds, coverage[0])
    for i, kind in enumerate(kinds):
        impossible = np.flatnonzero((n[kind] > 0) & (expected[i, 0] <= 0))
        if impossible.size:
            sector = model.sectors[impossible[0]]
            raise InputError("(incident data)", f"{sector} {kind} failures", int(n[kind][impossible[0]]),
                             "none: the scenario gives this sector no such failures a filter could report")  # fmt: skip
    return rate_posteriors(n, {kind: expected[i] for i, kind in enumerate(kinds)}, coverage)


def _log_width(low: float, high: float) -> float:
    return float(np.log(high) - np.log(low)) if low > 0 else np.inf


def fitted_table(durations: dict[str, KindDurations], rates: dict[str, RatePosterior], model: CalibrationModel,
                 targets: Targets, level: float = LEVEL) -> pd.DataFrame:  # fmt: skip
    """The fitted values with intervals, prior intervals and what the data identify."""
    rows = []
    ranged = targets.uncertain
    if ranged is not None and rates:  # the coverage's posterior is the same in every kind's
        mean, low, high = next(iter(rates.values())).coverage_summary(level)
        (c_low, c_high), tail = ranged.coverage, (1 - level) / 2
        prior = c_low * (c_high / c_low) ** np.array([tail, 1 - tail])  # log-uniform quantiles
        rows.append({"parameter": "coverage", "kind": "", "sector": "", "path": "",
                     "data": int(sum(post.n.sum() for post in rates.values())), "estimate": mean, "low": low,
                     "high": high, "posterior_mean": mean, "posterior_low": low, "posterior_high": high,
                     "prior_low": prior[0], "prior_high": prior[1],
                     "width_ratio": _log_width(low, high) / _log_width(*prior)})  # fmt: skip
    for kind, kd in durations.items():
        f = kd.fit
        mean = kd.mean()
        for column, name, estimate, interval in ((0, "duration_shift", f.delta, f.delta_interval),
                                                 (1, "duration_spread", f.kappa, f.kappa_interval)):  # fmt: skip
            post = kd.quantiles(column, level)
            prior = prior_interval("delta" if column == 0 else "kappa", level)
            if column == 0:
                ratio = (post[1] - post[0]) / (prior[1] - prior[0])
            else:
                ratio = _log_width(*post) / _log_width(*prior)
            suffix = "median_hours" if column == 0 else "sigma"
            paths = ", ".join(p for p in model.duration_overrides(kind, 0.0, 1.0) if p.endswith(suffix))
            rows.append({"parameter": name, "kind": kind, "sector": "", "path": paths, "data": f.n,
                         "estimate": estimate, "low": interval[0], "high": interval[1], "posterior_mean": mean[column],
                         "posterior_low": post[0], "posterior_high": post[1], "prior_low": prior[0],
                         "prior_high": prior[1], "width_ratio": ratio})  # fmt: skip
    for kind, post in rates.items():
        mu_mean, mu_low, mu_high = post.common(level)
        prior_mu = np.exp(np.array([-1, 1]) * 1.6448536269514722 * 2.0)
        rows.append({"parameter": "common_factor", "kind": kind, "sector": "", "path": "", "data": int(post.n.sum()),
                     "estimate": mu_mean, "low": mu_low, "high": mu_high, "posterior_mean": mu_mean,
                     "posterior_low": mu_low, "posterior_high": mu_high, "prior_low": prior_mu[0],
                     "prior_high": prior_mu[1],
                     "width_ratio": _log_width(mu_low, mu_high) / _log_width(*prior_mu)})  # fmt: skip
        means = post.mean()
        low, high = post.interval(level)
        prior_low, prior_high = post.interval(level, prior=True)
        for s, sector in enumerate(model.sectors):
            ratio = _log_width(low[s], high[s]) / _log_width(prior_low[s], prior_high[s])
            rows.append({"parameter": "exposure_factor", "kind": kind, "sector": sector,
                         "path": model.exposure_path(sector, kind), "data": int(post.n[s]), "estimate": means[s],
                         "low": low[s], "high": high[s], "posterior_mean": means[s], "posterior_low": low[s],
                         "posterior_high": high[s], "prior_low": prior_low[s], "prior_high": prior_high[s],
                         "width_ratio": ratio})  # fmt: skip
    frame = pd.DataFrame(rows)
    frame["identified"] = frame["width_ratio"] < 0.5
    return conform(frame, FITTED_SCHEMA)


def posterior_draws(durations: dict[str, KindDurations], n: dict[str, np.ndarray], model: CalibrationModel,
                    targets: Targets, n_draws: int, seed: int,
                    progress: Callable[[str, int, int], None] | None = None) -> pd.DataFrame:  # fmt: skip
    """``n_draws`` joint draws, one column per override path (absolute values).

    Each draw takes every fitted kind's ``(delta, kappa)`` from its grid posterior, then
    a coverage node (one for all kinds) and every sector's exposure factors from the rates'
    posterior given those durations.
    """
    rng = counter_rng(seed, CALIBRATION_STREAM, POSTERIOR_DRAWS)
    cells = {kind: rng.choice(kd.weight.size, size=n_draws, p=kd.weight) for kind, kd in durations.items()}
    keys = list(zip(*cells.values(), strict=True)) if cells else [()] * n_draws
    rows: list[dict[str, float]] = [{} for _ in range(n_draws)]
    unique = sorted(set(keys))
    for done, key in enumerate(unique):
        shifts = {kind: tuple(durations[kind].grid[c]) for kind, c in zip(durations, key, strict=True)}
        members = [j for j, k in enumerate(keys) if k == key]
        rates = fit_rates(n, model, targets, shifts)  # type: ignore[arg-type]
        node_weight = next(iter(rates.values())).node_weight() if rates else np.ones(1)
        nodes = rng.choice(node_weight.size, size=len(members), p=node_weight)
        factors = {kind: post.draw(rng, nodes) for kind, post in rates.items()}
        for i, j in enumerate(members):
            for kind, (delta, kappa) in shifts.items():
                rows[j].update(model.duration_overrides(kind, delta, kappa))
            for kind, values in factors.items():
                for s, sector in enumerate(model.sectors):
                    rows[j][model.exposure_path(sector, kind)] = model.exposure_value(sector, kind, values[i, s])
        if progress is not None:
            progress("drawing from the posterior", done + 1, len(unique))
    frame = pd.DataFrame(rows)
    frame.insert(0, "draw", np.arange(n_draws, dtype=np.int64))
    return frame


def calibrate(world: World, data_path: str | Path | None = None, targets_path: str | Path | None = None,
              n_draws: int = DRAWS, seed: int = 0,
              progress: Callable[[str, int, int], None] | None = None) -> Calibration:  # fmt: skip
    """Fit ``world``'s durations and rates to an incident file (default: the packaged
    press-reported failures) under the reporting filters of a targets file (default: the
    packaged one)."""
    if not 1 <= n_draws <= 100_000:
        raise InputError("(command line)", "--draws", n_draws, "a whole number from 1 to 100,000")
    path = Path(data_path) if data_path is not None else packaged_file(DEFAULT_DATA)
    model = CalibrationModel.of(world)
    targets = read_targets(targets_path)
    data = read_incident_data(path, model.sectors, targets.filter_ids)
    counts = count_targets(data, targets, model.sectors)
    durations = {kind: KindDurations.of(d, model) for kind, d in kind_durations(data, targets, model).items()}
    n = reported_counts(counts, model)
    rates = fit_rates(n, model, targets, {kind: kd.mean() for kind, kd in durations.items()})
    fitted = fitted_table(durations, rates, model, targets)
    draws = posterior_draws(durations, n, model, targets, n_draws, seed, progress)
    return Calibration(fitted, draws, counts, data, targets, model, durations, rates, path.name)


def calibration_date() -> str:
    return dt.date.today().isoformat()
