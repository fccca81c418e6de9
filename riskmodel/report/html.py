"""What the report templates need beyond Jinja2: figures inlined as SVG data, number
formats in the tables' units, and the template environment (templates are package data)."""

from __future__ import annotations

import base64
import math

from jinja2 import Environment, PackageLoader, StrictUndefined, select_autoescape
from markupsafe import Markup
from matplotlib.figure import Figure

from riskmodel.report.figures import svg


def inline(fig: Figure, alt: str) -> Markup:
    """An ``<img>`` holding the figure as SVG data: no file, no network, sharp in print."""
    data = base64.b64encode(svg(fig)).decode("ascii")
    return Markup('<img class="figure" alt="{}" src="data:image/svg+xml;base64,{}">').format(alt, Markup(data))


def billions(value: float | None, digits: int = 1) -> str:
    """Yen as billions of yen, the unit of every money column."""
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{round(value / 1e9, digits) + 0.0:,.{digits}f}"  # + 0.0: no "-0.0"


def percent(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "–"
    return f"{100 * value:.{digits}f}%"


def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("riskmodel.report", "templates"),
        autoescape=select_autoescape(["html", "j2"]),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["bn"] = billions
    env.filters["pct"] = percent
    return env
