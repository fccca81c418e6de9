"""Policy levers: a world whose ``[abm]`` tables have some values changed.

Experiments vary the agent model's levers - blame and immunity, PDCA thresholds, sharing,
exercises, campaigns, attackers' elasticity - around a scenario. :func:`with_levers` sets
them by dotted path under ``[abm]`` (``"concealment.blame"``, ``"pdca.enabled"``) and
validates the result exactly as a scenario file is validated, so a bad value gets the same
one-line error. Only the agent model's tables change, so the compiled world (operators,
threats, cascade) is reused as it is.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from typing import Any

from riskmodel.errors import InputError
from riskmodel.scenario import check_references, validate_model
from riskmodel.schema import Scenario
from riskmodel.world import World

WHERE = "(levers)"


def with_levers(world: World, levers: Mapping[str, Any]) -> World:
    """A copy of ``world`` with ``levers`` (dotted paths under ``[abm]``) set."""
    if world.scenario.abm is None:
        raise InputError(world.path or "<scenario>", "abm", "(missing)", "the [abm] tables of the agent model")
    data = world.scenario.model_dump()
    for path, value in levers.items():
        node: Any = data["abm"]
        *parents, last = path.split(".")
        for i, key in enumerate(parents):
            if not isinstance(node, dict) or key not in node:
                raise InputError(WHERE, "abm." + ".".join(parents[: i + 1]), path, "a table of [abm]")
            node = node[key]
        if not isinstance(node, dict) or last not in node:
            raise InputError(
                WHERE, f"abm.{path}", path, "a field of [abm] (check the spelling against the default scenario)"
            )
        node[last] = value
    scenario = validate_model(Scenario, data, WHERE)
    check_references(scenario, WHERE)
    return dataclasses.replace(world, scenario=scenario)
