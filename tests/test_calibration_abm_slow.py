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


KILLED_RUN = """
import sys, time
sys.path.insert(0, {root!r})
from pathlib import Path
from riskmodel.calibration.abc import Settings, run_abc
from tests.test_calibration_abm import PRIORS, linear, observed

def slow(values):
    time.sleep(0.02)
    return linear(values)

run_abc(PRIORS, slow, observed(), Path({path!r}), Settings(4, 12, seed=5, replications=2))
"""


@pytest.mark.slow
def test_a_sigkilled_calibration_resumes_to_the_uninterrupted_result(tmp_path: Path):
    """A calibration process killed with SIGKILL at random moments (three kills, each once
    at least one more population is stored) resumes to the populations an uninterrupted
    run stores, float for float."""
    import os
    import random
    import signal
    import subprocess
    import sys
    import time

    import numpy as np

    from riskmodel.calibration.abc import Settings, finished_populations, population_table, run_abc
    from tests.test_calibration_abm import PRIORS, linear, observed

    settings = Settings(4, 12, seed=5, replications=2)
    straight = run_abc(PRIORS, linear, observed(), tmp_path / "straight.db", settings)
    path = tmp_path / "killed.db"
    root = str(Path(__file__).resolve().parents[1])

    def stored() -> int:
        try:
            return finished_populations(path)
        except Exception:  # the child is creating the file's tables: nothing stored yet
            return 0

    chooser = random.Random(0)
    for _ in range(3):
        before = stored()
        process = subprocess.Popen([sys.executable, "-c", KILLED_RUN.format(root=root, path=str(path))],
                                   env={**os.environ, "PYTHONPATH": root})  # fmt: skip
        while stored() <= before and process.poll() is None:
            time.sleep(0.1)
        time.sleep(chooser.uniform(0.0, 0.5))
        process.send_signal(signal.SIGKILL)
        process.wait()
    resumed = run_abc(PRIORS, linear, observed(), path, settings)
    for t in range(4):
        pd.testing.assert_frame_equal(population_table(straight, PRIORS, t), population_table(resumed, PRIORS, t))
    for column in ("epsilon", "samples"):
        np.testing.assert_array_equal(straight.get_all_populations()[column], resumed.get_all_populations()[column])
