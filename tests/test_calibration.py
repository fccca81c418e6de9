"""Calibration to incident data: the data format, the observation model, the fits (known
answers), the predictive check, the calibrated scenario and bad data files."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy.stats import gamma, lognorm
from typer.testing import CliRunner

from riskmodel.calibration import frequency
from riskmodel.calibration.check import predictive_check, reported_events
from riskmodel.calibration.fit import calibrate, posterior_draws, reported_counts
from riskmodel.calibration.frequency import RatePosterior, coverage_grid, rate_posteriors
from riskmodel.calibration.model import CalibrationModel
from riskmodel.calibration.observation import ReportingFilter, major_share, read_targets, reportable_rates
from riskmodel.calibration.severity import DurationData, fit_durations, log_likelihood
from riskmodel.calibration.write import calibrated_scenario
from riskmodel.cli import app
from riskmodel.errors import InputError
from riskmodel.incidents import read_incident_data
from riskmodel.overrides import Override
from riskmodel.scenario import load_scenario, packaged_file
from riskmodel.schema import SHARED_GROUPS
from riskmodel.world import World, load_world, with_overrides

HEADER = "date,sector,threat_kind,duration_hours_low,duration_hours_high,persons_affected,source\n"


@pytest.fixture(scope="module")
def world():
    return load_world()


@pytest.fixture(scope="module")
def calibration(world):
    return calibrate(world, n_draws=40, seed=0)


def tiny_model(mu: tuple[float, ...], sigma: tuple[float, ...], rate: tuple[float, ...]) -> CalibrationModel:
    """One sector, unintentional threats only, operator shares even."""
    n = len(mu)
    return CalibrationModel(
        sectors=["finance"], threats=[f"t{i}" for i in range(n)], kind_of=np.ones(n, dtype=np.int64),
        rate=np.array([rate], dtype=float), mu=np.array(mu), sigma=np.array(sigma), log_scale=np.zeros(1),
        exposure=np.ones((1, 3)), shares=[np.full(4, 0.25)],
    )  # fmt: skip


# --- the data format -------------------------------------------------------------------


def test_default_data_read_with_years_and_filter(world):
    targets = read_targets()
    data = read_incident_data(packaged_file("incidents_press_2003_2020.csv"), world.critical_ids, targets.filter_ids)
    assert len(data) == 13
    assert (data["observation"] == "press").all()
    assert data.loc[data["date"] == "2007-05-27", "persons_affected"].item() == 69300
    assert math.isnan(data.loc[data["date"] == "2003-11", "duration_hours_low"].item())  # empty is unknown, not 0


@pytest.mark.parametrize(
    ("text", "field", "expected"),
    [
        ("", "columns", "a header row"),
        (HEADER, "rows", "at least one incident"),
        ("date,sector\n2005,finance\n", "columns", "the columns"),
        (HEADER + "2005-11-01,banking,unintentional,1,2,,x\n", "line 2, sector", "a critical sector"),
        (HEADER + "1890-01-01,finance,unintentional,1,2,,x\n", "line 2, date", "a date from 1950"),
        (HEADER + "2005-13-01,finance,unintentional,1,2,,x\n", "line 2, date", "a date YYYY"),
        (HEADER + "2005,finance,unintentional,-1,2,,x\n", "line 2, duration_hours_low", "from 0 to"),
        (HEADER + "2005,finance,unintentional,3,2,,x\n", "line 2, duration_hours_low", "at most"),
        (HEADER + "2005,finance,unintentional,1,2,-5,x\n", "line 2, persons_affected", "from 0 to"),
        (HEADER + "2005,finance,accident,1,2,,x\n", "line 2, threat_kind", "one of"),
        (
            HEADER.replace(",source", ",source,persons_measure") + "2005,finance,unintentional,1,2,6,x,victims\n",
            "line 2, persons_measure",
            "one of reach, consequence",
        ),
    ],
)
def test_bad_data_one_line_exit_2(tmp_path: Path, text: str, field: str, expected: str):
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    result = CliRunner().invoke(app, ["calibrate", "fit", str(path), "--out", str(tmp_path / "o"), "--draws", "1",
                                      "--check-years", "0"])  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(f"error: {path}: {field}:") and expected in lines[0]
    assert not (tmp_path / "o").exists()


def test_duration_below_the_reporting_threshold_is_bad_data(tmp_path: Path, world):
    path = tmp_path / "short.csv"
    path.write_text(HEADER + "2005,finance,unintentional,0.2,0.5,,x\n2006,finance,unintentional,2,2,,x\n")
    with pytest.raises(InputError, match="reporting threshold"):
        calibrate(world, path, n_draws=1)


# --- the observation model -------------------------------------------------------------


def without_shared_groups(world: World) -> World:
    """``world`` with every shared system's and shared contractor's share at 0."""
    changes = [
        Override(f"sectors[id={sector.id}].{name}.share", 0.0)
        for sector in world.scenario.sectors
        for name in SHARED_GROUPS
        if getattr(sector, name) is not None
    ]
    return with_overrides(world, changes)


@pytest.mark.parametrize("shared", [False, True])
def test_reported_rates_match_the_engine(world, shared):
    """The closed-form rate of failures passing the filter (threshold, major operator) is
    the engine's: simulated counts agree within 4 standard errors (from the years' spread),
    with the default's shared systems and contractors (a group's failure passes on its
    members' summed share) and without them."""
    world = world if shared else without_shared_groups(world)
    f = ReportingFilter("t", ("unintentional", "cyber"), 2.0, 0.05, (1.0, 1.0), 2000, 2000, "test")
    model = CalibrationModel.of(world)
    rates = reportable_rates(model.rate, model.mu, model.sigma, model.log_scale, model.shares, model.groups,
                             model.kind_of, f)  # fmt: skip
    years = 300
    events = reported_events(world, f, years, seed=11)
    kind = {
        t: "cyber" if k == 0 else "unintentional" for t, k in zip(world.threat_ids, world.threats.kind, strict=True)
    }
    for name in f.kinds:
        per_year = events[events["threat"].map(kind) == name].groupby("year").size().reindex(range(years), fill_value=0)
        se = per_year.std(ddof=1) / math.sqrt(years)
        assert abs(per_year.mean() - rates[name].sum()) < 4 * se, name


