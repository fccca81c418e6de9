"""The sections of a report, each chosen by a file its kind of output folder holds.

A section is a template and a function that turns the folder into the template's
context. New kinds of folder (an experiment store, a calibration) plug in by adding a
:class:`Section` to :data:`SECTIONS`; the report shows every section whose file is there.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from riskmodel.report.sections import abm, optimize, simulate


@dataclass(frozen=True)
class Section:
    """``marker``: the file whose presence selects the section (its summary, which opens
    with the run's provenance); ``context(folder, summary)``: the template's variables."""

    title: str
    marker: str
    template: str
    context: Callable[[Path, dict], dict[str, Any]]


SECTIONS = (
    Section("Monte Carlo losses (simulate)", "summary.json", "simulate.html.j2", simulate.context),
    Section("Agent model (abm)", "abm_summary.json", "abm.html.j2", abm.context),
    Section("Countermeasure portfolio (optimize)", "optimize_summary.json", "optimize.html.j2", optimize.context),
)
