"""The Monte Carlo engine against closed forms, and its reproducibility."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

import riskmodel.engine.simulate as engine
from riskmodel.engine.inputs import KernelInputs
from riskmodel.engine.kernels import DISASTER, LAYERS, cascade_hourly, draw_only_years, simulate_periods
from riskmodel.engine.keyed import beta_quantile_table, table_quantile
from riskmodel.engine.simulate import BLOCK_YEARS, engine_key, simulate
from riskmodel.measures import no_measures, protection
from riskmodel.toy import compound_poisson, lognormal_moments
from riskmodel.world import build_world

OUTPUT = 1e12


def annual_losses(world, years, seed, **kwargs):
    result = simulate(world, years=years, seed=seed, ylt=True, **kwargs)
    ylt = result.ylt
    return result, ylt.pivot(index="year", columns="sector", values="total").to_numpy()


@pytest.mark.parametrize("rate,sigma,median", [(0.5, 0.5, 1e-3), (3.0, 1.0, 1e-3), (20.0, 1.5, 1e-4)])
def test_compound_poisson_mean_and_variance(rate, sigma, median):
    """Each sector's annual loss is compound Poisson-lognormal: mean lambda E[X], variance
    lambda E[X^2]. Tolerances: 4 standard errors of the sample mean and variance."""
    # medians low enough that the cap at a year's revenue removes < 0.1% of E[X^2]
    world = build_world(compound_poisson(n_sectors=4, rate=rate, median_share=median, sigma=sigma, output=OUTPUT))
    years = 40_000
    _, losses = annual_losses(world, years, seed=5)
    m1, m2 = lognormal_moments(median, sigma)
    m4 = math.exp(4 * math.log(median) + 8 * sigma**2)
    mean, variance = rate * m1 * OUTPUT, rate * m2 * OUTPUT**2
    # central fourth moment of a compound Poisson sum: kappa4 + 3 kappa2^2, kappa_j = lambda E[X^j]
    mu4 = (rate * m4 + 3 * (rate * m2) ** 2) * OUTPUT**4
    se_mean = math.sqrt(variance / years)
    se_var = math.sqrt((mu4 - variance**2) / years)
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


@pytest.mark.parametrize("measures", [False, True])
def test_floor_draws_the_engines_random_numbers(japan, measures):
    """The benchmark's RNG floor draws the engine's events: as many kept events as the
    engine writes to its event table, with no measures and with measures thinning events."""
    in_place = no_measures(japan)
    if measures:
        in_place[::2, :] = True
    inputs = KernelInputs.build(japan, protection(japan, in_place))
    n, s, first = 200, japan.n_sectors, 5 * BLOCK_YEARS
    elt_i, elt_f = np.zeros((1000 * n, 7), np.int64), np.zeros((1000 * n, 7))
    rows = simulate_periods(
        engine_key(1), 1.0, n, first, inputs.ops, inputs.sect, inputs.thr, inputs.casc, np.zeros((n, s, len(LAYERS))),
        np.zeros((n, s + 1)), np.zeros((n, s), np.int64), np.zeros((s + 1, 1000), np.int64), elt_i, elt_f,
    )  # fmt: skip
    _, kept = draw_only_years(engine_key(1), n, first, inputs.ops, inputs.sect, inputs.thr)
    assert rows > 0 and kept == rows
    assert elt_i[:rows, 0].min() >= first


def test_event_table_adds_up_to_year_table(japan_run):
    elt, ylt = japan_run.elt, japan_run.ylt
    by_year = elt.groupby(["year", "sector"])[list(LAYERS)].sum()
    merged = ylt.set_index(["year", "sector"]).join(by_year.add_suffix("_elt")).fillna(0.0)
    for layer in LAYERS:
        assert np.allclose(merged[layer], merged[f"{layer}_elt"], rtol=1e-9, atol=1e-3)
    counts = elt.groupby(["year", "sector"]).size()
    assert (ylt.set_index(["year", "sector"])["events"].sub(counts, fill_value=0) == 0).all()
    assert elt["day"].between(0, 364).all()


def test_layers_and_totals_are_consistent(japan_run):
    ylt = japan_run.ylt
    assert (ylt[[*LAYERS, "external", "total"]] >= 0).all().all()
    assert np.allclose(ylt.total, ylt.own + ylt.users + ylt.others)
    assert np.allclose(ylt.external, ylt.users + ylt.others)
    summary = japan_run.summary()
    assert summary["total"]["aal"] == pytest.approx(ylt.groupby("year").total.sum().mean(), rel=1e-9)
    layers = sum(summary["layers"].values())
    assert layers == pytest.approx(summary["total"]["aal"], rel=1e-9)


def test_convergence_table(japan_run):
    table = japan_run.convergence
    assert list(table.years) == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2000]
    assert table.aal.iloc[-1] == pytest.approx(japan_run.summary()["total"]["aal"])
    assert (table.aal_se.iloc[1:] > 0).all()


def test_default_scenario_reproduces_failure_counts(japan_run, japan):
    """Failures per sector-year equal the sector's rates (each shared group's failure, a
    share p_g of a threat's, taking its M_g members down: rate x (1 - sum p_g + sum p_g
    M_g)) plus the expected
    disaster hits (sum over areas of rate x hit probability x exposure x operators there),
    within 4 SE."""
    counts = japan_run.ylt.pivot(index="year", columns="sector", values="events")
    threats, ops = japan.threats, japan.operators
    disaster = [h for h, kind in enumerate(threats.kind) if kind == DISASTER]
    for s in np.flatnonzero(japan.critical):
        in_region = np.bincount(ops.region[ops.sector == s], minlength=len(japan.region_ids))
        hits = sum(
            (threats.regional_rate[h] * in_region).sum() * threats.hit_probability[h] * japan.exposure[s, DISASTER]
            for h in disaster
        )
        groups = japan.shared
        sizes = np.diff(groups.member_first)
        down = 1 - groups.sector_share(japan.n_sectors)[s]  # operators down per failure, by threat
        for g in range(groups.first[s], groups.first[s + 1]):
            down = down + groups.share[g] * sizes[g]
        expected = (japan.sector_rate[s] * down).sum() + hits
        observed = counts[japan.sector_ids[s]]
        assert abs(observed.mean() - expected) < 4 * observed.std() / math.sqrt(len(observed))


@pytest.mark.parametrize("alpha,beta", [(1.0, 4.0), (1.0, 1.0), (3.0, 1.0), (2.0, 5.0), (1.5, 4.0), (0.5, 0.7)])
def test_depth_draws_are_beta(alpha, beta):
    """Depths are quantiles interpolated in a table of Beta quantiles: Kolmogorov-Smirnov
    against scipy's Beta stays below its 0.1% critical value (1.95 / sqrt(n)); the table's
    own error (under 1/4096 in the CDF) is far below it."""
    n = 100_000
    table = beta_quantile_table(np.array([alpha]), np.array([beta]))
    uniforms = np.random.default_rng(12).random(n)
    sample = np.array([table_quantile(table, 0, u) for u in uniforms])
    assert stats.kstest(sample, stats.beta(alpha, beta).cdf).statistic < 1.95 / math.sqrt(n)


def test_users_layer_closed_form():
    """Users' loss of a continuous service: rate x users x E[depth] x E[duration] x value of
    time, with Beta(1, 1) depth (mean 1/2) and lognormal duration (median 1 h, sigma 1)."""
    years, rate, vot = 20_000, 3.0, 500.0
    world = build_world(compound_poisson(n_sectors=2, rate=rate, value_of_time=vot))
    result = simulate(world, years=years, seed=21, ylt=True)
    users = result.ylt.pivot(index="year", columns="sector", values="users").to_numpy()
    expected = rate * 1000.0 * 0.5 * math.exp(0.5) * vot
    for column in users.T:
        assert abs(column.mean() - expected) < 4 * column.std(ddof=1) / math.sqrt(years)


def test_single_failures_others_loss_is_the_closed_form(japan_run, japan):
    """Where the clip cannot bind, the value added a failure costs others is
    v' ((I - A*)^-1 - I) c* D: the cascade's lost value added less the failing operator's
    own lost output (``v_n c* D``, which its own layer holds)."""
    elt = japan_run.elt
    single = elt[~elt.threat.isin(["earthquake", "typhoon_flood"])]
    ops, cas = japan.operators, japan.cascade
    o = single.operator.to_numpy()
    shock = single.depth.to_numpy() * ops.node_share[o] * japan.cascade_share[ops.sector[o]]
    node = ops.node[o]
    dose = shock * single.duration_hours.to_numpy()
    assert (shock * cas.clip_bound[node] <= 1).all()
    everyone = cas.value_added @ cas.leontief[:, node]
    assert np.allclose(single.others, (everyone - cas.value_added[node]) * dose, rtol=1e-9, atol=1e-6)


def test_clipped_cascade_matches_brute_force():
    """A toy whose failures drive the cascade into the clip: each event's lost value added
    equals a dense, clipped DIIM stepped hour by hour until it has recovered, and others
    bear their linear share of it (v' (S - I) over v' S)."""
    matrix = [[0.5, 0.4, 0.0], [0.4, 0.5, 0.0], [0.0, 0.0, 0.0]]
    world = build_world(compound_poisson(n_sectors=2, rate=0.5, cascade_share=1.0, depth=(50.0, 1.0), matrix=matrix))
    elt = simulate(world, years=200, seed=7, elt=True).elt
    cas = world.cascade
    assert (elt.depth * cas.clip_bound[world.operators.node[elt.operator]] > 1).mean() > 0.5
    clipped = 0
    for row in elt.head(30).itertuples():
        node = world.operators.node[row.operator]
        q, total = np.zeros(cas.n_nodes), np.zeros(cas.n_nodes)
        for t in range(5000):
            c = np.zeros(cas.n_nodes)
            c[node] = row.depth * min(1.0, max(0.0, row.duration_hours - t))
            total += q
            q = np.clip(q + cas.k * (cas.regional @ q + c - q), 0.0, 1.0)
        lost = cas.value_added @ total
        share = 1.0 - cas.value_added[node] / (cas.value_added @ cas.leontief[:, node])
        assert row.others == pytest.approx(share * lost, rel=1e-6)
        by_sector = np.zeros(cas.n_sectors)
        cascade_hourly(
            np.array([node]), np.array([row.depth]), np.array([row.duration_hours]), 1, cas.local, cas.spread,
            cas.region_weight, cas.k, cas.value_added, cas.sector_va_weight, cas.leontief, by_sector,
        )  # fmt: skip
        assert by_sector.sum() == pytest.approx(lost, rel=1e-6)
        linear = cas.others_weight[node] * row.depth * row.duration_hours
        assert row.others <= linear * (1 + 1e-12)
        clipped += row.others < linear * (1 - 1e-6)
    assert clipped >= 3  # the clip did bind, and lowered the loss


def test_pipelined_threads_and_elt_reruns_change_nothing(japan, monkeypatch):
    """Several chunks on two threads (the next chunk running while the last is folded),
    with event-table buffers so small that blocks rerun, give the single-thread results."""
    years = 3 * BLOCK_YEARS + 17
    reference = simulate(japan, years=years, seed=8, elt=True)
    monkeypatch.setattr(engine, "CHUNK_BLOCKS", 1)
    monkeypatch.setattr(engine, "ELT_HEADROOM", 0.01)
    piped = simulate(japan, years=years, seed=8, threads=2, elt=True)
    assert piped.summary() == reference.summary()
    assert piped.convergence.equals(reference.convergence)
    assert piped.elt.equals(reference.elt)


def test_durations_are_lognormal_per_sector_and_threat(japan_run, japan):
    """log duration ~ N(log(median x sector scale), sigma): the mean log-duration of software
    faults differs between aviation (scale 2) and gas (scale 1) by log 2, within 4 SE."""
    elt = japan_run.elt
    h = japan.threat_ids.index("software_fault")
    sigma = japan.threats.duration_sigma[h]
    logs = {
        s: np.log(elt.duration_hours[(elt.threat == "software_fault") & (elt.sector == s)]) for s in ("aviation", "gas")
    }
    gap = logs["aviation"].mean() - logs["gas"].mean()
    scale = (
        japan.duration_scale[japan.sector_ids.index("aviation")] / japan.duration_scale[japan.sector_ids.index("gas")]
    )
    se = sigma * math.sqrt(1 / len(logs["aviation"]) + 1 / len(logs["gas"]))
    assert abs(gap - math.log(scale)) < 4 * se
    assert abs(logs["gas"].mean() - japan.threats.duration_mu[h]) < 4 * sigma / math.sqrt(len(logs["gas"]))