def test_major_share_sums_the_shares_of_large_operators():
    shares = [np.array([0.5, 0.3, 0.15, 0.05]), np.array([0.02] * 50)]
    assert major_share(shares, [], 1, 0.1)[:, 0].tolist() == pytest.approx([0.95, 0.0])
    assert major_share(shares, [], 1, 0.0)[:, 0].tolist() == pytest.approx([1.0, 1.0])


def test_a_shared_group_passes_on_its_members_summed_share():
    """Sector 1: 50 operators of 2% each, none major at 10%; a group of 10 of them (20%)
    takes 30% of threat 0's failures and none of threat 1's: 0.3 of threat 0's failures
    pass, and the other 70% strike one small operator. Sector 0 is untouched."""
    shares = [np.array([0.5, 0.3, 0.15, 0.05]), np.array([0.02] * 50)]
    q = major_share(shares, [(1, np.array([0.3, 0.0]), 0.2)], 2, 0.1)
    np.testing.assert_allclose(q, [[0.95, 0.95], [0.3, 0.0]])
    small = major_share(shares, [(1, np.array([0.3, 0.0]), 0.04)], 2, 0.1)  # a group below the bar
    np.testing.assert_allclose(small[1], [0.0, 0.0])


# --- severities ------------------------------------------------------------------------


def test_likelihood_is_the_truncated_lognormal_mixture():
    """Against scipy's lognormal: a mixture of two threats, truncated at 1 h, for an exact
    figure (density) and a range (probability)."""
    model = tiny_model((math.log(2.0), math.log(5.0)), (1.0, 0.7), (3.0, 1.0))
    delta, kappa, t = 0.3, 1.4, 1.0
    dists = [lognorm(s=sg * kappa, scale=math.exp(m + delta)) for m, sg in zip(model.mu, model.sigma, strict=True)]
    w = np.array([3.0, 1.0]) / 4
    tail = sum(wi * d.sf(t) for wi, d in zip(w, dists, strict=True))
    exact = sum(wi * d.pdf(4.5) for wi, d in zip(w, dists, strict=True)) / tail
    ranged = sum(wi * (d.cdf(6.0) - d.cdf(3.0)) for wi, d in zip(w, dists, strict=True)) / tail
    data = DurationData("unintentional", np.zeros(2, dtype=np.int64), np.full(2, t), np.array([4.5, 3.0]),
                        np.array([4.5, 6.0]))  # fmt: skip
    assert log_likelihood(delta, kappa, data, model) == pytest.approx(math.log(exact) + math.log(ranged), rel=1e-10)


