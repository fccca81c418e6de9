"""The keyed generator (Philox4x32-10) against published answers, and a statistical battery.

Known answers: Random123's ``kat_vectors`` for philox4x32 with 10 rounds (counter, key ->
output). Battery: uniformity (chi-square, Kolmogorov-Smirnov, every bit), and
independence of neighbouring keys, of consecutive counters in each counter word and of
the four words of one call (correlations, serial pairs). Keys and counters are fixed, so
the outcomes are deterministic; each tolerance is a quantile of the statistic's null
distribution far in its tail (about 4.4 standard errors, or a chi-square p-value of 1e-5),
so a correct generator passes all of them with probability above 0.999.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import special, stats

from riskmodel.engine.keyed import count_pmf0, count_quantile, ndtri, philox4x32, u32, u53
from riskmodel.streams import counter_key

N = 1 << 18
Z_TOLERANCE = 4.42  # two-sided normal quantile of 1e-5
P_FLOOR = 1e-5  # smallest chi-square p-value accepted


@njit(cache=True)
def _one(c0, c1, c2, c3, k0, k1):
    u = np.uint64
    return philox4x32(u(c0), u(c1), u(c2), u(c3), u(k0), u(k1))


@njit(cache=True)
def _words(counters, k0: int, k1: int, step_word: int, n: int) -> np.ndarray:
    """``n`` calls' words: the counter ``counters`` with word ``step_word`` stepped 0, 1, 2..."""
    out = np.empty((n, 4), dtype=np.uint64)
    c = counters.copy()
    for i in range(n):
        c[step_word] = counters[step_word] + i
        w = philox4x32(np.uint64(c[0]), np.uint64(c[1]), np.uint64(c[2]), np.uint64(c[3]), np.uint64(k0), np.uint64(k1))
        out[i, 0], out[i, 1], out[i, 2], out[i, 3] = w
    return out


@njit(cache=True)
def _uniforms(words) -> tuple[np.ndarray, np.ndarray]:
    """Each call's first word as a 32-bit uniform and its last two as a 53-bit one."""
    n = words.shape[0]
    a, b = np.empty(n), np.empty(n)
    for i in range(n):
        a[i] = u32(words[i, 0])
        b[i] = u53(words[i, 2], words[i, 3])
    return a, b


KEY = (0x9A3F1C27, 0x00C0FFEE)
BASE = np.array([7, (2 << 24) | (3 << 16) | 5, 11, 1], dtype=np.int64)


