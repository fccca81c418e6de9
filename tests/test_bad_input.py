"""Bad input is reported, not crashed on, and never costs the user what is already stored.

The requirement: unknown field, wrong type, negative rate, probability above 1, an A*
whose spectral radius is 1 or more, a missing file, malformed TOML, an unknown sector or
measure in a portfolio -- each gives one line on stderr naming the file, the field path,
the value and what was expected; exit status 2; no traceback. A failed run leaves the
files already in its output folder as they were.

Every case runs in-process through ``typer.testing.CliRunner`` (fast); the cases marked
``real`` also run the installed ``riskmodel`` console script in a subprocess, since exit
status and stderr of the real entry point are what a user sees.
"""

from __future__ import annotations

import copy
import os
import shutil
import subprocess
import sys
import tomllib
import traceback
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import tomli_w
from typer.testing import CliRunner

from riskmodel.cli import app
from riskmodel.scenario import default_scenario_path, packaged_file
from riskmodel.toy import compound_poisson_document

SCRIPT = Path(sys.executable).parent / "riskmodel"
JAPAN: dict[str, Any] = tomllib.loads(default_scenario_path().read_text(encoding="utf-8"))
Document = dict[str, Any]


# --- running the CLI -------------------------------------------------------------------


@dataclass(frozen=True)
class Outcome:
    code: int
    stdout: str
    stderr: str
    crash: str = ""  # formatted exception of an in-process run that escaped the CLI


def run_cli(args: list[str], *, real: bool, cwd: Path) -> Outcome:
    """Run ``riskmodel ARGS``: the installed script in a subprocess, or the app in-process."""
    if real:
        assert SCRIPT.is_file(), f"console script not installed next to {sys.executable}"
        env = {k: v for k, v in os.environ.items() if k not in ("FORCE_COLOR", "TTY_COMPATIBLE", "TTY_INTERACTIVE")}
        done = subprocess.run(
            [str(SCRIPT), *args], cwd=cwd, env=env, capture_output=True, text=True, timeout=600, check=False
        )
        return Outcome(done.returncode, done.stdout, done.stderr)
    result = CliRunner().invoke(app, args, catch_exceptions=True)
    crash = ""
    if result.exception is not None and not isinstance(result.exception, SystemExit):
        crash = "".join(traceback.format_exception(result.exception))
    return Outcome(result.exit_code, result.stdout, result.stderr, crash)


def assert_one_line_error(outcome: Outcome, *pieces: str) -> str:
    """Exit status 2, nothing on stdout, one ``error: ...; expected ...`` line on stderr
    holding every piece, and no traceback anywhere. Returns the line."""
    shown = f"exit {outcome.code}\nstdout: {outcome.stdout!r}\nstderr: {outcome.stderr!r}\n{outcome.crash}"
    assert not outcome.crash, shown
    assert "Traceback" not in outcome.stdout + outcome.stderr, shown
    assert outcome.code == 2, shown
    assert outcome.stdout == "", shown
    lines = outcome.stderr.splitlines()
    assert len(lines) == 1, shown
    line = lines[0]
    assert line.startswith("error: "), shown
    assert "; expected " in line, shown
    for piece in pieces:
        assert piece in line, f"{piece!r} missing from the error line\n{shown}"
    return line


