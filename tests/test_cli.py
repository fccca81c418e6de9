"""The command line end to end: outputs, their layout, and byte-identical reruns."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq

RISKMODEL = str(Path(sys.executable).parent / "riskmodel")


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([RISKMODEL, *args], capture_output=True, text=True, timeout=600)


def test_simulate_writes_outputs_and_is_reproducible_across_threads(tmp_path):
    outs = []
    for threads in (1, 2):
        out = tmp_path / f"t{threads}"
        done = run("simulate", "--years", "2500", "--seed", "7", "--threads", str(threads), "--out", str(out))
        assert done.returncode == 0, done.stderr
        outs.append(out)
    for name in ("summary.json", "ylt.parquet", "convergence.csv", "ep_curves.csv", "fn_curve.csv"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
    for name in ("ep_curves.png", "fn_curve.png"):
        assert (outs[0] / name).stat().st_size > 10_000
    assert not list(outs[0].glob(".partial-*"))

    summary = json.loads((outs[0] / "summary.json").read_text())
    assert summary["scenario"] == "japan" and summary["years"] == 2500 and summary["seed"] == 7
    assert set(summary["layers"]) == {"own", "users", "others"}
    assert len(summary["sectors"]) == 10
    for entry in [*summary["sectors"].values(), summary["total"]]:
        assert set(entry["var"]) == set(entry["tvar"]) == {"0.9", "0.99", "0.995", "0.999"}
        assert set(entry["return_period_loss"]) == {"10", "50", "100", "250", "1000"}
        assert entry["aal"] > 0 and entry["aal_se"] > 0
    assert {e["acceptability"] for e in summary["sectors"].values()} <= {
        "unacceptable",
        "tolerable",
        "broadly_acceptable",
    }
    assert "acceptability" not in summary["total"]
    ylt = pq.read_table(outs[0] / "ylt.parquet").to_pandas()
    assert len(ylt) == 2500 * 10
    assert abs(ylt.groupby("year").total.sum().mean() / summary["total"]["aal"] - 1) < 1e-9
    assert "information_communications" in done.stdout and "acceptability" in done.stdout
    ep = pd.read_csv(outs[0] / "ep_curves.csv")
    total = ep[ep.sector == "total"].set_index("return_period")
    assert total.loc[100, "aep_loss"] == summary["total"]["return_period_loss"]["100"]
    assert (total.aep_loss >= total.oep_loss).all() and total.aep_loss.is_monotonic_increasing
    fn = pd.read_csv(outs[0] / "fn_curve.csv")
    assert fn.persons.is_monotonic_increasing and fn.total.is_monotonic_decreasing


def test_portfolio_lowers_losses_and_scenario_export_round_trips(tmp_path):
    exported = tmp_path / "mine"
    assert run("scenario", "export", str(exported)).returncode == 0
    scenario = exported / "japan.toml"
    check = run("scenario", "validate", str(scenario))
    assert check.returncode == 0 and "valid" in check.stdout
    portfolio = tmp_path / "p.toml"
    portfolio.write_text(
        '[sectors.information_communications]\nmeasures = ["ddos_mitigation:2", "change_management", '
        '"independent_testing", "backup_site:1"]\n'
    )
    base, protected = tmp_path / "base", tmp_path / "protected"
    assert run("simulate", "--scenario", str(scenario), "--years", "300", "--out", str(base)).returncode == 0
    done = run("simulate", "--portfolio", str(portfolio), "--years", "300", "--out", str(protected))
    assert done.returncode == 0, done.stderr
    before = json.loads((base / "summary.json").read_text())["sectors"]["information_communications"]
    after = json.loads((protected / "summary.json").read_text())["sectors"]["information_communications"]
    assert after["aal"] < 0.9 * before["aal"]


def test_scenario_show():
    done = run("scenario", "show")
    assert done.returncode == 0
    assert "electricity" in done.stdout and "spectral radius" in done.stdout


def test_abm_runs_end_to_end_with_a_portfolio(tmp_path):
    portfolio = tmp_path / "p.toml"
    portfolio.write_text('[sectors.finance]\nmeasures = ["web_application_firewall", "ddos_mitigation:2"]\n')
    out = tmp_path / "abm"
    done = run("abm", "--years", "2", "--seed", "4", "--portfolio", str(portfolio), "--out", str(out))
    assert done.returncode == 0, done.stderr
    for name in ("abm_summary.json", "model_timeseries.parquet", "agents_yearly.parquet", "abm_timeseries.png"):
        assert (out / name).is_file(), name
    summary = json.loads((out / "abm_summary.json").read_text())
    assert list(summary["fiscal_years"]) == ["2006", "2007"] and summary["seed"] == 4
    assert "2007" in done.stdout and "anxious" in done.stdout
    agents = pq.read_table(out / "agents_yearly.parquet").to_pandas()
    finance = agents[(agents.agent_type == "Operator") & (agents.sector == "finance") & (agents.fiscal_year == 2006)]
    assert (finance.measures >= 2).all()  # the portfolio is in place from the start
    assert not list(out.glob(".partial-*"))


def test_abm_bytes_do_not_depend_on_blas_threads(tmp_path):
    """Sums over operators and cohorts are taken in a fixed order, not by a threaded BLAS."""
    import os

    outs = []
    for threads in ("1", "2"):
        out = tmp_path / f"blas{threads}"
        env = {**os.environ, "OPENBLAS_NUM_THREADS": threads, "OMP_NUM_THREADS": threads}
        done = subprocess.run(
            [RISKMODEL, "abm", "--years", "1", "--seed", "2", "--out", str(out)],
            capture_output=True, text=True, timeout=600, env=env,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        outs.append(out)
    for name in ("abm_summary.json", "model_timeseries.parquet", "agents_yearly.parquet"):
        assert (outs[0] / name).read_bytes() == (outs[1] / name).read_bytes(), name
