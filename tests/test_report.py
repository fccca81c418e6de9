"""``riskmodel report``: one self-contained HTML page per output folder, its sections chosen
by the files the folder holds."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from riskmodel.errors import InputError
from riskmodel.report.build import build_report
from riskmodel.runs import RunSpec, run
from riskmodel.runs.writers import write_files

SPECS = {
    "simulate": RunSpec("simulate", size=400, seed=4, overrides={"threats[id=ddos].frequency.rate": {"scale": 1.5}}),
    "abm": RunSpec("abm", size=1, seed=3),
    "optimize": RunSpec(
        "optimize", size=150, seed=2,
        options={"mode": "society", "fn": False, "eval_years": 300, "replications": 0, "frontier_points": 2},
    ),
}  # fmt: skip
CLI = [sys.executable, "-c", "from riskmodel.cli import main; main()"]


def write_run(spec: RunSpec, folder: Path) -> Path:
    """Run a spec and write its files as the command line does (loss tables streamed)."""
    folder.mkdir(parents=True, exist_ok=True)
    write_files(run(spec, stream_to=folder), folder)
    return folder


@pytest.fixture(scope="session")
def run_folders(tmp_path_factory) -> dict[str, Path]:
    """An output folder of each kind, and one holding an abm and an optimize run."""
    root = tmp_path_factory.mktemp("runs")
    folders = {kind: write_run(spec, root / kind) for kind, spec in SPECS.items()}
    folders["both"] = root / "both"
    for kind in ("abm", "optimize"):
        shutil.copytree(folders[kind], folders["both"], dirs_exist_ok=True)
    return folders


def sections(html: str) -> list[str]:
    return re.findall(r'<section class="run" id="([^"]+)"', html)


@pytest.fixture(scope="session")
def reports(run_folders) -> dict[str, str]:
    """The report of each folder, built once (figures take seconds to draw)."""
    return {kind: build_report(folder) for kind, folder in run_folders.items()}


EXPECTED = {  # kind: sections, figures, tables
    "simulate": (["summary-json"], 3, ["sectors"]),
    "abm": (["abm_summary-json"], 1, ["years", "targets"]),
    "optimize": (["optimize_summary-json"], 1, ["portfolio", "comparison", "measures"]),
    "both": (["abm_summary-json", "optimize_summary-json"], 2, ["years", "portfolio"]),
}


@pytest.mark.parametrize("kind", list(EXPECTED))
def test_a_report_has_the_sections_its_folder_holds(reports, kind):
    html = reports[kind]
    expected, figures, tables = EXPECTED[kind]
    assert sections(html) == expected
    assert html.count('<img class="figure"') == figures
    for name in tables:
        assert f'<table class="{name}">' in html
    assert html.count('<table class="what">') == len(expected)  # what was run, from each provenance block


def test_a_report_is_self_contained(reports):
    html = reports["simulate"]
    assert "<script" not in html  # nothing to run, nothing to fetch
    assert not re.search(r"""(src|href)=["']?(https?:)?//""", html)
    assert "data:image/svg+xml;base64," in html


def test_the_simulate_report_reads_out_the_run(run_folders, reports):
    html = reports["simulate"]
    assert "threats[id=ddos].frequency.rate" in html and "400 simulated years" in html
    assert "ORD convention" in html
    unacceptable = re.findall(r"<li><b>(\w+)</b> is <span class=\"unacceptable\">", html)
    summary = json.loads((run_folders["simulate"] / "summary.json").read_text(encoding="utf-8"))
    classes = {name: entry["acceptability"] for name, entry in summary["sectors"].items()}
    assert unacceptable == [name for name, value in classes.items() if value == "unacceptable"]


