"""Load and check scenario files.

``load_scenario`` turns a TOML file into a validated :class:`~riskmodel.schema.Scenario`
and checks what a schema alone cannot: that names refer to things that exist, that IO
shares add up, that a measure's prerequisites are in the catalogue. Any problem becomes
an :class:`~riskmodel.errors.InputError` naming the file, the field path, the value and
what was expected.
"""

from __future__ import annotations

import re
import tomllib
from collections import Counter
from collections.abc import Iterable, Sequence
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError

from riskmodel.errors import InputError
from riskmodel.schema import MAX_FISCAL_YEARS, MAX_OPERATORS, SHARED_GROUPS, Scenario

DEFAULT_SCENARIO = "japan"
MAX_TOML_BYTES = 16 * 2**20  # a scenario or portfolio file (the default scenario is about 100 kB)
M = TypeVar("M", bound=BaseModel)
_IDENTIFIER = re.compile(r"[A-Za-z0-9_-]+")


def packaged_file(name: str) -> Path:
    """Path of a data file shipped inside the package (``riskmodel/data``)."""
    return Path(str(resources.files("riskmodel") / "data" / name))


def default_scenario_path() -> Path:
    return packaged_file(f"{DEFAULT_SCENARIO}.toml")


def resolve_scenario(scenario: str | Path) -> Path:
    """A scenario file from a path, or from the name of a packaged scenario (``japan``)."""
    path = Path(scenario)
    try:
        exists = path.exists()
    except OSError as exc:  # a name too long, a folder that cannot be searched
        raise InputError(path, "", exc.strerror or str(exc), "an existing TOML file") from None
    if not exists and path.suffix == "" and path.name == str(scenario) and _IDENTIFIER.fullmatch(path.name):
        packaged = packaged_file(f"{scenario}.toml")
        if packaged.is_file():
            return packaged
    return path


def read_toml(path: str | Path) -> dict[str, Any]:
    """Read a TOML file, turning a missing file or a syntax error into an InputError."""
    path = Path(path)
    try:
        if not path.is_file():
            raise InputError(path, "", "(no such file)", "an existing TOML file")
        size = path.stat().st_size
        if size > MAX_TOML_BYTES:
            raise InputError(path, "", f"{size:,} bytes", f"a TOML file of at most {MAX_TOML_BYTES:,} bytes")
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except OSError as exc:  # unreadable file or folder, a name too long, a FIFO that vanished
        raise InputError(path, "", exc.strerror or str(exc), "a readable TOML file") from None
    except tomllib.TOMLDecodeError as exc:
        raise InputError(path, "(syntax)", str(exc), "valid TOML") from None
    except UnicodeDecodeError:
        raise InputError(path, "(encoding)", "undecodable bytes", "UTF-8 TOML text") from None


def _field_path(loc: Sequence[int | str], data: Any) -> str:
    """Render a pydantic error location, naming list items by their ``id`` when they have one."""
    parts: list[str] = []
    node = data
    for key in loc:
        if isinstance(key, int):
            label = str(key)
            if isinstance(node, list) and key < len(node):
                item = node[key]
                if isinstance(item, dict) and isinstance(item.get("id"), str):
                    label = f"id={item['id']}"
                node = item
            else:
                node = None
            parts.append(f"[{label}]")
        else:
            parts.append(("." if parts else "") + key)
            node = node.get(key) if isinstance(node, dict) else None
    return "".join(parts)


def validate_model(model: type[M], data: dict[str, Any], path: str | Path) -> M:
    """Validate ``data`` into ``model``, reporting the first problem as an InputError."""
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        error = exc.errors()[0]
        loc = [part for part in error["loc"] if not str(part).startswith("function-")]
        # pydantic appends the type tag of union members to the location; drop them.
        loc = [p for p in loc if p not in ("float", "int", "str", "list[list[float]]", "[key]")]
        field = _field_path(loc, data)
        value = error.get("input")
        if error["type"] == "missing":
            value = "(missing)"
        elif error["type"] == "extra_forbidden":
            value = loc[-1] if loc else value
            expected = "no such field (check the spelling against the default scenario)"
            raise InputError(path, field, value, expected) from None
        message = error["msg"].removeprefix("Value error, ")
        raise InputError(path, field, value, _expected(error["type"], message)) from None


def _expected(kind: str, message: str) -> str:
    if kind == "missing":
        return "this field to be present"
    if kind == "string_pattern_mismatch":
        return "an identifier: lower-case letters, digits and _, starting with a letter"
    if message.startswith("Input should be "):
        return message.removeprefix("Input should be ")
    return message


