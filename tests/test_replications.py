"""Replications of the agent model, and the t intervals every answer carries."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from scipy import stats

from riskmodel.errors import InputError
from riskmodel.intervals import grouped_intervals, mean_interval
from riskmodel.runs import RunSpec, run
from riskmodel.runs.abm import FIGURE_KEYS, REPLICATIONS_FILE, REPLICATIONS_SCHEMA
from riskmodel.runs.writers import write_files
from riskmodel.streams import replication_seed


def test_a_t_interval_is_the_textbook_one():
    values = np.array([1.0, 2.0, 3.0, 4.0])
    row = mean_interval(values)
    half = stats.t.ppf(0.975, 3) * values.std(ddof=1) / 2
    assert (row["n"], row["mean"]) == (4, 2.5)
    assert row["ci_low"] == pytest.approx(2.5 - half) and row["ci_high"] == pytest.approx(2.5 + half)
    single = mean_interval([7.0, np.nan])
    assert single["n"] == 1 and single["mean"] == 7.0 and np.isnan(single["se"]) and np.isnan(single["ci_low"])


def test_t_intervals_cover_the_mean_at_their_level():
    """5,000 samples of 5 normals: coverage within 3 binomial standard errors of 95%."""
    rng = np.random.default_rng(3)
    samples = rng.normal(10.0, 2.0, size=(5000, 5))
    frame = pd.DataFrame({"sample": np.repeat(np.arange(5000), 5), "value": samples.ravel()})
    table = grouped_intervals(frame, ["sample"])
    covered = ((table.ci_low <= 10.0) & (table.ci_high >= 10.0)).mean()
    assert abs(covered - 0.95) < 3 * np.sqrt(0.95 * 0.05 / 5000)


@pytest.fixture(scope="module")
def three():
    return run(RunSpec("abm", size=2, seed=7, options={"replications": 3}))


def test_replication_zero_is_the_plain_run(three):
    single = run(RunSpec("abm", size=2, seed=7))
    assert three.detail.seeds[0] == 7 and len(set(three.detail.seeds)) == 3
    assert three.detail.seeds[1:] == [replication_seed(7, r) for r in (1, 2)]
    first = three.tables["yearly"].query("replication == 0").drop(columns="replication").reset_index(drop=True)
    pd.testing.assert_frame_equal(first, single.tables["yearly"].drop(columns="replication"))


def test_outcomes_and_figures_are_means_over_the_replications(three):
    from riskmodel.runs.abm import model_outcomes

    each = [model_outcomes(model) for model in three.detail.models]
    for key in ("true_failures.total", "loss.total.own", "security_spend", "anxious_share"):
        assert three.outcomes[key] == pytest.approx(np.mean([values[key] for values in each]), rel=1e-12)
        assert len({values[key] for values in each}) > 1, key  # the replications differ
    yearly = three.tables["yearly"]
    intervals = three.tables["yearly_intervals"]
    assert len(intervals) == len(yearly) / 3
    defined = yearly.groupby(FIGURE_KEYS, sort=False, dropna=False).value.count().to_numpy()
    np.testing.assert_array_equal(intervals.n.to_numpy(), defined)  # NaN figures (undefined that year) left out
    assert (defined == 3).mean() > 0.9
    row = intervals.query("variable == 'security_spend' and fiscal_year == 2007").iloc[0]
    values = yearly.query("variable == 'security_spend' and fiscal_year == 2007").value.to_numpy()
    expected = mean_interval(values)
    assert row["mean"] == pytest.approx(expected["mean"]) and row["ci_high"] == pytest.approx(expected["ci_high"])
    outcome = three.tables["outcome_intervals"].set_index("key").loc["loss.total.users"]
    assert outcome["mean"] == pytest.approx(three.outcomes["loss.total.users"])
    assert outcome["ci_low"] < outcome["mean"] < outcome["ci_high"]


def test_the_files_carry_the_intervals_and_repeat_byte_for_byte(three, tmp_path):
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        written = write_files(three if name == "a" else run(three.spec), tmp_path / name)
    assert REPLICATIONS_FILE in written
    for name in ("abm_summary.json", REPLICATIONS_FILE):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes(), name
    table = pq.read_table(tmp_path / "a" / REPLICATIONS_FILE)
    assert table.schema.equals(REPLICATIONS_SCHEMA, check_metadata=True)
    assert table.num_rows == len(three.tables["yearly_intervals"])
    document = json.loads((tmp_path / "a" / "abm_summary.json").read_text())
    record = document["replications"]
    assert record["count"] == 3 and record["seeds"] == three.detail.seeds
    spend = record["fiscal_years"]["2007"]["security_spend"]
    row = three.tables["yearly_intervals"].query("variable == 'security_spend' and fiscal_year == 2007").iloc[0]
    assert spend["mean"] == pytest.approx(row["mean"]) and spend["ci_low"] == pytest.approx(row["ci_low"])
    assert document["seed"] == 7 and document["fiscal_years"]["2007"]["security_spend"] == pytest.approx(
        three.tables["yearly"].query("replication == 0 and variable == 'security_spend' and fiscal_year == 2007")
        .value.iloc[0])  # fmt: skip
    assert set(FIGURE_KEYS) < set(table.schema.names)


@pytest.mark.parametrize("value", [0, 101, 2.5])
def test_bad_replications_are_refused(value):
    with pytest.raises(InputError, match="replications"):
        RunSpec("abm", options={"replications": value})
