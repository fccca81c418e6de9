"""Outage durations: maximum likelihood, truncated at the reporting threshold, with
profile-likelihood intervals.

A reported failure of kind ``k`` in sector ``s`` has the duration of a failure of one of
the kind's threats ``h``, drawn in proportion to their rates in the sector, lognormal with
log-median ``mu_h + delta + log scale_s`` and log-sd ``sigma_h kappa``, and known to be at
least the filter's threshold ``t`` (shorter ones are never reported). A row's likelihood is
that mixture's probability of the reported range ``[low, high]`` (its density at an exact
figure) divided by its probability of lasting ``t`` or more. The coverage and the chance
that the operator is a major one are the same for every duration and cancel.

Intervals: ``delta`` and ``kappa`` each by the profile likelihood (the other maximised
out), at the chi-square(1) quantile of the level. Durations seen only above a threshold
may not bound the median from below (a lower median with a larger spread puts as much
above the threshold): such an end is infinite, and says the data do not identify it.
Draws for the posterior file come from the likelihood times a stated prior on a grid of
``(delta, log kappa)``: ``delta ~ N(0, 1)`` (the scenario's medians are the prior's, a
factor of about 5 either way at 90%) and ``log kappa ~ N(0, 0.5)`` (its spreads, a factor
of about 2.3 either way), so a kind the data cannot pin down keeps the scenario's values.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy.optimize import brentq, minimize, minimize_scalar
from scipy.special import log_ndtr, logsumexp
from scipy.stats import chi2, norm

from riskmodel.calibration.model import CalibrationModel
from riskmodel.calibration.observation import Targets
from riskmodel.errors import InputError

LOG_SQRT_2PI = 0.5 * np.log(2 * np.pi)
IMPOSSIBLE = -1e300  # the log-likelihood of parameters that cannot give the data (finite, for the optimisers)
SEARCH = 8.0  # how far (log units) a profile interval's end is searched from the estimate
GRID = 121  # points per axis of the grid the draws come from
PRIOR_SD = {"delta": 1.0, "log_kappa": 0.5}  # normal priors centred on the scenario's values


@dataclass(frozen=True)
class DurationData:
    """The reported durations of one kind: each row's sector, threshold and range."""

    kind: str
    sector: np.ndarray  # index into the model's sectors
    threshold: np.ndarray
    low: np.ndarray
    high: np.ndarray

    def __len__(self) -> int:
        return self.sector.size


def duration_data(data: pd.DataFrame, targets: Targets, model: CalibrationModel, kind: str) -> DurationData:
    """The rows of ``kind`` that report a duration; a range wholly below its filter's
    threshold contradicts the filter and is an InputError."""
    rows = data[(data["threat_kind"] == kind) & data["duration_hours_high"].notna()]
    threshold = np.array([targets.filter(name).min_duration_hours for name in rows["observation"]])
    high = rows["duration_hours_high"].to_numpy(float)
    below = np.flatnonzero(high < threshold)
    if below.size:
        i = rows.index[below[0]]
        raise InputError("(incident data)", f"line {i + 2}, duration_hours_high", high[below[0]],
                         f"at least the reporting threshold of filter {rows.loc[i, 'observation']} "
                         f"({threshold[below[0]]:g} h)")  # fmt: skip
    low = np.maximum(rows["duration_hours_low"].to_numpy(float), threshold)
    sector = np.array([model.sectors.index(s) for s in rows["sector"]], dtype=np.int64)
    return DurationData(kind, sector, threshold, low, high)


def log_likelihood(delta: np.ndarray, kappa: np.ndarray, d: DurationData, model: CalibrationModel) -> np.ndarray:
    """The log-likelihood at each ``(delta, kappa)`` (arrays of one shape)."""
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        ll = _log_likelihood(delta, kappa, d, model)
    return np.where(np.isnan(ll), -np.inf, np.maximum(ll, IMPOSSIBLE))


def _log_likelihood(delta, kappa, d: DurationData, model: CalibrationModel) -> np.ndarray:
    delta = np.asarray(delta, dtype=float)[..., None, None]
    kappa = np.asarray(kappa, dtype=float)[..., None, None]
    h = model.of_kind(d.kind)
    log_w = np.log(model.rate[d.sector][:, h])  # [row, threat]: the mixture's weights
    centre = model.mu[h][None, :] + model.log_scale[d.sector][:, None] + delta
    spread = model.sigma[h][None, :] * kappa
    z_low = (np.log(d.low)[:, None] - centre) / spread
    z_high = (np.log(d.high)[:, None] - centre) / spread
    z_t = (np.log(d.threshold)[:, None] - centre) / spread
    exact = (d.high <= d.low)[:, None]
    # log P(low <= D <= high) as log(sf(z_low) - sf(z_high)), stable in the upper tail
    sf_low, sf_high = log_ndtr(-z_low), log_ndtr(-z_high)
    in_range = sf_low + np.log1p(-np.exp(np.minimum(sf_high - sf_low, -1e-300)))
    density = -0.5 * z_high**2 - LOG_SQRT_2PI - np.log(spread) - np.log(d.high)[:, None]
    log_p = np.where(exact, density, in_range)
    numerator = logsumexp(log_w + log_p, axis=-1)
    denominator = logsumexp(log_w + log_ndtr(-z_t), axis=-1)
    return (numerator - denominator).sum(axis=-1)