def load_scenario(path: str | Path | None = None) -> Scenario:
    """Read and check a scenario file; ``None`` gives the packaged default (Japan)."""
    path = Path(path) if path is not None else default_scenario_path()
    data = read_toml(path)
    scenario = validate_model(Scenario, data, path)
    check_references(scenario, path)
    return scenario


def _unique(ids: Iterable[str], path: Path, field: str) -> set[str]:
    counts = Counter(ids)
    for name, count in counts.items():
        if count > 1:
            raise InputError(path, field, name, "unique ids")
    return set(counts)


def check_references(scenario: Scenario, path: str | Path) -> None:
    """Cross-table checks: every name used is defined, shares add up, rules are coherent."""
    path = Path(path)
    regions = _unique((r.id for r in scenario.regions), path, "regions[].id")
    sectors = _unique((s.id for s in scenario.sectors), path, "sectors[].id")
    threats = _unique((t.id for t in scenario.threats), path, "threats[].id")
    measures = _unique((m.id for m in scenario.measures), path, "measures[].id")
    ministries = _unique((m.id for m in scenario.ministries), path, "ministries[].id")
    single_threats = {t.id for t in scenario.threats if t.kind != "disaster"}

    remainders = [s.id for s in scenario.sectors if s.io_remainder]
    if len(remainders) != 1:
        raise InputError(path, "sectors[].io_remainder", remainders, "exactly one sector with io_remainder = true")
    if not any(s.critical for s in scenario.sectors):
        raise InputError(path, "sectors[].critical", False, "at least one critical sector")
    if scenario.horizon.end_fiscal_year < scenario.horizon.start_fiscal_year:
        raise InputError(
            path, "horizon.end_fiscal_year", scenario.horizon.end_fiscal_year, "a year not before start_fiscal_year"
        )
    last = scenario.horizon.start_fiscal_year + MAX_FISCAL_YEARS - 1
    if scenario.horizon.end_fiscal_year > last:
        raise InputError(path, "horizon.end_fiscal_year", scenario.horizon.end_fiscal_year,
                         f"at most {MAX_FISCAL_YEARS} fiscal years: a year not after {last}")  # fmt: skip
    operators = sum(s.operators.count for s in scenario.sectors if s.operators is not None)
    if operators > MAX_OPERATORS:
        raise InputError(path, "sectors[].operators.count", f"{operators:,} in all",
                         f"at most {MAX_OPERATORS:,} operators in all sectors together")  # fmt: skip

    shares: Counter[str] = Counter()
    for sector in scenario.sectors:
        where = f"sectors[id={sector.id}]"
        if sector.ministry is not None and sector.ministry not in ministries:
            raise InputError(path, f"{where}.ministry", sector.ministry, f"one of {sorted(ministries)}")
        for i, entry in enumerate(sector.io):
            shares[entry.io_sector] += entry.share
            if shares[entry.io_sector] > 1.0 + 1e-9:
                raise InputError(
                    path,
                    f"{where}.io[{i}].share",
                    entry.share,
                    f"shares of io_sector {entry.io_sector!r} that add up to at most 1",
                )
        for name in SHARED_GROUPS:
            group = getattr(sector, name)
            if group is None:
                continue
            for i, region in enumerate(group.regions):
                if region not in regions:
                    raise InputError(path, f"{where}.{name}.regions[{i}]", region, f"one of {sorted(regions)}")
            for i, threat in enumerate(group.threats):
                if threat not in single_threats:
                    raise InputError(path, f"{where}.{name}.threats[{i}]", threat,
                                     f"one of {sorted(single_threats)} (threats that strike one sector)")  # fmt: skip
    for ministry in scenario.ministries:
        where = f"ministries[id={ministry.id}]"
        for field, names, known in (
            ("sectors", ministry.sectors, sectors),
            ("mandatory", ministry.mandatory, measures),
            ("recommended", ministry.recommended, measures),
        ):
            for i, name in enumerate(names):
                if name not in known:
                    raise InputError(path, f"{where}.{field}[{i}]", name, f"one of {sorted(known)}")
    check_supervision(scenario, path)

    for threat in scenario.threats:
        where = f"threats[id={threat.id}].frequency"
        for region in threat.frequency.regional_rates:
            if region not in regions:
                raise InputError(path, f"{where}.regional_rates.{region}", region, f"one of {sorted(regions)}")
        if threat.kind == "disaster" and threat.frequency.rate > 0:
            raise InputError(path, f"{where}.rate", threat.frequency.rate, "0 for a disaster (use regional_rates)")
        if threat.kind != "disaster" and threat.frequency.regional_rates:
            raise InputError(path, f"{where}.regional_rates", "(table)", "only on disaster threats")

    for i, link in enumerate(scenario.lifelines):
        for field in ("sector", "depends_on"):
            name = getattr(link, field)
            if name not in sectors:
                raise InputError(path, f"lifelines[{i}].{field}", name, f"one of {sorted(sectors)}")

    for measure in scenario.measures:
        where = f"measures[id={measure.id}]"
        for field in ("requires", "excludes"):
            for i, name in enumerate(getattr(measure, field)):
                if name not in measures or name == measure.id:
                    raise InputError(path, f"{where}.{field}[{i}]", name, "another measure of the catalogue")
            _unique(getattr(measure, field), path, f"{where}.{field}")
        for j, level in enumerate(measure.levels):
            for name in level.effects.frequency:
                if name not in threats:
                    raise InputError(
                        path, f"{where}.levels[{j}].effects.frequency.{name}", name, f"one of {sorted(threats)}"
                    )

    check_measure_rules(scenario, path)
    if scenario.abm is not None:
        check_agent_model(scenario, path, threats)

    matrix, output = scenario.interdependency.matrix, scenario.interdependency.output
    n = len(scenario.sectors)
    if (matrix is None) != (output is None):
        raise InputError(
            path,
            "interdependency",
            "matrix without output" if output is None else "output without matrix",
            "both matrix and output, or neither",
        )
    if matrix is not None and (len(matrix) != n or any(len(row) != n for row in matrix)):
        shape = f"{len(matrix)}x{len(matrix[0]) if matrix else 0}"
        raise InputError(path, "interdependency.matrix", shape, f"a {n}x{n} matrix in sector order")
    if output is not None and len(output) != n:
        raise InputError(path, "interdependency.output", f"{len(output)} values", f"{n} values in sector order")
    value_added = scenario.interdependency.value_added
    if value_added is not None:
        if output is None or len(value_added) != n:
            raise InputError(path, "interdependency.value_added", f"{len(value_added)} values",
                             f"{n} values in sector order, beside matrix and output")  # fmt: skip
        for i, (v, x) in enumerate(zip(value_added, output, strict=True)):
            if v > x:
                raise InputError(path, f"interdependency.value_added[{i}]", v, f"at most the output ({x:g})")