def write_toml(path: Path, document: Document) -> Path:
    """Write a scenario (or portfolio) document; a scenario's packaged data files are copied
    beside it when they are not there yet, since a scenario reads them from its own folder."""
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    names = [document.get("interdependency", {}).get("io_table", "japan_io_2011_13sector.csv")]
    names += [document["incidents"]["file"]] if isinstance(document.get("incidents"), dict) else []
    names += [document["calibration"]["draws"]] if isinstance(document.get("calibration"), dict) else []
    if "interdependency" in document and "matrix" not in document["interdependency"]:
        for name in names:
            if isinstance(name, str) and packaged_file(name).is_file() and not (path.parent / name).exists():
                shutil.copyfile(packaged_file(name), path.parent / name)
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every file under ``folder`` (relative name -> bytes), hidden ones included."""
    return {str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()}


# --- building bad scenario documents ----------------------------------------------------


def japan() -> Document:
    return copy.deepcopy(JAPAN)


def by_id(items: list[Document], item_id: str) -> Document:
    return next(item for item in items if item["id"] == item_id)


def threat(doc: Document, threat_id: str) -> Document:
    return by_id(doc["threats"], threat_id)


def sector(doc: Document, sector_id: str) -> Document:
    return by_id(doc["sectors"], sector_id)


def japan_with(change: Callable[[Document], object]) -> Callable[[], Document]:
    def build() -> Document:
        doc = japan()
        change(doc)
        return doc

    return build


def toy_with_matrix(matrix: list[list[float]]) -> Callable[[], Document]:
    """The two-sector toy scenario (plus its rest-of-economy sector) with an explicit A*."""

    def build() -> Document:
        doc = compound_poisson_document(n_sectors=2)
        doc["interdependency"]["matrix"] = matrix
        return doc

    return build


def drop_median_hours(doc: Document) -> None:
    del threat(doc, "software_fault")["duration"]["median_hours"]


def strong_lifelines(doc: Document) -> None:
    for link in doc["lifelines"]:
        link["share"] = 1.0


@dataclass(frozen=True)
class ScenarioCase:
    build: Callable[[], Document] | None  # None: write ``text`` (bytes) instead
    pieces: tuple[str, ...]
    real: bool = False
    text: bytes = b""


SCENARIO_CASES = {
    "unknown-field-in-threat": ScenarioCase(
        japan_with(lambda d: threat(d, "ddos")["frequency"].update(rat=0.15)),
        ("threats[id=ddos].frequency.rat", "got 'rat'", "expected no such field"),
        real=True,
    ),
    "unknown-field-in-sector": ScenarioCase(
        japan_with(lambda d: sector(d, "water")["acceptability"].update(cvar_maximum=1e12)),
        ("sectors[id=water].acceptability.cvar_maximum", "got 'cvar_maximum'", "expected no such field"),
    ),
    "unknown-top-level-table": ScenarioCase(
        japan_with(lambda d: d.update(treats=[])),
        (": treats: ", "got 'treats'", "expected no such field"),
    ),
    "wrong-type-string-for-rate": ScenarioCase(
        japan_with(lambda d: threat(d, "ddos")["frequency"].update(rate="often")),
        ("threats[id=ddos].frequency.rate", "got 'often'", "expected a valid number"),
    ),
    "wrong-type-bool-for-number": ScenarioCase(
        japan_with(lambda d: sector(d, "finance")["users"].update(total=True)),
        ("sectors[id=finance].users.total", "got True", "expected a valid number"),
    ),
    "wrong-type-float-for-count": ScenarioCase(
        japan_with(lambda d: sector(d, "gas")["operators"].update(count=2.5)),
        ("sectors[id=gas].operators.count", "got 2.5", "expected a valid integer"),
    ),
    "wrong-choice-for-kind": ScenarioCase(
        japan_with(lambda d: threat(d, "ddos").update(kind="alien")),
        ("threats[id=ddos].kind", "got 'alien'", "expected 'cyber', 'unintentional' or 'disaster'"),
    ),
    "missing-field": ScenarioCase(
        japan_with(drop_median_hours),
        ("threats[id=software_fault].duration.median_hours", "got '(missing)'", "expected this field to be present"),
    ),
    "negative-rate": ScenarioCase(
        japan_with(lambda d: threat(d, "ddos")["frequency"].update(rate=-0.5)),
        ("threats[id=ddos].frequency.rate", "got -0.5", "expected greater than or equal to 0"),
        real=True,
    ),
    "nan-rate": ScenarioCase(
        japan_with(lambda d: threat(d, "web_exploit")["frequency"].update(rate=float("nan"))),
        ("threats[id=web_exploit].frequency.rate", "got nan", "expected"),
    ),
    "probability-above-1-cascade-share": ScenarioCase(
        japan_with(lambda d: sector(d, "electricity")["cascade"].update(share=1.5)),
        ("sectors[id=electricity].cascade.share", "got 1.5", "expected less than or equal to 1"),
    ),
    "probability-above-1-hit-probability": ScenarioCase(
        japan_with(lambda d: threat(d, "earthquake")["frequency"].update(hit_probability=1.5)),
        ("threats[id=earthquake].frequency.hit_probability", "got 1.5", "expected less than or equal to 1"),
    ),
    "probability-above-1-measure-effect": ScenarioCase(
        japan_with(
            lambda d: by_id(d["measures"], "staff_training")["levels"][0]["effects"]["frequency"].update(ddos=1.5)
        ),
        ("measures[id=staff_training].levels[0].effects.frequency.ddos", "got 1.5", "expected less than or equal to 1"),
    ),
    "cvar-level-of-1": ScenarioCase(
        japan_with(lambda d: sector(d, "water")["acceptability"].update(cvar_level=1.0)),
        ("sectors[id=water].acceptability.cvar_level", "got 1.0", "expected less than 1"),
    ),
    "negative-matrix-entry": ScenarioCase(
        toy_with_matrix([[0.0, -0.1, 0.0], [0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),
        ("interdependency.matrix[0][1]", "got -0.1", "expected greater than or equal to 0"),
    ),
    "spectral-radius-above-1": ScenarioCase(
        toy_with_matrix([[0.6] * 3 for _ in range(3)]),  # eigenvalues 1.8, 0, 0
        ("interdependency", "spectral radius 1.8000", "expected a spectral radius below 1"),
        real=True,
    ),
    "spectral-radius-exactly-1": ScenarioCase(
        toy_with_matrix([[0.0, 1.0, 0.0], [1.0, 0.0, 0.0], [0.0, 0.0, 0.0]]),  # eigenvalues 1, -1, 0
        ("interdependency", "spectral radius 1.0000", "expected a spectral radius below 1"),
    ),
    "spectral-radius-from-lifelines": ScenarioCase(
        japan_with(strong_lifelines),
        ("interdependency", "A* with spectral radius ", "expected a spectral radius below 1"),
    ),
    "unknown-ministry": ScenarioCase(
        japan_with(lambda d: sector(d, "finance").update(ministry="mof")),
        ("sectors[id=finance].ministry", "got 'mof'", "expected one of ["),
    ),
    "unknown-region-in-rates": ScenarioCase(
        japan_with(lambda d: threat(d, "earthquake")["frequency"]["regional_rates"].update(mars=0.1)),
        ("threats[id=earthquake].frequency.regional_rates.mars", "got 'mars'", "expected one of ["),
    ),
    "abm-probability-above-1": ScenarioCase(
        japan_with(lambda d: d["abm"]["concealment"].update(base_probability=1.5)),
        ("abm.concealment.base_probability", "got 1.5", "expected less than 1"),
        real=True,
    ),
    "abm-unknown-field": ScenarioCase(
        japan_with(lambda d: d["abm"]["pdca"].update(mandate_rato=1.0)),
        ("abm.pdca.mandate_rato", "got 'mandate_rato'", "expected no such field"),
    ),
    "abm-wrong-type": ScenarioCase(
        japan_with(lambda d: d["abm"]["information_sharing"].update(enabled="yes")),
        ("abm.information_sharing.enabled", "got 'yes'", "expected a valid boolean"),
    ),
    "abm-zero-alert-days": ScenarioCase(
        japan_with(lambda d: d["abm"]["information_sharing"].update(alert_days=0)),
        ("abm.information_sharing.alert_days", "got 0", "expected greater than or equal to 1"),
    ),
    "abm-demote-above-mandate": ScenarioCase(
        japan_with(lambda d: d["abm"]["pdca"].update(demote_ratio=2.0)),
        ("abm.pdca", "expected demote_ratio not above mandate_ratio"),
    ),
    "abm-unknown-attacker-kind": ScenarioCase(
        japan_with(lambda d: d["abm"]["attackers"]["kinds"][0].update(id="pirate")),
        ("abm.attackers.kinds[id=pirate].id", "got 'pirate'", "expected 'criminal', 'hacktivist' or 'state'"),
    ),
    "abm-attacker-with-a-disaster": ScenarioCase(
        japan_with(lambda d: d["abm"]["attackers"]["kinds"][0]["threats"].update(earthquake=0.1)),
        ("abm.attackers.kinds[id=criminal].threats.earthquake", "got 'earthquake'", "expected a cyber threat"),
    ),
    "abm-origins-do-not-add-up": ScenarioCase(
        japan_with(lambda d: d["abm"]["attackers"]["origins"].update(japan=0.5)),
        ("abm.attackers.origins", "expected shares that add up to 1"),
    ),
    "abm-age-bands-do-not-add-up": ScenarioCase(
        japan_with(lambda d: d["abm"]["individuals"]["age_bands"][0].update(user_share=0.5)),
        ("abm.individuals.age_bands[].user_share", "expected shares that add up to 1"),
    ),
    "abm-ceptoar-of-unknown-sector": ScenarioCase(
        japan_with(lambda d: d["abm"]["information_sharing"]["ceptoars"][0].update(sector="nuclear")),
        ("abm.information_sharing.ceptoars[0].sector", "got 'nuclear'", "expected a critical sector"),
    ),
    "abm-outsourcing-share-missing": ScenarioCase(
        japan_with(lambda d: d["abm"]["outsourcing"]["shares"].pop("water")),
        ("abm.outsourcing.shares", "got 'water'", "expected a share for every critical sector"),
    ),
    "abm-too-many-domestic-bots": ScenarioCase(
        japan_with(lambda d: d["abm"]["botnet"].update(bots=1e9, domestic_share=1.0)),
        ("abm.botnet.domestic_share", "expected fewer domestic bots"),
    ),
    "abm-no-cabinet-centre": ScenarioCase(
        japan_with(lambda d: by_id(d["ministries"], "nisc").update(kind="ministry")),
        ("ministries[].kind", "got []", "expected exactly one cabinet_centre"),
    ),
    "abm-two-cabinet-centres": ScenarioCase(
        japan_with(lambda d: by_id(d["ministries"], "mic").update(kind="cabinet_centre")),
        ("ministries[].kind", "got ['nisc', 'mic']", "expected exactly one cabinet_centre"),
    ),
    "abm-cyber-threat-nobody-attacks": ScenarioCase(
        japan_with(lambda d: [k["threats"].pop("intrusion_malware", None) for k in d["abm"]["attackers"]["kinds"]]),
        ("abm.attackers.kinds[].threats", "got 'intrusion_malware'", "expected every cyber threat in some kind's"),
    ),
    "abm-unknown-sharing-threat": ScenarioCase(
        japan_with(lambda d: d["abm"]["information_sharing"]["threats"].append("meteor")),
        ("abm.information_sharing.threats[7]", "got 'meteor'", "expected one of ["),
    ),
    "abm-tiny-reference-share": ScenarioCase(
        japan_with(lambda d: d["abm"]["outsourcing"].update(reference_share=1e-300)),
        ("abm.outsourcing.reference_share", "expected greater than or equal to 0.05"),
    ),
    "abm-too-many-cohorts": ScenarioCase(
        japan_with(lambda d: d["abm"]["individuals"].update(cohorts_per_band=10_000)),
        ("abm.individuals.cohorts_per_band", "got 10000", "expected less than or equal to 1000"),
    ),
    "mandatory-without-its-prerequisite": ScenarioCase(
        japan_with(lambda d: by_id(d["ministries"], "fsa").update(mandatory=["independent_testing"])),
        ("ministries[id=fsa].mandatory[0]", "got 'independent_testing'", "its prerequisite 'change_management'"),
    ),
    "mandatory-measures-that-exclude-each-other": ScenarioCase(
        japan_with(
            lambda d: by_id(d["ministries"], "fsa").update(
                mandatory=["intrusion_detection", "managed_security_service"]
            )
        ),
        ("ministries[id=fsa].mandatory[1]", "got 'managed_security_service'", "not mandatory together with 'intrusion"),
    ),
    "sector-under-two-ministries": ScenarioCase(
        japan_with(lambda d: by_id(d["ministries"], "mic")["sectors"].append("finance")),
        ("ministries[id=mic].sectors[1]", "got 'finance'", "expected a sector whose own ministry is 'mic', not 'fsa'"),
    ),
    "sector-without-its-own-ministry-under-two": ScenarioCase(
        japan_with(
            lambda d: (sector(d, "finance").pop("ministry"), by_id(d["ministries"], "mic")["sectors"].append("finance"))
        ),
        ("ministries[id=fsa].sectors[0]", "got 'finance'", "expected a sector no other ministry (mic) supervises"),
    ),
    "malformed-toml": ScenarioCase(
        None, ("(syntax)", "line 1", "expected valid TOML"), real=True, text=b'[scenario\nname = "x"\n'
    ),
    "duplicate-key-toml": ScenarioCase(
        None, ("(syntax)", "expected valid TOML"), text=b'[scenario]\nname = "a"\nname = "b"\n'
    ),
    "not-utf8": ScenarioCase(None, ("(encoding)", "expected UTF-8 TOML text"), text=b'[scenario]\nname = "\xff"\n'),
}


@pytest.mark.parametrize("name", list(SCENARIO_CASES))
def test_scenario_validate_reports_bad_scenario_in_one_line(name: str, tmp_path: Path) -> None:
    case = SCENARIO_CASES[name]
    path = tmp_path / f"{name}.toml"
    if case.build is None:
        path.write_bytes(case.text)
    else:
        write_toml(path, case.build())
    before = path.read_bytes()
    outcome = run_cli(["scenario", "validate", str(path)], real=case.real, cwd=tmp_path)
    line = assert_one_line_error(outcome, f"error: {path}: ", *case.pieces)
    assert len(line) < 1000
    assert path.read_bytes() == before


def test_unchanged_default_scenario_is_valid(tmp_path: Path) -> None:
    """The cases above break a valid file: the same file unchanged passes."""
    path = write_toml(tmp_path / "japan.toml", japan())
    outcome = run_cli(["scenario", "validate", str(path)], real=False, cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert "valid scenario 'japan'" in outcome.stdout


@pytest.mark.parametrize(
    ("command", "real"),
    [
        pytest.param(["scenario", "validate"], True, id="validate"),
        pytest.param(["scenario", "show", "--scenario"], False, id="show"),
        pytest.param(["simulate", "--years", "20", "--scenario"], False, id="simulate"),
    ],
)
def test_missing_scenario_file(command: list[str], real: bool, tmp_path: Path) -> None:
    path = tmp_path / "no_such_scenario.toml"
    extra = ["--out", str(tmp_path / "out")] if "simulate" in command else []
    outcome = run_cli([*command, str(path), *extra], real=real, cwd=tmp_path)
    assert_one_line_error(outcome, f"error: {path}: ", "got '(no such file)'", "expected an existing TOML file")
    assert not (tmp_path / "out").exists()


def test_directory_given_as_scenario(tmp_path: Path) -> None:
    folder = tmp_path / "scenario.toml"
    folder.mkdir()
    outcome = run_cli(["scenario", "validate", str(folder)], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, f"error: {folder}: ", "expected an existing TOML file")


# --- portfolios ------------------------------------------------------------------------


@dataclass(frozen=True)
class PortfolioCase:
    sectors: dict[str, Any] | None  # None: write ``text`` instead
    pieces: tuple[str, ...]
    real: bool = False
    text: str = ""


PORTFOLIO_CASES = {
    "unknown-sector": PortfolioCase(
        {"nuclear": {"measures": ["staff_training"]}},
        ("sectors.nuclear", "got 'nuclear'", "expected a critical sector (information_communications"),
        real=True,
    ),
    "non-critical-sector": PortfolioCase(
        {"rest_of_economy": {"measures": ["staff_training"]}},
        ("sectors.rest_of_economy", "got 'rest_of_economy'", "expected a critical sector"),
    ),
    "unknown-measure": PortfolioCase(
        {"electricity": {"measures": ["staff_training", "firewall_magic"]}},
        ("sectors.electricity.measures[1]", "got 'firewall_magic'", "expected a measure of the catalogue ("),
    ),
    "level-too-high": PortfolioCase(
        {"electricity": {"measures": ["backup_site:3"]}},
        ("sectors.electricity.measures[0]", "got 'backup_site:3'", "expected a level of backup_site from 1 to 2"),
    ),
    "level-zero": PortfolioCase(
        {"electricity": {"measures": ["backup_site:0"]}},
        ("sectors.electricity.measures[0]", "got 'backup_site:0'", "expected a level of backup_site from 1 to 2"),
    ),
    "level-not-a-number": PortfolioCase(
        {"electricity": {"measures": ["backup_site:hot"]}},
        ("sectors.electricity.measures[0]", "got 'backup_site:hot'", "expected a level of backup_site from 1 to 2"),
    ),
    "level-on-single-level-measure": PortfolioCase(
        {"electricity": {"measures": ["staff_training:2"]}},
        ("sectors.electricity.measures[0]", "got 'staff_training:2'", "expected a level of staff_training from 1 to 1"),
    ),
    "missing-prerequisite": PortfolioCase(
        {"finance": {"measures": ["independent_testing"]}},
        ("sectors.finance.measures[0]", "got 'independent_testing'", "expected its prerequisite 'change_management'"),
    ),
    "exclusion": PortfolioCase(
        {"finance": {"measures": ["intrusion_detection", "managed_security_service"]}},
        # exclusions are symmetric: the first of the pair is reported
        ("sectors.finance.measures[0]", "got 'intrusion_detection'", "expected not together with"),
    ),
    "same-measure-twice": PortfolioCase(
        {"finance": {"measures": ["backup_site:1", "backup_site:2"]}},
        ("sectors.finance.measures[0]", "got 'backup_site:1'", "expected each measure at most once"),
    ),
    "unknown-field": PortfolioCase(
        {"finance": {"measure": ["backup_site"]}},
        ("sectors.finance.measure", "got 'measure'", "expected no such field"),
    ),
    "wrong-type": PortfolioCase(
        {"finance": {"measures": "backup_site"}},
        ("sectors.finance.measures", "got 'backup_site'", "expected a valid list"),
    ),
    "malformed-toml": PortfolioCase(
        None, ("(syntax)", "expected valid TOML"), text='[sectors.finance]\nmeasures = ["backup_site"\n'
    ),
}


@pytest.mark.parametrize("name", list(PORTFOLIO_CASES))
def test_simulate_reports_bad_portfolio_in_one_line(name: str, tmp_path: Path) -> None:
    case = PORTFOLIO_CASES[name]
    path = tmp_path / f"{name}.toml"
    if case.sectors is None:
        path.write_text(case.text, encoding="utf-8")
    else:
        write_toml(path, {"name": name, "sectors": case.sectors})
    out = tmp_path / "out"
    args = ["simulate", "--years", "20", "--portfolio", str(path), "--out", str(out)]
    assert_one_line_error(run_cli(args, real=case.real, cwd=tmp_path), f"error: {path}: ", *case.pieces)
    assert not out.exists(), "a rejected run must not create its output folder"


def test_missing_portfolio_file(tmp_path: Path) -> None:
    path = tmp_path / "no_such_portfolio.toml"
    args = ["simulate", "--years", "20", "--portfolio", str(path), "--out", str(tmp_path / "out")]
    assert_one_line_error(run_cli(args, real=False, cwd=tmp_path), f"error: {path}: ", "expected an existing TOML file")


def test_portfolio_checked_against_the_given_scenario(tmp_path: Path) -> None:
    """The toy scenario has no measures: a measure valid for Japan is unknown there."""
    scenario = write_toml(tmp_path / "toy.toml", compound_poisson_document(n_sectors=2))
    portfolio = write_toml(tmp_path / "p.toml", {"sectors": {"sector_0": {"measures": ["backup_site"]}}})
    args = ["simulate", "--years", "20", "--scenario", str(scenario), "--portfolio", str(portfolio)]
    outcome = run_cli([*args, "--out", str(tmp_path / "out")], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, f"error: {portfolio}: ", "sectors.sector_0.measures[0]", "got 'backup_site'")


# --- nothing already stored is lost -----------------------------------------------------


def test_failed_simulate_leaves_earlier_results_untouched(tmp_path: Path) -> None:
    """A good run writes results; failing runs into the same folder change none of its bytes."""
    out = tmp_path / "results"
    good = run_cli(["simulate", "--years", "50", "--out", str(out)], real=True, cwd=tmp_path)
    assert good.code == 0, good
    assert (out / "summary.json").is_file()
    before = snapshot(out)

    portfolio = write_toml(tmp_path / "bad.toml", {"sectors": {"electricity": {"measures": ["backup_site:3"]}}})
    bad = run_cli(
        ["simulate", "--years", "50", "--portfolio", str(portfolio), "--out", str(out)], real=True, cwd=tmp_path
    )
    assert_one_line_error(bad, f"error: {portfolio}: ", "sectors.electricity.measures[0]", "got 'backup_site:3'")
    assert snapshot(out) == before

    scenario = tmp_path / "broken.toml"
    scenario.write_text('[scenario\nname = "x"\n', encoding="utf-8")
    bad = run_cli(
        ["simulate", "--years", "50", "--scenario", str(scenario), "--out", str(out)], real=False, cwd=tmp_path
    )
    assert_one_line_error(bad, f"error: {scenario}: ", "(syntax)", "expected valid TOML")
    assert snapshot(out) == before
    assert not list(out.glob(".partial-*"))


def test_out_that_is_a_file_is_refused_and_kept(tmp_path: Path) -> None:
    out = tmp_path / "results"
    out.write_bytes(b"not a folder: my notes\n")
    outcome = run_cli(["simulate", "--years", "20", "--out", str(out)], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, f"error: {out}: --out: ", "got '(an existing file)'", "expected a directory")
    assert out.read_bytes() == b"not a folder: my notes\n"


EXPORTED = [default_scenario_path().name, JAPAN["interdependency"]["io_table"], JAPAN["incidents"]["file"],
            JAPAN["calibration"]["draws"]]  # fmt: skip


@pytest.mark.parametrize(
    ("existing", "real"),
    [pytest.param(EXPORTED[0], True, id="scenario"), *(pytest.param(n, False, id=n) for n in EXPORTED[1:])],
)
def test_scenario_export_refuses_to_overwrite(existing: str, real: bool, tmp_path: Path) -> None:
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / existing).write_bytes(b"# my own edited copy\n")
    before = snapshot(folder)
    outcome = run_cli(["scenario", "export", str(folder)], real=real, cwd=tmp_path)
    target = folder / existing
    assert_one_line_error(outcome, f"error: {target}: ", "got '(exists)'", "expected a file that does not exist")
    assert "--force" in outcome.stderr
    assert snapshot(folder) == before, "a refused export must write nothing, not even the files that were absent"


def test_scenario_export_into_a_file_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "mine"
    target.write_bytes(b"keep me\n")
    outcome = run_cli(["scenario", "export", str(target)], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, f"error: {target}: DIRECTORY: ", "expected a directory")
    assert target.read_bytes() == b"keep me\n"


def test_scenario_export_then_validate_roundtrip(tmp_path: Path) -> None:
    """The exported copy is what the cases above edit: it validates, and --force overwrites."""
    folder = tmp_path / "mine"
    assert run_cli(["scenario", "export", str(folder)], real=False, cwd=tmp_path).code == 0
    assert snapshot(folder) == {name: packaged_file(name).read_bytes() for name in EXPORTED}
    assert run_cli(["scenario", "validate", str(folder / EXPORTED[0])], real=False, cwd=tmp_path).code == 0
    (folder / EXPORTED[0]).write_bytes(b"# edited\n")
    assert run_cli(["scenario", "export", str(folder), "--force"], real=False, cwd=tmp_path).code == 0
    assert (folder / EXPORTED[0]).read_bytes() == default_scenario_path().read_bytes()


# --- values TOML allows but a scenario must not hold; long values; verbatim output -------


@pytest.mark.parametrize(
    ("change", "field"),
    [
        pytest.param(
            lambda d: d["threats"][0]["frequency"].update(rate=float("inf")),
            "threats[id=fault].frequency.rate",
            id="rate",
        ),
        pytest.param(
            lambda d: d["regions"][0].update(population=float("inf")), "regions[id=only].population", id="population"
        ),
        pytest.param(
            lambda d: d["interdependency"]["output"].__setitem__(0, float("inf")),
            "interdependency.output[0]",
            id="output",
        ),
    ],
)
def test_infinite_numbers_are_refused(change: Callable[[Document], object], field: str, tmp_path: Path) -> None:
    doc = compound_poisson_document(n_sectors=2)
    change(doc)
    path = write_toml(tmp_path / "inf.toml", doc)
    outcome = run_cli(["scenario", "validate", str(path)], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, f"error: {path}: {field}: ", "got inf", "expected a finite number")


def test_missing_critical_table_gives_a_short_line(tmp_path: Path) -> None:
    doc = japan()
    del sector(doc, "finance")["users"]
    path = write_toml(tmp_path / "no_users.toml", doc)
    outcome = run_cli(["scenario", "validate", str(path)], real=False, cwd=tmp_path)
    line = assert_one_line_error(outcome, f"error: {path}: sectors[id=finance]", "its [users] table")
    assert len(line) < len(str(path)) + 300, f"{len(line)} characters"


def test_missing_io_table_names_the_scenario_field(tmp_path: Path) -> None:
    doc = japan()
    doc["interdependency"]["io_table"] = "no_such_table.csv"
    path = write_toml(tmp_path / "io.toml", doc)
    outcome = run_cli(["scenario", "validate", str(path)], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, f"error: {path}: interdependency.io_table: ", "got 'no_such_table.csv'")


def test_error_line_shows_the_value_verbatim(tmp_path: Path) -> None:
    path = write_toml(tmp_path / "p.toml", {"sectors": {"finance": {"measures": ["backup_site:cd:"]}}})
    args = ["simulate", "--years", "20", "--portfolio", str(path), "--out", str(tmp_path / "out")]
    assert_one_line_error(run_cli(args, real=False, cwd=tmp_path), "got 'backup_site:cd:'")


@pytest.mark.parametrize(("cell", "shown"), [("", "'(empty)'"), ("abc", "'abc'")])
def test_bad_cell_in_the_io_table(cell: str, shown: str, tmp_path: Path) -> None:
    table = (default_scenario_path().parent / "japan_io_2011_13sector.csv").read_text(encoding="utf-8-sig")
    lines = table.splitlines()
    fields = lines[5].split(",")
    fields[-8] = cell  # a final-demand cell of the electricity, gas and water row
    lines[5] = ",".join(fields)
    (tmp_path / "japan_io_2011_13sector.csv").write_text("\n".join(lines) + "\n", encoding="utf-8")
    path = write_toml(tmp_path / "japan.toml", japan())
    outcome = run_cli(["scenario", "validate", str(path)], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, "japan_io_2011_13sector.csv: row 'industry/05_", f"got {shown}", "a finite number")


@pytest.mark.parametrize(
    ("command", "option", "value"),
    [
        ("simulate", "--years", "0"),
        ("simulate", "--threads", "0"),
        ("simulate", "--seed", "-1"),
        ("abm", "--years", "0"),
        ("abm", "--years", "99999999999999999999"),
        ("abm", "--seed", "-2"),
        ("abm", "--replications", "0"),
    ],
)
def test_out_of_range_options(command: str, option: str, value: str, tmp_path: Path) -> None:
    outcome = run_cli([command, option, value, "--out", str(tmp_path / "out")], real=True, cwd=tmp_path)
    assert_one_line_error(outcome, f"error: (command line): {option}: got {value}", "expected a whole number")
    assert not (tmp_path / "out").exists()


def test_agent_model_needs_its_tables(tmp_path: Path) -> None:
    """The toy scenario has no [abm] tables: the agent model says so and writes nothing."""
    scenario = write_toml(tmp_path / "toy.toml", compound_poisson_document(n_sectors=2))
    out = tmp_path / "out"
    outcome = run_cli(["abm", "--scenario", str(scenario), "--out", str(out)], real=True, cwd=tmp_path)
    assert_one_line_error(outcome, f"error: {scenario}: abm: ", "got '(missing)'", "expected the [abm] tables")
    assert not out.exists()


def test_failed_abm_leaves_earlier_results_untouched(tmp_path: Path) -> None:
    out = tmp_path / "results"
    good = run_cli(["abm", "--years", "1", "--out", str(out)], real=False, cwd=tmp_path)
    assert good.code == 0, good
    before = snapshot(out)
    portfolio = write_toml(tmp_path / "bad.toml", {"sectors": {"finance": {"measures": ["independent_testing"]}}})
    bad = run_cli(["abm", "--years", "1", "--portfolio", str(portfolio), "--out", str(out)], real=False, cwd=tmp_path)
    assert_one_line_error(bad, f"error: {portfolio}: ", "expected its prerequisite 'change_management'")
    assert snapshot(out) == before


def test_out_below_a_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("keep\n")
    outcome = run_cli(["simulate", "--years", "5", "--out", str(tmp_path / "afile" / "sub")], real=False, cwd=tmp_path)
    assert_one_line_error(outcome, "--out: got 'Not a directory'", "expected a directory that can be created")
    assert (tmp_path / "afile").read_text() == "keep\n"
