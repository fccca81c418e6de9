"""A corpus of malformed inputs (issue 15): each gets one line and exit status 2.

Every case asserts: exit status 2, nothing on stdout, exactly one ``error: ...; expected
...`` line on stderr that names the file, the field, the value and what was expected, no
traceback, and an ``--out`` folder holding earlier results left byte-identical. Classes:
scenario fields at every level (types and physical bounds), the same fields through
``--set``, rules that cannot hold, data files, portfolio files, options of every command,
malformed ``--set`` texts, file-system cases, runs too big to fit, and values too long for
a line. Cases run in-process through typer's CliRunner (fast); a few (``real``) run the
console script in a subprocess.
"""

from __future__ import annotations

import errno
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import typer
from test_bad_input import JAPAN, assert_one_line_error, japan, run_cli, snapshot, write_toml

from riskmodel.cli import app
from riskmodel.errors import InputError
from riskmodel.overrides import Override, apply_to_data, parse_path
from riskmodel.scenario import packaged_file

IO_TABLE = JAPAN["interdependency"]["io_table"]
INCIDENTS = JAPAN["incidents"]["file"]
DRAWS = JAPAN["calibration"]["draws"]
REGION = JAPAN["regions"][0]["id"]
ORIGIN = next(iter(JAPAN["abm"]["attackers"]["origins"]))
BAND = JAPAN["abm"]["individuals"]["age_bands"][0]["id"]
EARLIER = {  # an --out folder holding the results of earlier runs of every command
    "summary.json": b'{"earlier": "simulate"}\n',
    "ylt.parquet": b"PAR1 earlier year loss table PAR1",
    "abm_summary.json": b'{"earlier": "abm"}\n',
    "optimize_summary.json": b'{"earlier": "optimize"}\n',
    "portfolio.toml": b'[sectors.finance]\nmeasures = ["backup_site"]\n',
    "frontier.csv": b"cost,risk\n1,2\n",
    "notes.txt": b"my own notes, not a run's\n",
}


def earlier_results(tmp_path: Path) -> Path:
    out = tmp_path / "results"
    out.mkdir()
    for name, content in EARLIER.items():
        (out / name).write_bytes(content)
    return out


@dataclass(frozen=True)
class Case:
    """``make(tmp_path, out, monkeypatch)`` prepares the case and returns the command
    line and the pieces its error line must hold."""

    make: Callable[[Path, Path, pytest.MonkeyPatch], tuple[list[str], tuple[str, ...]]]
    real: bool = False
    marks: tuple[Any, ...] = field(default=())


CASES: dict[str, Case] = {}


def case(name: str, real: bool = False):
    def register(make):
        assert name not in CASES, name
        CASES[name] = Case(make, real)
        return make

    return register