def check_supervision(scenario: Scenario, path: Path) -> None:
    """Each sector is supervised by at most one ministry, the one its own ``ministry``
    names; a ministry's mandatory measures keep the catalogue's rules (their prerequisites
    mandatory too, no two that exclude each other)."""
    sector_ministry = {s.id: s.ministry for s in scenario.sectors}
    by_id = {m.id: m for m in scenario.measures}
    supervisor: dict[str, str] = {}
    for ministry in scenario.ministries:
        where = f"ministries[id={ministry.id}]"
        for i, sector in enumerate(ministry.sectors):
            if sector in supervisor:
                raise InputError(
                    path,
                    f"{where}.sectors[{i}]",
                    sector,
                    f"a sector no other ministry ({supervisor[sector]}) supervises",
                )
            if sector_ministry[sector] not in (None, ministry.id):
                raise InputError(
                    path,
                    f"{where}.sectors[{i}]",
                    sector,
                    f"a sector whose own ministry is {ministry.id!r}, not {sector_ministry[sector]!r}",
                )
            supervisor[sector] = ministry.id
        mandatory = set(ministry.mandatory)
        for i, name in enumerate(ministry.mandatory):
            for need in by_id[name].requires:
                if need not in mandatory:
                    raise InputError(path, f"{where}.mandatory[{i}]", name, f"its prerequisite {need!r} mandatory too")
            for clash in by_id[name].excludes:
                if clash in mandatory:
                    raise InputError(path, f"{where}.mandatory[{i}]", name, f"not mandatory together with {clash!r}")


def check_measure_rules(scenario: Scenario, path: Path) -> None:
    """Every measure can be put in place: its prerequisites form no cycle, and nothing it
    needs (directly or through their prerequisites) excludes it or another of them."""
    by_id = {m.id: m for m in scenario.measures}
    needs: dict[str, list[str]] = {}  # measure -> every prerequisite, transitively, in order found

    def closure(name: str, trail: tuple[str, ...]) -> list[str]:
        if name in needs:
            return needs[name]
        found: list[str] = []
        for i, need in enumerate(by_id[name].requires):
            if need in trail or need == name:
                cycle = " -> ".join((*trail[trail.index(need) :], name, need)) if need in trail else f"{name} -> {name}"
                raise InputError(path, f"measures[id={name}].requires[{i}]", need,
                                 f"prerequisites without a cycle (found {cycle})")  # fmt: skip
            for item in (need, *closure(need, (*trail, name))):
                if item not in found:
                    found.append(item)
        needs[name] = found
        return found

    for measure in scenario.measures:
        closure(measure.id, ())
    for measure in scenario.measures:
        where = f"measures[id={measure.id}]"
        held = [measure.id, *needs[measure.id]]
        for first in held:
            for clash in by_id[first].excludes:
                if clash in held:
                    what = "itself" if clash == measure.id else f"{clash!r}, which it needs"
                    if first == measure.id:
                        field = f"{where}.excludes[{by_id[first].excludes.index(clash)}]"
                        raise InputError(path, field, clash, f"not a measure it requires (it would exclude {what})")
                    expected = f"prerequisites that do not exclude {what} (so {measure.id} could be in place)"
                    raise InputError(path, f"{where}.requires", first, expected)


