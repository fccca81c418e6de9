"""Experiment batches end to end (marker ``slow``; ``.ci/run`` runs them after the rest):
a batch killed with SIGKILL at random moments and started again ends with the results of
an uninterrupted one; a local Dask cluster, and a real ``dask scheduler`` with two
``dask worker`` processes on 127.0.0.1, give the process pool's bytes; a shipped spec,
shrunk, runs through the command line."""

from __future__ import annotations

import json
import os
import random
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest
import tomli_w
from experiments_helpers import ROOT, cli, results_bytes, toy_spec, write_spec

from riskmodel.experiments import load_experiment, run_experiment

pytestmark = pytest.mark.slow


def _sleepy_spec(replications: int = 5) -> dict:
    """300 runs of about 20 ms each: long enough to be killed in the middle of."""
    return toy_spec(
        "sleepy",
        replications=replications,
        levers=[{"path": "slope", "values": [1.0, 2.0, 3.0]}, {"path": "sleep", "values": [0.02]}],
        design={"uncertainties": "lhs", "samples": 20},
    )


def _done(store: Path) -> int:
    with duckdb.connect(str(store), read_only=True) as con:
        return con.execute("SELECT count(*) FROM runs WHERE status = 'done'").fetchone()[0]


def test_killed_batch_resumes_to_the_uninterrupted_results(tmp_path):
    spec = write_spec(tmp_path, _sleepy_spec())
    reference = run_experiment(spec, tmp_path / "reference.duckdb", progress=False)
    total = reference.done
    store = tmp_path / "killed.duckdb"
    rng = random.Random(2024)
    progress = []
    for kill in range(7):
        started = time.perf_counter()
        batch = cli("experiment", "run", str(spec), "--store", str(store), cwd=tmp_path, background=True)
        if kill == 0:  # anywhere: start-up, creating the store, or running
            time.sleep(rng.uniform(0.5, 3.0))
        else:  # once the runs have started, at a random moment of the batch
            assert "runs to run" in batch.stderr.readline().decode()  # type: ignore[union-attr]
            time.sleep(rng.uniform(0.1, 1.2))
        os.killpg(batch.pid, signal.SIGKILL)
        batch.wait()
        progress.append((round(time.perf_counter() - started, 1), _done(store) if store.exists() else 0))
    killed_mid_batch = [done for _, done in progress if 0 < done < total]
    assert len(killed_mid_batch) >= 5, progress
    assert [d for _, d in progress] == sorted(d for _, d in progress), progress  # nothing done is lost
    finished = cli("experiment", "resume", str(store), cwd=tmp_path)
    assert finished.returncode == 0, finished.stderr
    assert results_bytes(store) == results_bytes(reference.store)
    with duckdb.connect(str(store), read_only=True) as con:
        assert con.execute("SELECT count(*), count(DISTINCT (run_id, outcome)) FROM outcomes").fetchone() == (
            total * 2, total * 2)  # fmt: skip
        assert con.execute("SELECT count(*) FROM runs WHERE status = 'done'").fetchone()[0] == total


def test_local_dask_cluster_gives_the_pool_bytes(tmp_path):
    spec = write_spec(tmp_path, toy_spec(replications=3))
    pool = run_experiment(spec, tmp_path / "pool.duckdb", workers=2, progress=False)
    dask = run_experiment(spec, tmp_path / "dask.duckdb", workers=2, dask=True, progress=False)
    assert dask.done == pool.done == 24
    assert results_bytes(dask.store) == results_bytes(pool.store)


def _dask(*args: str, env: dict) -> subprocess.Popen:
    script = Path(sys.executable).parent / "dask"
    command = [str(script)] if script.is_file() else [sys.executable, "-m", "dask"]
    return subprocess.Popen([*command, *args], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def test_dask_scheduler_and_two_workers_on_loopback(tmp_path):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    address_file = tmp_path / "scheduler.json"
    processes = [_dask("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard", "--scheduler-file",
                       str(address_file), env=env)]  # fmt: skip
    try:
        deadline = time.time() + 60
        while not address_file.exists() and time.time() < deadline:
            time.sleep(0.2)
        address = json.loads(address_file.read_text())["address"]
        for _ in range(2):
            processes.append(_dask("worker", address, "--nthreads", "1", "--no-dashboard", "--host", "127.0.0.1",
                                   env=env))  # fmt: skip
        from distributed import Client

        with Client(address, timeout="60s") as client:
            client.wait_for_workers(2, timeout=120)
        spec = write_spec(tmp_path, toy_spec(replications=3))
        remote = run_experiment(spec, tmp_path / "remote.duckdb", scheduler=address, progress=False)
        pool = run_experiment(spec, tmp_path / "pool.duckdb", workers=2, progress=False)
        assert remote.done == 24
        assert results_bytes(remote.store) == results_bytes(pool.store)
        assert len(set(load_experiment(remote.store).runs.worker)) >= 1
    finally:
        for process in processes:
            process.terminate()
        for process in processes:
            process.wait(timeout=30)


def test_shipped_abm_spec_shrunk_runs_through_the_cli(tmp_path):
    import tomllib

    spec = tomllib.loads((ROOT / "experiments" / "blame_immunity.toml").read_text(encoding="utf-8"))
    spec["experiment"]["replications"] = 2
    spec["run"]["size"] = 1
    spec["levers"][1]["values"] = spec["levers"][1]["values"][:2]
    path = tmp_path / "small.toml"
    path.write_text(tomli_w.dumps(spec), encoding="utf-8")
    done = cli("experiment", "run", str(path), "--workers", "2", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    store = tmp_path / "out" / "experiments" / "blame_immunity.duckdb"
    assert "8 done" in done.stdout
    summary = cli("experiment", "summary", str(store), cwd=tmp_path)
    assert summary.returncode == 0 and "reported_share" in summary.stdout, summary.stderr
    shutil.rmtree(tmp_path / "out")
