"""ABC-SMC calibration (riskmodel.calibration.abc, .agents): recovery of known parameters on a
simulator with a known answer, the stopping rule's coverage, a killed run resumed to the
uninterrupted result, the draws file, the press-count targets of the default data, and
bad input on the command line. The agent model's own recovery is in
tests/test_calibration_abm_slow.py."""

from __future__ import annotations

import csv
import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from riskmodel.calibration.abc import (
    Observed,
    Prior,
    Settings,
    epsilon_floor,
    finished_populations,
    population_table,
    posterior_draws,
    posterior_summary,
    run_abc,
    scaled_distance,
)
from riskmodel.calibration.agents import PARAMETERS, data_targets
from riskmodel.calibration.posterior import read_draws
from riskmodel.scenario import packaged_file
from riskmodel.streams import counter_rng
from tests.test_bad_input import assert_one_line_error, run_cli

# A linear simulator with known noise: statistics A theta + e, e ~ N(0, 1) per seed, so a
# particle's statistics over R common seeds carry noise of variance 1/R and the data's z-scores
# (se = 1) have the variance 1 + 1/R the stopping rule assumes.
PRIORS = [Prior("a", "x.a", 0.0, 10.0), Prior("b", "x.b", 0.0, 10.0), Prior("c", "x.c", 1.0, 1000.0, log=True)]
A = np.array([[1.0, 0.5, 0.0], [0.0, 1.0, 0.0], [0.2, 0.0, 1.0], [1.0, 1.0, 0.5], [0.0, 0.3, 1.0]])
TRUTH = {"x.a": 3.0, "x.b": 6.0, "x.c": 50.0}
CALIBRATION_SEEDS = (1, 2)


def linear(values, seeds=CALIBRATION_SEEDS) -> dict[str, float]:
    theta = np.array([values["x.a"], values["x.b"], 3.0 * math.log10(values["x.c"])])
    mean = np.mean([A @ theta + counter_rng(seed, 99).normal(0.0, 1.0, len(A)) for seed in seeds], axis=0)
    return {f"s{i}": float(v) for i, v in enumerate(mean)}


def observed(data_seed: int = 77) -> Observed:
    values = linear(TRUTH, seeds=(data_seed,))
    return Observed(values, dict.fromkeys(values, 1.0))


def test_the_floor_accepts_the_truth_at_its_level():
    """The truth's distance over many data sets (and draws of the common seeds) passes the
    floor in 90% of them (binomial SE sqrt(0.09 / 2000) = 0.0067; 4 SE allowed): the
    tolerance is the method's, not a guess."""
    distance = scaled_distance(observed())
    floor = epsilon_floor(len(A), len(CALIBRATION_SEEDS))
    passed = [
        distance(linear(TRUTH, seeds=(5000 + 2 * i, 5001 + 2 * i)), observed(1000 + i).values) <= floor
        for i in range(2000)
    ]
    assert np.mean(passed) == pytest.approx(0.9, abs=4 * math.sqrt(0.09 / 2000))
    assert floor == pytest.approx(math.sqrt(1.5 * stats.chi2.ppf(0.9, 5) / 5))


def test_abc_recovers_known_parameters(tmp_path: Path):
    """The final population's 90% intervals hold the truth, and are no wider than the method
    allows: with common seeds a particle is accepted only if ``|A (theta - theta0)|^2 <= k eps^2``
    (an ellipsoid around the best fit), so no interval is wider than the ellipsoid's shadow
    ``2 sqrt(k) eps sqrt([(A'A)^-1]_jj)``, which is narrower than the prior."""
    history = run_abc(PRIORS, linear, observed(), tmp_path / "h.db", Settings(4, 50, seed=3, replications=2))
    summary = posterior_summary(history, PRIORS).set_index("path")
    epsilons = history.get_all_populations()["epsilon"].to_numpy()[1:]
    assert math.isinf(epsilons[0]) and np.all(np.diff(epsilons[1:]) <= 0)
    assert epsilons[-1] >= epsilon_floor(len(A), 2)
    shadow = 2 * math.sqrt(len(A)) * epsilons[-1] * np.sqrt(np.diag(np.linalg.inv(A.T @ A)))
    prior_ranges = np.array([10.0, 10.0, 9.0])  # theta_c = 3 log10 c over log10 c in [0, 3]
    for j, (path, truth) in enumerate(TRUTH.items()):
        row = summary.loc[path]
        assert row["low"] <= truth <= row["high"], (path, row.to_dict())
        assert row["width_share"] <= shadow[j] / prior_ranges[j] < 1, (path, row["width_share"], shadow[j])


class Killed(RuntimeError):
    pass


