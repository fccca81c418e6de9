"""The calibration sections of ``riskmodel report``, built from a small real calibration
(``calibrate fit`` and ``calibrate recover`` written into one folder), and the posterior
block of a ``simulate --posterior`` run's section."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pandas as pd
import pytest
from test_report import sections, write_run

from riskmodel.calibration.fit import calibration_date
from riskmodel.calibration.observation import read_targets
from riskmodel.calibration.recovery import coverage_table, recovery_runs
from riskmodel.calibration.write import DRAWS_FILE, fit_and_check, write_calibration
from riskmodel.engine.simulate import BLOCK_YEARS
from riskmodel.report.build import build_report
from riskmodel.runs import RunSpec
from riskmodel.world import load_world

# sections, figures and tables of a report of a calibration folder holding a recovery too
CALIBRATION_EXPECTED = (["calibration-json", "recovery-csv"], 3, ["fitted", "check", "filters", "counts", "recovery"])


def calibrate_into(folder: Path, check_years: int, seed: int = 0) -> Path:
    """``calibrate fit`` as the command runs it, small: 8 draws, 2 of them checked."""
    world = load_world()
    cal, check = fit_and_check(world, None, None, n_draws=8, seed=seed, check_draws=2, check_years=check_years)
    summary = {"data": cal.source, "targets": str(cal.targets.path), "scenario": world.name,
               "scenario_hash": world.content_hash, "date": calibration_date(), "seed": seed, "draws": 8,
               "version": "test"}  # fmt: skip
    write_calibration(cal, check, world, folder, summary["date"], summary)
    return folder


@pytest.fixture(scope="session")
def calibration_folder(tmp_path_factory) -> Path:
    """A calibration with its predictive check, and a recovery of 2 data sets beside it."""
    folder = calibrate_into(tmp_path_factory.mktemp("calibration"), check_years=100)
    runs = recovery_runs(load_world(), read_targets(), data_sets=2, years=5, seed=0)
    runs.to_csv(folder / "recovery_runs.csv", index=False)
    coverage_table(runs).to_csv(folder / "recovery.csv", index=False)
    return folder


@pytest.fixture(scope="session")
def calibration_report(calibration_folder) -> str:
    return build_report(calibration_folder)


def cells(html: str, table: str) -> list[list[str]]:
    """The text of each data row's cells of ``<table class="table">``."""
    body = re.search(rf'<table class="{table}">(.*?)</table>', html, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", body, re.S)[1:]
    return [[re.sub(r"<[^>]+>", "", c).strip() for c in re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)] for r in rows]


def test_a_calibration_report_has_its_sections_figures_and_tables(calibration_report):
    expected, n_figures, tables = CALIBRATION_EXPECTED
    assert sections(calibration_report) == expected
    assert calibration_report.count('<img class="figure"') == n_figures
    for name in tables:
        assert f'<table class="{name}">' in calibration_report
    assert "<script" not in calibration_report


def test_the_fitted_table_is_the_fit(calibration_folder, calibration_report):
    """Every parameter, its estimate and interval, and whether data or prior decide it, as
    the fit wrote them."""
    fitted = pd.read_parquet(calibration_folder / "fitted.parquet")
    rows = cells(calibration_report, "fitted")
    assert len(rows) == len(fitted)
    for row, r in zip(rows, fitted.itertuples(), strict=True):
        assert row[0].startswith(r.parameter) and row[1] == r.kind
        assert row[3] == str(r.data) and row[4] == f"{r.estimate:.3g}"
        assert row[-1] == ("the data" if r.identified else "the prior")
    identified = int(fitted["identified"].sum())
    assert f"The data identify {identified} of {len(fitted)} parameters" in calibration_report
    assert f"for the other {len(fitted) - identified} the prior decides" in calibration_report
    summary = json.loads((calibration_folder / "calibration.json").read_text(encoding="utf-8"))
    assert summary["scenario_hash"] in calibration_report and summary["data"] in calibration_report


def test_the_check_table_is_the_predictive_check(calibration_folder, calibration_report):
    check = pd.read_csv(calibration_folder / "predictive_check.csv", dtype={"date": str, "reported": str})
    rows = cells(calibration_report, "check")
    assert len(rows) == len(check) > 0
    for row, r in zip(rows, check.itertuples(), strict=True):
        assert row[0] == r.date and row[4] == r.reported
        assert row[5] == f"{r.p_below:.3f}" and row[6] == f"{r.p_above:.3f}"
        assert row[7] == ("yes" if r.plausible else "no")
    plausible = int(check["plausible"].sum())
    assert f"{plausible} of {len(check)} reported figures are plausible" in calibration_report


def test_the_recovery_table_counts_coverage_within_two_standard_errors(calibration_folder, calibration_report):
    table = pd.read_csv(calibration_folder / "recovery.csv")
    within = ((table["coverage"] - 0.9).abs() <= 2 * table["coverage_se"]).to_numpy()
    rows = cells(calibration_report, "recovery")
    assert [row[-1] == "yes" for row in rows] == list(within)
    assert f"for {int(within.sum())} of {len(table)} parameters" in calibration_report


def test_the_count_targets_add_up(calibration_folder, calibration_report):
    counts = pd.read_csv(calibration_folder / "count_targets.csv")
    shown = sum(int(row[-1]) for row in cells(calibration_report, "counts"))
    assert shown == counts["count"].sum()


def test_a_calibration_without_a_check_says_so(tmp_path):
    html = build_report(calibrate_into(tmp_path / "cal", check_years=0))
    assert sections(html) == ["calibration-json"]
    assert "No predictive check was run" in html and '<table class="check">' not in html
    assert html.count('<img class="figure"') == 1


@pytest.mark.slow  # simulates 2,048 years and writes their files: about 17 s
def test_a_posterior_run_shows_the_split_of_its_aal(calibration_folder, tmp_path):
    """The posterior block of the summary, sector by sector, in billions of yen."""
    spec = RunSpec("simulate", size=2 * BLOCK_YEARS, seed=1,
                   options={"posterior": str(calibration_folder / DRAWS_FILE)})  # fmt: skip
    folder = write_run(spec, tmp_path / "posterior")
    html = build_report(folder)
    split = json.loads((folder / "summary.json").read_text(encoding="utf-8"))["posterior"]
    rows = cells(html, "posterior")
    assert [row[0] for row in rows] == list(split["aal"])
    for row in rows:
        entry = split["aal"][row[0]]
        assert row[1] == f"{entry['aal'] / 1e9:,.1f}"
        assert row[3] == f"{entry['monte_carlo_se'] / 1e9:,.2f}"
        assert row[5] == f"{100 * entry['parameter_share_of_variance']:.1f}%"
    assert f"({split['draws_used']} draws used)" in html
