"""Recovery of the agent model's parameters by ABC-SMC (``riskmodel calibrate abm --truth``):
synthetic targets from the model at known values on seeds the calibration never uses; the
posterior's 90% intervals hold the truth and are narrower than the priors. Minutes of
agent-model runs, hence slow."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from riskmodel.calibration.posterior import read_draws
from tests.test_bad_input import run_cli

TRUTH = {"public_persons": 200_000.0, "base_probability": 0.4, "share_probability": 0.7}


@pytest.mark.slow
def test_the_agent_model_recovers_three_parameters(tmp_path: Path):
    """Each true value inside its 90% interval (by the stopping rule, the final population is
    a 90% confidence region: see riskmodel.calibration.abc) and every interval narrower than
    its prior; the draws file is one ``--posterior`` reads."""
    args = ["calibrate", "abm", "--out", str(tmp_path / "c"), "--years", "2", "--replications", "2",
            "--particles", "20", "--populations", "4", "--workers", "1", "--draws", "200"]  # fmt: skip
    for name, value in TRUTH.items():
        args += ["--truth", f"{name}={value}"]
    outcome = run_cli(args, real=False, cwd=tmp_path)
    assert outcome.code == 0, outcome
    summary = pd.read_csv(tmp_path / "c" / "abm_posterior.csv").set_index("parameter")
    for name, truth in TRUTH.items():
        row = summary.loc[name]
        assert row["low"] <= truth <= row["high"], (name, row.to_dict())
        assert row["width_share"] < 1.0, (name, row.to_dict())
    draws = read_draws(tmp_path / "c" / "abm_posterior_draws.parquet")
    assert len(draws) == 200 and set(summary["path"]) <= set(draws.columns)


@pytest.mark.slow
def test_common_seeds_and_workers_do_not_change_the_statistics():
    """Every call runs the same replication seeds (those of ``riskmodel abm --replications``),
    so the same values give the same statistics, in this process or in two workers; other
    values change them."""
    from riskmodel.calibration.agents import AbmSimulator

    values = {"abm.concealment.base_probability": 0.3}
    alone = AbmSimulator(years=1, replications=2, seed=7, workers=1)
    pooled = AbmSimulator(years=1, replications=2, seed=7, workers=2)
    try:
        first = alone(values)
        assert alone(values) == first == pooled(values)
        assert alone({"abm.concealment.base_probability": 0.8}) != first
    finally:
        pooled.close()