def test_truncated_fit_recovers_known_parameters():
    """1,500 durations of one threat drawn above a 2 h threshold: the estimates are within
    4 asymptotic standard errors of the truth and the profile intervals hold it."""
    model = tiny_model((math.log(1.5),), (1.2,), (1.0,))
    delta, kappa, t = 0.4, 1.3, 2.0
    dist = lognorm(s=1.2 * kappa, scale=1.5 * math.exp(delta))
    rng = np.random.default_rng(5)
    u = rng.uniform(dist.cdf(t), 1.0, 1500)
    d = dist.ppf(u)
    data = DurationData("unintentional", np.zeros(d.size, dtype=np.int64), np.full(d.size, t), d, d)
    fit = fit_durations(data, model)
    assert fit.delta_interval[0] < delta < fit.delta_interval[1]
    assert fit.kappa_interval[0] < kappa < fit.kappa_interval[1]
    # the interval's half-width is 1.645 SE: the estimate lies within 4 SE of the truth
    assert abs(fit.delta - delta) < 4 * (fit.delta_interval[1] - fit.delta_interval[0]) / (2 * 1.645)


# --- frequencies -----------------------------------------------------------------------


def test_rate_posterior_of_one_cell_is_the_conjugate_gamma():
    """With (mu, alpha) known the posterior is Gamma(alpha + n, alpha / mu + E): its mean and
    quantiles are scipy's."""
    n, e, mu, alpha = np.array([3.0, 0.0]), np.array([20.0, 5.0]), 0.2, 4.0
    post = RatePosterior(np.array([mu]), np.array([alpha]), np.zeros(1, dtype=np.int64), np.ones(1), np.ones(1), n,
                         e[None, :], np.ones(1))  # fmt: skip
    shape, rate = alpha + n, alpha / mu + e
    assert post.mean() == pytest.approx(shape / rate)
    low, high = post.interval(0.9)
    assert low == pytest.approx(gamma.ppf(0.05, shape, scale=1 / rate), rel=1e-8)
    assert high == pytest.approx(gamma.ppf(0.95, shape, scale=1 / rate), rel=1e-8)


def test_partial_pooling_pulls_thin_sectors_toward_the_common_factor():
    """Five sectors with much data at a factor 0.1, one with little data at a factor near
    1: its estimate lies between its own n/E and the others', and its interval is wider."""
    e = np.array([400.0, 400.0, 400.0, 400.0, 400.0, 2.0])
    n = np.array([40, 42, 38, 41, 39, 2])
    post = rate_posteriors({"k": n}, {"k": e[None, :]}, coverage_grid(1.0, 1.0))["k"]
    mean = post.mean()
    assert mean[:5] == pytest.approx(n[:5] / e[:5], rel=0.1)
    assert 0.1 < mean[5] < 1.0
    low, high = post.interval()
    assert (high[5] - low[5]) > 1.5 * (high[0] - low[0])


# --- an uncertain coverage ------------------------------------------------------------


def test_coverage_grid_is_the_log_uniform_prior():
    """Midpoint nodes of equal steps in log c (at most 0.1), equal weights: the mean of
    1/c is the log-uniform's (1/low - 1/high) / log(high / low) within the midpoint rule's
    error, h^2/24 of it (h = log 4 / 14: 4e-4)."""
    nodes, weight = coverage_grid(0.25, 1.0)
    assert nodes.size == 14 and weight.sum() == pytest.approx(1.0)
    assert np.diff(np.log(nodes)) == pytest.approx(np.full(13, math.log(4) / 14))
    assert weight @ (1 / nodes) == pytest.approx(3 / math.log(4), rel=(math.log(4) / 14) ** 2 / 24 * 1.01)
    assert coverage_grid(0.4, 0.4)[0].tolist() == [0.4]
    assert coverage_grid(0.5, 0.51)[0].size == 2  # a narrow range is still a range


@pytest.fixture
def flat_mu_prior(monkeypatch):
    """The rate grid with a flat prior on log mu (alpha as before): the prior no longer
    favours any coverage, so (see the test) the answers are exact."""
    mu, alpha, _ = frequency.GRID
    monkeypatch.setattr(frequency, "GRID", (mu, alpha, np.full(mu.size, 1.0 / mu.size)))


