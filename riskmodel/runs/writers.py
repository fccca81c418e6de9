"""Writing a run's files: an output folder checked first, files staged and swapped in as a set.

A run writes into a staging folder inside the output folder (``.partial-<pid>-<token>``,
hidden) and, only when every file has been written, swaps the whole set in: the files of
the previous run of the same command (listed in the folder's manifest of that command,
``.riskmodel-<kind>.json``, or known by name) that the new run does not write are
removed, the new files are moved over their namesakes, and the manifest is replaced. So
an output folder never mixes two runs of a command, and a failed run leaves the folder's
earlier results as they were.

Crash safety. The swap is journaled: the complete staging folder is first renamed to
``.commit-<pid>-<token>`` (one atomic rename); from then on any later run into the folder
finishes the swap (roll forward) before it does anything else. A staging folder whose
owner died (its lock, an ``flock`` on ``.lock`` inside it, is free) is removed by the next
run. Every file is written whole in the staging folder and moved with one ``rename``, so
a reader never sees a half-written file; a run killed mid-swap leaves each file either the
old or the new one, and the next run completes the set. ``SIGTERM`` and ``SIGINT`` are held
back during the swap itself.

Nothing is written outside the output folder: names in it are replaced (a symbolic link
named like an output file is replaced by the file, its target left alone) and the lock
file is opened without following links. Every summary file (``summary.json``,
``abm_summary.json``, ``optimize_summary.json``) carries the run's provenance.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from riskmodel.errors import InputError
from riskmodel.runs.result import RunResult
from riskmodel.runs.run import KIND_MODULES, TIMING

# Every file a command may write (the optional ones included): a run replaces these as a set.
KIND_FILES: dict[str, tuple[str, ...]] = {
    "simulate": (
        "summary.json",
        "ylt.parquet",
        "elt.parquet",
        "convergence.csv",
        "ep_curves.csv",
        "ep_curves.png",
        "fn_curve.csv",
        "fn_curve.png",
    ),
    "abm": ("abm_summary.json", "model_timeseries.parquet", "agents_yearly.parquet", "abm_timeseries.png",
            "abm_replications.parquet"),
    "optimize": (
        "optimize_summary.json",
        "portfolio.toml",
        "portfolio_partial.toml",
        "frontier.csv",
        "frontier.png",
        "measures.csv",
        "portfolio_posterior_mean.toml",
        "robustness.csv",
    ),
    "compare": ("compare_summary.csv", "compare_differences.csv"),
}
STAGE_PREFIX = ".partial-"  # a run's staging folder
JOURNAL_PREFIX = ".commit-"  # a complete staging folder being swapped in
LOCK = ".riskmodel.lock"  # held while a run recovers the folder, creates its stage or swaps
STAGE_LOCK = ".lock"  # held by the run that owns a staging folder, for as long as it lives
STAGE_MANIFEST = ".manifest.json"


def manifest_name(kind: str) -> str:
    """The folder's record of the files of the last run of ``kind``."""
    return f".riskmodel-{kind}.json"


def output_dir(path: Path, kind: str | None = None) -> Path:
    """Check, before any work, that results can be written to ``path`` (created if need
    be), and that none of the names the run of ``kind`` may write is taken by a folder."""
    if str(path).strip() == "":
        raise InputError(path, "out", "''", "a folder name")
    try:
        if path.exists() and not path.is_dir():
            raise InputError(path, "out", "(an existing file)", "a directory (or a path to create one)")
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(path, "out", exc.strerror or str(exc), "a directory that can be created") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise InputError(path, "out", "(not writable)", "a writable directory")
    for name in (*KIND_FILES.get(kind or "", ()), manifest_name(kind or "run"), LOCK):
        target = path / name
        if target.is_dir() and not target.is_symlink():
            raise InputError(target, "out", "(a folder)", f"no folder named {name} in --out (the run writes that file)")
    return path


