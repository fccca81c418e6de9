"""``build_report``: one self-contained HTML page from an output folder.

The page carries its figures as inline SVG and no script, so it opens offline, prints as
it reads on screen and can be mailed as one file. Its sections are those whose files the
folder holds (:mod:`riskmodel.report.sections`), each opened by what was run: the
provenance block its summary file starts with.
"""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import riskmodel
from riskmodel.errors import InputError
from riskmodel.report.html import environment
from riskmodel.report.sections import SECTIONS


def _written(path: Path) -> str:
    return dt.datetime.fromtimestamp(path.stat().st_mtime, dt.UTC).strftime("%Y-%m-%d %H:%M UTC")


def build_report(folder: Path) -> str:
    """The report of ``folder`` (an output folder, or an experiment's DuckDB store) as HTML
    text; an InputError when it holds no run."""
    env = environment()
    if folder.is_file() and folder.suffix == ".duckdb":
        from riskmodel.report.sections import experiment

        body = env.get_template("experiment.html.j2").render(experiment.context(folder))
        part = {"title": "Experiment", "file": folder.name, "provenance": None, "written": _written(folder),
                "body": body}  # fmt: skip
        return env.get_template("report.html.j2").render(
            folder=folder.resolve(), sections=[part], version=riskmodel.__version__,
            made=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        )  # fmt: skip
    if not folder.is_dir():
        raise InputError(folder, "PATH", "(not a folder)",
                         "the output folder of simulate, abm, optimize or calibrate, or a store")
    parts = []
    for section in SECTIONS:
        marker = folder / section.marker
        if not marker.exists():
            continue
        summary = json.loads(marker.read_text(encoding="utf-8")) if marker.suffix == ".json" else {}
        body = env.get_template(section.template).render(section.context(folder, summary))
        parts.append({"title": section.title, "file": section.marker, "provenance": summary.get("provenance"),
                      "written": _written(marker), "body": body})  # fmt: skip
    if not parts:
        names = ", ".join(s.marker for s in SECTIONS)
        raise InputError(folder, "PATH", "(no run in it)", f"a folder holding one of {names}")
    return env.get_template("report.html.j2").render(
        folder=folder.resolve(), sections=parts, version=riskmodel.__version__,
        made=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
    )  # fmt: skip