def shown(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def run_args(kind: str, out: Path, *extra: str) -> list[str]:
    size = {"simulate": ["--years", "5"], "abm": ["--years", "1"], "optimize": ["--years", "10"]}[kind]
    return [kind, *size, *extra, "--out", str(out)]


# --- scenario fields at every level: types and physical bounds ---------------------------

BIG = 1e308
FIELDS: list[tuple[str, list[Any], str]] = [
    # (field path, bad values, a piece of what is expected)
    ("scenario.name", ["Japan!", 5], "expected"),
    ("horizon.start_fiscal_year", [1800, 2.5], "expected"),
    ("horizon.end_fiscal_year", [2300, "2014"], "expected"),
    ("horizon.plan_cycle_years", [0, 21], "expected"),
    (f"regions[id={REGION}].population", [BIG, 0, -1.0, "many"], "expected"),
    ("threats[id=ddos].frequency.rate", [BIG, 1001.0, -0.5, "often", True], "expected"),
    ("threats[id=ddos].frequency.dispersion", [BIG, -1.0], "expected"),
    (f"threats[id=earthquake].frequency.regional_rates.{REGION}", [BIG, -0.1], "expected"),
    ("threats[id=earthquake].frequency.hit_probability", [1.5, -0.1], "expected"),
    ("threats[id=ddos].duration.median_hours", [BIG, 8761.0, 0.0, -1.0], "expected"),
    ("threats[id=ddos].duration.sigma", [BIG, 11.0, 0.0], "expected"),
    ("threats[id=ddos].duration.detection_share", [1.5], "expected"),
    ("threats[id=ddos].depth.alpha", [BIG, 0.0], "expected"),
    ("threats[id=ddos].depth.beta", [BIG, -1.0], "expected"),
    ("threats[id=ddos].direct_loss.median_revenue_share", [BIG, 1.5, 0.0], "expected"),
    ("threats[id=ddos].direct_loss.sigma", [BIG, 0.0], "expected"),
    ("threats[id=ddos].direct_loss.tail_probability", [1.0, -0.1], "expected"),
    ("threats[id=ddos].direct_loss.tail_shape", [1.0, -0.1], "expected"),
    ("threats[id=ddos].kind", ["alien"], "expected"),
    ("sectors[id=finance].users.total", [BIG, 1e11, 0.0], "expected"),
    ("sectors[id=finance].users.value_of_time", [BIG, -1.0], "expected"),
    ("sectors[id=finance].users.service_hours", [25.0, 0.0], "expected"),
    ("sectors[id=finance].users.service", ["always"], "expected"),
    ("sectors[id=railways].users.delay_hours", [BIG], "expected"),
    ("sectors[id=finance].operators.count", [1_000_000, 0, 2.5], "expected"),
    ("sectors[id=finance].operators.size_exponent", [BIG, -1.0], "expected"),
    ("sectors[id=finance].operators.allocation", ["random"], "expected"),
    ("sectors[id=finance].exposure.cyber", [BIG, -1.0], "expected"),
    ("sectors[id=finance].exposure.unintentional", [BIG], "expected"),
    ("sectors[id=finance].exposure.disaster", [1.5], "expected"),
    ("sectors[id=finance].it_dependence.share", [1.5], "expected"),
    ("sectors[id=finance].outage.duration", [BIG, 0.0], "expected"),
    ("sectors[id=finance].cascade.share", [1.5], "expected"),
    ("sectors[id=finance].recovery.hours", [BIG, 0.0], "expected"),
    ("sectors[id=finance].local_supply.share", [1.5, -0.5], "expected"),
    ("sectors[id=finance].acceptability.cvar_max", [BIG, 0.0], "expected"),
    ("sectors[id=finance].acceptability.cvar_level", [1.0, 0.0], "expected"),
    ("sectors[id=finance].acceptability.fn_constant", [BIG], "expected"),
    ("sectors[id=finance].acceptability.fn_exponent", [BIG], "expected"),
    ("sectors[id=finance].acceptability.fn_min_persons", [BIG], "expected"),
    ("sectors[id=finance].acceptability.broadly_factor", [1.0], "expected"),
    ("sectors[id=finance].io[0].share", [1.5], "expected"),
    ("sectors[id=finance].critical", ["yes"], "expected"),
    ("lifelines[0].share", [1.5], "expected"),
    ("measures[id=backup_site].levels[0].cost_fixed", [BIG, -1.0], "expected"),
    ("measures[id=backup_site].levels[0].cost_revenue_share", [BIG, 1.5], "expected"),
    ("measures[id=backup_site].levels[0].effects.duration", [1.5], "expected"),
    ("measures[id=staff_training].levels[0].effects.frequency.ddos", [1.5], "expected"),
    ("measures[id=backup_site].pillar", ["magic"], "expected"),
    ("abm.operators.budget_revenue_share", [BIG, 1.5], "expected"),
    ("abm.operators.adoption_ratio", [BIG, 0.5], "expected"),
    ("abm.concealment.blame", [BIG], "expected"),
    ("abm.concealment.blame_slope", [BIG], "expected"),
    ("abm.concealment.immunity_effect", [BIG], "expected"),
    ("abm.concealment.propensity_sd", [BIG], "expected"),
    ("abm.concealment.public_persons", [BIG], "expected"),
    ("abm.pdca.mandate_ratio", [BIG], "expected"),
    ("abm.pdca.max_new_mandatory", [10**6], "expected"),
    ("abm.pdca.memory", [0.0], "expected"),
    ("abm.information_sharing.alert_days", [10**6], "expected"),
    ("abm.information_sharing.blocking", [1.5], "expected"),
    ("abm.attackers.displacement_elasticity", [BIG], "expected"),
    ("abm.attackers.replan_days", [0, 366], "expected"),
    ("abm.attackers.kinds[id=criminal].count", [10**9], "expected"),
    ("abm.attackers.kinds[id=criminal].capacity_share", [BIG], "expected"),
    ("abm.attackers.kinds[id=criminal].capacity_sigma", [BIG], "expected"),
    ("abm.attackers.kinds[id=criminal].threats.ddos", [BIG], "expected"),
    (f"abm.attackers.origins.{ORIGIN}", [BIG], "expected"),
    ("abm.botnet.bots", [BIG], "expected"),
    ("abm.botnet.ddos_elasticity", [BIG], "expected"),
    ("abm.individuals.users", [BIG], "expected"),
    (f"abm.individuals.age_bands[id={BAND}].dependence", [BIG], "expected"),
    ("abm.individuals.cleanup_per_year", [BIG], "expected"),
    ("abm.individuals.anxiety_half_life_days", [BIG], "expected"),
    ("abm.individuals.outage_weight", [BIG], "expected"),
    ("abm.individuals.leak_weight", [BIG], "expected"),
    ("abm.awareness.hygiene_gain", [1.5], "expected"),
    ("abm.exercises.participants_per_year", [10**7], "expected"),
    ("abm.exercises.effect_years", [1000], "expected"),
    ("abm.outsourcing.concentration", [BIG], "expected"),
    ("abm.outsourcing.shares.finance", [1.0], "expected"),
    ("interdependency.io_table", ["../japan_io.csv", "/etc/passwd", "sub/table.csv", ""], "expected"),
    ("incidents.file", ["../incidents.csv", "/tmp/incidents.csv"], "expected"),
]
FIELD_CASES = [(path, value) for path, values, _ in FIELDS for value in values]


def put(doc: dict, path: str, value: Any) -> dict:
    """``doc`` with the field at ``path`` (the override grammar) set, created if it is an
    optional field the document leaves out."""
    steps = parse_path(path)
    node: Any = doc
    for step in steps[:-1]:
        node = next(item for item in node if item.get("id") == step[1]) if isinstance(step, tuple) else node[step]
    node[steps[-1]] = value
    return doc


def _in_japan(path: str) -> bool:
    try:
        apply_to_data(JAPAN, [Override(path, 0)])
    except InputError:
        return False
    return True


def _scenario_case(path: str, value: Any):
    def make(tmp: Path, out: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], tuple[str, ...]]:
        scenario = write_toml(tmp / "scenario.toml", put(japan(), path, value))
        args = run_args("simulate", out, "--scenario", str(scenario))
        return args, (f"error: {scenario}: {path}", f"got {shown(value)}")

    return make