@dataclass(frozen=True)
class DurationFit:
    """The fit of one kind's durations: estimates, profile intervals, the maximum."""

    kind: str
    n: int
    delta: float
    kappa: float
    delta_interval: tuple[float, float]
    kappa_interval: tuple[float, float]
    max_log_likelihood: float


def _profile(d: DurationData, model: CalibrationModel, fixed: str, value: float) -> float:
    """The profile log-likelihood with ``fixed`` (``delta`` or ``log_kappa``) at ``value``."""
    if fixed == "delta":
        res = minimize_scalar(lambda lk: -log_likelihood(value, np.exp(lk), d, model), bounds=(-4, 3),
                              method="bounded", options={"xatol": 1e-6})  # fmt: skip
    else:
        res = minimize_scalar(lambda de: -log_likelihood(de, np.exp(value), d, model), bounds=(-15, 15),
                              method="bounded", options={"xatol": 1e-6})  # fmt: skip
    return -float(res.fun)


def _interval(d: DurationData, model: CalibrationModel, fixed: str, estimate: float, top: float,
              level: float) -> tuple[float, float]:  # fmt: skip
    """Where the profile log-likelihood falls ``chi2(1).ppf(level) / 2`` below its top; an
    end that is not reached within ``SEARCH`` of the estimate is infinite."""
    drop = chi2.ppf(level, 1) / 2

    def gap(x: float) -> float:
        return top - _profile(d, model, fixed, x) - drop

    ends = []
    for sign in (-1.0, 1.0):
        far = estimate + sign * SEARCH
        ends.append(brentq(gap, *sorted((estimate, far)), xtol=1e-6) if gap(far) > 0 else sign * np.inf)
    return ends[0], ends[1]


def fit_durations(d: DurationData, model: CalibrationModel, level: float = 0.9) -> DurationFit:
    """Maximum-likelihood ``(delta, kappa)`` of one kind, with profile-likelihood intervals."""
    if len(d) < 2:
        raise InputError("(incident data)", f"{d.kind} durations", len(d), "at least two reported durations to fit")
    res = minimize(lambda p: -log_likelihood(p[0], np.exp(p[1]), d, model), x0=np.zeros(2), method="Nelder-Mead",
                   options={"xatol": 1e-8, "fatol": 1e-10, "maxiter": 4000})  # fmt: skip
    delta, log_kappa = (float(v) for v in res.x)
    top = -float(res.fun)
    delta_ci = _interval(d, model, "delta", delta, top, level)
    lk_ci = _interval(d, model, "log_kappa", log_kappa, top, level)
    return DurationFit(d.kind, len(d), delta, float(np.exp(log_kappa)), delta_ci,
                       (float(np.exp(lk_ci[0])), float(np.exp(lk_ci[1]))), top)  # fmt: skip


def prior_interval(name: str, level: float = 0.9) -> tuple[float, float]:
    """The prior's central interval of ``delta`` or ``kappa``."""
    sd = PRIOR_SD["delta" if name == "delta" else "log_kappa"]
    low, high = norm.ppf([(1 - level) / 2, (1 + level) / 2]) * sd
    return (float(low), float(high)) if name == "delta" else (float(np.exp(low)), float(np.exp(high)))


def duration_grid(d: DurationData, model: CalibrationModel) -> tuple[np.ndarray, np.ndarray]:
    """Grid points ``(delta, kappa)`` (rows) and their posterior weights: likelihood times
    the prior, over 5 prior sds either way of the scenario's values."""
    deltas = np.linspace(-5.0, 5.0, GRID) * PRIOR_SD["delta"]
    log_kappas = np.linspace(-5.0, 5.0, GRID) * PRIOR_SD["log_kappa"]
    de, lk = np.meshgrid(deltas, log_kappas, indexing="ij")
    de, lk = de.ravel(), lk.ravel()
    log_post = log_likelihood(de, np.exp(lk), d, model) + norm.logpdf(de, scale=PRIOR_SD["delta"])
    log_post += norm.logpdf(lk, scale=PRIOR_SD["log_kappa"])
    weights = np.exp(log_post - log_post.max())
    return np.column_stack([de, np.exp(lk)]), weights / weights.sum()