def test_a_killed_run_resumes_to_the_uninterrupted_result(tmp_path: Path):
    """Run 1: three populations straight. Run 2: killed inside the first population, resumed
    but limited to one population, resumed to two, killed inside the third, resumed again:
    the same particles, weights, tolerances and simulation counts as run 1, float for float."""
    settings = Settings(3, 12, seed=5, replications=2)
    straight = run_abc(PRIORS, linear, observed(), tmp_path / "straight.db", settings)
    path = tmp_path / "stopped.db"

    def dying_after(calls_left: int):
        def simulate(values):
            nonlocal calls_left
            calls_left -= 1
            if calls_left < 0:
                raise Killed
            return linear(values)

        return simulate

    with pytest.raises(Killed):
        run_abc(PRIORS, dying_after(5), observed(), path, settings)
    assert finished_populations(path) == 0
    run_abc(PRIORS, linear, observed(), path, Settings(1, 12, seed=5, replications=2))
    run_abc(PRIORS, linear, observed(), path, Settings(2, 12, seed=5, replications=2))
    with pytest.raises(Killed):
        run_abc(PRIORS, dying_after(5), observed(), path, settings)
    assert finished_populations(path) == 2
    resumed = run_abc(PRIORS, linear, observed(), path, settings)
    for t in range(3):
        pd.testing.assert_frame_equal(population_table(straight, PRIORS, t), population_table(resumed, PRIORS, t))
    for column in ("epsilon", "samples"):
        np.testing.assert_array_equal(straight.get_all_populations()[column], resumed.get_all_populations()[column])


def test_draws_file_resamples_the_weights(tmp_path: Path):
    """Systematic resampling: each particle appears floor or ceil of count x weight times,
    and the file is a draws file that ``--posterior`` reads."""
    history = run_abc(PRIORS, linear, observed(), tmp_path / "h.db", Settings(2, 12, seed=1, replications=2))
    table = population_table(history, PRIORS)
    draws = posterior_draws(history, PRIORS, 1000, seed=0)
    assert list(draws.columns) == ["draw", "x.a", "x.b", "x.c"]
    counts = draws.groupby(["x.a", "x.b", "x.c"]).size()
    expected = table.set_index(["a", "b", "c"])["w"] * 1000
    for key, n in expected.items():
        assert math.floor(n) - 1e-9 <= counts.get(key, 0) <= math.ceil(n) + 1e-9
    first = draws.head(len(table))  # shuffled: the first draws are not all one particle
    assert first[["x.a", "x.b", "x.c"]].drop_duplicates().shape[0] > 1
    draws.to_parquet(tmp_path / "d.parquet", index=False)
    assert read_draws(tmp_path / "d.parquet").shape == (1000, 4)


def _press_counts() -> dict[int, int]:
    with packaged_file("incidents_press_2003_2020.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(line for line in handle if not line.startswith("#")))
    return {year: sum(row["date"].startswith(str(year)) for row in rows) for year in (2006, 2007, 2008)}


def test_press_counts_of_a_known_coverage(tmp_path: Path):
    """news_<year> = failures of that year in the packaged press data (complete 2003-2008)
    over a known coverage (0.5), with the Poisson SE sqrt(n) / 0.5; no target outside."""
    text = packaged_file("incidents_targets.toml").read_text(encoding="utf-8")
    targets = tmp_path / "targets.toml"
    targets.write_text(text.replace("coverage = [0.25, 1.0]", "coverage = 0.5"), encoding="utf-8")
    target = data_targets(None, targets, [2006, 2007, 2008, 2009])
    assert sorted(target.values) == ["news_2006", "news_2007", "news_2008"]
    for year, n in _press_counts().items():
        assert target.values[f"news_{year}"] == n / 0.5
        assert target.se[f"news_{year}"] == pytest.approx(math.sqrt(max(n, 1)) / 0.5)


def test_press_counts_over_the_default_coverage_range():
    """The default coverage is log-uniform on [0.25, 1]: news = n E[1/c], E[1/c] = 3 / log 4,
    E[1/c^2] = 15 / (2 log 4), SE^2 = max(n, 1) E[1/c^2] + n^2 Var(1/c)."""
    target = data_targets(None, None, [2006, 2007, 2008])
    m1, m2 = 3 / math.log(4), 15 / (2 * math.log(4))
    for year, n in _press_counts().items():
        assert target.values[f"news_{year}"] == pytest.approx(n * m1)
        assert target.se[f"news_{year}"] == pytest.approx(math.sqrt(max(n, 1) * m2 + n**2 * (m2 - m1**2)))


def test_parameters_are_override_paths_the_scenario_has():
    from riskmodel.overrides import Override
    from riskmodel.world import load_world, with_overrides

    world = with_overrides(load_world(), [Override(p.path, (p.low + p.high) / 2) for p in PARAMETERS])
    assert world.scenario.abm.concealment.base_probability == pytest.approx(0.46)


@pytest.mark.parametrize(
    ("args", "pieces"),
    [
        (["--particles", "1"], ("--particles", "from 2")),
        (["--populations", "0"], ("--populations",)),
        (["--truth", "hiding=0.3"], ("--truth", "public_persons")),
        (["--truth", "base_probability=2"], ("--truth base_probability", "0.02")),
        (["--truth", "base_probability"], ("--truth", "NAME=VALUE")),
        (["--resume"], ("abm_history.db", "to resume")),
    ],
)
def test_bad_command_lines(tmp_path: Path, args: list[str], pieces: tuple[str, ...]):
    outcome = run_cli(["calibrate", "abm", "--out", str(tmp_path / "c"), *args], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, *pieces)


def test_bad_data_file_and_existing_history(tmp_path: Path):
    bad = tmp_path / "bad.csv"
    bad.write_text("date,sector\n2006,finance\n")
    outcome = run_cli(["calibrate", "abm", "--out", str(tmp_path / "c"), "--data", str(bad)], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, "bad.csv", "columns")
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "abm_history.db").write_bytes(b"")
    outcome = run_cli(["calibrate", "abm", "--out", str(tmp_path / "d")], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, "abm_history.db", "--resume")
