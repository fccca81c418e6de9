"""The run API: one spec, one function, one result shape for simulate, abm and optimize."""

from __future__ import annotations

import io
import json
import pickle
import subprocess
import sys

import mesa
import numpy as np
import pandas as pd
import pytest

from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.errors import InputError
from riskmodel.runs import RunSpec, run
from riskmodel.runs.writers import write_files

SPECS = {
    "simulate": RunSpec("simulate", size=1500, seed=4, overrides={"threats[id=ddos].frequency.rate": {"scale": 1.5}}),
    "abm": RunSpec("abm", size=1, seed=3, overrides={"abm.concealment.blame": 2.0}),
    "optimize": RunSpec(
        "optimize", size=150, seed=2,
        options={"mode": "sector", "sector": "aviation", "fn": False, "eval_years": 500, "replications": 0,
                 "frontier_points": 0},
    ),
}


def fingerprint(result) -> dict[str, object]:
    """What must be byte-identical between two runs of one spec: outcomes and tables."""
    tables = {}
    for name, frame in result.tables.items():
        buffer = io.BytesIO()
        frame.to_parquet(buffer, index=False)
        tables[name] = buffer.getvalue().hex()
    return {"outcomes": json.dumps(result.outcomes, sort_keys=True, allow_nan=True), "tables": tables}


@pytest.fixture(scope="module")
def results():
    return {kind: run(spec) for kind, spec in SPECS.items()}


@pytest.mark.parametrize("kind", list(SPECS))
def test_spec_round_trips_through_json_and_pickle(kind):
    spec = SPECS[kind]
    assert RunSpec.from_dict(json.loads(json.dumps(spec.to_dict()))) == spec
    assert pickle.loads(pickle.dumps(spec)) == spec


