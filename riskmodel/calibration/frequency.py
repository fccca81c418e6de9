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

**An uncertain coverage** (a filter's ``coverage = [low, high]``, log-uniform: see
:mod:`riskmodel.calibration.observation`) is a third grid dimension, integrated out
exactly rather than divided out afterwards. ``E_s(c) = E0_s + c E1_s``: the expected
reported count at coverage ``c`` of the one filter with a range (``E1``: its reportable
failures; ``E0``: the other filters' reported ones). The coverage's nodes are the
midpoints of equal steps in ``log c`` no longer than the ``log mu`` grid's step (0.1), so
the ridge along which the data leave ``mu c`` fixed is resolved as finely as ``mu``; each
node carries the prior mass of its step. A cell ``(c, mu, alpha)`` weighs its prior
times the counts' negative binomial marginal at ``E(c)``; given the cell each sector's
factor stays conjugate, Gamma(``alpha + n_s``, rate ``alpha / mu + E_s(c)``). The coverage
is one number for all the kinds a filter reports, so its posterior multiplies the kinds'
marginal likelihoods: ``p(c | data) ~ p(c) prod_kind sum_cells p(mu, alpha) L_kind``, and
each kind's ``(mu, alpha)`` is then conditional on ``c``. A joint draw takes the node
first, then every kind's cell given it, so the true-rate draws carry the coverage's spread.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.optimize import brentq
from scipy.special import gammainc, gammaln, logsumexp
from scipy.stats import norm

PRIOR_LOG_MU_SD = 2.0
ALPHA_RANGE = (0.5, 50.0)
GRID_MU = np.linspace(-4.0, 4.0, 161) * PRIOR_LOG_MU_SD  # log mu, steps of 0.1
GRID_ALPHA = np.linspace(np.log(ALPHA_RANGE[0]), np.log(ALPHA_RANGE[1]), 41)  # log alpha
COVERAGE_STEP = 0.1  # largest step of the coverage grid in log coverage: the log mu grid's
NEGLIGIBLE = 1e-10  # total weight of the lightest cells a quantile search leaves out


def coverage_grid(low: float, high: float) -> tuple[np.ndarray, np.ndarray]:
    """Nodes and prior weights of a coverage log-uniform on ``[low, high]``: the midpoints
    of equal steps in ``log c`` of at most ``COVERAGE_STEP``, at least two (so that a range
    keeps its width), equal weights; one node when ``low == high`` (a known coverage)."""
    if low == high:
        return np.array([low]), np.ones(1)
    steps = max(2, int(np.ceil(np.log(high / low) / COVERAGE_STEP)))
    edges = np.linspace(np.log(low), np.log(high), steps + 1)
    return np.exp((edges[:-1] + edges[1:]) / 2), np.full(steps, 1.0 / steps)


@dataclass(frozen=True)
class RatePosterior:
    """The grid posterior of one kind: each cell's coverage node, ``mu``, ``alpha`` and
    weight, and the data (``n``, ``E`` at each node) that update each sector's factor.

    Cells are node-major: cell ``k * B + b`` is coverage node ``k`` with the ``(mu, alpha)``
    grid's cell ``b`` (``B`` cells a node)."""

    mu: np.ndarray  # [cell]
    alpha: np.ndarray  # [cell]
    node: np.ndarray  # [cell] coverage node
    weight: np.ndarray  # [cell], summing to 1
    prior_weight: np.ndarray  # [cell], the prior's
    n: np.ndarray  # [sector] reported failures
    expected: np.ndarray  # [node, sector] reported failures the scenario predicts at the node's coverage
    coverage: np.ndarray  # [node] the uncertain filter's coverage (one node: known coverages)

    def mean(self) -> np.ndarray:
        """Posterior mean of each sector's factor."""
        shape, rate = self._gamma()
        return (self.weight[:, None] * shape / rate).sum(axis=0)

    def _gamma(self, prior: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Each cell's Gamma shape and rate for each sector: [cell, sector]."""
        keep = 0.0 if prior else 1.0
        shape = self.alpha[:, None] + keep * self.n[None, :]
        rate = (self.alpha / self.mu)[:, None] + keep * self.expected[self.node]
        return shape, rate

    def interval(self, level: float = 0.9, prior: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Central interval of each sector's factor (the prior's with ``prior``)."""
        if prior:  # the prior of a factor does not depend on the coverage: the first node's cells
            cells = self.mu.size // self.coverage.size
            weight = self.prior_weight.reshape(self.coverage.size, cells).sum(axis=0)
            shape, rate = (a[:cells] for a in self._gamma(prior=True))
        else:
            weight = self.weight
            shape, rate = self._gamma()
        order = np.argsort(weight)
        keep = order[np.cumsum(weight[order]) > NEGLIGIBLE]
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
        order = np.argsort(self.mu, kind="stable")
        cum = np.cumsum(self.weight[order])
        low = self.mu[order][np.searchsorted(cum, (1 - level) / 2)]
        high = self.mu[order][min(np.searchsorted(cum, (1 + level) / 2), cum.size - 1)]
        return float((self.weight * self.mu).sum()), float(low), float(high)

    def node_weight(self) -> np.ndarray:
        """Posterior weight of each coverage node (the same for every kind of a fit)."""
        return np.bincount(self.node, weights=self.weight, minlength=self.coverage.size)

    def coverage_summary(self, level: float = 0.9) -> tuple[float, float, float]:
        """The uncertain coverage's posterior mean and central interval, each node's weight
        spread evenly over its step in ``log c`` (so that a posterior equal to the prior
        gives the prior's quantiles)."""
        weight = self.node_weight()
        if self.coverage.size == 1:
            c = float(self.coverage[0])
            return c, c, c
        log_c = np.log(self.coverage)
        step = log_c[1] - log_c[0]
        edges = np.append(log_c - step / 2, log_c[-1] + step / 2)
        cum = np.append(0.0, np.cumsum(weight))
        low, high = np.exp(np.interp([(1 - level) / 2, (1 + level) / 2], cum, edges))
        return float(weight @ self.coverage), float(low), float(high)

    def draw(self, rng: np.random.Generator, nodes: np.ndarray) -> np.ndarray:
        """Every sector's factor given each draw's coverage node ``nodes[j]`` (drawn from
        :meth:`node_weight`, shared by the kinds): [draw, sector]."""
        cells = np.empty(nodes.size, dtype=np.int64)
        for k in np.unique(nodes):
            at = np.flatnonzero(nodes == k)
            of_node = np.flatnonzero(self.node == k)
            w = self.weight[of_node]
            cells[at] = of_node[rng.choice(of_node.size, size=at.size, p=w / w.sum())]
        shape, rate = self.alpha[cells, None] + self.n[None, :], (self.alpha / self.mu)[cells, None]
        return rng.gamma(shape, 1.0 / (rate + self.expected[self.node[cells]]))


def _grid() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The grid's ``mu`` and ``alpha`` per cell, and the prior's normalised weights."""
    lm, la = np.meshgrid(GRID_MU, GRID_ALPHA, indexing="ij")
    log_prior = norm.logpdf(lm.ravel(), scale=PRIOR_LOG_MU_SD)  # log alpha: uniform on the grid
    return np.exp(lm.ravel()), np.exp(la.ravel()), np.exp(log_prior - logsumexp(log_prior))


GRID = _grid()


def _log_marginal(n: np.ndarray, expected: np.ndarray, mu: np.ndarray, alpha: np.ndarray) -> np.ndarray:
    """Log negative binomial marginal of the counts ``n`` [sector] for every coverage node
    (``expected`` [node, sector]) and ``(mu, alpha)`` cell, summed over sectors: [node, cell].

    Per sector ``log Gamma(n + a) - log Gamma(a) - log n! + a log a - (a + n) log(a + m) +
    n log m`` with ``m = mu E``; only ``log(a + m)`` needs every (node, cell, sector), the
    rest separates (``n log m = n log mu + n log E``), which keeps the grid cheap."""
    a = alpha[:, None]
    per_alpha = (gammaln(n + a) - gammaln(a) - gammaln(n + 1) + a * np.log(a)).sum(axis=1)  # [cell]
    seen = n > 0
    log_e = (n[seen] * np.log(expected[:, seen])).sum(axis=1)  # [node]; a sector seen has E > 0
    shared = (a + n)[None, :, :] * np.log(a[None, :, :] + mu[None, :, None] * expected[:, None, :])
    return per_alpha[None, :] + n.sum() * np.log(mu)[None, :] + log_e[:, None] - shared.sum(axis=2)


def rate_posteriors(n: dict[str, np.ndarray], expected: dict[str, np.ndarray],
                    coverage: tuple[np.ndarray, np.ndarray]) -> dict[str, RatePosterior]:  # fmt: skip
    """The posterior of every kind's sector factors from reported counts ``n[kind]``
    [sector] and the scenario's expected reported counts ``expected[kind]`` [node, sector]
    at each node of ``coverage`` (:func:`coverage_grid`'s nodes and prior weights).

    The kinds share the coverage: its posterior multiplies their marginal likelihoods, and
    each kind's ``(mu, alpha)`` weights are conditional on it."""
    mu, alpha, prior = GRID
    nodes, node_prior = coverage
    conditional, evidence = {}, np.zeros(nodes.size)
    for kind in n:
        log_post = np.log(prior)[None, :] + _log_marginal(np.asarray(n[kind], dtype=float), expected[kind], mu, alpha)
        kind_evidence = logsumexp(log_post, axis=1)
        conditional[kind] = np.exp(log_post - kind_evidence[:, None])
        evidence += kind_evidence
    log_nodes = np.log(node_prior) + evidence
    node_weight = np.exp(log_nodes - logsumexp(log_nodes))
    cells = np.repeat(np.arange(nodes.size), mu.size)
    mu_c, alpha_c, prior_c = np.tile(mu, nodes.size), np.tile(alpha, nodes.size), np.outer(node_prior, prior).ravel()
    return {
        kind: RatePosterior(mu_c, alpha_c, cells, (node_weight[:, None] * conditional[kind]).ravel(), prior_c,
                            np.asarray(n[kind], dtype=float), np.asarray(expected[kind], dtype=float), nodes)
        for kind in n
    }  # fmt: skip
