"""``riskmodel optimize`` end to end at small sizes: files, round trip, statuses, errors."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest
from test_bad_input import assert_one_line_error, japan, run_cli, write_toml

from riskmodel.optimize.build import build_instance
from riskmodel.optimize.instruments import COLUMNS
from riskmodel.optimize.sample import draw_events
from riskmodel.portfolio import in_place_matrix, load_portfolio
from riskmodel.scenario import load_scenario
from riskmodel.world import load_world

RISKMODEL = str(Path(sys.executable).parent / "riskmodel")
SMALL = ["--years", "300", "--eval-years", "1000", "--replications", "2", "--frontier-points", "3"]
FINANCE_FN_CONSTANT = next(s for s in load_scenario().sectors if s.id == "finance").acceptability.fn_constant
# finance at its exposures before calibration (about ten times the failures): measures pay
FINANCE_AT_PRIORS = [
    arg
    for name, value in next(s for s in load_scenario().sectors if s.id == "finance").exposure.prior.items()
    for arg in ("--set", f"sectors[id=finance].exposure.{name}={value}")
]


def run(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([RISKMODEL, *args], capture_output=True, text=True, timeout=600)


@pytest.fixture(scope="module")
def finance(tmp_path_factory):
    out = tmp_path_factory.mktemp("finance")
    done = run("optimize", "--sector", "finance", "--no-fn", *SMALL, *FINANCE_AT_PRIORS, "--out", str(out))
    assert done.returncode == 0, done.stderr
    return out, done


def test_sector_run_writes_the_issue_layout(finance):
    out, done = finance
    for name in ("portfolio.toml", "optimize_summary.json", "frontier.png", "frontier.csv", "measures.csv"):
        assert (out / name).is_file(), name
    assert not list(out.glob(".partial-*"))
    summary = json.loads((out / "optimize_summary.json").read_text())
    assert summary["mode"] == "sector" and summary["status"] == "optimal"
    entry = summary["sectors"]["finance"]
    assert set(summary["sectors"]) == {"finance"}
    assert entry["measures"] and entry["cost"] > 0 and 0 < entry["expected_loss"] < entry["expected_loss_unmitigated"]
    assert entry["cvar"] <= entry["cvar_max"] and entry["acceptability"] in ("tolerable", "unacceptable")
    assert summary["objective"] == pytest.approx(entry["cost"] + entry["expected_loss"], rel=1e-12)
    low, high = summary["out_of_sample"]["ci"]
    assert low < summary["out_of_sample"]["expected_loss"] < high
    assert set(summary["gap"]) >= {"estimate", "ci_upper"} and summary["gap"]["ci_upper"] >= summary["gap"]["estimate"]
    assert "finance" in done.stdout and "out of sample" in done.stdout


def test_portfolio_round_trips_through_simulate(finance, tmp_path):
    """portfolio.toml loads back to exactly the chosen options on every finance operator
    (and nothing elsewhere), and the engine's loss with it in place falls."""
    out, _ = finance
    world = load_world()
    chosen = json.loads((out / "optimize_summary.json").read_text())["sectors"]["finance"]["measures"]
    labels = build_instance(world, draw_events(world, 1, 0)).option_labels
    options = sorted(labels.index(label) for label in chosen)
    expected = in_place_matrix(world, {world.sector_ids.index("finance"): options})
    assert np.array_equal(load_portfolio(out / "portfolio.toml", world), expected)
    base, protected = tmp_path / "base", tmp_path / "protected"
    assert run("simulate", "--years", "400", *FINANCE_AT_PRIORS, "--out", str(base)).returncode == 0
    done = run("simulate", "--portfolio", str(out / "portfolio.toml"), "--years", "400", *FINANCE_AT_PRIORS,
               "--out", str(protected))  # fmt: skip
    assert done.returncode == 0, done.stderr
    before = json.loads((base / "summary.json").read_text())["sectors"]["finance"]["aal"]
    after = json.loads((protected / "summary.json").read_text())["sectors"]["finance"]["aal"]
    assert after < 0.5 * before


