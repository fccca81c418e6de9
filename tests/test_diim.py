"""The dynamic inoperability input-output model: worked examples, steady state, identity."""

from __future__ import annotations

import numpy as np
import pytest

from riskmodel.engine.kernels import cascade_hourly, diim_step


def run_national(a: np.ndarray, c: np.ndarray, k: np.ndarray, hours: int, clip: bool) -> np.ndarray:
    """Iterate the hourly DIIM on a one-region system; returns q after ``hours`` steps."""
    n = a.shape[0]
    q = np.zeros((1, n))
    out = np.zeros((1, n))
    shock = c.reshape(1, n)
    for _ in range(hours):
        diim_step(q, shock, a, np.zeros((n, n)), np.ones(1), k, clip, out)
        q, out = out, q
    return q[0]


def test_lian_haimes_two_sector_example():
    """Lian & Haimes (2006) two-sector example as encoded in stigrs/diim's tests
    (TestCase7 and TestCase10): static q = [0.066, 0.112], reached by the DIIM."""
    a = np.array([[0.15, 0.50], [0.10, 0.05]])
    c = np.array([0.0, 0.1])
    k = np.array([0.2, 0.2])
    assert np.allclose(run_national(a, c, k, 1, True), [0.0, 0.02])  # q1 = K c*
    assert np.allclose(run_national(a, c, k, 2, True), [0.002, 0.0362])  # by hand
    assert np.allclose(run_national(a, c, k, 100, True), [0.066, 0.112], atol=1e-3)
    static = np.linalg.solve(np.eye(2) - a, c)
    assert np.allclose(run_national(a, c, k, 100, True), static, atol=1e-6)


def test_haimes_jiang_static_examples():
    """Haimes & Jiang (2001) as encoded in stigrs/diim: 2 sectors q = [4/7, 5/7]; 4 sectors
    with clipping at 1: q = [0.70, 0.78, 1.0, 1.0]."""
    two = np.array([[0.0, 0.8], [0.2, 0.0]])
    q = run_national(two, np.array([0.0, 0.6]), np.full(2, 0.5), 400, True)
    assert np.allclose(q, [4 / 7, 5 / 7], atol=1e-9)
    four = np.array([[0.0, 0.9, 0.0, 0.0], [0.4, 0.0, 0.0, 0.0], [1.0, 0.8, 0.0, 0.0], [1.0, 0.9, 0.0, 0.0]])
    q = run_national(four, np.array([0.0, 0.5, 0.0, 0.0]), np.full(4, 0.5), 400, True)
    assert np.allclose(q, [0.70, 0.78, 1.0, 1.0], atol=0.01)
    assert q.max() <= 1.0


def test_factored_step_equals_dense_regional_matrix(japan):
    """The O(R S^2) factored update is the dense regional update q + K (A* q + c - q)."""
    cas = japan.cascade
    rng = np.random.default_rng(0)
    q = rng.uniform(0, 0.3, (cas.n_regions, cas.n_sectors))
    c = rng.uniform(0, 0.1, (cas.n_regions, cas.n_sectors))
    out = np.zeros_like(q)
    diim_step(q, c, cas.local, cas.spread, cas.region_weight, cas.k, False, out)
    flat = q.ravel()
    dense = flat + cas.k * (cas.regional @ flat + c.ravel() - flat)
    assert np.allclose(out.ravel(), dense, rtol=1e-12, atol=1e-15)


def test_steady_state_of_regional_model(japan):
    """With a constant shock the hourly DIIM converges to q = (I - A*)^-1 c*."""
    cas = japan.cascade
    c = np.zeros(cas.n_nodes)
    c[2 * cas.n_sectors + 4] = 0.05  # Tokyo electricity
    c[5 * cas.n_sectors + 0] = 0.02  # Kansai communications
    q = np.zeros((cas.n_regions, cas.n_sectors))
    out = np.zeros_like(q)
    for _ in range(20_000):
        diim_step(q, c.reshape(q.shape), cas.local, cas.spread, cas.region_weight, cas.k, True, out)
        q, out = out, q
    assert np.allclose(q.ravel(), cas.leontief @ c, rtol=1e-9, atol=1e-12)


def test_integral_identity_and_closed_form(japan):
    """Unclipped, sum_t q(t) = (I - A*)^-1 sum_t c*(t): the hourly cascade (stepped for the
    shock, closed-form tail) gives the same lost value added as the closed form."""
    cas = japan.cascade
    node = 3 * cas.n_sectors + 0  # Chubu communications
    shock, hours = 0.2, 7.5
    by_sector = np.zeros(cas.n_sectors)
    cascade_hourly(
        np.array([node]), np.array([shock]), np.array([hours]), 1, cas.local, cas.spread, cas.region_weight,
        cas.k, cas.value_added, cas.sector_va_weight, cas.leontief, by_sector,
    )  # fmt: skip
    closed = cas.sector_va_weight[:, node] * shock * hours
    assert np.allclose(by_sector, closed, rtol=1e-10)
    # and the identity itself, by brute-force stepping until the recovery is complete
    q = np.zeros((cas.n_regions, cas.n_sectors))
    out = np.zeros_like(q)
    total = np.zeros(cas.n_nodes)
    for t in range(6000):
        c = np.zeros_like(q)
        c.flat[node] = shock * min(1.0, max(0.0, hours - t))
        total += q.ravel()
        diim_step(q, c, cas.local, cas.spread, cas.region_weight, cas.k, True, out)
        q, out = out, q
    expected = cas.leontief[:, node] * shock * hours
    assert np.allclose(total, expected, rtol=1e-8, atol=1e-12)


def test_clipping_only_lowers_loss(japan):
    """A full regional blackout hits the clip: the clipped loss is below the linear one,
    and every node's inoperability stays in [0, 1]."""
    cas = japan.cascade
    node = 2 * cas.n_sectors + 4
    by_sector = np.zeros(cas.n_sectors)
    args = (cas.local, cas.spread, cas.region_weight, cas.k, cas.value_added, cas.sector_va_weight, cas.leontief)
    cascade_hourly(np.array([node]), np.array([1.0]), np.array([12.0]), 1, *args, by_sector)
    linear = cas.sector_va_weight[:, node] * 12.0
    assert by_sector.sum() < linear.sum()
    assert np.all(by_sector >= 0)
    q = np.zeros((cas.n_regions, cas.n_sectors))
    out = np.zeros_like(q)
    c = np.zeros_like(q)
    c.flat[node] = 1.0
    for _ in range(48):
        diim_step(q, c, *args[:4], True, out)
        q, out = out, q
        assert q.min() >= 0.0 and q.max() <= 1.0


@pytest.mark.parametrize("hours", [0.3, 1.0, 5.0, 30.0])
def test_fractional_hours_closed_form(japan, hours):
    """The last, fractional hour of a shock counts in proportion in both paths."""
    cas = japan.cascade
    node = 7
    by_sector = np.zeros(cas.n_sectors)
    cascade_hourly(
        np.array([node]), np.array([0.1]), np.array([hours]), 1, cas.local, cas.spread, cas.region_weight,
        cas.k, cas.value_added, cas.sector_va_weight, cas.leontief, by_sector,
    )  # fmt: skip
    assert np.allclose(by_sector, cas.sector_va_weight[:, node] * 0.1 * hours, rtol=1e-10)
