"""Helpers of the experiment tests: small specs of the ``function`` kind, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import tomli_w

ROOT = Path(__file__).resolve().parent.parent
NOISY = "riskmodel.experiments.functions:noisy_line"


def toy_spec(name: str = "toy", replications: int = 3, **tables: Any) -> dict[str, Any]:
    """A spec of ``noisy_line``: a slope lever, x uniform on a Latin hypercube; each keyword
    replaces (or, with None, removes) one top-level table."""
    spec: dict[str, Any] = {
        "experiment": {"name": name, "seed": 7, "replications": replications},
        "run": {"kind": "function", "function": NOISY},
        "levers": [{"path": "slope", "values": [1.0, 2.0]}],
        "uncertainties": [{"path": "x", "distribution": "uniform", "low": 0.0, "high": 1.0}],
        "design": {"uncertainties": "lhs", "samples": 4},
    }
    for key, value in tables.items():
        if value is None:
            spec.pop(key, None)
        else:
            spec[key] = value
    return spec


def write_spec(folder: Path, spec: dict[str, Any], name: str = "spec.toml") -> Path:
    path = folder / name
    path.write_text(tomli_w.dumps(spec), encoding="utf-8")
    return path


def cli(*args: str, cwd: Path | None = None, **kwargs: Any) -> subprocess.Popen | subprocess.CompletedProcess:
    """``riskmodel ARGS`` in a subprocess of this interpreter, importing the package the
    tests import (the checkout's, first on the path), whichever way it was installed."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(p for p in (str(ROOT), os.environ.get("PYTHONPATH")) if p))
    command = [sys.executable, "-c", "from riskmodel.cli import main; main()", *args]
    if kwargs.pop("background", False):
        return subprocess.Popen(command, cwd=cwd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                start_new_session=True, **kwargs)  # fmt: skip
    return subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True, timeout=600, **kwargs)


def results_bytes(store: Path) -> bytes:
    """The experiment's results (points, per-run parameters and outcomes, statuses and
    seeds) as CSV bytes: what must not depend on workers, backend or interruptions."""
    from riskmodel.experiments import load_experiment

    data = load_experiment(store)
    runs = data.runs[["run_id", "point_id", "replication", "seed", "status", "error_type"]]
    return b"\n".join(frame.to_csv(index=False).encode() for frame in (data.points, runs, data.wide()))
