"""Risk measures from the streaming sketch against exact answers."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import stats

from riskmodel.engine.kernels import loss_ratio
from riskmodel.metrics import FN_BINS, FN_BINS_PER_DECADE, GROWTH, LossSketch, acceptability, checkpoints, fn_curve
from riskmodel.schema import Acceptability


def empirical(losses: np.ndarray, p: float) -> tuple[float, float]:
    """Lower empirical quantile and Rockafellar-Uryasev CVaR, computed directly."""
    ordered = np.sort(losses)
    var = ordered[math.ceil(p * losses.size - 1e-9) - 1]
    return var, var + np.maximum(losses - var, 0).mean() / (1 - p)


@pytest.mark.parametrize("p", [0.5, 0.9, 0.99, 0.995, 0.999])
def test_sketch_is_exact_when_the_quantile_has_its_own_bin(p):
    losses = np.random.default_rng(1).lognormal(20, 4, 300)
    sketch = LossSketch.from_losses(losses)
    var, cvar = empirical(losses, p)
    b, _ = sketch._locate(0, p)
    assert sketch.counts[0, b] == 1  # spread-out losses: one per bin
    assert sketch.quantile(p) == pytest.approx(var, rel=1e-12)
    assert sketch.tvar(p) == pytest.approx(cvar, rel=1e-9)
    assert sketch.mean() == pytest.approx(losses.mean(), rel=1e-12)
    assert sketch.standard_error() == pytest.approx(losses.std(ddof=1) / math.sqrt(losses.size), rel=1e-9)


def test_sketch_within_bin_width_when_bins_are_shared():
    losses = np.random.default_rng(2).lognormal(10, 0.3, 400_000)
    sketch = LossSketch.from_losses(losses)
    for p in (0.9, 0.99, 0.999):
        var, cvar = empirical(losses, p)
        assert abs(sketch.quantile(p) / var - 1) <= GROWTH - 1
        assert abs(sketch.tvar(p) / cvar - 1) <= GROWTH - 1


def test_cvar_of_exponential_within_standard_errors():
    """Exponential(1): VaR_p = -ln(1 - p), CVaR_p = VaR_p + 1. Tolerances from the
    estimators' asymptotic standard errors."""
    n, p = 200_000, 0.99
    sketch = LossSketch.from_losses(np.random.default_rng(3).exponential(1e9, n) + 0.0)
    var, cvar = -math.log(1 - p), -math.log(1 - p) + 1
    se_var = math.sqrt(p * (1 - p) / n) / (1 - p)  # density at the quantile is 1 - p
    excess_var = 2 * (1 - p) - (1 - p) ** 2  # Var[(L - VaR)+] for Exp(1)
    se_cvar = math.sqrt(excess_var / n) / (1 - p) + se_var
    assert abs(sketch.quantile(p) / 1e9 - var) < 4 * se_var
    assert abs(sketch.tvar(p) / 1e9 - cvar) < 4 * se_cvar


@settings(max_examples=50, deadline=None)
@given(st.lists(st.floats(min_value=0, max_value=1e15, allow_nan=False), min_size=1, max_size=300))
def test_exceedance_curve_is_monotone(values):
    sketch = LossSketch.from_losses(np.array(values))
    losses, prob = sketch.exceedance()
    assert np.all(np.diff(losses) >= 0)
    assert np.all(np.diff(prob) <= 0)
    assert prob[0] == 1.0 and np.all(prob > 0)
    assert sketch.tvar(0.9) >= sketch.quantile(0.9) >= 0


def test_moments_in_chunks_match_numpy_and_do_not_depend_on_the_chunks():
    values = np.random.default_rng(4).gamma(0.5, 1e10, (5000, 3))
    whole, chunked = LossSketch.from_losses(values), LossSketch(3)
    for chunk in np.array_split(values, 7):
        chunked.add(chunk)
    assert np.array_equal(whole.moments, chunked.moments) and np.array_equal(whole.sums, chunked.sums)
    for j in range(3):
        assert chunked.mean(j) == pytest.approx(values[:, j].mean(), rel=1e-12)
        assert chunked.standard_error(j) == pytest.approx(values[:, j].std(ddof=1) / math.sqrt(5000), rel=1e-10)


@pytest.mark.parametrize("tail_p,shape", [(0.0, 0.0), (0.05, 0.0), (0.05, 0.5), (0.2, 0.9)])
def test_spliced_loss_ratio_is_the_inverse_cdf(tail_p, shape):
    """Probability integral transform: CDF(loss_ratio(z)) = Phi(z) for the spliced
    lognormal-GPD with a continuous density at the splice point."""
    mu, sigma = math.log(1e-4), 1.3
    z_threshold = stats.norm.ppf(1 - tail_p) if tail_p > 0 else math.inf
    threshold = math.exp(mu + sigma * z_threshold) if tail_p > 0 else math.inf
    scale = tail_p / stats.lognorm.pdf(threshold, sigma, scale=math.exp(mu)) if tail_p > 0 else 1.0

    def cdf(x: float) -> float:
        if x < threshold:
            return stats.norm.cdf((math.log(x) - mu) / sigma)
        return 1 - tail_p + tail_p * stats.genpareto.cdf(x - threshold, shape, scale=scale)

    for z in np.linspace(-4, 3.5, 40):
        x = loss_ratio(z, mu, sigma, tail_p, shape, threshold, scale, z_threshold)
        if x < 1.0:  # the ratio is capped at a year's revenue
            assert cdf(x) == pytest.approx(stats.norm.cdf(z), rel=1e-9, abs=1e-12)


def test_fn_curve_and_acceptability_classes():
    rule = Acceptability(
        fn_constant=1e3, fn_exponent=1.0, fn_min_persons=10, cvar_level=0.9, cvar_max=100.0, assumption="test"
    )
    counts = np.zeros(FN_BINS, dtype=np.int64)
    counts[2 * FN_BINS_PER_DECADE] = 5  # five events of 100 persons in 100 years
    persons, frequency = fn_curve(counts, 100)
    assert frequency[0] == 0.05 and frequency[2 * FN_BINS_PER_DECADE] == 0.05 and frequency[-1] == 0.0
    assert persons[2 * FN_BINS_PER_DECADE] == pytest.approx(100.0)
    # F(100) = 0.05 is below the broadly acceptable line 0.01 * 1e3 / N (0.098 at the bin's top)
    assert acceptability(LossSketch.from_losses(np.full(100, 0.5)), 0, counts, rule) == "broadly_acceptable"
    assert acceptability(LossSketch.from_losses(np.full(100, 50.0)), 0, counts, rule) == "tolerable"
    assert acceptability(LossSketch.from_losses(np.full(100, 500.0)), 0, counts, rule) == "unacceptable"
    counts[2 * FN_BINS_PER_DECADE] = 2000  # 20 a year with 100 persons, above 1e3 / N
    assert acceptability(LossSketch.from_losses(np.full(100, 0.5)), 0, counts, rule) == "unacceptable"


def test_checkpoints():
    assert checkpoints(1) == [1]
    assert checkpoints(8) == [1, 2, 4, 8]
    assert checkpoints(10) == [1, 2, 4, 8, 10]