@pytest.mark.parametrize(
    "counter,key,expected",
    [
        ((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
        ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
        (
            (0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344),
            (0xA4093822, 0x299F31D0),
            (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1),
        ),
    ],
)
def test_philox4x32_10_known_answers(counter, key, expected):
    """Random123's known-answer vectors for philox4x32 with 10 rounds (tests/kat_vectors)."""
    assert tuple(int(w) for w in _one(*counter, *key)) == expected


def test_uniforms_are_in_the_open_interval_and_use_all_bits():
    assert 0.0 < u32(np.uint64(0)) < u32(np.uint64(0xFFFFFFFF)) < 1.0
    low, high = u53(np.uint64(0), np.uint64(0)), u53(np.uint64(0xFFFFFFFF), np.uint64(0xFFFFFFFF))
    assert low == 0.5 * 2.0**-53 and high == 1.0 - 0.5 * 2.0**-53
    assert u53(np.uint64(0), np.uint64(64)) - low == 2.0**-53  # the 53rd bit counts


@pytest.mark.parametrize("step_word", [0, 1, 2, 3])
def test_uniformity(step_word):
    """Counters stepped in each word: chi-square on 1,024 bins for the 32-bit and 53-bit
    uniforms, Kolmogorov-Smirnov, and each of the 128 output bits set half the time."""
    words = _words(BASE, *KEY, step_word, N)
    for u in _uniforms(words):
        counts = np.bincount((u * 1024).astype(np.int64), minlength=1024)
        assert stats.chisquare(counts).pvalue > P_FLOOR
        assert stats.kstest(u, "uniform").pvalue > P_FLOOR
    bits = (words[:, :, None] >> np.arange(32, dtype=np.uint64)) & np.uint64(1)
    share = bits.mean(axis=0)
    assert np.all(np.abs(share - 0.5) < Z_TOLERANCE * 0.5 / math.sqrt(N))


def correlation_ok(x: np.ndarray, y: np.ndarray) -> bool:
    """Pearson correlation within the tolerance of its standard error 1/sqrt(n) under independence."""
    r = np.corrcoef(x, y)[0, 1]
    return abs(r) < Z_TOLERANCE / math.sqrt(x.size)


@pytest.mark.parametrize("key_word", [0, 1])
def test_neighbouring_keys_are_independent(key_word):
    """Streams of keys k and k + 1 (in either key word) at the same counters: uncorrelated
    uniforms, and their pairs uniform on a 32 x 32 grid (chi-square)."""
    key = list(KEY)
    next_key = list(KEY)
    next_key[key_word] += 1
    a = _uniforms(_words(BASE, *key, 0, N))
    b = _uniforms(_words(BASE, *next_key, 0, N))
    for x, y in zip(a, b, strict=True):
        assert correlation_ok(x, y)
        grid = np.bincount((x * 32).astype(np.int64) * 32 + (y * 32).astype(np.int64), minlength=1024)
        assert stats.chisquare(grid).pvalue > P_FLOOR


def test_engine_keys_of_neighbouring_seeds_are_independent():
    """The run keys of seeds s and s + 1 (SeedSequence-derived) give unrelated streams."""
    a = _uniforms(_words(BASE, *(int(w) for w in counter_key(5, 0)), 0, N))[1]
    b = _uniforms(_words(BASE, *(int(w) for w in counter_key(6, 0)), 0, N))[1]
    assert correlation_ok(a, b)


@pytest.mark.parametrize("step_word", [0, 1, 2, 3])
def test_consecutive_counters_are_independent(step_word):
    """Counters c and c + 1 in each word (next year, next kind/threat/slot, next event,
    next call): lag-1 correlation and serial pairs; and the four words of one call."""
    words = _words(BASE, *KEY, step_word, N)
    for u in _uniforms(words):
        assert correlation_ok(u[:-1], u[1:])
        pairs = (u[0::2] * 32).astype(np.int64) * 32 + (u[1::2] * 32).astype(np.int64)
        assert stats.chisquare(np.bincount(pairs, minlength=1024)).pvalue > P_FLOOR
    lanes = (words.astype(np.float64) + 0.5) * 2.0**-32
    for i in range(4):
        for j in range(i + 1, 4):
            assert correlation_ok(lanes[:, i], lanes[:, j])


def test_normal_quantile_is_as241():
    """ndtri agrees with scipy's to 1e-14 relative from 1e-300 to 1 - 1e-16."""
    p = np.concatenate(
        [np.linspace(0, 1, 20_001)[1:-1], 10.0 ** -np.arange(1.0, 300.0), 1 - 10.0 ** -np.arange(1.0, 16.0)]
    )
    mine = np.array([ndtri(x) for x in p])
    reference = special.ndtri(p)
    assert np.all(np.abs(mine - reference) <= 1e-14 * np.maximum(np.abs(reference), 1e-3))


@pytest.mark.parametrize(
    "mean,dispersion", [(0.02, 0.0), (0.3, 0.0), (21.6, 0.0), (21.6, 0.2), (5.0, 1.0), (900.0, 0.0), (3000.0, 0.001)]
)
def test_count_quantile_is_the_exact_inverse_cdf(mean, dispersion):
    """Poisson and negative binomial counts equal scipy's ppf at 4,000 quantiles, including
    the large-mean search that starts away from zero."""
    u = (np.arange(4000) + 0.5) / 4000
    mine = np.array([count_quantile(x, mean, dispersion, count_pmf0(mean, dispersion)) for x in u])
    dist = stats.nbinom(1 / dispersion, 1 / (1 + dispersion * mean)) if dispersion > 0 else stats.poisson(mean)
    np.testing.assert_array_equal(mine, dist.ppf(u))


def test_count_quantile_never_falls_as_the_mean_rises():
    u = (np.arange(2000) + 0.5) / 2000
    for dispersion in (0.0, 0.5):
        previous = np.zeros(u.size)
        for mean in np.geomspace(0.01, 2000.0, 60):
            counts = np.array([count_quantile(x, mean, dispersion, count_pmf0(mean, dispersion)) for x in u])
            assert (counts >= previous).all()
            previous = counts