@contextmanager
def _folder_lock(out: Path) -> Iterator[None]:
    """An exclusive lock on the output folder (a lock file opened without following links)."""
    fd = os.open(out / LOCK, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


@contextmanager
def _signals_held() -> Iterator[None]:
    """SIGTERM and SIGINT held back while the block runs (delivered after it)."""
    held = {signal.SIGTERM, signal.SIGINT}
    previous = signal.pthread_sigmask(signal.SIG_BLOCK, held)
    try:
        yield
    finally:
        signal.pthread_sigmask(signal.SIG_SETMASK, previous)


def _remove(path: Path) -> None:
    """Remove a file, a link or a folder (a link is removed, never followed)."""
    if path.is_symlink() or not path.is_dir():
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
    else:
        shutil.rmtree(path, ignore_errors=True)


def _owner_alive(stage: Path) -> bool:
    """Whether the run that made ``stage`` still holds its lock."""
    try:
        fd = os.open(stage / STAGE_LOCK, os.O_RDWR | os.O_NOFOLLOW | os.O_CLOEXEC)
    except OSError:
        return False  # no lock file: made by a run that died before it could lock (or an older version)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        return True
    finally:
        os.close(fd)
    return False


def _read_manifest(path: Path) -> list[str]:
    try:
        files = json.loads(path.read_text(encoding="utf-8")).get("files", [])
    except (OSError, ValueError, AttributeError):
        return []
    return [f for f in files if isinstance(f, str) and f and "/" not in f and f not in (".", "..")]


def _roll_forward(out: Path, journal: Path) -> None:
    """Finish swapping a complete staging folder in (idempotent: safe to repeat after a kill)."""
    try:
        record = json.loads((journal / STAGE_MANIFEST).read_text(encoding="utf-8"))
        kind, new = record["kind"], list(record["files"])
    except (OSError, ValueError, KeyError, TypeError):
        _remove(journal)  # no manifest: the rename never completed its preparation
        return
    manifest = out / manifest_name(kind)
    stale = (set(_read_manifest(manifest)) | set(KIND_FILES.get(kind, ()))) - set(new)
    for name in new:
        source = journal / name
        if source.exists() or source.is_symlink():
            os.replace(source, out / name)
    for name in sorted(stale):
        target = out / name
        if target.is_symlink() or target.is_file():
            target.unlink()
    os.replace(journal / STAGE_MANIFEST, manifest)
    _remove(journal)


def recover(out: Path) -> None:
    """Finish the swaps of killed runs and remove the staging folders of dead ones.

    Every run calls it on its output folder before it stages; call it before reading a
    folder that a killed run may have been writing to."""
    if not out.is_dir():
        return
    with _folder_lock(out), _signals_held():
        _recover_locked(out)


def _recover_locked(out: Path) -> None:
    for item in sorted(out.iterdir()):
        if item.name.startswith(JOURNAL_PREFIX) and item.is_dir() and not item.is_symlink():
            _roll_forward(out, item)
        elif item.name.startswith(STAGE_PREFIX) and (item.is_symlink() or not _owner_alive(item)):
            _remove(item)


@contextmanager
def staged(out: Path, kind: str | None = None) -> Iterator[Path]:
    """A staging folder inside ``out`` whose files replace the previous run's set (of the
    same ``kind``) only when the block succeeds; removed in any case."""
    with _folder_lock(out), _signals_held():
        _recover_locked(out)
        stage = out / f"{STAGE_PREFIX}{os.getpid()}-{secrets.token_hex(4)}"
        stage.mkdir()
        lock = os.open(stage / STAGE_LOCK, os.O_RDWR | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC, 0o644)
        fcntl.flock(lock, fcntl.LOCK_EX)
    try:
        yield stage
        _commit(out, stage, kind)
    finally:
        os.close(lock)
        if stage.exists():
            _remove(stage)


def _commit(out: Path, stage: Path, kind: str | None) -> None:
    files = sorted(p.name for p in stage.iterdir() if p.name not in (STAGE_LOCK, STAGE_MANIFEST))
    for name in files:
        target = out / name
        if target.is_dir() and not target.is_symlink():
            raise InputError(target, "out", "(a folder)", f"no folder named {name} in --out (the run writes that file)")
    record = {"kind": kind or "run", "files": files}
    (stage / STAGE_MANIFEST).write_text(json.dumps(record, indent=2) + "\n", encoding="utf-8")
    journal = out / (JOURNAL_PREFIX + stage.name.removeprefix(STAGE_PREFIX))
    with _folder_lock(out), _signals_held():
        os.rename(stage, journal)  # the commit point: from here on the swap is finished, by us or the next run
        _roll_forward(out, journal)


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
