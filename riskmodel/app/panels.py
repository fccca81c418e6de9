"""The dashboard's live panels: each a function of the model, redrawn by SolaraViz after
every step it renders, with figures from :mod:`riskmodel.report.figures`."""

from __future__ import annotations

from html import escape

import solara

from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.app.levers import LABELS, in_force
from riskmodel.app.observe import daily, last_day, outages_today, today
from riskmodel.engine.kernels import LAYERS
from riskmodel.report import figures


def status(model: CriticalInfrastructureModel) -> solara.HTML:
    """The day counter and the levers in force, read back from the model's own scenario
    (HTML, not Markdown: Solara's Markdown would fetch KaTeX, which is not bundled)."""
    levers = "".join(f'<li>{escape(LABELS[name])}: <b class="lever-{name}">{escape(str(value))}</b></li>'
                     for name, value in in_force(model.world).items())  # fmt: skip
    return solara.HTML(tag="div", unsafe_innerHTML=f'<h3 class="day-counter">{escape(today(model))}</h3>'
                       f"<p>Levers in force in this model:</p><ul>{levers}</ul>")  # fmt: skip


def outages(model: CriticalInfrastructureModel) -> solara.FigureMatplotlib:
    title = f"Outages in progress on {last_day(model)}, power area x sector"
    return solara.FigureMatplotlib(figures.area_grid(outages_today(model), title))


def failures(model: CriticalInfrastructureModel) -> solara.FigureMatplotlib:
    frame = daily(model)
    cumulative = frame.assign(true=frame["true"].cumsum(), reported=frame["reported"].cumsum())
    return solara.FigureMatplotlib(figures.day_lines(cumulative, {"true": "true", "reported": "reported to ministries"},
                                                     "IT failures since the start, true and reported",
                                                     "failures"))  # fmt: skip


def anxiety(model: CriticalInfrastructureModel) -> solara.FigureMatplotlib:
    frame = daily(model)
    lines = {"anxious_share": "anxious about using IT", "anxious_target": "Basic Plan target"}
    return solara.FigureMatplotlib(figures.day_lines(frame, lines, "Individuals anxious about IT", "share",
                                                     dashed=["anxious_target"]))  # fmt: skip


def standards(model: CriticalInfrastructureModel) -> solara.FigureMatplotlib:
    frame = daily(model).assign(compliance=lambda f: 100 * f["compliance"])
    lines = {"mandatory_measures": "mandatory measures (sum over sectors)", "compliance": "operators' compliance (%)"}
    return solara.FigureMatplotlib(figures.day_lines(frame, lines, "Standards and compliance", "measures; %"))


def botnet(model: CriticalInfrastructureModel) -> solara.FigureMatplotlib:
    frame = daily(model)
    return solara.FigureMatplotlib(figures.day_lines(frame, {"botnet_size": "bots worldwide"}, "Botnet size",
                                                     "millions of bots", scale=1e6))  # fmt: skip


def losses(model: CriticalInfrastructureModel) -> solara.FigureMatplotlib:
    frame = daily(model)
    cumulative = frame.assign(**{layer: frame[layer].cumsum() for layer in LAYERS})
    lines = {layer: layer for layer in LAYERS}
    return solara.FigureMatplotlib(figures.day_lines(cumulative, lines, "Losses since the start, by layer",
                                                     "billion yen", scale=1e9, stacked=True))  # fmt: skip


PANELS = (status, outages, failures, anxiety, standards, botnet, losses)
