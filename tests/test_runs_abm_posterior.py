"""Posterior draws through the agent model: replication r runs on draw r mod D, the
replications' variance splits into within-draw and across-draw parts by the law of total
variance, and a run without the file is what it always was."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from riskmodel.cli import app
from riskmodel.errors import InputError
from riskmodel.overrides import Override
from riskmodel.runs import RunSpec, run
from riskmodel.runs import abm as abm_kind
from riskmodel.runs.abm import HEADLINE_KEYS, draw_split
from riskmodel.runs.writers import write_files
from riskmodel.streams import replication_seed

RATE = "threats[id=software_fault].frequency.rate"
OWN_RATE = 0.30  # the packaged scenario's software-fault rate


def write_draws(path: Path, values: list[float]) -> str:
    pd.DataFrame({"draw": np.arange(len(values)), RATE: values}).to_parquet(path)
    return str(path)


def test_draw_split_on_a_constructed_case():
    """Draw 0's replications give -1 and 1, draw 1's 1 and 3: within each draw the sample
    variance is 2 (pooled 2); the draws' means 0 and 2 vary by 2, of which Monte Carlo
    noise puts 2 / 2 = 1 in, so 1 is the parameters'."""
    each = [{"x": v} for v in (-1.0, 1.0, 1.0, 3.0)]
    split = draw_split(each, [0, 1, 0, 1], keys=["x"])["x"]
    # draws [0, 1, 0, 1] pair -1 with 1 (draw 0) and 1 with 3 (draw 1)
    assert split["mean"] == pytest.approx(1.0)
    assert split["within_draw_variance"] == pytest.approx(2.0)
    assert split["between_draw_variance"] == pytest.approx(1.0)
    assert split["parameter_share"] == pytest.approx(1 / 3)
    assert split["monte_carlo_se"] == pytest.approx(np.sqrt(2.0 / 4))


def test_draw_split_recovers_a_known_split():
    """300 draws with means N(5, 3^2), 5 replications each adding N(0, 2^2): the parameter
    variance 9 and the within-draw variance 4 come back within 4 standard errors."""
    rng = np.random.default_rng(11)
    draws, reps = 300, 5
    theta = rng.normal(5.0, 3.0, draws)
    values = theta[:, None] + rng.normal(0.0, 2.0, (draws, reps))
    draw = np.repeat(np.arange(draws), reps)
    split = draw_split([{"y": v} for v in values.ravel()], list(draw), keys=["y"])["y"]
    se_within = 4.0 * np.sqrt(2 / (draws * (reps - 1)))
    se_between = (9.0 + 4.0 / reps) * np.sqrt(2 / (draws - 1))
    assert split["within_draw_variance"] == pytest.approx(4.0, abs=4 * se_within)
    assert split["between_draw_variance"] == pytest.approx(9.0, abs=4 * se_between)
    assert split["parameter_share"] == pytest.approx(9 / 13, abs=0.06)


def test_draw_split_needs_repeated_draws_and_defined_values():
    each = [{"x": 1.0, "y": np.nan}, {"x": 2.0, "y": 1.0}, {"x": 4.0, "y": 1.0}, {"x": 5.0, "y": 2.0}]
    assert draw_split(each[:3], [0, 1, 0], keys=["x"]) is None  # draw 1 ran once
    assert draw_split(each, [0, 0, 0, 0], keys=["x"]) is None  # one draw: nothing across draws
    split = draw_split(each, [0, 1, 0, 1], keys=["x", "y"])
    assert split["y"] is None and split["x"]["within_draw_variance"] == pytest.approx(4.5)


def test_a_bad_draws_file_is_one_line_and_exit_2(tmp_path: Path):
    path = tmp_path / "draws.parquet"
    pd.DataFrame({"draw": [0], RATE: [np.nan]}).to_parquet(path)
    with pytest.raises(InputError, match="a finite number"):
        run(RunSpec("abm", size=1, options={"posterior": str(path)}))
    result = CliRunner().invoke(app, ["abm", "--years", "1", "--posterior", str(path), "--out", str(tmp_path / "o")])
    assert result.exit_code == 2 and len(result.stderr.strip().splitlines()) == 1