for _path, _value in FIELD_CASES:
    case(f"field:{_path}={_value!r}")(_scenario_case(_path, _value))


def _toml_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return '"' + value + '"'
    return repr(value)


def _set_case(path: str, value: Any):
    def make(tmp: Path, out: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], tuple[str, ...]]:
        args = run_args("simulate", out, "--set", f"{path}={_toml_text(value)}")
        return args, (f"error: (overrides): {path}", f"got {shown(value)}")

    return make


# every field through --set too, except those whose bad value only a file can hold
for _path, _value in FIELD_CASES:
    if not _path.startswith(("interdependency", "incidents")) and _in_japan(_path):
        case(f"set:{_path}={_value!r}")(_set_case(_path, _value))


# --- rules that cannot hold --------------------------------------------------------------


def _measure(doc: dict, measure_id: str) -> dict:
    return next(m for m in doc["measures"] if m["id"] == measure_id)


def _rules_case(change: Callable[[dict], object], *pieces: str):
    def make(tmp: Path, out: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], tuple[str, ...]]:
        doc = japan()
        change(doc)
        scenario = write_toml(tmp / "scenario.toml", doc)
        return run_args("simulate", out, "--scenario", str(scenario)), (f"error: {scenario}: ", *pieces)

    return make


RULES = {
    "cycle-of-2": (
        lambda d: (_measure(d, "change_management").update(requires=["independent_testing"])),
        "requires", "without a cycle", "independent_testing -> change_management",
    ),
    "cycle-of-3": (
        lambda d: (
            _measure(d, "staff_training").update(requires=["access_control"]),
            _measure(d, "access_control").update(requires=["security_governance"]),
            _measure(d, "security_governance").update(requires=["staff_training"]),
        ),
        "requires", "without a cycle",
    ),
    "requires-and-excludes-the-same": (
        lambda d: _measure(d, "independent_testing").update(excludes=["change_management"]),
        "measures[id=independent_testing].excludes[0]", "got 'change_management'", "not a measure it requires",
    ),
    "prerequisite-excludes-the-measure": (
        lambda d: _measure(d, "change_management").update(excludes=["independent_testing"]),
        "measures[id=independent_testing].requires", "got 'change_management'", "do not exclude itself",
    ),
    "two-prerequisites-exclude-each-other": (
        lambda d: _measure(d, "backup_site").update(requires=["intrusion_detection", "managed_security_service"]),
        "measures[id=backup_site].requires", "do not exclude",
    ),
    "requires-itself": (
        lambda d: _measure(d, "backup_site").update(requires=["backup_site"]),
        "measures[id=backup_site].requires[0]", "got 'backup_site'", "another measure of the catalogue",
    ),
    "requires-twice": (
        lambda d: _measure(d, "independent_testing").update(requires=["change_management", "change_management"]),
        "measures[id=independent_testing].requires", "got 'change_management'", "unique ids",
    ),
    "requires-unknown": (
        lambda d: _measure(d, "independent_testing").update(requires=["quantum_shield"]),
        "measures[id=independent_testing].requires[0]", "got 'quantum_shield'",
    ),
    "empty-catalogue-with-agent-model": (
        lambda d: (d.update(measures=[]), [m.update(mandatory=[], recommended=[]) for m in d["ministries"]]),
        "measures: got '(none)'", "at least one measure for the agent model",
    ),
    "horizon-of-301-years": (
        lambda d: d["horizon"].update(start_fiscal_year=1900, end_fiscal_year=2200),
        "horizon.end_fiscal_year", "got 2200", "at most 200 fiscal years",
    ),
    "horizon-backwards": (
        lambda d: d["horizon"].update(start_fiscal_year=2014, end_fiscal_year=2006),
        "horizon.end_fiscal_year", "got 2006", "not before start_fiscal_year",
    ),
    "million-operators-in-nine-sectors": (
        lambda d: [s["operators"].update(count=100_000) for s in d["sectors"] if "operators" in s],
        "sectors[].operators.count", "at most 100,000 operators in all sectors",
    ),
}  # fmt: skip
for _name, (_change, *_pieces) in RULES.items():
    case(f"rule:{_name}")(_rules_case(_change, *_pieces))


@case("rule:abm-on-empty-catalogue", real=False)
def _abm_empty_catalogue(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    doc = japan()
    doc["measures"] = []
    for ministry in doc["ministries"]:
        ministry.update(mandatory=[], recommended=[])
    scenario = write_toml(tmp / "scenario.toml", doc)
    return run_args("abm", out, "--scenario", str(scenario)), (f"error: {scenario}: measures", "at least one measure")


# --- data files ----------------------------------------------------------------------------


def _data_case(prepare: Callable[[Path], object], *pieces: str, doc: Callable[[], dict] = japan):
    def make(tmp: Path, out: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], tuple[str, ...]]:
        folder = tmp / "mine"
        folder.mkdir()
        scenario = write_toml(folder / "japan.toml", doc())
        prepare(folder)
        return run_args("simulate", out, "--scenario", str(scenario)), (f"error: {folder}", *pieces)

    return make


def _replace_incidents(text: str | bytes):
    def prepare(folder: Path) -> None:
        target = folder / INCIDENTS
        target.unlink()
        target.write_bytes(text.encode() if isinstance(text, str) else text)

    return prepare


HEADER = "date,sector,event,magnitude,threat_kind,duration_hours_low,duration_hours_high,persons_affected,source\n"
GOOD_ROW = "2005-11-01,finance,exchange halted,all stocks,unintentional,4.5,4.5,,press\n"


