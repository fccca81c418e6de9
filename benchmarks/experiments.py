"""Experiments suite: how an experiment batch scales and what its store and coordinator cost.

Figures (see README.md for what each means and why it has its goal):

1. a batch of agent-model runs (three fiscal years each, as the shipped blame x immunity
   spec runs them) on 1 worker (the coordinator's own process) and on a pool of 2 worker
   processes: runs per second, and their ratio against
   the ratio the machine gives two processes of a pure-CPU loop measured in the same run
   (goal: >= 1.8x scaled to that reference, i.e. 90% of what the machine gives);
2. the same batch on a local Dask cluster of 2 worker processes against the pool (goal:
   within 5%);
3. the store's cost per run: committing one agent-model run's record (every outcome kept)
   against the run's own time (goal <= 2%);
4. the coordinator's peak memory (RSS) for a batch of 20,000 function runs of scalar
   outcomes on a pool of 2 workers (goal <= 300 MiB), in a fresh process.

Throughput is measured from the store's commit times, from the completion of the first
run of each worker to the last, so pool and cluster start-up (and numba's cache load in
each worker) are left out, as they are paid once per batch, not per run. The three
batches run interleaved for ``--rounds`` rounds and each keeps its best round, as the
other suites do, so a slow spell of the shared machine does not fall on one alone.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import tomli_w

from benchmarks.common import Figure, check, info, interleaved_best, load_average, log, print_table, write_json

HELP = "experiment batches: 1 vs 2 workers, Dask vs pool, store overhead per run, coordinator memory"
SCALING_GOAL = 1.8  # 2 workers / 1 worker, scaled to the machine's two-process reference
DASK_GOAL = 0.95  # Dask cluster / process pool, runs per second
STORE_GOAL = 0.02  # commit time / run time
MEMORY_GOAL = 300.0  # MiB


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's own options (``--quick`` and ``--json`` are shared by all suites)."""
    parser.add_argument("--runs", type=int, metavar="N", help="agent-model runs per batch (default 24; 6 with --quick)")
    parser.add_argument("--rounds", type=int, metavar="N",
                        help="rounds of the three batches, interleaved, best kept (2; 1 with --quick)")  # fmt: skip
    parser.add_argument("--fiscal-years", type=int, metavar="N",
                        help="fiscal years of an agent-model run (3, as the shipped spec; 1 with --quick)")  # fmt: skip
    parser.add_argument("--memory-runs", type=int, metavar="N",
                        help="function runs of the memory batch (default 20,000; 2,000 with --quick)")  # fmt: skip


def _cpu_loop(n: int) -> int:
    total = 0
    for i in range(n):
        total += i * i % 7
    return total


def cpu_reference(seconds: float, repeats: int) -> float:
    """Throughput of two processes of a pure-CPU loop over one process's, on this machine
    now: one and two loops timed interleaved, ``repeats`` rounds, best of each kept."""
    n = 1_000_000
    start = time.perf_counter()
    _cpu_loop(n)
    n = max(n, int(n * seconds / (time.perf_counter() - start)))
    with multiprocessing.get_context("forkserver").Pool(2) as pool:
        pool.map(_cpu_loop, [1000, 1000])  # started before timing
        timings = interleaved_best({"one": lambda: pool.map(_cpu_loop, [n]),
                                    "two": lambda: pool.map(_cpu_loop, [n, n], chunksize=1)}, repeats)  # fmt: skip
    return 2 * timings.best["one"] / timings.best["two"]