def _written(result, folder: Path) -> dict[str, bytes]:
    folder.mkdir()
    return {name: (folder / name).read_bytes() for name in write_files(result, folder)}


@pytest.mark.slow
def test_without_a_posterior_nothing_changes(tmp_path: Path):
    """A draws file whose one draw is the scenario's own value leaves every table byte for
    byte as a run without the file: the draw mechanism adds no random numbers and moves no
    stream; the summary differs only in saying which draws ran."""
    plain = run(RunSpec("abm", size=1, seed=7, options={"replications": 2}))
    draws = write_draws(tmp_path / "d.parquet", [OWN_RATE])
    same = run(RunSpec("abm", size=1, seed=7, options={"replications": 2, "posterior": draws}))
    a, b = _written(plain, tmp_path / "a"), _written(same, tmp_path / "b")
    assert set(a) == set(b)
    for name in a:
        if name != "abm_summary.json":
            assert a[name] == b[name], name
    first, second = (json.loads(files["abm_summary.json"]) for files in (a, b))
    record = second["replications"].pop("posterior")
    assert record["replication_draws"] == [0, 0] and record["variance_split"] is None
    assert "posterior" not in first["replications"]
    for document in (first, second):
        document["provenance"]["spec"]["options"].pop("posterior")
    assert first == second


@pytest.mark.slow
def test_each_replication_runs_on_its_draw_and_the_split_is_reported(tmp_path: Path):
    """Four replications over two draws (the scenario's rate and twenty times it): the odd
    replications are exactly runs with the raised rate on their seeds, the even ones the
    plain run's; the failures' variance is mostly across draws; the files repeat byte for byte."""
    draws = write_draws(tmp_path / "d.parquet", [OWN_RATE, 20 * OWN_RATE])
    spec = RunSpec("abm", size=1, seed=7, options={"replications": 4, "posterior": draws})
    result = run(spec)
    detail = result.detail
    assert detail.draws == [0, 1, 0, 1] and detail.n_draws == 2
    yearly = result.tables["yearly"]
    raised = run(RunSpec("abm", size=1, seed=replication_seed(7, 1), overrides=(Override(RATE, 20 * OWN_RATE),)))
    plain = run(RunSpec("abm", size=1, seed=replication_seed(7, 2)))
    for r, alone in ((1, raised), (2, plain)):
        mine = yearly.query(f"replication == {r}").drop(columns="replication").reset_index(drop=True)
        pd.testing.assert_frame_equal(mine, alone.tables["yearly"].drop(columns="replication"))
    document = json.loads(json.dumps(abm_kind.summary(detail)))
    record = document["replications"]["posterior"]
    assert record["draws_used"] == 2 and record["replication_draws"] == [0, 1, 0, 1]
    split = record["variance_split"]
    assert set(split) == set(HEADLINE_KEYS)
    failures = split["true_failures.total"]
    values = np.array([values["true_failures.total"] for values in detail.each])
    under = values[0::2], values[1::2]  # draw 0's replications, draw 1's
    within = (under[0].var(ddof=1) + under[1].var(ddof=1)) / 2
    means = np.array([under[0].mean(), under[1].mean()])
    assert failures["mean"] == pytest.approx(values.mean())
    assert failures["within_draw_variance"] == pytest.approx(within)
    assert failures["between_draw_variance"] == pytest.approx(max(0.0, means.var(ddof=1) - within / 2))
    # twenty times a common threat's rate raises the failures beyond 3 standard errors of the difference
    assert means[1] - means[0] > 3 * np.sqrt(within)
    assert _written(result, tmp_path / "a") == _written(run(spec), tmp_path / "b")
