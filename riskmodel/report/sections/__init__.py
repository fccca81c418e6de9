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

from riskmodel.report.sections import abm, calibration, optimize, simulate


@dataclass(frozen=True)
class Section:
    """``marker``: the file whose presence selects the section (a JSON summary, which for a
    run opens with its provenance, or a table); ``context(folder, summary)``: the
    template's variables (``summary``: the marker's JSON, empty for a table)."""

    title: str
    marker: str
    template: str
    context: Callable[[Path, dict], dict[str, Any]]


SECTIONS = (
    Section("Monte Carlo losses (simulate)", "summary.json", "simulate.html.j2", simulate.context),
    Section("Agent model (abm)", "abm_summary.json", "abm.html.j2", abm.context),
    Section("Countermeasure portfolio (optimize)", "optimize_summary.json", "optimize.html.j2", optimize.context),
    Section("Calibration to incident data (calibrate fit)", "calibration.json", "calibration.html.j2",
            calibration.context),
    Section("Parameter recovery (calibrate recover)", "recovery.csv", "recovery.html.j2",
            calibration.recovery_context),
)