def test_portfolio_sets_the_agent_models_start(finance, tmp_path):
    """The optimiser's portfolio.toml is what `riskmodel abm --portfolio` takes: finance's
    operators start FY2006 with the chosen measures."""
    out, _ = finance
    chosen = json.loads((out / "optimize_summary.json").read_text())["sectors"]["finance"]["measures"]
    abm_out = tmp_path / "abm"
    done = run("abm", "--portfolio", str(out / "portfolio.toml"), "--years", "1", "--out", str(abm_out))
    assert done.returncode == 0, done.stderr
    agents = pq.read_table(abm_out / "agents_yearly.parquet").to_pandas()
    finance_ops = agents[(agents.agent_type == "Operator") & (agents.sector == "finance")]
    assert (finance_ops.measures >= len(chosen)).all()


def test_same_seed_same_summary_bytes(finance, tmp_path):
    out, _ = finance
    again = tmp_path / "again"
    done = run("optimize", "--sector", "finance", "--no-fn", *SMALL, *FINANCE_AT_PRIORS, "--out", str(again))
    assert done.returncode == 0, done.stderr
    assert (again / "optimize_summary.json").read_bytes() == (out / "optimize_summary.json").read_bytes()
    assert (again / "portfolio.toml").read_bytes() == (out / "portfolio.toml").read_bytes()