def _shares_add_to_one(values: Iterable[float], path: Path, field: str) -> None:
    total = sum(values)
    if abs(total - 1.0) > 1e-6:
        raise InputError(path, field, round(total, 9), "shares that add up to 1")


def check_agent_model(scenario: Scenario, path: Path, threats: set[str]) -> None:
    """Cross-table checks of the ``[abm]`` tables: names exist, threats are of the right
    kind, shares add up."""
    abm = scenario.abm
    assert abm is not None
    kind = {t.id: t.kind for t in scenario.threats}
    critical = {s.id for s in scenario.sectors if s.critical}

    def threat_of_kind(name: str, field: str, wanted: str) -> None:
        if name not in threats:
            raise InputError(path, field, name, f"one of {sorted(threats)}")
        if kind[name] != wanted:
            raise InputError(path, field, name, f"a {wanted} threat")

    def critical_sector(name: str, field: str) -> None:
        if name not in critical:
            raise InputError(path, field, name, f"a critical sector ({', '.join(sorted(critical))})")

    if not scenario.measures:
        expected = "at least one measure for the agent model's operators to choose from (or no [abm] tables)"
        raise InputError(path, "measures", "(none)", expected)
    centres = [m.id for m in scenario.ministries if m.kind == "cabinet_centre"]
    if len(centres) != 1:
        raise InputError(
            path, "ministries[].kind", centres, "exactly one cabinet_centre (it sets targets, runs exercises)"
        )
    _unique((k.id for k in abm.attackers.kinds), path, "abm.attackers.kinds[].id")
    for k in abm.attackers.kinds:
        if not k.threats or not any(k.threats.values()):
            raise InputError(path, f"abm.attackers.kinds[id={k.id}].threats", k.threats, "a positive weight")
        for name in k.threats:
            threat_of_kind(name, f"abm.attackers.kinds[id={k.id}].threats.{name}", "cyber")
    aimed = {name for k in abm.attackers.kinds for name, weight in k.threats.items() if weight > 0}
    for threat in scenario.threats:
        if threat.kind == "cyber" and threat.frequency.rate > 0 and threat.id not in aimed:
            raise InputError(
                path, "abm.attackers.kinds[].threats", threat.id, "every cyber threat in some kind's threats"
            )
    _shares_add_to_one(abm.attackers.origins.values(), path, "abm.attackers.origins")
    threat_of_kind(abm.botnet.ddos_threat, "abm.botnet.ddos_threat", "cyber")

    bands = abm.individuals.age_bands
    _unique((b.id for b in bands), path, "abm.individuals.age_bands[].id")
    _shares_add_to_one((b.user_share for b in bands), path, "abm.individuals.age_bands[].user_share")
    unprotected = abm.individuals.users * sum(b.user_share * (1.0 - b.hygiene) for b in bands)
    domestic = abm.botnet.bots * abm.botnet.domestic_share
    if domestic >= unprotected:
        raise InputError(
            path, "abm.botnet.domestic_share", abm.botnet.domestic_share,
            f"fewer domestic bots ({domestic:,.0f}) than users without good hygiene ({unprotected:,.0f})",
        )  # fmt: skip
    for field, names in (
        ("individuals.leak_threats", abm.individuals.leak_threats),
        ("information_sharing.threats", abm.information_sharing.threats),
    ):
        for i, name in enumerate(names):
            if name not in threats:
                raise InputError(path, f"abm.{field}[{i}]", name, f"one of {sorted(threats)}")

    sharing = abm.information_sharing
    _unique((c.sector for c in sharing.ceptoars), path, "abm.information_sharing.ceptoars[].sector")
    for i, ceptoar in enumerate(sharing.ceptoars):
        critical_sector(ceptoar.sector, f"abm.information_sharing.ceptoars[{i}].sector")

    outsourcing = abm.outsourcing
    threat_of_kind(outsourcing.threat, "abm.outsourcing.threat", "unintentional")
    for name in outsourcing.shares:
        critical_sector(name, f"abm.outsourcing.shares.{name}")
    missing = sorted(critical - set(outsourcing.shares))
    if missing:
        raise InputError(path, "abm.outsourcing.shares", missing[0], "a share for every critical sector")
