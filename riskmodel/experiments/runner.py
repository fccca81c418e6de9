"""The coordinator: run an experiment's runs on a backend and commit each as it finishes.

Backends, with no change to the spec: the coordinator's own process (``workers=1``), a
local process pool (``workers=N``), a local Dask cluster (``dask=True``, N worker
processes) or a running Dask scheduler (``scheduler="tcp://host:port"``). All of them are
driven through the same ``concurrent.futures`` interface (Dask's through
``Client.get_executor``). Runs are sent in tasks sized from the runs' measured times to
about ``TASK_SECONDS`` of work each, with at most two tasks per worker in flight, so the
coordinator's memory does not grow with the batch. A run's results depend only on the
spec and its seed, never on the backend, the worker count, the task sizes or the order
in which tasks finish.
"""

from __future__ import annotations

import math
import multiprocessing
import sys
import time
from collections import deque
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from riskmodel.errors import InputError
from riskmodel.experiments.designs import Design, build_design
from riskmodel.experiments.spec import ExperimentSpec, base_spec, load_spec, point_spec
from riskmodel.experiments.store import Store, open_for_writing
from riskmodel.experiments.worker import Job, Record, Task, execute, worker_name

TASK_SECONDS = 0.1  # about this much work per task: scheduling costs little against it
MAX_RUNS_PER_TASK = 1000
IN_FLIGHT_PER_WORKER = 2


@dataclass
class BatchReport:
    """What a call of :func:`run_experiment` did."""

    store: Path
    ran: int
    done: int
    failed: int
    seconds: float


class InlineExecutor(Executor):
    """Runs each task at once in the coordinator's process (one worker, no pool to start)."""

    def submit(self, fn, /, *args, **kwargs):  # type: ignore[override]
        future: Future = Future()
        future.set_result(fn(*args, **kwargs))
        return future


@contextmanager
def backend(workers: int = 1, scheduler: str | None = None, dask: bool = False) -> Iterator[tuple[Executor, int]]:
    """An executor and its number of worker slots."""
    if scheduler is not None or dask:
        from dask.distributed import Client, LocalCluster

        cluster = None
        if scheduler is None:
            cluster = LocalCluster(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None)
        try:
            client = Client(scheduler if scheduler is not None else cluster, timeout="30s")
        except OSError as exc:
            raise InputError("(command line)", "--scheduler", scheduler, f"a reachable Dask scheduler ({exc})") \
                from None
        try:
            yield client.get_executor(pure=False), max(sum(client.nthreads().values()), 1)
        finally:
            client.close()
            if cluster is not None:
                cluster.close()
    elif workers == 1:
        yield InlineExecutor(), 1
    else:
        context = multiprocessing.get_context("forkserver")
        context.set_forkserver_preload(["riskmodel.experiments.worker"])  # imported once, not in every worker
        with ProcessPoolExecutor(workers, mp_context=context) as pool:
            yield pool, workers


class Jobs:
    """The job of each run id: its RunSpec (or function call) from the design and its seed."""

    def __init__(self, spec: ExperimentSpec, design: Design, store: Store):
        self.spec, self.design, self.store = spec, design, store
        self.base = base_spec(spec) if spec.file.run.kind != "function" else None

    def __call__(self, run_ids: list[int]) -> tuple[Job, ...]:
        jobs = []
        for run_id, point, _, seed in self.store.run_rows(run_ids):
            values = self.design.values[point]
            if self.base is None:
                params = {path: value for path, (value, _) in values.items()}
                jobs.append(Job(run_id, function=self.spec.file.run.function, params=params, seed=int(seed)))
            else:
                jobs.append(Job(run_id, spec=point_spec(self.spec, self.base, values, int(seed))))
        return tuple(jobs)


