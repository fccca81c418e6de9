"""Keyed (counter-based) random numbers for the engine's kernels: Philox4x32-10 in Numba.

A keyed generator has no state: the random words of draw ``(c0, c1, c2, c3)`` under key
``(k0, k1)`` are ``philox4x32(c0, c1, c2, c3, k0, k1)``, four 32-bit words, whatever else
was drawn before. The engine names every draw by what it is for (see the counter layout in
:mod:`riskmodel.engine.kernels`): the year, the kind of draw, the threat, the sector or
region, the event's index and the call. So a parameter change alters only the draws that
parameter governs, as OasisLMF keys random numbers by event and item ids.

The generator is Philox4x32-10 of Salmon, Moraes, Dror and Shaw, "Parallel random numbers:
as easy as 1, 2, 3" (SC11), exactly as Random123 defines it (10 rounds, multipliers
``0xD2511F53`` and ``0xCD9E8D57``, Weyl key increments ``0x9E3779B9`` and ``0xBB67AE85``).
``tests/test_keyed_rng.py`` checks it against Random123's published known-answer vectors
and runs a statistical battery on it.

Transforms (all inverse CDFs, so that a draw is a monotone function of its uniform and of
the distribution's parameters):

* :func:`u32` / :func:`u53`: a 32-bit word, or 53 bits of two words, as a uniform in the
  open interval (0, 1) (half a step off each end, so every inverse CDF is finite);
* :func:`ndtri`: the standard normal quantile, Wichura's AS241 (PPND16, relative error
  about 1e-16), as in CPython's ``statistics.NormalDist.inv_cdf``;
* :func:`count_quantile`: the Poisson or negative binomial count with a given mean as the
  quantile of one uniform, by sequential search of the CDF;
* :func:`table_quantile`: a quantile by linear interpolation in a table of exact quantiles
  at ``i / n`` (used for Beta depths, see :func:`beta_quantile_table`).
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np
from numba import njit

PHILOX_M0 = np.uint64(0xD2511F53)
PHILOX_M1 = np.uint64(0xCD9E8D57)
PHILOX_W0 = np.uint64(0x9E3779B9)
PHILOX_W1 = np.uint64(0xBB67AE85)
MASK32 = np.uint64(0xFFFFFFFF)
SHIFT32 = np.uint64(32)
SHIFT5 = np.uint64(5)
SHIFT6 = np.uint64(6)
SHIFT26 = np.uint64(26)
TWO_M32 = 2.0**-32
TWO_M53 = 2.0**-53
LOG_PMF_FLOOR = -700.0  # below this log pmf(0) the count's search starts near the mean instead
DEPTH_TABLE_STEPS = 4096  # cells of a Beta quantile table: its CDF is exact at every i / 4096


@njit(cache=True, nogil=True, inline="always")
def philox4x32(c0, c1, c2, c3, k0, k1):
    """Philox4x32-10 of counter ``(c0, c1, c2, c3)`` and key ``(k0, k1)``: four 32-bit words.

    All arguments are ``uint64`` holding 32-bit values. Each round multiplies two words by
    the Philox constants (64-bit products split into high and low halves) and mixes in the
    key, which a Weyl sequence bumps between rounds.
    """
    for _ in range(10):
        p0 = PHILOX_M0 * c0
        p1 = PHILOX_M1 * c2
        c0, c1, c2, c3 = (p1 >> SHIFT32) ^ c1 ^ k0, p1 & MASK32, (p0 >> SHIFT32) ^ c3 ^ k1, p0 & MASK32
        k0 = (k0 + PHILOX_W0) & MASK32
        k1 = (k1 + PHILOX_W1) & MASK32
    return c0, c1, c2, c3


@njit(cache=True, nogil=True, inline="always")
def u32(word) -> float:
    """A 32-bit word as a uniform in (0, 1): ``(word + 1/2) / 2^32``."""
    return (np.float64(np.int64(word)) + 0.5) * TWO_M32  # via int64: one signed conversion


@njit(cache=True, nogil=True, inline="always")
def u53(high, low) -> float:
    """53 bits of two words (27 of ``high``, 26 of ``low``, as NumPy makes a double of two
    32-bit draws) as a uniform in (0, 1): ``(bits + 1/2) / 2^53``."""
    bits = ((high >> SHIFT5) << SHIFT26) | (low >> SHIFT6)
    return (np.float64(np.int64(bits)) + 0.5) * TWO_M53


@njit(cache=True, nogil=True, inline="always")
def counter_word(kind: int, threat: int, slot: int):
    """The second counter word: what a draw is for (kind, threat, sector or region)."""
    return np.uint64((kind << 24) | (threat << 16) | slot)


@njit(cache=True, nogil=True, error_model="numpy")
def ndtri(p: float) -> float:
    """Standard normal quantile of ``p`` in (0, 1): Wichura's AS241 (PPND16)."""
    q = p - 0.5
    if abs(q) <= 0.425:
        r = 0.180625 - q * q
        num = (((((((2.5090809287301226727e3 * r + 3.3430575583588128105e4) * r + 6.7265770927008700853e4) * r
                   + 4.5921953931549871457e4) * r + 1.3731693765509461125e4) * r + 1.9715909503065514427e3) * r
                + 1.3314166789178437745e2) * r + 3.3871328727963666080e0) * q  # fmt: skip
        den = (((((((5.2264952788528545610e3 * r + 2.8729085735721942674e4) * r + 3.9307895800092710610e4) * r
                   + 2.1213794301586595867e4) * r + 5.3941960214247511077e3) * r + 6.8718700749205790830e2) * r
                + 4.2313330701600911252e1) * r + 1.0)  # fmt: skip
        return num / den
    r = p if q <= 0.0 else 1.0 - p
    r = math.sqrt(-math.log(r))
    if r <= 5.0:
        r = r - 1.6
        num = (((((((7.74545014278341407640e-4 * r + 2.27238449892691845833e-2) * r + 2.41780725177450611770e-1)
                   * r + 1.27045825245236838258e0) * r + 3.64784832476320460504e0) * r + 5.76949722146069140550e0)
                * r + 4.63033784615654529590e0) * r + 1.42343711074968357734e0)  # fmt: skip
        den = (((((((1.05075007164441684324e-9 * r + 5.47593808499534494600e-4) * r + 1.51986665636164571966e-2)
                   * r + 1.48103976427480074590e-1) * r + 6.89767334985100004550e-1) * r + 1.67638483018380384940e0)
                * r + 2.05319162663775882187e0) * r + 1.0)  # fmt: skip
    else:
        r = r - 5.0
        num = (((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.24266094738807843860e-3)
                   * r + 2.65321895265761230930e-2) * r + 2.96560571828504891230e-1) * r + 1.78482653991729133580e0)
                * r + 5.46378491116411436990e0) * r + 6.65790464350110377720e0)  # fmt: skip
        den = (((((((2.04426310338993978564e-15 * r + 1.42151175831644588870e-7) * r + 1.84631831751005468180e-5)
                   * r + 7.86869131145613259100e-4) * r + 1.48753612908506148525e-2) * r + 1.36929880922735805310e-1)
                * r + 5.99832206555887937690e-1) * r + 1.0)  # fmt: skip
    x = num / den
    return -x if q < 0.0 else x