def abm_spec(folder: Path, runs: int, fiscal_years: int) -> Path:
    """An agent-model batch: blame at two levels, ``runs / 2`` replications."""
    spec = {
        "experiment": {"name": "bench_abm", "seed": 1, "replications": max(1, runs // 2)},
        "run": {"kind": "abm", "size": fiscal_years},
        "levers": [{"path": "abm.concealment.blame", "values": [0.5, 1.0]}],
    }
    path = folder / "bench_abm.toml"
    path.write_text(tomli_w.dumps(spec), encoding="utf-8")
    return path


def steady_rate(store: Path, workers: int) -> float:
    """Runs per second from the ``workers``-th commit to the last (start-up left out)."""
    import duckdb

    with duckdb.connect(str(store), read_only=True) as con:
        times = [row[0] for row in con.execute("SELECT finished FROM runs ORDER BY finished").fetchall()]
    first = times[workers - 1]
    return (len(times) - workers) / max((times[-1] - first).total_seconds(), 1e-9)


def batch(spec: Path, store: Path, **backend: Any) -> tuple[float, float, float]:
    """Run the batch; its steady runs per second, the mean run time and the wall time."""
    from riskmodel.experiments import load_experiment, run_experiment

    report = run_experiment(spec, store, progress=False, **backend)
    runs = load_experiment(store).runs
    if report.failed:
        raise RuntimeError(f"{report.failed} runs failed: {runs.error_message.dropna().iloc[0]}")
    return steady_rate(store, backend.get("workers", 1)), float(runs.wall_time.iloc[1:].mean()), report.seconds


def commit_cost(spec: Path, folder: Path, repeats: int = 50) -> float:
    """Seconds to commit one agent-model run's record (every outcome kept) and to mark its
    task running, averaged over ``repeats`` commits into a fresh store."""
    from riskmodel.experiments import build_design, load_spec
    from riskmodel.experiments.runner import Jobs
    from riskmodel.experiments.store import open_for_writing
    from riskmodel.experiments.worker import Task, execute

    experiment = load_spec(spec)
    design = build_design(experiment)
    with open_for_writing(folder / "commit.duckdb", experiment, design) as store:
        record = execute(Task(Jobs(experiment, design, store)([0]), ("*",)))[0]
        run_ids = store.todo(retry_failed=False)[:repeats]
        start = time.perf_counter()
        for run_id in run_ids:
            store.mark_running([run_id])
            record.run_id = run_id
            store.commit(record)
        return (time.perf_counter() - start) / len(run_ids)


# The peak is read from /proc (VmHWM), not from getrusage: Linux carries a parent's ru_maxrss
# over fork and exec, so a child started by a large benchmark process would report the parent's.
MEMORY_SCRIPT = """
import json, sys
from pathlib import Path
from riskmodel.experiments import run_experiment

def peak_kib():
    status = Path("/proc/self/status").read_text()
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmHWM")))

before = peak_kib()
report = run_experiment(sys.argv[1], sys.argv[2], workers=2, progress=False)
print(json.dumps({"runs": report.done, "seconds": report.seconds, "before_kib": before, "peak_kib": peak_kib()}))
"""


def coordinator_memory(folder: Path, runs: int) -> dict[str, float]:
    """Peak RSS of a fresh coordinator process running ``runs`` function runs on 2 workers."""
    samples = max(1, runs // 100)
    spec = {
        "experiment": {"name": "bench_memory", "seed": 1, "replications": 10},
        "run": {"kind": "function", "function": "riskmodel.experiments.functions:noisy_line"},
        "levers": [{"path": "slope", "values": [float(v) for v in range(10)]}],
        "uncertainties": [{"path": "x", "distribution": "uniform", "low": 0.0, "high": 1.0}],
        "design": {"uncertainties": "lhs", "samples": samples},
    }
    path = folder / "bench_memory.toml"
    path.write_text(tomli_w.dumps(spec), encoding="utf-8")
    done = subprocess.run([sys.executable, "-c", MEMORY_SCRIPT, str(path), str(folder / "memory.duckdb")],
                          capture_output=True, text=True, check=True)  # fmt: skip
    return json.loads(done.stdout.strip().splitlines()[-1])


def run(args: argparse.Namespace) -> int:
    quick = bool(args.quick)
    runs = args.runs or (6 if quick else 24)
    rounds = args.rounds or (1 if quick else 2)
    fiscal_years = args.fiscal_years or (1 if quick else 3)
    memory_runs = args.memory_runs or (2_000 if quick else 20_000)
    started = time.perf_counter()
    log(f"load average at start: {load_average()}")
    with tempfile.TemporaryDirectory(prefix="bench-experiments-") as temp:
        folder = Path(temp)
        spec = abm_spec(folder, runs, fiscal_years)
        log("reference: a pure-CPU loop in two processes against one")
        reference = cpu_reference(1.0 if quick else 2.0, 2 if quick else 3)
        backends = {"one": {"workers": 1}, "two": {"workers": 2}, "dask": {"workers": 2, "dask": True}}
        best: dict[str, tuple[float, float, float]] = {}
        for round_ in range(rounds):
            for name, backend in backends.items():
                log(f"round {round_ + 1} of {rounds}: agent-model batch of {runs} runs, {name}")
                found = batch(spec, folder / f"{name}-{round_}.duckdb", **backend)
                best[name] = max(best.get(name, found), found)  # the highest steady rate
        (one, run_time, one_wall), (two, _, two_wall), (dask, _, dask_wall) = best["one"], best["two"], best["dask"]
        log("the store's cost per run")
        commit = commit_cost(spec, folder)
        log(f"coordinator memory, {memory_runs:,} function runs on 2 workers")
        memory = coordinator_memory(folder, memory_runs)
    speedup = two / one
    figures: list[Figure] = [
        info("pure-CPU loop, 2 processes / 1 (the machine's reference)", reference, "x"),
        info("agent-model runs/s, 1 worker", one, "runs/s", note=f"batch {one_wall:.1f} s wall"),
        info("agent-model runs/s, process pool of 2", two, "runs/s", note=f"batch {two_wall:.1f} s wall"),
        info("agent-model runs/s, local Dask cluster of 2", dask, "runs/s", note=f"batch {dask_wall:.1f} s wall"),
        info("2 workers / 1 worker", speedup, "x"),
        check("2 workers / 1 worker, scaled to the reference (x 2 / reference)", speedup * 2 / reference, "x", ">=",
              SCALING_GOAL),
        check("Dask cluster / process pool, runs/s", dask / two, "x", ">=", DASK_GOAL),
        info(f"agent-model run time ({fiscal_years} fiscal year{'s' * (fiscal_years > 1)})", run_time, "s"),
        info("store: commit of one run (all outcomes kept)", commit * 1000, "ms"),
        check("store: commit / run time", commit / run_time, "", "<=", STORE_GOAL),
        info("coordinator RSS after imports", memory["before_kib"] / 1024, "MiB"),
        check(f"coordinator peak RSS, {memory['runs']:,.0f} runs", memory["peak_kib"] / 1024, "MiB", "<=",
              MEMORY_GOAL, note=f"batch {memory['seconds']:.0f} s"),
    ]
    elapsed = time.perf_counter() - started
    log(f"load average at end: {load_average()}")
    print_table(f"experiment benchmarks ({'quick' if quick else 'full'} run, {elapsed:.0f} s)", figures)
    if args.json is not None:
        settings = {"quick": quick, "runs": runs, "rounds": rounds, "fiscal_years": fiscal_years,
                    "memory_runs": memory_runs}  # fmt: skip
        write_json(args.json, "experiments", settings, figures, {"memory": memory, "elapsed_seconds": elapsed})
        print(f"results written to {args.json}")
    return 0