@pytest.mark.parametrize("kind", list(SPECS))
def test_a_spec_runs_in_a_fresh_process_to_the_same_bytes(kind, results):
    code = (
        "import json, sys; from riskmodel.runs import RunSpec, run; from test_runs import fingerprint; "
        "print(json.dumps(fingerprint(run(RunSpec.from_dict(json.loads(sys.argv[1]))))))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, json.dumps(SPECS[kind].to_dict())],
        capture_output=True, text=True, timeout=600, cwd=str(__import__("pathlib").Path(__file__).parent),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert json.loads(done.stdout) == fingerprint(results[kind])


@pytest.mark.parametrize("kind", list(SPECS))
def test_results_have_declared_outcomes_tidy_tables_and_provenance(kind, results):
    result = results[kind]
    frame = result.outcome_frame()
    assert set(frame.key) == set(result.outcomes)
    assert frame.unit.notna().all() and set(frame.outcome) == {o.name for o in result.declared}
    for name, table in result.tables.items():
        assert isinstance(table, pd.DataFrame), name
        for column in table.columns:  # one value per cell: no arrays or lists
            assert not table[column].map(lambda v: isinstance(v, list | tuple | np.ndarray)).any(), (name, column)
    record = result.provenance
    assert record["spec"] == result.spec.to_dict(results_only=True)
    assert record["scenario"] == "japan" and len(record["scenario_hash"]) == 64
    assert record["wall_time_s"] > 0 and record["version"]
    assert record["overrides"] == result.spec.to_dict()["overrides"]


def test_simulate_outcomes_add_up(results):
    out = results["simulate"].outcomes
    layers = out["loss.total.own"] + out["loss.total.users"] + out["loss.total.others"]
    assert out["aal.total"] == pytest.approx(layers, rel=1e-9)
    sectors = results["simulate"].detail.world.critical_ids
    assert out["aal.total"] == pytest.approx(sum(out[f"aal.{s}"] for s in sectors), rel=1e-9)
    assert out["acceptability.total"] == min(out[f"acceptability.{s}"] for s in sectors)
    ylt = results["simulate"].tables["ylt"]
    assert ylt.groupby("year").total.sum().mean() == pytest.approx(out["aal.total"], rel=1e-9)


def test_abm_yearly_table_is_tidy_and_matches_the_outcomes(results):
    result = results["abm"]
    yearly = result.tables["yearly"]
    true = yearly[yearly.variable == "true_failures"]
    assert set(true.threat) == set(result.detail.models[0].world.threat_ids)
    assert true.value.sum() == result.outcomes["true_failures.total"]  # one fiscal year
    assert result.detail.models[0].settings.concealment.blame == 2.0


def test_optimize_outcomes_follow_the_portfolio(results):
    result = results["optimize"]
    assert result.outcomes["has_portfolio"] == 1.0
    assert result.outcomes["cost.aviation"] == pytest.approx(result.tables["sectors"].cost.sum())
    assert set(result.tables["portfolio"].sector) <= {"aviation"}
    assert np.isnan(result.outcomes["price_of_externalities"])  # sector mode has none


def test_progress_speaks_one_protocol(results):
    heard = []
    run(RunSpec("simulate", size=2048), lambda stage, done, total: heard.append((stage, done, total)))
    assert heard[-1] == ("simulating", 2048, 2048)
    assert all(isinstance(s, str) and 0 <= d <= t for s, d, t in heard)


def test_summary_files_carry_the_provenance(results, tmp_path):
    names = {"simulate": "summary.json", "abm": "abm_summary.json", "optimize": "optimize_summary.json"}
    for kind, name in names.items():
        folder = tmp_path / kind
        folder.mkdir()
        assert name in write_files(results[kind], folder)
        record = json.loads((folder / name).read_text())["provenance"]
        assert record["scenario_hash"] == results[kind].provenance["scenario_hash"]
        assert {"scenario", "overrides", "portfolio", "portfolio_annual_cost", "seed", "version"} <= set(record)
        assert "wall_time_s" not in record  # the same spec writes the same bytes


def test_a_portfolio_is_recorded_with_its_annual_cost(tmp_path):
    portfolio = tmp_path / "p.toml"
    portfolio.write_text('[sectors.finance]\nmeasures = ["backup_site"]\n')
    result = run(RunSpec("simulate", size=200, portfolio=str(portfolio)))
    assert result.provenance["portfolio"] == str(portfolio)
    assert result.provenance["portfolio_annual_cost"] > 0


@pytest.mark.parametrize(
    ("data", "field", "expected"),
    [
        ({"kind": "simulat"}, "kind", "one of simulate, abm, optimize"),
        ({}, "kind", "one of"),
        ({"kind": "simulate", "years": 5}, "years", "one of"),
        ({"kind": "simulate", "size": 0}, "size", "at least 1"),
        ({"kind": "abm", "size": 201}, "size", "at most 200"),
        ({"kind": "simulate", "seed": -1}, "seed", "from 0"),
        ({"kind": "simulate", "options": {"thread": 2}}, "options.thread", "an option of simulate"),
        ({"kind": "simulate", "options": {"threads": 0}}, "options.threads", "at least 1"),
        ({"kind": "optimize", "options": {"budget": "lots"}}, "options.budget", "a number"),
        ({"kind": "optimize", "options": {"mode": "world"}}, "options.mode", "one of sector"),
        ({"kind": "simulate", "overrides": {"a": {"scale": "x"}}}, "a", "a finite number to scale by"),
        ({"kind": "simulate", "overrides": []}, "overrides", "a table"),
    ],
)
def test_bad_specs_name_their_field(data, field, expected):
    with pytest.raises(InputError) as caught:
        RunSpec.from_dict(data)
    assert caught.value.field == field and expected in caught.value.expected


def test_bad_runs_name_their_field_before_any_work(tmp_path):
    with pytest.raises(InputError, match=r"options\.sector"):
        run(RunSpec("optimize", options={"mode": "sector"}))
    with pytest.raises(InputError, match="portfolio"):
        run(RunSpec("optimize", portfolio=str(tmp_path / "p.toml")))
    with pytest.raises(InputError, match="no such file"):
        run(RunSpec("simulate", scenario=str(tmp_path / "nowhere.toml")))


def test_mesa_batch_run_drives_the_model_from_scalar_parameters():
    rows = mesa.batch_run(
        CriticalInfrastructureModel, {"fiscal_years": 1, "blame": [0.0, 3.0], "seed": 0},
        max_steps=365, data_collection_period=1, display_progress=False,
    )  # fmt: skip
    frame = pd.DataFrame(rows)
    assert frame.Step.max() == 364 and set(frame.blame) == {0.0, 3.0}
    reported = frame.groupby("blame").reported_failures.apply(lambda cells: sum(int(c.sum()) for c in cells))
    true = frame.groupby("blame").true_failures.apply(lambda cells: sum(int(c.sum()) for c in cells))
    assert true[0.0] == true[3.0]  # blame changes what is reported, not what happens
    assert reported[3.0] < reported[0.0]
    with pytest.raises(InputError, match="a lever of the agent model"):
        CriticalInfrastructureModel(fiscal_years=1, shame=1.0)
