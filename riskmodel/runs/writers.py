"""Writing a run's files: an output folder checked first, files staged and moved in whole.

A run writes into a staging folder inside the output folder and moves its files over
their namesakes only when every one of them has been written, so a failed run leaves the
folder's earlier results as they were. Every summary file (``summary.json``,
``abm_summary.json``, ``optimize_summary.json``) carries the run's provenance.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from riskmodel.errors import InputError
from riskmodel.runs.result import RunResult
from riskmodel.runs.run import KIND_MODULES, TIMING


def output_dir(path: Path) -> Path:
    """Check, before any work, that results can be written to ``path`` (created if need be)."""
    if str(path).strip() == "":
        raise InputError(path, "out", "''", "a folder name")
    if path.exists() and not path.is_dir():
        raise InputError(path, "out", "(an existing file)", "a directory (or a path to create one)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(path, "out", exc.strerror or str(exc), "a directory that can be created") from None
    if not os.access(path, os.W_OK):
        raise InputError(path, "out", "(not writable)", "a writable directory")
    return path


@contextmanager
def staged(out: Path) -> Iterator[Path]:
    """A staging folder inside ``out`` whose files replace their namesakes only on success."""
    stage = out / f".partial-{os.getpid()}"
    stage.mkdir(exist_ok=True)
    try:
        yield stage
        for item in stage.iterdir():
            os.replace(item, out / item.name)
    finally:
        shutil.rmtree(stage, ignore_errors=True)


def summary_document(result: RunResult) -> dict:
    """The kind's summary document with the run's provenance added (less its timing and
    threads, so that the same spec gives the same bytes)."""
    document = KIND_MODULES[result.kind].summary(result.detail)
    record = {key: value for key, value in result.provenance.items() if key not in TIMING}
    return {"provenance": record, **document}


def write_files(result: RunResult, folder: Path) -> list[str]:
    """Write the run's summary (with provenance), tables and figures into ``folder``;
    returns the names of the files written."""
    return KIND_MODULES[result.kind].write(result.detail, folder, summary_document(result))