def test_coverage_integrates_out_exactly_under_a_flat_rate_prior(flat_mu_prior):
    """With log mu flat, (mu, c) -> (rho = mu c, c) leaves the prior flat in log rho and
    the likelihood depends on rho only, so the posterior factorises: the coverage keeps its
    prior, the reported factor r = c m keeps the posterior it has at coverage 1, and the
    true factor m = r / c has mean E[r] E[1/c], E[1/c] = 3 / log 4 for c log-uniform on
    [0.25, 1]. On the grid, sums over log mu (step h = 0.1) of the likelihood, smooth in
    log rho, are shift-invariant up to its Fourier coefficient at 2 pi / h: for Poisson
    counts about |Gamma(N + i 2 pi / h)| / Gamma(N), 1e-10 at N = 19, more with the small
    alphas' wider marginals (1e-7 measured): margin 1e-6. The coverage's midpoint rule is
    off by h^2/24 = 4e-4 of E[1/c] (tested against the closed form with that margin)."""
    n, e = np.array([5.0, 8.0, 6.0]), np.array([10.0, 12.0, 9.0])
    known = rate_posteriors({"k": n}, {"k": e[None, :]}, coverage_grid(1.0, 1.0))["k"]
    nodes, prior = coverage_grid(0.25, 1.0)
    ranged = rate_posteriors({"k": n}, {"k": nodes[:, None] * e[None, :]}, (nodes, prior))["k"]
    assert ranged.node_weight() == pytest.approx(prior, rel=1e-6)
    shape, rate = ranged._gamma()
    reported = (ranged.weight[:, None] * nodes[ranged.node][:, None] * shape / rate).sum(axis=0)
    assert reported == pytest.approx(known.mean(), rel=1e-6)
    assert ranged.mean() == pytest.approx(known.mean() * (prior @ (1 / nodes)), rel=1e-6)
    assert ranged.mean() == pytest.approx(known.mean() * 3 / math.log(4), rel=5e-4)
    mean, low, high = ranged.coverage_summary(0.9)  # the prior's quantiles 0.25 * 4^0.05, 0.25 * 4^0.95
    assert mean == pytest.approx(prior @ nodes, rel=1e-6)
    assert (low, high) == pytest.approx((0.25 * 4**0.05, 0.25 * 4**0.95), rel=1e-6)
    # the true factor's interval is wider than at a known coverage, on the log scale
    (k_low, k_high), (r_low, r_high) = known.interval(), ranged.interval()
    assert (np.log(r_high / r_low) > np.log(k_high / k_low) + 0.3).all()


def test_draws_take_the_coverage_node_and_the_cell_given_it():
    """40,000 draws (a node from the node posterior, then a cell given it): each sector's
    mean is the posterior's within 4 standard errors (from the draws' spread)."""
    n, e = {"a": np.array([3.0, 0.0]), "b": np.array([1.0, 2.0])}, np.array([6.0, 4.0])
    nodes, prior = coverage_grid(0.25, 1.0)
    posts = rate_posteriors(n, {k: nodes[:, None] * e[None, :] for k in n}, (nodes, prior))
    assert posts["a"].node_weight() == pytest.approx(posts["b"].node_weight())  # one coverage for both kinds
    rng = np.random.default_rng(1)
    picked = rng.choice(nodes.size, size=40_000, p=posts["a"].node_weight())
    for post in posts.values():
        draws = post.draw(rng, picked)
        se = draws.std(axis=0) / math.sqrt(draws.shape[0])
        assert (np.abs(draws.mean(axis=0) - post.mean()) < 4 * se).all()


def _targets_file(tmp_path: Path, coverage: str, extra: str = "") -> Path:
    text = read_targets().path.read_text(encoding="utf-8")
    path = tmp_path / "targets.toml"
    path.write_text(text.replace("coverage = [0.25, 1.0]", f"coverage = {coverage}") + extra, encoding="utf-8")
    return path


def test_known_coverage_is_the_one_point_range(world, tmp_path: Path):
    """coverage = 0.4 and coverage = [0.4, 0.4] give the same fit and draws, with no
    coverage row."""
    fits = []
    for name, coverage in (("number", "0.4"), ("point", "[0.4, 0.4]")):
        (tmp_path / name).mkdir()
        fits.append(calibrate(world, targets_path=_targets_file(tmp_path / name, coverage), n_draws=5, seed=0))
    pd.testing.assert_frame_equal(fits[0].fitted, fits[1].fitted)
    pd.testing.assert_frame_equal(fits[0].draws, fits[1].draws)
    assert "coverage" not in fits[0].fitted["parameter"].tolist()


