"""Overrides: change any field of a scenario by its path, then validate as a file is.

One path grammar, the one error messages use: dotted field names, list items by their
``id`` or by position, ``threats[id=ddos].frequency.rate``, ``sectors[id=finance].users.total``,
``abm.concealment.blame``, ``measures[id=backup_site].levels[1].cost_fixed`` (positions
count from 0, as in Python and in the error messages).

An override either sets a value or scales a number: in Python and in JSON a value is set
as it is and ``{"scale": 1.2}`` scales; on the command line ``PATH=VALUE`` sets (the value
is read as TOML: ``0.5``, ``true``, ``"text"``, ``[1, 2]``; a bare word is a string) and
``PATH*=FACTOR`` scales. The changed scenario is validated exactly as a file is, and a bad
path or value gets the same one-line :class:`~riskmodel.errors.InputError`, with the file
given as ``(overrides)``.
"""

from __future__ import annotations

import copy
import math
import re
import tomllib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from riskmodel.errors import InputError
from riskmodel.scenario import check_references, validate_model
from riskmodel.schema import Scenario

WHERE = "(overrides)"
_STEP = re.compile(r"([A-Za-z_][A-Za-z0-9_]*)|\[(?:id=([A-Za-z0-9_]+)|(\d+))\]")
_PATH = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*|\[(?:id=[A-Za-z0-9_]+|\d+)\])*")


@dataclass(frozen=True)
class Override:
    """One change: ``path`` set to ``value``, or (``scale``) its number multiplied by ``value``."""

    path: str
    value: Any
    scale: bool = False

    def to_json(self) -> Any:
        """The JSON form of the value: itself, or ``{"scale": factor}``."""
        return {"scale": self.value} if self.scale else self.value

    @classmethod
    def of(cls, path: str, value: Any) -> Override:
        """From the JSON form (``{"scale": x}`` scales; anything else is set)."""
        if isinstance(value, Mapping) and set(value) == {"scale"}:
            factor = value["scale"]
            if isinstance(factor, bool) or not isinstance(factor, int | float) or not math.isfinite(factor):
                raise InputError(WHERE, path, factor, "a finite number to scale by")
            return cls(path, factor, scale=True)
        return cls(path, value)

    @classmethod
    def parse(cls, text: str) -> Override:
        """From the command line's ``PATH=VALUE`` or ``PATH*=FACTOR``."""
        depth, split = 0, -1
        for i, char in enumerate(text):
            depth += {"[": 1, "]": -1}.get(char, 0)
            if char == "=" and depth == 0:
                split = i
                break
        path, raw = (text[:split], text[split + 1 :]) if split >= 0 else (text, "")
        if split < 0 or not path.strip():
            raise InputError(WHERE, text, text, "PATH=VALUE or PATH*=FACTOR, e.g. threats[id=ddos].frequency.rate*=1.1")
        scale = path.endswith("*")
        path = path.removesuffix("*").strip()
        value = _toml_value(raw.strip())
        return cls.of(path, {"scale": value}) if scale else cls(path, value)


def overrides_from(changes: Mapping[str, Any] | Iterable[Override]) -> list[Override]:
    """Overrides from a mapping of path to JSON form (``{"scale": x}`` scales), or as they are."""
    if isinstance(changes, Mapping):
        return [Override.of(path, value) for path, value in changes.items()]
    return list(changes)


def _toml_value(text: str) -> Any:
    """A command-line value read as TOML; a bare word that is not TOML is a string."""
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def parse_path(path: str) -> list[str | int | tuple[str, str]]:
    """The steps of a path: field names, list positions, and ``("id", name)`` selectors."""
    if not _PATH.fullmatch(path):
        raise InputError(WHERE, path, path, "a field path such as threats[id=ddos].frequency.rate")
    steps: list[str | int | tuple[str, str]] = []
    for name, ident, index in _STEP.findall(path):
        steps.append(name if name else ("id", ident) if ident else int(index))
    return steps


def render_path(steps: Iterable[str | int | tuple[str, str]]) -> str:
    """The text of a path from its steps (the inverse of :func:`parse_path`)."""
    text = ""
    for step in steps:
        if isinstance(step, str):
            text += f".{step}" if text else step
        else:
            text += f"[{step}]" if isinstance(step, int) else f"[id={step[1]}]"
    return text


def _child(node: Any, step: str | int | tuple[str, str], path: str, done: str) -> tuple[Any, Any]:
    """The container key of ``step`` in ``node`` (raises InputError when there is none)."""
    if isinstance(step, str):
        if isinstance(node, list):
            raise InputError(WHERE, path, step, f"[id=...] or [position] after {done}, which is a list")
        if not isinstance(node, dict) or step not in node:
            where = f"a field of {done}" if done else "a top-level table"
            raise InputError(WHERE, path, step, f"{where} (check the spelling against the default scenario)")
        return node, step
    if not isinstance(node, list):
        raise InputError(WHERE, path, done, "a list before [..]")
    if isinstance(step, int):
        if step >= len(node):
            raise InputError(WHERE, path, step, f"a position below {len(node)} in {done}")
        return node, step
    ids = [item.get("id") for item in node if isinstance(item, dict)]
    if step[1] not in ids:
        raise InputError(WHERE, path, step[1], f"an id in {done}: one of {', '.join(map(str, ids))}")
    return node, ids.index(step[1])


def apply_to_data(data: dict[str, Any], overrides: Iterable[Override]) -> dict[str, Any]:
    """A deep copy of scenario data (as read from TOML) with ``overrides`` applied in order.

    The path must name a field the data already has (a typo is an error, not a new key);
    optional tables missing from the data cannot be created by an override.
    """
    data = copy.deepcopy(data)
    for override in overrides:
        steps = parse_path(override.path)
        node: Any = data
        for i, step in enumerate(steps[:-1]):
            container, key = _child(node, step, override.path, render_path(steps[:i]))
            node = container[key]
        container, key = _child(node, steps[-1], override.path, render_path(steps[:-1]))
        if override.scale:
            current = container[key]
            if isinstance(current, bool) or not isinstance(current, int | float):
                raise InputError(WHERE, override.path, current, "a number to scale (this field is not one)")
            scaled = current * override.value
            if not math.isfinite(scaled):
                raise InputError(WHERE, override.path, scaled, "a finite number after scaling")
            container[key] = int(scaled) if isinstance(current, int) and float(scaled).is_integer() else scaled
        else:
            container[key] = copy.deepcopy(override.value)
    return data


def apply_overrides(scenario: Scenario, overrides: Iterable[Override]) -> Scenario:
    """``scenario`` with ``overrides`` applied and validated (schema and cross-references)."""
    overrides = list(overrides)
    if not overrides:
        return scenario
    data = apply_to_data(scenario.model_dump(), overrides)
    changed = validate_model(Scenario, data, WHERE)
    check_references(changed, WHERE)
    return changed