def test_the_command_writes_the_report_and_refuses_an_empty_folder(run_folders, tmp_path):
    target = tmp_path / "r.html"
    done = subprocess.run([*CLI, "report", str(run_folders["abm"]), "--out", str(target)], capture_output=True,
                          text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert sections(target.read_text(encoding="utf-8")) == ["abm_summary-json"]
    done = subprocess.run([*CLI, "report", str(tmp_path)], capture_output=True, text=True, timeout=300)
    assert done.returncode == 2 and "no run in it" in done.stderr
    with pytest.raises(InputError):
        build_report(tmp_path / "missing")


def test_scenario_show_prints_the_measure_catalogue_with_units():
    """CLI polish beside the reports: `scenario show` lists what its help promises."""
    done = subprocess.run([*CLI, "scenario", "show"], capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr
    assert "fixed (million yen/yr)" in done.stdout and "ddos_mitigation" in done.stdout
    assert "CVaR bar (bn yen)" in done.stdout


def test_an_optimize_report_without_a_portfolio_says_why(run_folders, tmp_path):
    """When no portfolio meets the bars the summary has no measures or costs, only the
    diagnosis; the report shows that instead of failing."""
    summary = json.loads((run_folders["optimize"] / "optimize_summary.json").read_text(encoding="utf-8"))
    summary.update(status="infeasible", objective=None, infeasible={"society": {"binding": ["finance: F-N line "
                   "unreachable at any cost: lowest reachable 3.16x its line"]}})  # fmt: skip
    for entry in summary["sectors"].values():
        entry.update(measures=None, cost=None, expected_loss=None, cvar=None, fn_ratio=None, acceptability=None)
    folder = tmp_path / "infeasible"
    folder.mkdir()
    (folder / "optimize_summary.json").write_text(json.dumps(summary), encoding="utf-8")
    html = build_report(folder)
    assert "No portfolio meets the bars" in html and "3.16x its line" in html and "no portfolio" in html


def test_an_experiment_store_gets_its_report(tmp_path):
    """An experiment's store: what was run, the outcomes by design point with intervals
    and a figure each, the paired lever comparisons; a Morris design adds its indices."""
    from experiments_helpers import toy_spec, write_spec

    from riskmodel.experiments import run_experiment

    spec = toy_spec(replications=3)
    store = tmp_path / "toy.duckdb"
    run_experiment(write_spec(tmp_path, spec), store, progress=False)
    html = build_report(store)
    assert "Experiment <strong>toy</strong>" in html
    assert "8 design points x 3 replications" in html  # 2 slopes x 4 samples
    assert "24 done" in html
    assert html.count("<table") == 2 and html.count('<img class="figure"') >= 1
    assert "Paired lever comparisons" in html and "Sensitivity indices" not in html
    assert "https://" not in html and "<script" not in html  # self-contained
    two_factors = [{"path": name, "distribution": "uniform", "low": 0.0, "high": 1.0} for name in ("x", "slope")]
    morris = toy_spec("toy_morris", replications=2, levers=None, uncertainties=two_factors,
                      design={"uncertainties": "morris", "samples": 4})  # fmt: skip
    morris_store = tmp_path / "morris.duckdb"
    run_experiment(write_spec(tmp_path, morris, "morris.toml"), morris_store, progress=False)
    assert "Sensitivity indices (morris, SALib)" in build_report(morris_store)


def test_the_abm_report_gives_intervals_over_replications(tmp_path):
    folder = write_run(RunSpec("abm", size=2, seed=3, options={"replications": 3}), tmp_path / "abm")
    html = build_report(folder)
    assert '<table class="replications">' in html and "Over 3 replications" in html
    intervals = json.loads((folder / "abm_summary.json").read_text(encoding="utf-8"))["replications"]["fiscal_years"]
    spend = intervals["2007"]["security_spend"]
    shown = f"{spend['mean'] / 1e9:,.1f} ({spend['ci_low'] / 1e9:,.1f} to {spend['ci_high'] / 1e9:,.1f})"
    assert shown in html


def test_a_single_replication_says_it_has_no_interval(reports):
    assert '<table class="replications">' not in reports["abm"] and "--replications R" in reports["abm"]