def _row(**cells: str) -> str:
    values = dict(zip(HEADER.strip().split(","), GOOD_ROW.strip().split(","), strict=True))
    values.update(cells)
    return HEADER + ",".join(values.values()) + "\n"


def _remove(name: str):
    return lambda folder: (folder / name).unlink()


def _folder_named(name: str):
    return lambda folder: ((folder / name).unlink(), (folder / name).mkdir())


def _link_out(name: str):
    def prepare(folder: Path) -> None:
        outside = folder.parent / f"outside-{name}"
        outside.write_bytes((folder / name).read_bytes())
        (folder / name).unlink()
        (folder / name).symlink_to(outside)

    return prepare


DATA = {
    "io-table-missing": (
        _remove(IO_TABLE), "interdependency.io_table", f"got '{IO_TABLE}'", "in the scenario's folder",
    ),
    "io-table-is-a-folder": (_folder_named(IO_TABLE), "interdependency.io_table", "not a folder"),
    "io-table-links-out": (_link_out(IO_TABLE), "interdependency.io_table", "no link out"),
    "io-table-garbage": (
        lambda f: (f / IO_TABLE).write_bytes(b"\x00\x01garbage\xff\n"), IO_TABLE, "expected",
    ),
    "io-table-empty": (lambda f: (f / IO_TABLE).write_bytes(b""), IO_TABLE, "a readable input-output CSV"),
    "incidents-missing": (_remove(INCIDENTS), "incidents.file", f"got '{INCIDENTS}'", "in the scenario's folder"),
    "incidents-is-a-folder": (_folder_named(INCIDENTS), "incidents.file", "not a folder"),
    "incidents-links-out": (_link_out(INCIDENTS), "incidents.file", "no link out"),
    "incidents-binary": (_replace_incidents(b"\x89PNG\r\n\x1a\n\xff\xfe"), INCIDENTS, "(encoding)", "UTF-8 CSV"),
    "incidents-empty": (_replace_incidents(""), INCIDENTS, "columns", "a header row"),
    "incidents-missing-column": (
        _replace_incidents(HEADER.replace(",threat_kind", "") + GOOD_ROW), INCIDENTS, "got 'threat_kind'", "columns",
    ),
    "incidents-bad-date": (_replace_incidents(_row(date="yesterday")), "line 2, date", "got 'yesterday'", "a date"),
    "incidents-bad-month": (_replace_incidents(_row(date="2005-13")), "line 2, date", "got '2005-13'", "a date"),
    "incidents-no-sector": (_replace_incidents(_row(sector="")), "line 2, sector", "the sector of the incident"),
    "incidents-bad-kind": (_replace_incidents(_row(threat_kind="aliens")), "threat_kind", "got 'aliens'", "one of"),
    "incidents-bad-duration": (
        _replace_incidents(_row(duration_hours_low="long")), "duration_hours_low", "got 'long'", "number of hours",
    ),
    "incidents-duration-above-a-year": (
        _replace_incidents(_row(duration_hours_high="1e308")), "duration_hours_high", "got '1e308'", "from 0 to 8760",
    ),
    "incidents-low-above-high": (
        _replace_incidents(_row(duration_hours_low="9", duration_hours_high="2")), "duration_hours_low", "at most",
    ),
    "incidents-negative-persons": (
        _replace_incidents(_row(persons_affected="-3")), "persons_affected", "got '-3'", "number of persons",
    ),
    "incidents-nan-persons": (_replace_incidents(_row(persons_affected="nan")), "persons_affected", "got 'nan'"),
    "incidents-short-row": (_replace_incidents(HEADER + "2005,finance\n"), "line 2", "got '2 cells'", "9 cells"),
    "incidents-bad-quoting": (
        _replace_incidents(HEADER + '2005,finance,"unterminated\n'), INCIDENTS, "expected",
    ),
}  # fmt: skip
for _name, (_prepare, *_pieces) in DATA.items():
    case(f"data:{_name}")(_data_case(_prepare, *_pieces))


# --- portfolio files -----------------------------------------------------------------------

PORTFOLIOS: dict[str, tuple[str | bytes, tuple[str, ...]]] = {
    "unknown-sector": ('[sectors.nuclear]\nmeasures = ["backup_site"]\n', ("sectors.nuclear", "got 'nuclear'")),
    "non-critical-sector": ('[sectors.rest_of_economy]\nmeasures = []\n', ("sectors.rest_of_economy", "critical")),
    "unknown-measure": ('[sectors.finance]\nmeasures = ["magic"]\n', ("sectors.finance.measures[0]", "got 'magic'")),
    "level-too-high": ('[sectors.finance]\nmeasures = ["backup_site:9"]\n', ("measures[0]", "got 'backup_site:9'")),
    "level-negative": ('[sectors.finance]\nmeasures = ["backup_site:-1"]\n', ("measures[0]", "a level of")),
    "level-huge": ('[sectors.finance]\nmeasures = ["backup_site:99999999999999999999"]\n', ("measures[0]", "level")),
    "missing-prerequisite": ('[sectors.finance]\nmeasures = ["independent_testing"]\n', ("prerequisite",)),
    "exclusion": (
        '[sectors.finance]\nmeasures = ["intrusion_detection", "managed_security_service"]\n', ("not together",),
    ),
    "twice": ('[sectors.finance]\nmeasures = ["backup_site", "backup_site:2"]\n', ("at most once",)),
    "measures-not-a-list": ('[sectors.finance]\nmeasures = "backup_site"\n', ("sectors.finance.measures", "list")),
    "measure-not-text": ('[sectors.finance]\nmeasures = [3]\n', ("sectors.finance.measures[0]", "got 3")),
    "sectors-not-a-table": ('sectors = ["finance"]\n', ("sectors", "got ['finance']")),
    "name-not-text": ('name = 5\n', ("name", "got 5")),
    "unknown-top-level": ('sector = {}\n', ("sector", "no such field")),
    "bad-sector-id": ('[sectors."Finance!"]\nmeasures = []\n', ("sectors.Finance!", "identifier")),
    "malformed-toml": ('[sectors.finance\n', ("(syntax)", "valid TOML")),
    "not-utf8": (b'name = "\xff"\n', ("(encoding)", "UTF-8")),
    "empty-text-measure": ('[sectors.finance]\nmeasures = [""]\n', ("measures[0]", "got ''")),
}  # fmt: skip


