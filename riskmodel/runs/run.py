"""``run(spec) -> RunResult``: one function for every kind of run.

It loads the scenario (from the cache of compiled worlds when it was loaded before),
applies the spec's overrides, reads the portfolio, runs the kind and gathers its declared
outcomes, its tables and the run's provenance. Bad input raises
:class:`~riskmodel.errors.InputError` before any work starts.
"""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path
from types import ModuleType
from typing import Any

import numpy as np

import riskmodel
from riskmodel.errors import InputError
from riskmodel.measures import annual_cost
from riskmodel.portfolio import load_portfolio
from riskmodel.runs import abm, optimize, simulate
from riskmodel.runs.resources import check_resources
from riskmodel.runs.result import Progress, RunResult
from riskmodel.runs.spec import WHERE, RunSpec
from riskmodel.world import World, load_world

KIND_MODULES: dict[str, ModuleType] = {"simulate": simulate, "abm": abm, "optimize": optimize}


def _quiet(stage: str, done: int, total: int) -> None:
    """The progress callback when nobody listens."""


def prepare(spec: RunSpec) -> tuple[World, np.ndarray | None]:
    """The world of a spec (scenario and overrides) and its portfolio's ``in_place``
    matrix, each checked, and the run's estimated memory and time checked against what
    is available; raises InputError for the first problem."""
    world = load_world(spec.scenario, spec.overrides)
    if spec.kind == "abm" and world.scenario.abm is None:
        raise InputError(world.path or "(packaged scenario)", "abm", "(missing)", "the [abm] tables of the agent model")
    check_resources(spec, world)
    if spec.portfolio is None:
        return world, None
    if spec.kind == "optimize":
        raise InputError(WHERE, "portfolio", spec.portfolio, "no portfolio: the optimiser chooses one")
    return world, load_portfolio(spec.portfolio, world)


TIMING = ("started", "wall_time_s", "threads")  # provenance that differs between identical runs


def provenance(spec: RunSpec, world: World, in_place: np.ndarray | None) -> dict[str, Any]:
    """What a run was: its spec (less the options that cannot change results), the
    scenario's name and content hash, the portfolio and its annual cost, the package
    version. :func:`run` adds the threads and timing (see ``TIMING``)."""
    return {
        "spec": spec.to_dict(results_only=True),
        "scenario": world.name,
        "scenario_file": str(world.path) if world.path is not None else None,
        "scenario_hash": world.content_hash,
        "overrides": {o.path: o.to_json() for o in spec.overrides},
        "portfolio": spec.portfolio,
        "portfolio_annual_cost": float(annual_cost(world, in_place).sum()) if in_place is not None else None,
        "seed": spec.seed,
        "version": riskmodel.__version__,
    }


def run(spec: RunSpec, progress: Progress | None = None, *, stream_to: Path | None = None) -> RunResult:
    """Run ``spec``. ``progress(stage, done, total)`` hears how the work advances;
    ``stream_to`` (a folder) receives the simulation's loss tables as Parquet files as they
    are produced, instead of keeping them in memory."""
    started = dt.datetime.now(dt.UTC)
    clock = time.perf_counter()
    world, in_place = prepare(spec)
    kind = KIND_MODULES[spec.kind]
    detail = kind.execute(spec, world, in_place, progress or _quiet, stream_to)
    record = provenance(spec, world, in_place)
    record["threads"] = dict(spec.options).get("threads", 1)
    record["started"] = started.isoformat(timespec="seconds")
    record["wall_time_s"] = round(time.perf_counter() - clock, 3)
    return RunResult(
        spec=spec,
        outcomes=kind.outcomes(detail),
        tables=kind.tables(detail),
        provenance=record,
        declared=kind.OUTCOMES,
        detail=detail,
    )
