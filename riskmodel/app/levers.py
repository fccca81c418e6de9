"""The dashboard's inputs: the agent model's main levers as SolaraViz parameters, and the
model as the page builds it from them."""

from __future__ import annotations

import os
from functools import reduce
from typing import Any

from mesa.visualization import Slider

from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.abm.parameters import LEVERS
from riskmodel.world import World, load_world

SCENARIO_VARIABLE = "RISKMODEL_DASHBOARD_SCENARIO"  # how `riskmodel dashboard --scenario` reaches the page
NEVER = "never"
SHOWN = ("blame", "immunity_from_fiscal_year", "information_sharing", "exercises", "pdca", "awareness",
         "concealment", "attackers")  # fmt: skip
LABELS = {
    "blame": "Blame for a reported failure",
    "immunity_from_fiscal_year": "Immunity from sanctions from fiscal year",
    "information_sharing": "CEPTOARs: information sharing",
    "exercises": "Cross-sector exercises",
    "pdca": "Mandatory standards: ministries' PDCA",
    "awareness": "Awareness campaigns",
    "concealment": "Operators may conceal failures",
    "attackers": "Adaptive attackers",
}


class DashboardModel(CriticalInfrastructureModel):
    """The agent model from the page's inputs: an empty portfolio box means no portfolio,
    and an immunity year of ``never`` means none (the scenario's ``None``)."""

    def __init__(self, portfolio: str = "", immunity_from_fiscal_year: str = NEVER, **kwargs: Any):
        year = None if immunity_from_fiscal_year == NEVER else int(immunity_from_fiscal_year)
        super().__init__(portfolio=portfolio.strip() or None, immunity_from_fiscal_year=year, **kwargs)


def scenario() -> str | None:
    """The scenario the dashboard was started with (``None``: the packaged one)."""
    return os.environ.get(SCENARIO_VARIABLE) or None


def in_force(world: World) -> dict[str, Any]:
    """The value of each lever in a model's world, read back from its scenario."""
    return {name: reduce(getattr, LEVERS[name].split("."), world.scenario) for name in SHOWN}


def model_params(world: World) -> dict[str, Any]:
    """SolaraViz's parameters: the levers at the scenario's values, the seed, a portfolio."""
    now = in_force(world)
    horizon = world.scenario.horizon
    years = [NEVER, *(str(y) for y in range(horizon.start_fiscal_year, horizon.end_fiscal_year + 1))]
    immunity = now["immunity_from_fiscal_year"]
    params: dict[str, Any] = {
        "scenario": scenario(),
        "seed": Slider("Seed", value=0, min=0, max=99, step=1),
        "blame": Slider(LABELS["blame"], value=float(now["blame"]), min=0.0, max=3.0, step=0.25),
        "immunity_from_fiscal_year": {"type": "Select", "label": LABELS["immunity_from_fiscal_year"],
                                      "value": NEVER if immunity is None else str(immunity), "values": years},
        "portfolio": {"type": "InputText", "label": "Portfolio file (TOML; empty: none)", "value": ""},
    }  # fmt: skip
    for name in SHOWN[2:]:
        params[name] = {"type": "Checkbox", "label": LABELS[name], "value": bool(now[name])}
    return params


def default_world() -> World:
    return load_world(scenario())


def initial(params: dict[str, Any]) -> dict[str, Any]:
    """The keyword arguments the page's first model is built with: each input's start value."""
    values = {}
    for name, param in params.items():
        if isinstance(param, Slider):
            values[name] = param.value
        elif isinstance(param, dict):
            values[name] = param["value"]
        else:
            values[name] = param
    return values
