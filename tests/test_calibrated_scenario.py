"""A calibrated scenario: its tables keep their priors, a refit starts from them (a fixed
point, not the data counted twice), it names its draws file, and bad priors or a missing
draws file are one-line errors."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pandas as pd
import pytest
import tomli_w
from typer.testing import CliRunner

from riskmodel.calibration.model import prior_values, prior_world
from riskmodel.calibration.write import DRAWS_FILE, fit_and_check, write_calibration
from riskmodel.cli import app
from riskmodel.errors import InputError
from riskmodel.overrides import parse_path
from riskmodel.scenario import load_scenario, packaged_file
from riskmodel.world import load_world

DRAWS = 30


def calibrate_into(world, folder: Path) -> Path:
    """``calibrate fit`` without the predictive check, written into ``folder``; the
    calibrated scenario's path."""
    cal, check = fit_and_check(world, None, None, n_draws=DRAWS, seed=0, check_draws=0, check_years=0)
    names = write_calibration(cal, check, world, folder, "2026-12-02", {"seed": 0})
    return folder / next(n for n in names if n.endswith(".toml"))


@pytest.fixture(scope="module")
def first(tmp_path_factory) -> Path:
    return calibrate_into(prior_world(load_world()), tmp_path_factory.mktemp("first"))


def test_calibrated_tables_keep_their_prior_and_name_the_draws(first: Path):
    before = prior_world(load_world()).scenario
    after = load_scenario(first)
    aviation_before = next(s for s in before.sectors if s.id == "aviation").exposure
    aviation = next(s for s in after.sectors if s.id == "aviation").exposure
    assert aviation.prior == {"cyber": aviation_before.cyber, "unintentional": aviation_before.unintentional}
    assert aviation.unintentional != aviation_before.unintentional
    assert aviation.disaster == aviation_before.disaster and "disaster" not in aviation.prior
    assert after.calibration is not None and after.calibration.draws == DRAWS_FILE
    means = pd.read_parquet(first.parent / DRAWS_FILE).drop(columns="draw").mean()
    assert aviation.unintentional == pytest.approx(means["sectors[id=aviation].exposure.unintentional"], rel=1e-12)


def test_prior_world_of_a_calibrated_scenario_is_the_first_prior(first: Path):
    restored = prior_world(load_world(first)).scenario.model_dump(exclude={"scenario", "calibration"})
    original = prior_world(load_world()).scenario.model_dump(exclude={"scenario", "calibration"})
    for tables in (restored, original):  # provenance notes differ; the numbers must not
        for table in [s.get("exposure") for s in tables["sectors"]] + [t["duration"] for t in tables["threats"]]:
            if table:
                table.update(source=None, prior=None)
    assert restored["sectors"] == original["sectors"]
    assert restored["threats"] == original["threats"]


def test_recalibrating_a_calibrated_scenario_is_a_fixed_point(first: Path, tmp_path: Path):
    """The refit starts from the kept priors: same draws and the same scenario text (the
    source notes do not nest), where starting from the calibrated values would count the
    data twice and move every rate again."""
    again = calibrate_into(load_world(first), tmp_path)
    pd.testing.assert_frame_equal(pd.read_parquet(first.parent / DRAWS_FILE), pd.read_parquet(tmp_path / DRAWS_FILE))
    assert again.read_text(encoding="utf-8") == first.read_text(encoding="utf-8")
    assert "before calibration: calibrated" not in again.read_text(encoding="utf-8")


def test_calibrated_scenario_runs_and_exports_its_draws(first: Path, tmp_path: Path):
    world = load_world(first)
    assert world.scenario.calibration is not None
    draws = str(first.parent / DRAWS_FILE)
    args = ["simulate", "--scenario", str(first), "--years", "200", "--posterior", draws, "--out", str(tmp_path)]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 0, result.output


def _write(folder: Path, data: dict) -> Path:
    path = folder / "bad.toml"
    path.write_text(tomli_w.dumps(data), encoding="utf-8")
    return path


def test_a_prior_for_a_field_that_is_not_a_number_is_one_line(first: Path, tmp_path: Path):
    data = tomllib.loads(first.read_text(encoding="utf-8"))
    data["sectors"][0]["exposure"]["prior"] = {"source": 1.0}
    with pytest.raises(InputError, match="prior"):
        load_scenario(_write(tmp_path, data))


def test_a_missing_draws_file_is_one_line_with_exit_2(first: Path, tmp_path: Path):
    data = tomllib.loads(first.read_text(encoding="utf-8"))
    for name in ("japan_io_2011_13sector.csv", "incidents_seed.csv"):
        (tmp_path / name).write_bytes((first.parent / name).read_bytes())
    path = _write(tmp_path, data)  # no posterior_draws.parquet beside it
    args = ["simulate", "--scenario", str(path), "--years", "10", "--out", str(tmp_path / "o")]
    result = CliRunner().invoke(app, args)
    assert result.exit_code == 2
    assert "calibration.draws" in result.output and "Traceback" not in result.output


# --- the packaged default is calibrated (tools/recalibrate_default.py) ------------------


def test_default_scenario_holds_its_shipped_draws_means():
    """Every column of the shipped draws is a calibrated field of the default scenario,
    which holds its posterior mean (written to 4 significant figures) and keeps its prior."""
    world = load_world()
    record = world.scenario.calibration
    assert record is not None and record.data == "incidents_press_2003_2020.csv"
    draws = pd.read_parquet(packaged_file(record.draws))
    data = world.scenario.model_dump(mode="json")
    for path, mean in draws.drop(columns="draw").mean().items():
        steps = parse_path(path)
        node = data
        for step in steps[:-1]:
            node = node[step] if not isinstance(step, tuple) else next(i for i in node if i.get("id") == step[1])
        assert node[steps[-1]] == pytest.approx(mean, rel=5e-4), path  # 4 significant figures
        assert steps[-1] in node["prior"] and node["source"].startswith("calibrated: "), path


@pytest.mark.slow
def test_default_calibration_reproduces_the_shipped_draws(tmp_path: Path):
    """`riskmodel calibrate fit` on the defaults (from the kept priors) gives the shipped
    draws: the default is what the documented command gives, not numbers typed in."""
    result = CliRunner().invoke(app, ["calibrate", "fit", "--out", str(tmp_path), "--check-years", "0"])
    assert result.exit_code == 0, result.output
    shipped = pd.read_parquet(packaged_file(load_world().scenario.calibration.draws))
    pd.testing.assert_frame_equal(pd.read_parquet(tmp_path / DRAWS_FILE), shipped)


def test_a_run_spec_with_the_prior_values_runs_the_prior_world():
    """`RunSpec(..., overrides=prior_values(scenario))` is how a user runs the default as it
    stood before calibration: the same world as the fit's starting point."""
    from riskmodel.runs import RunSpec, run

    world = load_world()
    values = prior_values(world.scenario)
    assert len(values) == len(pd.read_parquet(packaged_file(world.scenario.calibration.draws)).columns) - 1
    before = run(RunSpec("simulate", size=64, seed=0, overrides=values))
    assert before.detail.world.content_hash == prior_world(world).content_hash