def test_an_unreachable_scenario_bar_is_relaxed_and_said(tmp_path):
    """Finance's F-N line, made a hundred times stricter, is out of the catalogue's reach:
    the run still answers (exit 0), with the cheapest portfolio within 1% of the least-risk
    one, and says which bar and by how much, on screen and in the summary."""
    strict = f"sectors[id=finance].acceptability.fn_constant={FINANCE_FN_CONSTANT / 100}"
    done = run("optimize", "--sector", "finance", "--years", "200", "--eval-years", "500", "--replications", "0",
               "--frontier-points", "0", "--set", strict, "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "finance: its F-N line cannot be met at any cost" in done.stdout.replace("\n", " ")
    summary = json.loads((tmp_path / "optimize_summary.json").read_text())
    assert summary["status"] == "optimal" and summary["objective"] > 0
    (relaxed,) = summary["relaxed_bars"]
    assert relaxed["bar"] == "finance" and relaxed["kind"] == "fn" and relaxed["lowest_reachable"] > 1
    assert relaxed["relaxed_to"] == pytest.approx(1.01 * relaxed["lowest_reachable"])
    assert (tmp_path / "portfolio.toml").is_file()


def test_a_bar_the_user_set_out_of_reach_exits_3_with_what_is_reachable(tmp_path):
    """A CVaR bar of 1 yen, asked for on the command line, is never relaxed: exit 3, no
    traceback, the lowest reachable CVaR on stderr, a summary saying so, no portfolio."""
    done = run("optimize", "--sector", "finance", "--no-fn", "--cvar-level", "0.99", "--cvar-max", "1",
               "--years", "200", "--out", str(tmp_path))  # fmt: skip
    assert done.returncode == 3, done.stderr
    assert "Traceback" not in done.stdout + done.stderr
    assert "infeasible" in done.stderr and "finance: CVaR bar" in done.stderr
    summary = json.loads((tmp_path / "optimize_summary.json").read_text())
    assert summary["status"] == "infeasible" and summary["objective"] is None
    check = summary["infeasible"]["finance"]["checks"][0]
    assert check["bar"] == "cvar" and check["lowest_at_any_cost"] > 1
    assert not (tmp_path / "portfolio.toml").exists()


def test_society_run_compares_with_the_partial_optima(tmp_path):
    args = ["--society", "--no-fn", "--years", "200", "--eval-years", "500", "--replications", "0"]
    done = run("optimize", *args, "--frontier-points", "0", "--solver", "cbc", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    summary = json.loads((tmp_path / "optimize_summary.json").read_text())
    comparison = summary["comparison"]
    assert len(summary["sectors"]) == 10 and "price of externalities" in done.stdout
    # society's optimum has the lower social cost on the years it was optimised on
    assert comparison["price_of_externalities"] >= -1e-4 * comparison["society"]["social_cost"]
    fresh = comparison["price_of_externalities_out_of_sample"]
    assert fresh["ci"][0] <= fresh["estimate"] <= fresh["ci"][1] and fresh["years"] == 500
    assert "out of sample (500 fresh engine years, paired)" in done.stdout
    assert (tmp_path / "portfolio_partial.toml").is_file()


@pytest.mark.slow
def test_instruments_run_writes_its_table(tmp_path):
    """``--instruments``: the declared table, one row per sector and instrument; where a
    liability share or a subsidy is found, applying it reproduces society's portfolio and
    lowers social cost (or leaves it) against the sector's own optimum, in sample."""
    args = ["--no-fn", "--years", "100", "--eval-years", "300", "--replications", "0", "--frontier-points", "0"]
    done = run("optimize", *args, "--instruments", "--out", str(tmp_path))
    assert done.returncode == 0, done.stderr
    table = pd.read_csv(tmp_path / "instruments.csv")
    assert list(table.columns) == list(COLUMNS)
    assert len(table) == 3 * 10 and set(table.instrument) == {"standard", "liability", "subsidy"}
    found = table[table.instrument.isin(["liability", "subsidy"]) & table.measures.notna()]
    assert len(found) > 0 and found.reproduces.all()
    assert (found.social_cost <= 1e-6 * found.social_cost.abs().max() + 1.0).all()
    assert (table.state_cost[table.instrument != "subsidy"].fillna(0.0) == 0.0).all()
    inside = table.dropna(subset=["oos_social_cost"])
    assert (inside.oos_social_cost_ci_low <= inside.oos_social_cost).all()
    assert (inside.oos_social_cost <= inside.oos_social_cost_ci_high).all()
    assert "instruments that close each sector's gap" in done.stdout


@pytest.mark.parametrize(
    "args,pieces",
    [
        (["--sector", "banking"], ["--sector", "'banking'", "finance, aviation"]),
        (["--sector", "rest_of_economy"], ["--sector", "a critical sector"]),
        (["--budget", "-5"], ["--budget", "-5.0", "non-negative"]),
        (["--cvar-level", "1.5", "--cvar-max", "1e9"], ["--cvar-level", "1.5", "strictly between 0 and 1"]),
        (["--cvar-level", "0", "--cvar-max", "1e9"], ["--cvar-level", "between 0 and 1"]),
        (["--cvar-max", "1e9"], ["--cvar-max", "with --cvar-level"]),
        (["--cvar-level", "0"], ["--cvar-level", "got 0.0", "with --cvar-max"]),
        (["--cvar-level", "0.99", "--cvar-max", "-1"], ["--cvar-max", "positive"]),
        (["--solver", "gurobi"], ["--solver", "'gurobi'", "highs, cbc"]),
        (["--partial", "--society"], ["--partial and --society", "one mode"]),
        (["--sector", "finance", "--partial"], ["--sector and --partial"]),
        (["--years", "0"], ["--years", "at least 1"]),
        (["--replications", "1"], ["--replications", "at least 2"]),
        (["--gap", "1.5"], ["--gap", "relative gap"]),
        (["--time-limit", "0"], ["--time-limit", "positive"]),
        (["--partial", "--instruments"], ["--instruments", "society mode"]),
    ],
)
def test_bad_options_give_one_line(args, pieces, tmp_path):
    outcome = run_cli(["optimize", *args, "--out", str(tmp_path / "o")], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, "(command line)", *pieces)
    assert not (tmp_path / "o").exists() or not list((tmp_path / "o").iterdir())


def test_a_scenario_without_measures_gives_one_line(tmp_path):
    """A valid scenario with an empty catalogue leaves the optimiser nothing to choose."""
    document = japan()
    document["measures"] = []
    for ministry in document.get("ministries", []):
        ministry["recommended"] = []
    path = write_toml(tmp_path / "bare.toml", document)
    outcome = run_cli(["optimize", "--scenario", str(path), "--sector", "finance", "--out", str(tmp_path / "o")],
                      real=False, cwd=tmp_path)  # fmt: skip
    assert_one_line_error(outcome, str(path), "measures", "at least one measure")


def test_bad_option_from_the_real_script(tmp_path):
    outcome = run_cli(["optimize", "--sector", "banking"], real=True, cwd=tmp_path)
    assert_one_line_error(outcome, "--sector", "'banking'")
