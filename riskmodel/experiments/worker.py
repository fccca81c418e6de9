"""What a worker does with a task: run each of its runs and send back their records.

A task is a few runs (enough for about 100 ms of work, so scheduling costs little
against running) with everything needed to run them anywhere: each run's ``RunSpec``
(or the function, its parameters and seed), the outcome patterns to keep and the tables
wanted. A run that raises becomes a failed record with the error's type, message and
traceback, and the task goes on with its next run; nothing is written here, the
coordinator is the store's only writer.
"""

from __future__ import annotations

import os
import socket
import time
import traceback
from dataclasses import dataclass, field
from fnmatch import fnmatchcase
from typing import TYPE_CHECKING, Any

import pandas as pd

if TYPE_CHECKING:
    from riskmodel.runs import RunSpec


@dataclass(frozen=True)
class Job:
    """One run: a RunSpec, or (for the function kind) the function with its parameters and seed."""

    run_id: int
    spec: RunSpec | None = None
    function: str | None = None
    params: dict[str, Any] = field(default_factory=dict)
    seed: int = 0


@dataclass(frozen=True)
class Task:
    jobs: tuple[Job, ...]
    keep: tuple[str, ...]
    tables: tuple[str, ...] = ()


@dataclass
class Record:
    """A finished run as the worker saw it."""

    run_id: int
    status: str  # done or failed
    outcomes: dict[str, float]
    tables: dict[str, pd.DataFrame]
    wall_time: float
    worker: str
    error_type: str | None = None
    error_message: str | None = None
    traceback: str | None = None


def worker_name() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def execute(task: Task) -> list[Record]:
    """Run every job of ``task``; a failure is recorded, never raised."""
    return [_one(job, task) for job in task.jobs]


def _one(job: Job, task: Task) -> Record:
    clock = time.perf_counter()
    try:
        outcomes, tables = _evaluate(job, task.tables)
    except Exception as exc:  # one failed run must not stop the batch: it is stored as data
        return Record(job.run_id, "failed", {}, {}, time.perf_counter() - clock, worker_name(), type(exc).__name__,
                      str(exc), traceback.format_exc())  # fmt: skip
    kept = {key: float(value) for key, value in outcomes.items() if any(fnmatchcase(key, p) for p in task.keep)}
    return Record(job.run_id, "done", kept, tables, time.perf_counter() - clock, worker_name())


def _evaluate(job: Job, tables: tuple[str, ...]) -> tuple[dict[str, float], dict[str, pd.DataFrame]]:
    if job.function is not None:
        from riskmodel.experiments.spec import model_function

        return model_function(job.function)(dict(job.params), job.seed), {}
    from riskmodel.runs import run  # here, not above: a worker of function runs never loads the model

    result = run(job.spec)  # type: ignore[arg-type]
    return result.outcomes, {name: result.tables[name] for name in tables}
