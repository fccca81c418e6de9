"""Posterior draws through the Monte Carlo estimate: blocks take draws, years keep their
keyed random numbers, and the AAL's uncertainty splits by the law of total variance."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskmodel.calibration.posterior import variance_split
from riskmodel.cli import app
from riskmodel.engine.simulate import BLOCK_YEARS
from riskmodel.errors import InputError
from riskmodel.overrides import Override
from riskmodel.runs import simulate as simulate_kind
from riskmodel.runs.run import run
from riskmodel.runs.spec import RunSpec

RATE = "threats[id=software_fault].frequency.rate"


def write_draws(path: Path, values: list[float]) -> str:
    pd.DataFrame({"draw": np.arange(len(values)), RATE: values}).to_parquet(path)
    return str(path)


def test_variance_split_recovers_a_known_split():
    """Blocks whose means are drawn N(10, 2^2) and whose years add N(0, 5^2): the parameter
    variance is 4 and the within-draw variance 25, each within 4 standard errors."""
    rng = np.random.default_rng(0)
    blocks, years = 400, 500
    theta = rng.normal(10.0, 2.0, blocks)
    losses = theta[:, None] + rng.normal(0.0, 5.0, (blocks, years))
    split = variance_split(losses.mean(axis=1), losses.var(axis=1, ddof=1), np.full(blocks, years))
    se_between = 4.0 * np.sqrt(2 / (blocks - 1))  # SE of a sample variance of normals
    assert split["between_draw_variance"] == pytest.approx(4.0, abs=4 * se_between)
    assert split["within_draw_variance"] == pytest.approx(25.0, abs=4 * 25.0 * np.sqrt(2 / (blocks * years)))
    assert split["monte_carlo_se"] == pytest.approx(5.0 / np.sqrt(blocks * years), rel=0.02)
    assert split["aal"] == pytest.approx(losses.mean())
    # the interval is the block means' 5% and 95% quantiles: 10 -+ 1.645 sqrt(4 + 25/500),
    # each within 4 SEs of a sample quantile, sqrt(0.05 x 0.95 / n) / density
    sd = np.sqrt(4.0 + 25.0 / years)
    se_quantile = np.sqrt(0.05 * 0.95 / blocks) / (np.exp(-(1.6448536**2) / 2) / np.sqrt(2 * np.pi) / sd)
    low, high = split["interval_90"]
    assert low == pytest.approx(10.0 - 1.6448536 * sd, abs=4 * se_quantile)
    assert high == pytest.approx(10.0 + 1.6448536 * sd, abs=4 * se_quantile)


def test_the_interval_follows_a_skewed_posterior_and_never_goes_below_zero():
    """Per-draw AALs lognormal (median 100, log-sd 1): a normal interval around the mean
    (about 165, SD about 216) reaches far below zero; the quantile interval is about
    100 exp(-+1.645) = 19 to 518, inside its sample-quantile error, and above zero."""
    rng = np.random.default_rng(2)
    blocks, years = 2000, 100
    means = 100.0 * np.exp(rng.normal(0.0, 1.0, blocks))
    split = variance_split(means, np.full(blocks, 1.0), np.full(blocks, years))
    low, high = split["interval_90"]
    assert split["aal"] - 1.6448536 * split["parameter_sd"] < 0 < low
    for value, q in ((low, -1.6448536), (high, 1.6448536)):
        x = 100.0 * np.exp(q)
        density = np.exp(-(q**2) / 2) / np.sqrt(2 * np.pi) / x  # lognormal density at its quantile
        assert value == pytest.approx(x, abs=4 * np.sqrt(0.05 * 0.95 / blocks) / density)


def test_variance_split_without_parameter_spread_is_near_zero():
    rng = np.random.default_rng(1)
    losses = 10.0 + rng.normal(0.0, 5.0, (200, 400))
    split = variance_split(losses.mean(axis=1), losses.var(axis=1, ddof=1), np.full(200, 400))
    # the block means' variance is 25/400 = 0.0625 from noise alone; what is left is within its SE
    assert split["between_draw_variance"] < 4 * 0.0625 * np.sqrt(2 / 199)


def test_each_block_takes_its_draw_and_keeps_its_years(tmp_path: Path):
    """Block 0 under draw 0 (the scenario's own rate) equals a plain run's first block year
    by year; block 1 under draw 1 equals a run with that rate set, year by year."""
    draws = write_draws(tmp_path / "draws.parquet", [0.30, 0.45])
    years = 2 * BLOCK_YEARS
    posterior = run(RunSpec("simulate", size=years, seed=7, options=(("posterior", draws),)))
    plain = run(RunSpec("simulate", size=years, seed=7))
    raised = run(RunSpec("simulate", size=years, seed=7, overrides=(Override(RATE, 0.45),)))
    ylt = posterior.tables["ylt"]
    first, second = ylt["year"] < BLOCK_YEARS, ylt["year"] >= BLOCK_YEARS
    pd.testing.assert_frame_equal(ylt[first].reset_index(drop=True),
                                  plain.tables["ylt"][first].reset_index(drop=True))  # fmt: skip
    pd.testing.assert_frame_equal(ylt[second].reset_index(drop=True),
                                  raised.tables["ylt"][second].reset_index(drop=True))  # fmt: skip
    split = posterior.detail.split
    assert split["draws_used"] == 2
    total = split["aal"]["total"]
    assert total["aal"] == pytest.approx(posterior.outcomes["aal.total"])
    assert total["between_draw_variance"] > 0


def test_summary_reports_the_split(tmp_path: Path):
    """The summary.json document (what the writer dumps) carries the split of the AAL."""
    draws = write_draws(tmp_path / "draws.parquet", [0.2, 0.3, 0.4])
    result = run(RunSpec("simulate", size=3 * BLOCK_YEARS, options=(("posterior", draws),)))
    document = json.loads(json.dumps(simulate_kind.summary(result.detail)))
    total = document["posterior"]["aal"]["total"]
    assert set(total) >= {"aal", "interval_90", "monte_carlo_se", "parameter_sd"}
    assert total["interval_90"][0] < total["aal"] < total["interval_90"][1]
    assert document["posterior"]["draws_used"] == 3
    assert set(document["posterior"]["aal"]) == {*result.detail.world.critical_ids, "total"}


@pytest.mark.parametrize(
    ("frame", "expected"),
    [
        (pd.DataFrame({RATE: [0.1]}), "a 'draw' column"),
        (pd.DataFrame({"draw": [0]}), "one or more override path columns"),
        (pd.DataFrame({"draw": [0], "not a path!": [1.0]}), "override paths"),
        (pd.DataFrame({"draw": [0], RATE: [np.nan]}), "a finite number"),
    ],
)
def test_bad_draws_file(tmp_path: Path, frame: pd.DataFrame, expected: str):
    path = tmp_path / "draws.parquet"
    frame.to_parquet(path)
    with pytest.raises(InputError, match=expected):
        run(RunSpec("simulate", size=10, options=(("posterior", str(path)),)))
    result = CliRunner().invoke(app, ["simulate", "--years", "10", "--posterior", str(path), "--out",
                                      str(tmp_path / "o")])  # fmt: skip
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


def test_posterior_run_is_the_same_whatever_the_threads(tmp_path: Path):
    draws = write_draws(tmp_path / "draws.parquet", [0.2, 0.4])
    one, two = (run(RunSpec("simulate", size=2 * BLOCK_YEARS, seed=3,
                            options=(("posterior", draws), ("threads", t)))) for t in (1, 2))  # fmt: skip
    pd.testing.assert_frame_equal(one.tables["ylt"], two.tables["ylt"])
    assert one.detail.split == two.detail.split
