"""Failure rates: Gamma-Poisson posteriors per sector and threat kind, pooled across sectors.

For one threat kind, sector ``s`` reports ``n_s`` failures in its data windows where the
scenario's rates predict ``E_s`` (the observation model's expected reported count:
rates, coverage, major operators and durations above the threshold, summed over the
filters' years). The fitted factor ``m_s`` on the sector's exposure to the kind gives

    n_s | m_s ~ Poisson(m_s E_s),    m_s | mu, alpha ~ Gamma(shape alpha, mean mu),

a hierarchical model: ``mu`` is the kind's factor common to all sectors, ``alpha`` how
alike the sectors are (large: the sectors share ``mu``, complete pooling; small: each
sector stands on its own data). A sector with little data is pulled toward ``mu``, whose
estimate rests on all sectors (partial pooling). The prior, stated:

* ``log mu ~ N(0, 2)``: the scenario's rates are the prior's median, uncertain by a
  factor of about 27 either way at 90% (they are assumptions, not measurements);
* ``log alpha`` uniform on ``[log 0.5, log 50]``: 90% of sectors within about 25% of the
  common factor (alpha 50) or spread over three orders of magnitude (alpha 0.5).

Given ``(mu, alpha)`` the posterior of ``m_s`` is Gamma(``alpha + n_s``, rate
``alpha / mu + E_s``) (conjugate); ``(mu, alpha)`` are integrated out on a grid (the
counts' marginal is negative binomial), so the posterior of each ``m_s`` is a mixture of
Gammas, its quantiles found by root-finding on the mixture's CDF. Within a sector the
years' counts are taken as Poisson: the threats' over-dispersion between years
(negative binomial, dispersion 0.1-0.3 for unintentional failures) adds ``dispersion *
(yearly mean)^2`` to a year's variance, below 0.01 at the reported rates here.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammainc, gammaln, logsumexp
from scipy.stats import norm

PRIOR_LOG_MU_SD = 2.0
ALPHA_RANGE = (0.5, 50.0)
GRID_MU = np.linspace(-4.0, 4.0, 161) * PRIOR_LOG_MU_SD  # log mu
GRID_ALPHA = np.linspace(np.log(ALPHA_RANGE[0]), np.log(ALPHA_RANGE[1]), 41)  # log alpha


@dataclass(frozen=True)
class RatePosterior:
    """The grid posterior of one kind: each cell's ``mu``, ``alpha`` and weight, and the
    data (``n``, ``E``) that update each sector's factor."""

    mu: np.ndarray  # [cell]
    alpha: np.ndarray  # [cell]
    weight: np.ndarray  # [cell], summing to 1
    prior_weight: np.ndarray  # [cell], the prior's
    n: np.ndarray  # [sector] reported failures
    expected: np.ndarray  # [sector] reported failures the scenario predicts

    def mean(self) -> np.ndarray:
        """Posterior mean of each sector's factor."""
        shape, rate = self._gamma()
        return (self.weight[:, None] * shape / rate).sum(axis=0)

    def _gamma(self, prior: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Each cell's Gamma shape and rate for each sector: [cell, sector]."""
        keep = 0.0 if prior else 1.0
        shape = self.alpha[:, None] + keep * self.n[None, :]
        rate = (self.alpha / self.mu)[:, None] + keep * self.expected[None, :]
        return shape, rate

    def interval(self, level: float = 0.9, prior: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Central interval of each sector's factor (the prior's with ``prior``)."""
        shape, rate = self._gamma(prior)
        weight = self.prior_weight if prior else self.weight
        keep = weight > 1e-12 * weight.max()
        shape, rate, weight = shape[keep], rate[keep], weight[keep] / weight[keep].sum()
        ends = np.zeros((2, self.n.size))
        for s in range(self.n.size):

            def cdf(x: float, s: int = s) -> float:
                return float((weight * gammainc(shape[:, s], rate[:, s] * x)).sum())

            means = shape[:, s] / rate[:, s]
            low, high = means.min() * 1e-6, means.max() * 1e3
            for i, q in enumerate(((1 - level) / 2, (1 + level) / 2)):
                ends[i, s] = brentq(lambda x, q=q: cdf(x) - q, low, high, xtol=1e-12, rtol=1e-10)
        return ends[0], ends[1]

    def common(self, level: float = 0.9) -> tuple[float, float, float]:
        """The kind's common factor ``mu``: posterior mean and central interval."""
        order = np.argsort(self.mu)
        cum = np.cumsum(self.weight[order])
        low = self.mu[order][np.searchsorted(cum, (1 - level) / 2)]
        high = self.mu[order][min(np.searchsorted(cum, (1 + level) / 2), cum.size - 1)]
        return float((self.weight * self.mu).sum()), float(low), float(high)

    def draw(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """``size`` draws of every sector's factor: [draw, sector]."""
        cells = rng.choice(self.weight.size, size=size, p=self.weight)
        shape, rate = self._gamma()
        return rng.gamma(shape[cells], 1.0 / rate[cells])


def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid's ``mu`` and ``alpha`` per cell, and the prior's normalised weights."""
    lm, la = np.meshgrid(GRID_MU, GRID_ALPHA, indexing="ij")
    log_prior = norm.logpdf(lm.ravel(), scale=PRIOR_LOG_MU_SD)  # log alpha: uniform on the grid
    return np.exp(lm.ravel()), np.exp(la.ravel()), np.exp(log_prior - logsumexp(log_prior))


GRID = _grid()


def rate_posterior(n: np.ndarray, expected: np.ndarray) -> RatePosterior:
    """The posterior of one kind's sector factors from reported counts ``n`` and the
    scenario's expected reported counts ``expected`` (both per sector)."""
    n = np.asarray(n, dtype=float)
    expected = np.asarray(expected, dtype=float)
    mu, alpha, prior = GRID
    a, m = alpha[:, None], (mu[:, None] * expected[None, :])
    with np.errstate(divide="ignore", invalid="ignore"):
        log_marginal = (
            gammaln(n + a)
            - gammaln(a)
            - gammaln(n + 1)
            + a * np.log(a / (a + m))
            + np.where(n > 0, n * np.log(m / (a + m)), 0.0)
        )
    log_post = np.log(prior) + log_marginal.sum(axis=1)
    weight = np.exp(log_post - logsumexp(log_post))
    return RatePosterior(mu, alpha, weight, prior, n, expected)