@pytest.mark.parametrize(
    ("coverage", "extra"),
    [
        ("[1.0, 0.25]", ""),
        ("[0.0, 0.5]", ""),
        ("[0.5, 1.2]", ""),
        ("[0.5]", ""),
        ('"half"', ""),
        ("1.5", ""),
        (
            "[0.25, 1.0]",
            '\n[[filters]]\nid = "other"\nkinds = ["cyber"]\nmin_duration_hours = 1.0\n'
            "min_operator_share = 0.0\ncoverage = [0.5, 1.0]\nfirst_year = 2003\nlast_year = 2008\n"
            'assumption = "test"\n',
        ),
    ],
)
def test_bad_coverage_one_line_exit_2(tmp_path: Path, coverage: str, extra: str):
    path = _targets_file(tmp_path, coverage, extra)
    result = CliRunner().invoke(app, ["calibrate", "fit", "--targets", str(path), "--out", str(tmp_path / "o"),
                                      "--draws", "1", "--check-years", "0"])  # fmt: skip
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    field = "filters" if extra else "filters[0].coverage"
    assert lines[0].startswith(f"error: {path}: {field}:"), lines[0]
    assert not (tmp_path / "o").exists()


# --- the fit on the default data --------------------------------------------------------


def test_default_fit_and_what_it_identifies(calibration):
    fitted = calibration.fitted.set_index(["parameter", "kind", "sector"])
    common = fitted.loc[("common_factor", "unintentional", "")]
    assert common["data"] == 12  # press-reported failures 2003-2008
    assert common["low"] < common["estimate"] < common["high"]
    assert common["identified"]  # the reported rate is pinned by 12 failures
    coverage = fitted.loc[("coverage", "", "")]  # the press filter's range [0.25, 1]: prior-driven
    assert coverage["prior_low"] == pytest.approx(0.25 * 4**0.05) and coverage["prior_high"] == pytest.approx(
        0.25 * 4**0.95
    )
    assert 0.25 <= coverage["low"] < coverage["estimate"] < coverage["high"] <= 1.0
    assert not coverage["identified"] and coverage["width_ratio"] > 0.7
    shift = fitted.loc[("duration_shift", "unintentional", "")]
    assert shift["data"] == 8 and shift["low"] == -math.inf  # truncated data do not bound the median below
    assert not shift["identified"]
    # every calibrated number has a column in the draws, and the draws are finite
    paths = [c for c in calibration.draws.columns if c != "draw"]
    assert "sectors[id=aviation].exposure.unintentional" in paths
    assert "threats[id=software_fault].duration.median_hours" in paths
    assert np.isfinite(calibration.draws[paths].to_numpy()).all()


def test_draws_reproduce_with_the_seed(calibration):
    c = calibration
    n = reported_counts(c.counts, c.model)
    a, b, other = (posterior_draws(c.durations, n, c.model, c.targets, 12, seed) for seed in (3, 3, 4))
    pd.testing.assert_frame_equal(a, b)
    assert not a.equals(other)


def test_calibrated_scenario_says_calibrated_and_loads(world, calibration, tmp_path: Path):
    _, text = calibrated_scenario(world, calibration, "2026-12-02")
    path = tmp_path / "cal.toml"
    path.write_text(text, encoding="utf-8")
    for name in ("japan_io_2011_13sector.csv", "incidents_seed.csv"):
        (tmp_path / name).write_bytes(packaged_file(name).read_bytes())
    loaded = load_scenario(path)
    means = calibration.posterior_mean_overrides()
    aviation = next(s for s in loaded.sectors if s.id == "aviation")
    assert aviation.exposure.unintentional == pytest.approx(means["sectors[id=aviation].exposure.unintentional"])
    assert aviation.exposure.source.startswith("calibrated: ") and "2026-12-02" in aviation.exposure.source
    fault = next(t for t in loaded.threats if t.id == "software_fault")
    assert fault.duration.source.startswith("calibrated: ")
    ddos = next(t for t in loaded.threats if t.id == "ddos")  # durations of cyber threats: no data, unchanged
    assert ddos.duration.source is None or "calibrated" not in ddos.duration.source


# --- the predictive check ---------------------------------------------------------------


