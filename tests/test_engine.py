"""The Monte Carlo engine against closed forms, and its reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
from numba import njit
from scipy import stats

import riskmodel.engine.simulate as engine
from riskmodel.engine.kernels import draw_beta, draw_only_years, simulate_periods
from riskmodel.engine.simulate import BLOCK_YEARS, KernelInputs, block_rng, simulate
from riskmodel.measures import no_measures, protection
from riskmodel.toy import compound_poisson, lognormal_moments
from riskmodel.world import build_world

OUTPUT = 1e12


def annual_losses(world, years, seed, **kwargs):
    result = simulate(world, years=years, seed=seed, ylt=True, **kwargs)
    ylt = result.ylt
    return result, ylt.pivot(index="year", columns="sector", values="total").to_numpy()


@pytest.mark.parametrize("rate,sigma", [(0.5, 0.5), (3.0, 1.0), (20.0, 1.5)])
def test_compound_poisson_mean_and_variance(rate, sigma):
    """Each sector's annual loss is compound Poisson-lognormal: mean lambda E[X], variance
    lambda E[X^2]. Tolerances: 4 standard errors of the sample mean and variance."""
    world = build_world(compound_poisson(n_sectors=4, rate=rate, median_share=1e-3, sigma=sigma, output=OUTPUT))
    years = 40_000
    _, losses = annual_losses(world, years, seed=5)
    m1, m2 = lognormal_moments(1e-3, sigma)
    m3 = math.exp(3 * math.log(1e-3) + 4.5 * sigma**2)
    m4 = math.exp(4 * math.log(1e-3) + 8 * sigma**2)
    mean, variance = rate * m1 * OUTPUT, rate * m2 * OUTPUT**2
    # central fourth moment of a compound Poisson sum: kappa4 + 3 kappa2^2, kappa_j = lambda E[X^j]
    mu4 = (rate * m4 + 3 * (rate * m2) ** 2) * OUTPUT**4
    se_mean = math.sqrt(variance / years)
    se_var = math.sqrt((mu4 - variance**2) / years)
    assert m3 > 0  # (third moment only enters higher-order terms)
    for column in losses.T:
        assert abs(column.mean() - mean) < 4 * se_mean
        assert abs(column.var(ddof=1) - variance) < 4 * se_var


def test_negative_binomial_counts():
    """Gamma-mixed rates give counts with variance lambda + phi lambda^2."""
    rate, phi, years = 4.0, 0.5, 40_000
    world = build_world(compound_poisson(n_sectors=2, rate=rate, dispersion=phi))
    result = simulate(world, years=years, seed=9, ylt=True)
    counts = result.ylt.pivot(index="year", columns="sector", values="events").to_numpy()
    variance = rate + phi * rate**2
    # Var of the sample variance of a negative binomial: (mu4 - sigma^4) / n, mu4 from its cumulants
    r, p = 1 / phi, 1 / (1 + phi * rate)
    k2 = r * (1 - p) / p**2
    k4 = r * (1 - p) * (p**2 - 6 * p + 6) / p**4
    se_var = math.sqrt((k4 + 3 * k2**2 - k2**2) / years)
    for column in counts.T:
        assert abs(column.mean() - rate) < 4 * math.sqrt(variance / years)
        assert abs(column.var(ddof=1) - variance) < 4 * se_var


def test_threads_do_not_change_results(japan):
    years = 2 * BLOCK_YEARS + 100
    one = simulate(japan, years=years, seed=3, threads=1, ylt=True)
    two = simulate(japan, years=years, seed=3, threads=2, ylt=True)
    assert one.summary() == two.summary()
    assert one.ylt.equals(two.ylt)
    other = simulate(japan, years=years, seed=4)
    assert other.summary() != one.summary()


def test_chunking_does_not_change_results(japan, monkeypatch):
    years = 3 * BLOCK_YEARS
    reference = simulate(japan, years=years, seed=2)
    monkeypatch.setattr(engine, "CHUNK_BLOCKS", 1)
    chunked = simulate(japan, years=years, seed=2)
    assert chunked.summary() == reference.summary()
    assert chunked.convergence.equals(reference.convergence)


def test_floor_draws_the_engines_random_numbers(japan):
    """The benchmark's RNG floor consumes exactly the engine's stream (same state after)."""
    inputs = KernelInputs.build(japan, protection(japan, no_measures(japan)))
    n, s = 200, japan.n_sectors
    engine_rng, floor_rng = block_rng(1, 0), block_rng(1, 0)
    simulate_periods(
        engine_rng, 1.0, n, 0, inputs.ops, inputs.sect, inputs.thr, inputs.casc, np.zeros((n, s, 4)),
        np.zeros((n, s + 1)), np.zeros((n, s), np.int64), np.zeros((s + 1, 1000), np.int64),
        np.zeros((0, 7), np.int64), np.zeros((0, 7)),
    )  # fmt: skip
    draw_only_years(floor_rng, n, inputs.ops, inputs.sect, inputs.thr)
    assert engine_rng.bit_generator.state == floor_rng.bit_generator.state


def test_event_table_adds_up_to_year_table(japan_run):
    elt, ylt = japan_run.elt, japan_run.ylt
    by_year = elt.groupby(["year", "sector"])[["direct", "users", "economy", "economy_external"]].sum()
    merged = ylt.set_index(["year", "sector"]).join(by_year.add_suffix("_elt")).fillna(0.0)
    for layer in ("direct", "users", "economy", "economy_external"):
        assert np.allclose(merged[layer], merged[f"{layer}_elt"], rtol=1e-9, atol=1e-3)
    counts = elt.groupby(["year", "sector"]).size()
    assert (ylt.set_index(["year", "sector"])["events"].sub(counts, fill_value=0) == 0).all()
    assert elt["day"].between(0, 364).all()


def test_layers_and_totals_are_consistent(japan_run):
    ylt = japan_run.ylt
    assert (ylt[["direct", "users", "economy", "economy_external", "total"]] >= 0).all().all()
    assert np.allclose(ylt.total, ylt.direct + ylt.users + ylt.economy)
    assert (ylt.economy_external <= ylt.economy * (1 + 1e-12)).all()
    summary = japan_run.summary()
    assert summary["total"]["aal"] == pytest.approx(ylt.groupby("year").total.sum().mean(), rel=1e-9)
    layers = sum(summary["layers"].values())
    assert layers == pytest.approx(summary["total"]["aal"], rel=1e-9)


def test_convergence_table(japan_run):
    table = japan_run.convergence
    assert list(table.years) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2000]
    assert table.aal.iloc[-1] == pytest.approx(japan_run.summary()["total"]["aal"])
    assert (table.aal_se.iloc[1:] > 0).all()


def test_default_scenario_reproduces_sector_rates(japan_run, japan):
    """Failures per sector-year match the scenario's rates (plus disaster hits), within 4 SE."""
    counts = japan_run.ylt.pivot(index="year", columns="sector", values="events")
    for s in np.flatnonzero(japan.critical):
        expected = japan.sector_rate[s].sum()
        observed = counts[japan.sector_ids[s]]
        disasters = observed.mean() - expected
        assert disasters >= -4 * observed.std() / math.sqrt(len(observed))


@njit
def _beta_sample(rng, alpha: float, beta: float, n: int) -> np.ndarray:
    out = np.empty(n)
    for i in range(n):
        out[i] = draw_beta(rng, alpha, beta)
    return out


@pytest.mark.parametrize("alpha,beta", [(1.0, 4.0), (1.0, 1.0), (3.0, 1.0), (2.0, 5.0), (1.5, 4.0), (0.5, 0.7)])
def test_depth_draws_are_beta(alpha, beta):
    """Kolmogorov-Smirnov against scipy's Beta: the statistic stays below its 0.1% critical
    value (1.95 / sqrt(n)) for the fast exact sampler."""
    n = 100_000
    sample = _beta_sample(np.random.default_rng(12), alpha, beta, n)
    assert stats.kstest(sample, stats.beta(alpha, beta).cdf).statistic < 1.95 / math.sqrt(n)
