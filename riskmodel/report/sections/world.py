"""The scenario a run used, compiled again from its provenance for what the summary files
do not repeat (the sectors' acceptable-risk bars)."""

from __future__ import annotations

from riskmodel.errors import InputError
from riskmodel.overrides import overrides_from
from riskmodel.world import World, load_world


def world_of(provenance: dict) -> tuple[World | None, str]:
    """The run's world, or ``None`` and why not: the scenario file is gone, or it has
    changed since the run (its content hash differs)."""
    scenario = provenance.get("scenario_file") or provenance["spec"].get("scenario")
    try:
        world = load_world(scenario, overrides_from(provenance.get("overrides", {})))
    except (InputError, OSError) as exc:
        return None, f"the scenario could not be loaded again ({exc})"
    if world.content_hash != provenance.get("scenario_hash"):
        return None, "the scenario file has changed since the run (its content hash differs)"
    return world, ""