def test_predictive_check_flags_figures_outside_the_central_region():
    """Durations 1..100 h, persons 1,000 per hour of outage: a 50 h incident is central, a
    98-100 h one in the top 3%; 2,000 persons in the bottom 2%; 60,000 persons in a 10 h
    outage is central among all failures but impossible among failures of 6.7-15 h."""
    hours = np.arange(1, 101.0)
    predicted = {"press": pd.DataFrame({"sector": ["finance"] * 100, "duration_hours": hours,
                                        "persons": hours * 1000})}  # fmt: skip
    data = pd.DataFrame({"date": ["2005", "2006", "2007", "2008"], "sector": ["finance"] * 4,
                         "event": ["a", "b", "c", "d"], "duration_hours_low": [50.0, 98.0, np.nan, 10.0],
                         "duration_hours_high": [50.0, 100.0, np.nan, 10.0],
                         "persons_affected": [np.nan, np.nan, 2000.0, 60000.0],
                         "persons_measure": ["reach"] * 4, "observation": ["press"] * 4})  # fmt: skip
    check = predictive_check(data, predicted)
    assert check["magnitude"].tolist()[-3:] == ["duration_hours", "persons_affected", "persons_affected | duration"]
    assert check["plausible"].tolist() == [True, False, False, True, True, False]
    assert check.loc[1, "p_above"] == pytest.approx(0.03)  # durations 98, 99, 100 of 100
    assert check.loc[2, "p_below"] == pytest.approx(0.02)
    assert check.loc[5, "p_above"] == 0.0  # durations 7..15 h reach at most 15,000 persons


def test_persons_of_a_consequence_are_not_compared_with_reach():
    """The same incident twice: its persons compared when they count the persons reached,
    left out (its duration still checked) when they count a further consequence."""
    hours = np.arange(1, 101.0)
    predicted = {"press": pd.DataFrame({"sector": ["medical"] * 100, "duration_hours": hours,
                                        "persons": hours * 1000})}  # fmt: skip
    data = pd.DataFrame({"date": ["2004", "2005"], "sector": ["medical"] * 2, "event": ["a", "b"],
                         "duration_hours_low": [10.0, 10.0], "duration_hours_high": [10.0, 10.0],
                         "persons_affected": [6.0, 6.0], "persons_measure": ["reach", "consequence"],
                         "observation": ["press"] * 2})  # fmt: skip
    check = predictive_check(data, predicted)
    assert check["date"].tolist() == ["2004"] * 3 + ["2005"]
    assert check["magnitude"].tolist() == ["duration_hours", "persons_affected", "persons_affected | duration",
                                           "duration_hours"]  # fmt: skip
    assert check["plausible"].tolist() == [True, False, False, True]


def test_default_data_say_what_their_persons_count(world):
    """The organ-transplant program error's 6 patients are a consequence, every other
    figure the persons reached; a file without the column reads as reach."""
    data = read_incident_data(packaged_file("incidents_press_2003_2020.csv"), world.critical_ids, ["press"])
    consequence = data.loc[data["persons_measure"] == "consequence"]
    assert consequence["date"].tolist() == ["2004-01"] and consequence["persons_affected"].tolist() == [6.0]
    assert (data.loc[data["date"] != "2004-01", "persons_measure"] == "reach").all()


def test_calibrate_fit_writes_its_files(tmp_path: Path):
    out = tmp_path / "cal"
    result = CliRunner().invoke(app, ["calibrate", "fit", "--out", str(out), "--draws", "8", "--check-draws", "2",
                                      "--check-years", "100"])  # fmt: skip
    assert result.exit_code == 0, result.output
    for name in ("fitted.csv", "fitted.parquet", "posterior_draws.parquet", "count_targets.csv",
                 "predictive_check.csv", "japan_calibrated.toml", "calibration.json"):  # fmt: skip
        assert (out / name).is_file(), name
    draws = pd.read_parquet(out / "posterior_draws.parquet")
    assert len(draws) == 8 and draws.columns[0] == "draw"
    check = pd.read_csv(out / "predictive_check.csv")
    assert len(check) == 15  # 8 reported durations, 4 persons figures of persons reached, 3 with a duration
    assert load_world(out / "japan_calibrated.toml").name == "japan_calibrated"


def test_calibrate_recover_command(tmp_path: Path):
    out = tmp_path / "rec"
    result = CliRunner().invoke(app, ["calibrate", "recover", "--data-sets", "2", "--years", "5", "--out", str(out)])
    assert result.exit_code == 0, result.output
    table = pd.read_csv(out / "recovery.csv")
    assert (table["data_sets"].isin([2, 20])).all() and table["coverage"].between(0, 1).all()