@njit(cache=True, nogil=True, error_model="numpy")
def count_pmf0(mean: float, dispersion: float) -> float:
    """P(N = 0) of a Poisson (``dispersion`` 0) or negative binomial count with ``mean``
    (variance ``mean + dispersion mean^2``); 0 when it underflows (:data:`LOG_PMF_FLOOR`)."""
    if mean <= 0.0:
        return 1.0
    log_p0 = -math.log1p(dispersion * mean) / dispersion if dispersion > 0.0 else -mean
    return math.exp(log_p0) if log_p0 > LOG_PMF_FLOOR else 0.0


@njit(cache=True, nogil=True, error_model="numpy")
def _count_log_pmf(k: int, mean: float, dispersion: float) -> float:
    """log P(N = k) of the Poisson or negative binomial count (log-gamma form)."""
    if dispersion > 0.0:
        r = 1.0 / dispersion
        log_q = math.log(dispersion * mean / (1.0 + dispersion * mean))
        return (
            math.lgamma(k + r) - math.lgamma(r) - math.lgamma(k + 1.0) - r * math.log1p(dispersion * mean) + k * log_q
        )
    return k * math.log(mean) - mean - math.lgamma(k + 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def _large_count_quantile(u: float, mean: float, dispersion: float) -> int:
    """The count quantile when P(N = 0) underflows: the search starts at the first count,
    stepping up from 30 standard deviations below the mean, whose pmf does not underflow
    (the mass it leaves out below is under 1e-300)."""
    sd = math.sqrt(mean + dispersion * mean * mean)
    step = max(1, int(sd / 8.0))
    k = max(0, int(mean - 30.0 * sd))
    log_pmf = _count_log_pmf(k, mean, dispersion)
    while log_pmf < LOG_PMF_FLOOR and k < mean:
        k += step
        log_pmf = _count_log_pmf(k, mean, dispersion)
    r = 1.0 / dispersion if dispersion > 0.0 else 0.0
    q = dispersion * mean / (1.0 + dispersion * mean)
    pmf = math.exp(log_pmf)
    cdf = pmf
    while cdf < u:
        pmf *= (k + r) / (k + 1.0) * q if dispersion > 0.0 else mean / (k + 1.0)
        k += 1
        cdf += pmf
        if k > mean and pmf <= cdf * 1e-17:
            break
    return k


@njit(cache=True, nogil=True, error_model="numpy")
def count_quantile(u: float, mean: float, dispersion: float, pmf0: float) -> int:
    """The smallest ``k`` with ``P(N <= k) >= u``: a Poisson (``dispersion`` 0) or negative
    binomial count (Gamma-mixed Poisson, shape ``1 / dispersion``) with ``mean``.

    ``pmf0`` is :func:`count_pmf0` of the same mean and dispersion (computed once per call
    of the kernel). At fixed ``u`` the count never falls as the mean rises: both families
    grow stochastically in their mean at a fixed dispersion. Sequential search from 0 costs
    O(mean) multiplications, as do the events the count then asks for.
    """
    if mean <= 0.0 or u <= pmf0:
        return 0
    if pmf0 == 0.0:
        return _large_count_quantile(u, mean, dispersion)
    pmf = pmf0
    cdf = pmf0
    k = 0
    if dispersion > 0.0:
        r = 1.0 / dispersion
        q = dispersion * mean / (1.0 + dispersion * mean)
        while cdf < u:
            pmf *= (k + r) / (k + 1.0) * q
            k += 1
            cdf += pmf
            if k > mean and pmf <= cdf * 1e-17:
                break
    else:
        while cdf < u:
            pmf *= mean / (k + 1.0)
            k += 1
            cdf += pmf
            if k > mean and pmf <= cdf * 1e-17:
                break
    return k


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def table_quantile(table, row: int, u: float) -> float:
    """Quantile ``u`` by linear interpolation in ``table[row]`` (exact quantiles at ``i / n``).

    Between two tables whose quantiles are ordered at every grid point, the interpolated
    quantiles are ordered at every ``u``: the weights of the two neighbours are the same.
    """
    n = table.shape[1] - 1
    x = u * n
    i = min(int(x), n - 1)
    lo = table[row, i]
    return lo + (table[row, i + 1] - lo) * (x - i)


@lru_cache(maxsize=256)
def _beta_quantiles(alpha: float, beta: float, steps: int) -> np.ndarray:
    from scipy.special import betaincinv

    grid = np.linspace(0.0, 1.0, steps + 1)
    table = betaincinv(alpha, beta, grid)
    table[0], table[-1] = 0.0, 1.0
    table = np.maximum.accumulate(np.clip(table, 0.0, 1.0))  # exact quantiles are non-decreasing
    table.flags.writeable = False
    return table


def beta_quantile_table(alpha: np.ndarray, beta: np.ndarray, steps: int = DEPTH_TABLE_STEPS) -> np.ndarray:
    """``[threat, i]``: the Beta(alpha, beta) quantile at ``i / steps`` for each threat.

    Interpolated linearly (:func:`table_quantile`), the depth's CDF equals the Beta CDF at
    every grid quantile, so it is off by less than ``1 / steps`` anywhere; and since Beta
    grows stochastically in ``alpha`` and shrinks in ``beta``, raising ``alpha`` or lowering
    ``beta`` never lowers any event's depth.
    """
    return np.stack([_beta_quantiles(float(a), float(b), steps) for a, b in zip(alpha, beta, strict=True)])
