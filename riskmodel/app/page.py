"""The SolaraViz page (``solara run riskmodel.app.page``; ``riskmodel dashboard`` starts it)."""

from __future__ import annotations

from mesa.visualization import SolaraViz

from riskmodel.app.levers import DashboardModel, default_world, initial, model_params
from riskmodel.app.panels import PANELS

_params = model_params(default_world())
page = SolaraViz(
    DashboardModel(**initial(_params)),
    components=list(PANELS),
    model_params=_params,
    name="riskmodel: agent model",
    play_interval=20,
    render_interval=7,
)