def _portfolio_case(text: str | bytes, pieces: tuple[str, ...], kind: str):
    def make(tmp: Path, out: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], tuple[str, ...]]:
        path = tmp / "portfolio.toml"
        path.write_bytes(text.encode() if isinstance(text, str) else text)
        return run_args(kind, out, "--portfolio", str(path)), (f"error: {path}: ", *pieces)

    return make


for _name, (_text, _pieces) in PORTFOLIOS.items():
    case(f"portfolio:{_name}")(_portfolio_case(_text, _pieces, "simulate"))
for _name in ("unknown-measure", "missing-prerequisite", "malformed-toml"):
    case(f"portfolio-abm:{_name}")(_portfolio_case(*PORTFOLIOS[_name], "abm"))


@case("portfolio:missing-file")
def _missing_portfolio(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    path = tmp / "none.toml"
    return run_args("simulate", out, "--portfolio", str(path)), (f"error: {path}: ", "existing TOML file")


@case("portfolio:a-folder")
def _folder_portfolio(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    path = tmp / "p.toml"
    path.mkdir()
    return run_args("simulate", out, "--portfolio", str(path)), (f"error: {path}: ", "existing TOML file")


@case("portfolio:given-to-optimize")
def _optimize_portfolio(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    path = tmp / "p.toml"
    path.write_text("")
    args = ["optimize", "--sector", "finance", "--portfolio", str(path), "--out", str(out)]
    return args, ("(command line)", "--portfolio", "expected")


@case("portfolio:too-big")
def _huge_portfolio(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    path = tmp / "p.toml"
    path.write_bytes(b"# " + b"x" * (17 * 2**20) + b"\n")
    return run_args("simulate", out, "--portfolio", str(path)), (f"error: {path}: ", "at most 16,777,216 bytes")


# --- options of every command --------------------------------------------------------------

OPTIONS: list[tuple[str, list[str], tuple[str, ...]]] = [
    ("simulate", ["--years", "0"], ("--years", "got 0", "at least 1")),
    ("simulate", ["--years", "-3"], ("--years", "got -3")),
    ("simulate", ["--years", "abc"], ("--years", "got 'abc'", "integer")),
    ("simulate", ["--years", "1e12"], ("--years", "got '1e12'", "integer")),
    ("simulate", ["--years", "1000000000000"], ("--years", "got 1000000000000", "at most 10,000,000")),
    ("simulate", ["--years", ""], ("--years", "got ''")),
    ("simulate", ["--years"], ("--years", "got '(missing)'", "a value after --years")),
    ("simulate", ["--seed", "-1"], ("--seed", "got -1", "0 to 2**63 - 1")),
    ("simulate", ["--seed", str(2**63)], ("--seed", f"got {2**63}")),
    ("simulate", ["--seed", "abc"], ("--seed", "got 'abc'")),
    ("simulate", ["--threads", "0"], ("--threads", "got 0")),
    ("simulate", ["--threads", "65"], ("--threads", "got 65", "at most 64")),
    ("simulate", ["--threads", "many"], ("--threads", "got 'many'")),
    ("simulate", ["--out", ""], ("--out", "got ''", "a folder name")),
    ("simulate", ["--elt=maybe"], ("--elt", "expected")),
    ("simulate", ["--yeers", "5"], ("--yeers", "an option of riskmodel simulate (--elt, --out")),
    ("simulate", ["--sector", "finance"], ("--sector", "an option of riskmodel simulate")),
    ("simulate", ["extra"], ("(arguments)", "got 'extra'", "no more arguments")),
    ("simulate", ["--scenario", ""], ("scenario", "got ''")),
    ("simulate", ["--portfolio", ""], ("portfolio", "got ''")),
    ("abm", ["--years", "0"], ("--years", "got 0")),
    ("abm", ["--years", "201"], ("--years", "got 201", "at most 200")),
    ("abm", ["--years", "x"], ("--years", "got 'x'")),
    ("abm", ["--seed", "-2"], ("--seed", "got -2")),
    ("abm", ["--out", " "], ("--out", "got ' '", "a folder name")),
    ("abm", ["--threads", "2"], ("--threads", "an option of riskmodel abm")),
    ("abm", ["--set"], ("--set", "a value after --set")),
    ("optimize", ["--budget", "-5"], ("--budget", "got -5.0", "non-negative")),
    ("optimize", ["--budget", "1e308"], ("--budget", "got 1e+308", "at most 1e+18")),
    ("optimize", ["--budget", "inf"], ("--budget", "got inf")),
    ("optimize", ["--budget", "nan"], ("--budget", "got nan")),
    ("optimize", ["--budget", "lots"], ("--budget", "got 'lots'", "number")),
    ("optimize", ["--cvar-level", "1.5", "--cvar-max", "1e9"], ("--cvar-level", "got 1.5")),
    ("optimize", ["--cvar-level", "0.9", "--cvar-max", "1e308"], ("--cvar-max", "got 1e+308")),
    ("optimize", ["--cvar-max", "1e9"], ("--cvar-max", "with --cvar-level")),
    ("optimize", ["--gap", "1.5"], ("--gap", "got 1.5")),
    ("optimize", ["--gap", "nan"], ("--gap", "got nan")),
    ("optimize", ["--time-limit", "0"], ("--time-limit", "got 0.0")),
    ("optimize", ["--time-limit", "1e308"], ("--time-limit", "got 1e+308", "at most")),
    ("optimize", ["--eval-years", "1"], ("--eval-years", "got 1", "at least 2")),
    ("optimize", ["--eval-years", "100000000"], ("--eval-years", "got 100000000", "at most 10,000,000")),
    ("optimize", ["--replications", "1"], ("--replications", "got 1")),
    ("optimize", ["--replications", "-1"], ("--replications", "got -1")),
    ("optimize", ["--replications", "1000000"], ("--replications", "got 1000000", "at most 100")),
    ("optimize", ["--frontier-points", "-1"], ("--frontier-points", "got -1")),
    ("optimize", ["--frontier-points", "1000000"], ("--frontier-points", "got 1000000", "at most 100")),
    ("optimize", ["--threads", "0"], ("--threads", "got 0")),
    ("optimize", ["--threads", "1000"], ("--threads", "got 1000", "at most 64")),
    ("optimize", ["--years", "0"], ("--years", "got 0")),
    ("optimize", ["--years", "1000000"], ("--years", "got 1000000", "at most 100,000")),
    ("optimize", ["--solver", "gurobi"], ("--solver", "got 'gurobi'")),
    ("optimize", ["--sector", "banking"], ("--sector", "got 'banking'")),
    ("optimize", ["--sector", "finance", "--society"], ("--sector and --society", "one mode")),
    ("optimize", ["--fn=no"], ("--fn", "expected")),
    ("optimize", ["--budget"], ("--budget", "a value after --budget")),
]


def _option_case(kind: str, extra: list[str], pieces: tuple[str, ...]):
    def make(tmp: Path, out: Path, mp: pytest.MonkeyPatch) -> tuple[list[str], tuple[str, ...]]:
        args = [kind, "--out", str(out), *extra] if "--out" not in extra else [kind, *extra]
        return args, ("error: (command line): ", *pieces)

    return make


for _kind, _extra, _pieces in OPTIONS:
    case(f"option:{_kind} {' '.join(_extra)!r}")(_option_case(_kind, _extra, _pieces))

TOP_COMMANDS = ", ".join(sorted(typer.main.get_command(app).commands))  # every command the app has
COMMANDS: list[tuple[list[str], tuple[str, ...]]] = [
    (["frobnicate"], ("COMMAND", "got 'frobnicate'", f"one of {TOP_COMMANDS}")),
    (["--verbose"], ("--verbose", "an option of riskmodel")),
    (["scenario", "frob"], ("COMMAND", "got 'frob'", "export, show, validate")),
    (["scenario", "validate"], ("FILE", "got '(missing)'")),
    (["scenario", "validate", "a.toml", "b.toml"], ("(arguments)", "got 'b.toml'")),
    (["scenario", "export"], ("DIRECTORY", "got '(missing)'")),
    (["scenario", "export", ""], ("DIRECTORY", "got ''", "a folder name")),
    (["scenario", "export", "x", "y"], ("(arguments)", "got 'y'")),
    (["scenario", "export", "x", "--force=maybe"], ("--force", "expected")),
    (["scenario", "show", "--scenario"], ("--scenario", "a value after --scenario")),
    (["scenario", "show", "extra"], ("(arguments)", "got 'extra'")),
]
for _args, _pieces in COMMANDS:
    case(f"command:{' '.join(_args)!r}")(lambda tmp, out, mp, a=_args, p=_pieces: (list(a), ("error: ", *p)))


# --- malformed --set texts -----------------------------------------------------------------

SETS: list[tuple[str, tuple[str, ...]]] = [
    ("threats", ("(overrides)", "PATH=VALUE")),
    ("=3", ("(overrides)", "PATH=VALUE")),
    ("threats[id=ddos].frequency.rat=0.1", ("threats[id=ddos].frequency.rat", "got 'rat'")),
    ("threats[id=nope].frequency.rate=0.1", ("got 'nope'", "an id in threats")),
    ("threats[99].frequency.rate=0.1", ("got 99", "a position below")),
    ("threats..rate=1", ("got 'threats..rate'", "a field path")),
    ("scenario.name*=2", ("scenario.name", "a number to scale")),
    ("threats[id=ddos].frequency.rate*=inf", ("got inf", "a finite number to scale by")),
    ("threats[id=ddos].frequency.rate*=1e308", ("threats[id=ddos].frequency.rate", "expected")),
    ("threats[id=ddos].frequency.rate=[1, 2]", ("threats[id=ddos].frequency.rate", "got [1, 2]")),
    ("threats[id=ddos].frequency=3", ("threats[id=ddos].frequency", "got 3")),
    ("sectors.finance.users.total=1", ("sectors", "[id=...] or [position]")),
    ("abm.pdca.memory=nan", ("abm.pdca.memory", "got nan")),
]
for _text, _pieces in SETS:
    case(f"set-text:{_text}")(lambda tmp, out, mp, t=_text, p=_pieces: (run_args("simulate", out, "--set", t),
                                                                         ("error: (overrides): ", *p)))  # fmt: skip


@case("set-text:horizon-of-301-years")
def _set_horizon(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    args = run_args("abm", out, "--set", "horizon.start_fiscal_year=1900", "--set", "horizon.end_fiscal_year=2200")
    return args, ("error: (overrides): horizon.end_fiscal_year", "got 2200", "at most 200 fiscal years")


# --- file-system cases ---------------------------------------------------------------------


def _unreadable_below(mp: pytest.MonkeyPatch, folder: Path) -> None:
    """Make everything under ``folder`` unreadable, as a folder without search permission
    is to anyone but root (the tests run as root, so chmod alone would not do)."""
    real_stat = os.stat

    def stat(path, *args, **kwargs):
        if str(path).startswith(str(folder) + os.sep):
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_stat(path, *args, **kwargs)

    mp.setattr(os, "stat", stat)


@case("fs:scenario-in-unreadable-folder")
def _unreadable_scenario(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    folder = tmp / "locked"
    folder.mkdir()
    scenario = write_toml(folder / "japan.toml", japan())
    _unreadable_below(mp, folder)
    return run_args("simulate", out, "--scenario", str(scenario)), (str(scenario), "got 'Permission denied'")


@case("fs:portfolio-in-unreadable-folder")
def _unreadable_portfolio(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    folder = tmp / "locked"
    folder.mkdir()
    (folder / "p.toml").write_text("")
    _unreadable_below(mp, folder)
    return run_args("simulate", out, "--portfolio", str(folder / "p.toml")), (str(folder), "Permission denied")


@case("fs:validate-in-unreadable-folder")
def _unreadable_validate(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    folder = tmp / "locked"
    folder.mkdir()
    scenario = write_toml(folder / "japan.toml", japan())
    _unreadable_below(mp, folder)
    return ["scenario", "validate", str(scenario)], (str(scenario), "got 'Permission denied'", "expected")


@case("fs:export-into-unwritable-folder")
def _unwritable_export(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    folder = tmp / "readonly"
    folder.mkdir()
    real_open = os.open

    def refuse(path, flags, *args, **kwargs):
        if str(path).startswith(str(folder)) and flags & os.O_CREAT:
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *args, **kwargs)

    mp.setattr(os, "open", refuse)
    return ["scenario", "export", str(folder)], (f"error: {folder}: DIRECTORY", "got 'Permission denied'")


@case("fs:export-through-a-link")
def _export_link(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    folder = tmp / "mine"
    folder.mkdir()
    (folder / "japan.toml").symlink_to(out / "notes.txt")  # would overwrite a file outside the folder
    return ["scenario", "export", str(folder)], (f"{folder / 'japan.toml'}", "got '(exists)'")


@case("fs:export-onto-a-folder")
def _export_folder(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    folder = tmp / "mine"
    (folder / IO_TABLE).mkdir(parents=True)
    return ["scenario", "export", str(folder), "--force"], (f"{folder / IO_TABLE}", "got '(a folder)'")


@case("fs:export-into-a-file")
def _export_file(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    return ["scenario", "export", str(out / "notes.txt")], ("DIRECTORY", "got '(an existing file)'")


@case("fs:out-where-ylt-is-a-folder")
def _ylt_folder(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    (out / "ylt.parquet").unlink()
    (out / "ylt.parquet").mkdir()
    (out / "ylt.parquet" / "part-0.parquet").write_bytes(b"old")
    return run_args("simulate", out), (f"{out / 'ylt.parquet'}", "got '(a folder)'", "no folder named ylt.parquet")


@case("fs:out-where-portfolio-is-a-folder")
def _portfolio_folder(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    (out / "portfolio.toml").unlink()
    (out / "portfolio.toml").mkdir()
    return ["optimize", "--sector", "finance", "--out", str(out)], ("portfolio.toml", "got '(a folder)'")


@case("fs:out-is-a-file")
def _out_file(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    return run_args("simulate", out / "notes.txt"), ("--out", "got '(an existing file)'")


@case("fs:out-below-a-file")
def _out_below_file(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    return run_args("abm", out / "notes.txt" / "sub"), ("--out", "got 'Not a directory'")


@case("fs:scenario-is-a-folder")
def _scenario_folder(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    (tmp / "s.toml").mkdir()
    return run_args("simulate", out, "--scenario", str(tmp / "s.toml")), ("s.toml", "existing TOML file")


@case("fs:scenario-name-too-long")
def _scenario_long(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    name = str(tmp / ("x" * 5000 + ".toml"))
    return run_args("simulate", out, "--scenario", name), ("error: ", "xxx...xxx", "expected")


@case("fs:scenario-missing")
def _scenario_missing(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    return run_args("optimize", out, "--scenario", str(tmp / "none.toml")), ("none.toml", "got '(no such file)'")


@case("fs:scenario-too-big")
def _scenario_big(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    path = tmp / "big.toml"
    path.write_bytes(b"# " + b"x" * (17 * 2**20) + b"\n")
    return ["scenario", "validate", str(path)], ("big.toml", "at most 16,777,216 bytes")


# --- runs too big to fit -------------------------------------------------------------------


@case("size:simulate-at-the-rate-bound-for-ten-million-years")
def _size_simulate(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    args = ["simulate", "--years", "10000000", "--set", "threats[id=ddos].frequency.rate=1000", "--out", str(out)]
    return args, ("(command line)", "--years", "got 10000000", "a run of at most 24 hours")


@case("size:simulate-elt-beyond-memory")
def _size_elt(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    mp.setattr("riskmodel.runs.resources.available_bytes", lambda: 1e9)
    args = ["simulate", "--years", "5", "--elt", "--set", "threats[id=ddos].frequency.rate=1000", "--out", str(out)]
    return args, ("(command line)", "--years", "a run that fits in memory")


@case("size:abm-beyond-the-time-limit")
def _size_abm(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    mp.setenv("RISKMODEL_MAX_RUN_HOURS", "0.001")
    return ["abm", "--years", "200", "--out", str(out)], ("--years", "got 200", "a run of at most 0 hours")


@case("size:abm-horizon-beyond-the-time-limit")
def _size_abm_horizon(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    mp.setenv("RISKMODEL_MAX_RUN_HOURS", "0.001")
    return ["abm", "--out", str(out)], ("horizon.end_fiscal_year", "got 2014", "a run of at most")


@case("size:optimize-beyond-memory")
def _size_optimize(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    args = ["optimize", "--years", "100000", "--set", "threats[id=ddos].frequency.rate=1000", "--out", str(out)]
    return args, ("--years", "got 100000", "expected a run")


# --- values too long for a line ------------------------------------------------------------

LONG = "a" * 100_000


@case("long:sector-id")
def _long_id(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    doc = japan()
    doc["sectors"][0]["id"] = LONG
    scenario = write_toml(tmp / "scenario.toml", doc)
    return ["scenario", "validate", str(scenario)], (str(scenario), "...")


@case("long:ministry-sector")
def _long_reference(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    doc = japan()
    doc["ministries"][0]["sectors"].append(LONG)
    scenario = write_toml(tmp / "scenario.toml", doc)
    return ["scenario", "validate", str(scenario)], (str(scenario), "...")


@case("long:set-path")
def _long_set(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    return run_args("simulate", out, "--set", f"{LONG}=1"), ("(overrides)", "...")


@case("long:portfolio-sector")
def _long_portfolio(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    path = tmp / "p.toml"
    path.write_text(f'[sectors.{LONG}]\nmeasures = ["{LONG}"]\n')
    return run_args("simulate", out, "--portfolio", str(path)), (str(path), "...")


@case("long:option-value")
def _long_option(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    return run_args("optimize", out, "--sector", LONG), ("--sector", "...")


@case("long:unknown-option")
def _long_unknown(tmp: Path, out: Path, mp: pytest.MonkeyPatch):
    return ["simulate", "--" + LONG, "--out", str(out)], ("(command line)", "...")


# a few through the real console script, since exit status and stderr of the real entry
# point are what a user sees
REAL = {
    "option:simulate '--years abc'",
    "command:'frobnicate'",
    "option:optimize '--replications 1000000'",
    "field:threats[id=ddos].frequency.rate=1e+308",
    "fs:out-where-ylt-is-a-folder",
    "long:sector-id",
}
for _name in REAL:
    CASES[_name] = Case(CASES[_name].make, real=True)


@pytest.mark.parametrize("name", list(CASES))
def test_malformed_input_gets_one_line(name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    out = earlier_results(tmp_path)
    case_ = CASES[name]
    args, pieces = case_.make(tmp_path, out, monkeypatch)
    before = snapshot(out)
    names = {p.name for p in out.iterdir()}
    outcome = run_cli(args, real=case_.real, cwd=tmp_path)
    line = assert_one_line_error(outcome, *pieces)
    assert len(line) < 1000, f"{len(line)} characters"
    assert snapshot(out) == before, "a refused run must leave the earlier results byte-identical"
    assert {p.name for p in out.iterdir()} == names, "nothing added to --out"


def test_corpus_size() -> None:
    assert len(CASES) >= 250, len(CASES)


def test_default_scenario_within_every_bound(tmp_path: Path) -> None:
    """The bounds leave the packaged scenario (and its exported copy) valid."""
    assert run_cli(["scenario", "validate", str(packaged_file("japan.toml"))], real=False, cwd=tmp_path).code == 0
    assert run_cli(["scenario", "export", str(tmp_path / "x")], real=False, cwd=tmp_path).code == 0
    outcome = run_cli(["scenario", "validate", str(tmp_path / "x" / "japan.toml")], real=False, cwd=tmp_path)
    assert outcome.code == 0, outcome


def test_export_with_force_replaces_a_link_not_its_target(tmp_path: Path) -> None:
    outside = tmp_path / "outside.toml"
    outside.write_bytes(b"keep me\n")
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "japan.toml").symlink_to(outside)
    outcome = run_cli(["scenario", "export", str(folder), "--force"], real=False, cwd=tmp_path)
    assert outcome.code == 0, outcome
    assert outside.read_bytes() == b"keep me\n"
    assert not (folder / "japan.toml").is_symlink()
    assert (folder / "japan.toml").read_bytes() == packaged_file("japan.toml").read_bytes()
    assert sorted(p.name for p in folder.iterdir()) == sorted(["japan.toml", IO_TABLE, INCIDENTS, DRAWS])


def test_usage_error_of_the_real_script_is_one_line(tmp_path: Path) -> None:
    """Through ``main()`` (the console script's entry) as well as through the app."""
    import subprocess

    code = "from riskmodel.cli import main; main()"
    done = subprocess.run([sys.executable, "-c", code, "simulate", "--seed", "abc"], capture_output=True, text=True,
                          cwd=tmp_path, check=False, timeout=300)  # fmt: skip
    assert done.returncode == 2, done
    assert done.stderr.splitlines() == ["error: (command line): --seed: got 'abc'; expected a valid integer, "
                                        "unable to parse string as an integer"], done.stderr  # fmt: skip