def run_experiment(spec: ExperimentSpec | str | Path, store: Path | None = None, *, workers: int = 1,
                   scheduler: str | None = None, dask: bool = False, retry_failed: bool = False,
                   progress: bool | None = None, log: Callable[[str], None] | None = None) -> BatchReport:  # fmt: skip
    """Run every run of ``spec`` not done yet in its store (``store``, or the spec's default
    ``<output>/<name>.duckdb``); ``progress`` (default: when stderr is a terminal) shows a
    bar on stderr; ``log`` hears one line when the runs start."""
    if not isinstance(spec, ExperimentSpec):
        spec = load_spec(spec)
    if workers < 1:
        raise InputError("(command line)", "--workers", workers, "a whole number of at least 1")
    design = build_design(spec)
    path = Path(store) if store is not None else spec.default_store()
    clock = time.perf_counter()
    with open_for_writing(path, spec, design) as opened:
        todo = deque(opened.todo(retry_failed))
        jobs = Jobs(spec, design, opened)
        keep, tables = tuple(spec.file.outcomes.keep), tuple(spec.file.outcomes.tables)
        counts = {"done": 0, "failed": 0}
        with _bar(len(todo), progress) as advance, backend(workers, scheduler, dask) as (executor, slots):
            if log is not None:
                where = scheduler or ("a local Dask cluster" if dask else "a process pool" if workers > 1 else "")
                log(f"{spec.name}: {len(todo):,} runs to run on {slots} worker{'s' * (slots > 1)}"
                    + (f" ({where})" if where else "") + f", stored in {path}")  # fmt: skip
            in_flight: dict[Future, list[int]] = {}
            per_run: float | None = None
            while todo or in_flight:
                while todo and len(in_flight) < IN_FLIGHT_PER_WORKER * slots:
                    wanted = 1 if per_run is None else math.ceil(TASK_SECONDS / max(per_run, 1e-6))
                    size = min(MAX_RUNS_PER_TASK, max(1, wanted))
                    run_ids = [todo.popleft() for _ in range(min(size, len(todo)))]
                    opened.mark_running(run_ids)
                    in_flight[executor.submit(execute, Task(jobs(run_ids), keep, tables))] = run_ids
                finished, _ = wait(in_flight, return_when=FIRST_COMPLETED)
                for future in finished:
                    for record in _records(future, in_flight.pop(future)):
                        opened.commit(record)
                        counts[record.status] += 1
                        per_run = record.wall_time if per_run is None else 0.8 * per_run + 0.2 * record.wall_time
                        advance(record.status)
        opened.compact()
    return BatchReport(path, counts["done"] + counts["failed"], counts["done"], counts["failed"],
                       time.perf_counter() - clock)  # fmt: skip


def _records(future: Future, run_ids: list[int]) -> list[Record]:
    """A task's records; when the task itself was lost (a worker died), each of its runs
    is recorded as failed with that error."""
    try:
        return future.result()
    except Exception as exc:
        import traceback

        text = "".join(traceback.format_exception(exc))
        return [Record(i, "failed", {}, {}, 0.0, worker_name(), type(exc).__name__, str(exc), text) for i in run_ids]


@contextmanager
def _bar(total: int, show: bool | None) -> Iterator:
    """A rich progress bar on stderr: runs done, failed, rate and time left."""
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    show = sys.stderr.isatty() if show is None else show
    bar = Progress(
        TextColumn("runs"), BarColumn(), MofNCompleteColumn(), TextColumn("failed {task.fields[failed]}"),
        TextColumn("{task.fields[rate]} runs/s"), TimeRemainingColumn(),
        console=Console(stderr=True), disable=not show, transient=False,
    )  # fmt: skip
    task = bar.add_task("runs", total=total, failed=0, rate="-")
    started = time.perf_counter()
    failed = 0

    def advance(status: str) -> None:
        nonlocal failed
        failed += status == "failed"
        done = bar.tasks[0].completed + 1
        rate = done / max(time.perf_counter() - started, 1e-9)
        bar.update(task, advance=1, failed=failed, rate=f"{rate:,.1f}")

    with bar:
        yield advance
