"""Experiment specs: a TOML file that names a batch of runs, checked before any run starts.

A spec says what to run (``[run]``: the kind, its scenario, portfolio, size and options),
what to vary (``[[levers]]``: policy choices, each a list of values; ``[[uncertainties]]``:
parameters with distributions), how to sample them (``[design]``), how often
(``replications``), from which root seed, and which outcomes to keep (``[outcomes]``).
It is read into strict pydantic models, so a typo or a wrong type is reported as one
:class:`~riskmodel.errors.InputError` naming the file, the field path, the value and what
was expected, as for scenario files; then every lever value and distribution bound is
applied to the base scenario as an override, so a path the scenario does not have, or a
value it does not accept, is refused before any run.

A parameter's ``path`` is an override path (``threats[id=ddos].frequency.rate``),
``portfolio`` (a portfolio file), ``options.NAME`` (one of the kind's options, e.g.
``options.budget`` of ``optimize``) or ``size``. For the ``function`` kind (a plain Python
function as the model, see :mod:`riskmodel.experiments.functions`) paths are the names
the function reads.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import math
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Literal

import pyarrow.parquet as pq
from pydantic import BaseModel, ConfigDict, Field, model_validator

from riskmodel.errors import InputError
from riskmodel.overrides import Override, apply_to_data, parse_path
from riskmodel.scenario import read_toml, validate_model

if TYPE_CHECKING:
    from riskmodel.runs import RunSpec

# The run machinery (numba, Mesa, the optimiser) is imported only where a spec of the
# model's own kinds needs it, so a coordinator of function runs stays small in memory.
SPECIAL_PATHS = ("portfolio", "size")  # RunSpec fields a parameter may set besides overrides and options.*
TABLES = {
    "simulate": ("sectors", "ep_curves", "fn_curves", "convergence", "ylt"),
    "abm": ("yearly", "daily", "agents"),
    "optimize": ("sectors", "portfolio"),
    "function": (),
}
BOUNDED = ("uniform", "loguniform", "triangular")
Name = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$", max_length=80)]
Seed = Annotated[int, Field(ge=0, lt=2**63)]
Scalar = bool | int | float | str


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class ExperimentTable(_Strict):
    name: Name
    description: str = ""
    seed: Seed
    replications: Annotated[int, Field(ge=1, le=100_000)]
    crn: bool = True  # common random numbers: replication r has the same seed at every design point
    output: str = "out/experiments"  # the store <output>/<name>.duckdb, relative to the current folder


class RunTable(_Strict):
    kind: Literal["simulate", "abm", "optimize", "function"]
    scenario: str | None = None
    portfolio: str | None = None
    size: Annotated[int, Field(ge=1)] | None = None
    options: dict[str, Any] = {}
    function: str | None = None  # "module:function", for kind = "function"

    @model_validator(mode="after")
    def _function(self) -> RunTable:
        if (self.kind == "function") != (self.function is not None):
            raise ValueError("a function ('module:name') exactly when kind is 'function'")
        return self


class Lever(_Strict):
    path: str
    values: Annotated[list[Scalar], Field(min_length=1)]
    scale: bool = False  # the values multiply the base scenario's number instead of replacing it


class Uncertainty(_Strict):
    path: str | None = None  # every column of the file for a posterior
    distribution: Literal["uniform", "loguniform", "triangular", "normal", "posterior"]
    low: float | None = None
    high: float | None = None
    mode: float | None = None
    mean: float | None = None
    sd: float | None = None
    file: str | None = None  # posterior draws: a Parquet file, one column per override path (and "draw", ignored)
    scale: bool = False

    @model_validator(mode="after")
    def _parameters(self) -> Uncertainty:
        needs = {"uniform": ("low", "high"), "loguniform": ("low", "high"), "triangular": ("low", "mode", "high"),
                 "normal": ("mean", "sd"), "posterior": ("file",)}[self.distribution]  # fmt: skip
        given = {k for k in ("low", "high", "mode", "mean", "sd", "file") if getattr(self, k) is not None}
        if given != set(needs):
            raise ValueError(f"exactly {', '.join(needs)} for a {self.distribution} distribution")
        if (self.path is None) != (self.distribution == "posterior"):
            raise ValueError("a path (a posterior's paths are its file's columns)")
        numbers = [getattr(self, k) for k in needs if k != "file"]
        if any(not math.isfinite(v) for v in numbers):
            raise ValueError("finite numbers")
        if self.distribution in BOUNDED and not self.low < self.high:
            raise ValueError("low below high")
        if self.distribution == "loguniform" and self.low <= 0:
            raise ValueError("a positive low for a loguniform distribution")
        if self.distribution == "triangular" and not self.low <= self.mode <= self.high:
            raise ValueError("low <= mode <= high")
        if self.distribution == "normal" and self.sd <= 0:
            raise ValueError("a positive sd")
        return self


class DesignTable(_Strict):
    uncertainties: Literal["factorial", "lhs", "monte_carlo", "sobol", "morris"] = "lhs"
    samples: Annotated[int, Field(ge=1, le=1_000_000)] = 16  # lhs/mc: points; sobol: base N; morris: trajectories
    levels: Annotated[int, Field(ge=2, le=100)] = 4  # morris grid levels; factorial points per uncertainty
    second_order: bool = False  # sobol: also second-order indices (N * (2D + 2) points instead of N * (D + 2))
    combine: Literal["factorial", "joint"] = "factorial"  # levers x samples, or levers sampled with the rest

    @model_validator(mode="after")
    def _sobol(self) -> DesignTable:
        if self.uncertainties == "sobol" and self.samples & (self.samples - 1):
            raise ValueError("samples a power of 2 for a sobol design")
        return self


class OutcomesTable(_Strict):
    keep: Annotated[list[str], Field(min_length=1)] = ["*"]  # outcome names or glob patterns
    tables: list[str] = []


class SpecFile(_Strict):
    experiment: ExperimentTable
    run: RunTable
    levers: list[Lever] = []
    uncertainties: list[Uncertainty] = []
    design: DesignTable = DesignTable()
    outcomes: OutcomesTable = OutcomesTable()


@dataclass(frozen=True)
class ExperimentSpec:
    """A checked spec: the validated file, the folder its relative paths start from, the
    posterior draws it reads, and its hash (the store refuses a spec whose hash changed)."""

    file: SpecFile
    source: str  # the spec file, for messages
    folder: Path
    posteriors: dict[int, Any]  # uncertainty index -> DataFrame of draws
    hash: str

    @property
    def name(self) -> str:
        return self.file.experiment.name

    def default_store(self) -> Path:
        """``<output>/<name>.duckdb``; a relative output folder starts from the current
        folder, as every command's ``--out`` does."""
        return Path(self.file.experiment.output) / f"{self.name}.duckdb"

    def resolve(self, value: str) -> Path:
        """A path from the spec, relative to the spec's folder when it is not absolute."""
        path = Path(value)
        return path if path.is_absolute() else self.folder / path

    def to_json(self) -> str:
        return json.dumps(self.file.model_dump(mode="json"), sort_keys=True)


def load_spec(path: str | Path) -> ExperimentSpec:
    """Read and check an experiment spec file (raises InputError for the first problem)."""
    path = Path(path)
    return check_spec(read_toml(path), path, path.resolve().parent)


def check_spec(data: dict[str, Any], source: str | Path, folder: Path) -> ExperimentSpec:
    """Validate spec data (as read from TOML) and every path and value it names."""
    spec = validate_model(SpecFile, data, source)
    posteriors = {i: _posterior(spec, i, source, folder) for i, u in enumerate(spec.uncertainties)
                  if u.distribution == "posterior"}  # fmt: skip
    _check_paths(spec, posteriors, source)
    _check_design(spec, source)
    digest = hashlib.sha256(json.dumps(spec.model_dump(mode="json"), sort_keys=True).encode())
    for i in sorted(posteriors):
        digest.update(posteriors[i].to_json(orient="split").encode())
    experiment = ExperimentSpec(spec, str(source), folder, posteriors, digest.hexdigest()[:16])
    _check_run(experiment, source)
    return experiment


def _posterior(spec: SpecFile, index: int, source: str | Path, folder: Path) -> Any:
    file = spec.uncertainties[index].file
    path = Path(file) if Path(file).is_absolute() else folder / file  # type: ignore[arg-type]
    where = f"uncertainties[{index}].file"
    try:
        frame = pq.read_table(path).to_pandas()
    except (OSError, ValueError) as exc:
        raise InputError(source, where, file, f"a readable Parquet file of draws ({type(exc).__name__})") from None
    frame = frame.drop(columns="draw", errors="ignore")  # a calibration's draws file numbers its draws
    if len(frame) == 0 or len(frame.columns) == 0:
        raise InputError(source, where, file, "at least one draw and one column (an override path)")
    return frame


def parameters(spec: SpecFile, posteriors: dict[int, Any]) -> list[tuple[str, str]]:
    """Every (path, where in the spec) the spec varies, levers first."""
    found = [(lever.path, f"levers[{i}].path") for i, lever in enumerate(spec.levers)]
    for i, u in enumerate(spec.uncertainties):
        if u.distribution == "posterior":
            found += [(str(column), f"uncertainties[{i}].file") for column in posteriors[i].columns]
        else:
            found.append((u.path, f"uncertainties[{i}].path"))  # type: ignore[arg-type]
    return found


def _check_paths(spec: SpecFile, posteriors: dict[int, Any], source: str | Path) -> None:
    seen: dict[str, str] = {}
    for path, where in parameters(spec, posteriors):
        if path in seen:
            raise InputError(source, where, path, f"a path not varied already (by {seen[path]})")
        seen[path] = where
        if spec.run.kind == "function":
            continue
        if path.startswith("options."):
            continue  # checked with the values, by RunSpec
        if path not in SPECIAL_PATHS:
            try:
                parse_path(path)
            except InputError:
                raise InputError(source, where, path, "an override path such as threats[id=ddos].frequency.rate, "
                                 "or portfolio, size, options.NAME") from None  # fmt: skip
    for i, lever in enumerate(spec.levers):
        if len(set(map(json.dumps, lever.values))) != len(lever.values):
            raise InputError(source, f"levers[{i}].values", lever.values, "distinct values")
    for i, u in enumerate(spec.uncertainties):
        if u.path in SPECIAL_PATHS or ((u.path or "").startswith("options.") and u.scale):
            raise InputError(source, f"uncertainties[{i}].path", u.path, "a numeric override path or options.NAME")


def _check_design(spec: SpecFile, source: str | Path) -> None:
    design = spec.design
    if design.uncertainties == "morris":
        for i, u in enumerate(spec.uncertainties):
            if u.distribution not in (*BOUNDED, "posterior"):
                raise InputError(source, f"uncertainties[{i}].distribution", u.distribution,
                                 f"a bounded distribution ({', '.join(BOUNDED)}) for a morris design")  # fmt: skip
    if design.uncertainties in ("sobol", "morris"):
        factors = len(spec.uncertainties) + (len(spec.levers) if design.combine == "joint" else 0)
        if factors < 2:
            raise InputError(source, "design.uncertainties", design.uncertainties,
                             f"at least two uncertain factors for a {design.uncertainties} design")  # fmt: skip
    if not spec.uncertainties and design.combine == "joint" and not spec.levers:
        raise InputError(source, "levers", [], "at least one lever or uncertainty")


def _check_run(experiment: ExperimentSpec, source: str | Path) -> None:
    """Every lever value and the bounds of every distribution applied to the base run,
    one at a time, as the runner will apply them."""
    spec = experiment.file
    if spec.run.kind == "function":
        where = "run.function"
        try:
            model_function(spec.run.function)  # type: ignore[arg-type]
        except (ImportError, AttributeError, ValueError):
            raise InputError(source, where, spec.run.function, "an importable 'module:function'") from None
    unknown = [t for t in spec.outcomes.tables if t not in TABLES[spec.run.kind]]
    if unknown:
        raise InputError(source, "outcomes.tables", unknown[0], f"a table of {spec.run.kind}: "
                         f"{', '.join(TABLES[spec.run.kind]) or 'none'}")  # fmt: skip
    if spec.run.kind == "function":
        return
    base = base_spec(experiment)
    _check_base(base, source)
    _check_fields(experiment, base, source)
    keys = outcome_keys(base)
    for pattern in spec.outcomes.keep:
        if not any(fnmatch_key(key, pattern) for key in keys):
            raise InputError(source, "outcomes.keep", pattern, f"a name or pattern matching an outcome of "
                             f"{spec.run.kind} (e.g. {', '.join(keys[:3])})")  # fmt: skip
    for i, lever in enumerate(spec.levers):
        for j, value in enumerate(lever.values):
            _check_point(experiment, base, {lever.path: (value, lever.scale)}, source, f"levers[{i}].values[{j}]")
    for i, u in enumerate(spec.uncertainties):
        if u.distribution == "posterior":
            frame = experiment.posteriors[i]
            for row in (0, len(frame) - 1):
                values = {str(c): (plain(frame.iloc[row][c]), False) for c in frame.columns}
                _check_point(experiment, base, values, source, f"uncertainties[{i}].file")
            continue
        for bound in ("low", "high", "mean"):
            if getattr(u, bound) is not None:
                value = getattr(u, bound)
                _check_point(experiment, base, {u.path: (value, u.scale)}, source, f"uncertainties[{i}].{bound}")


def _check_fields(experiment: ExperimentSpec, base: RunSpec, source: str | Path) -> None:
    """Every override path names a field the base scenario has (before any value is tried,
    so that a misspelt path is reported as the path)."""
    from riskmodel.runs.run import prepare

    data = prepare(base)[0].scenario.model_dump()
    for path, where in parameters(experiment.file, experiment.posteriors):
        if path in SPECIAL_PATHS or path.startswith("options."):
            continue
        try:
            apply_to_data(data, [Override(path, None)])
        except InputError as exc:
            raise InputError(source, where, path, exc.expected) from None


def plain(value: Any) -> Any:
    """A NumPy scalar (as read from a Parquet column) as the Python value a scenario takes."""
    return value.item() if hasattr(value, "item") else value


def _check_base(base: RunSpec, source: str | Path) -> None:
    from riskmodel.runs.run import prepare

    try:
        prepare(base)
    except InputError as exc:
        raise InputError(source, "run", exc.value, f"a runnable base run ({exc.field}: {exc.expected})") from None


def _check_point(experiment: ExperimentSpec, base: RunSpec, values: dict[str, tuple[Any, bool]], source: str | Path,
                 where: str) -> None:  # fmt: skip
    from riskmodel.runs.run import prepare

    try:
        prepare(point_spec(experiment, base, values, seed=0))
    except InputError as exc:
        shown = next(iter(values.values()))[0] if len(values) == 1 else exc.value
        raise InputError(source, where, shown, f"{exc.expected} (at {exc.field})") from None


def base_spec(experiment: ExperimentSpec) -> RunSpec:
    """The run every design point changes (raises InputError for bad options)."""
    from riskmodel.runs import RunSpec

    run_table = experiment.file.run
    try:
        return RunSpec(
            run_table.kind,
            scenario=_file_or_name(experiment, run_table.scenario),
            portfolio=str(experiment.resolve(run_table.portfolio)) if run_table.portfolio else None,
            seed=0,
            size=run_table.size,
            options=tuple(run_table.options.items()),
        )
    except InputError as exc:
        raise InputError(experiment.source, f"run.{exc.field}", exc.value, exc.expected) from None


def _file_or_name(experiment: ExperimentSpec, scenario: str | None) -> str | None:
    """A scenario file relative to the spec, or a packaged scenario's name as it is."""
    if scenario is None:
        return None
    path = experiment.resolve(scenario)
    return str(path) if path.exists() else scenario


def point_spec(experiment: ExperimentSpec, base: RunSpec, values: dict[str, tuple[Any, bool]], seed: int) -> RunSpec:
    """The run of one design point: the base run with each (value, scale) set at its path."""
    from riskmodel.runs import RunSpec

    data = base.to_dict()
    data["seed"] = seed
    for path, (value, scale) in values.items():
        if path == "portfolio":
            data["portfolio"] = str(experiment.resolve(value))
        elif path == "size":
            data["size"] = value
        elif path.startswith("options."):
            data["options"][path.removeprefix("options.")] = value
        else:
            data["overrides"][path] = Override(path, value, scale).to_json()
    return RunSpec.from_dict(data)


def outcome_keys(base: RunSpec) -> list[str]:
    """Every outcome key a run of ``base`` gives, from the kind's declarations."""
    from riskmodel.engine.kernels import LAYERS
    from riskmodel.runs.run import KIND_MODULES, prepare

    world, _ = prepare(base)
    sectors = world.critical_ids
    return [key for outcome in KIND_MODULES[base.kind].OUTCOMES for key, _, _ in outcome.keys(sectors, LAYERS)]


def fnmatch_key(key: str, pattern: str) -> bool:
    """Whether an outcome key matches a name or glob pattern (``aal.*``, ``loss.*.own``)."""
    from fnmatch import fnmatchcase

    return fnmatchcase(key, pattern)


def model_function(reference: str) -> Callable[[dict[str, Any], int], dict[str, float]]:
    """The Python function a ``function`` run calls: ``module:name``."""
    module, _, name = reference.partition(":")
    if not module or not name:
        raise ValueError(reference)
    return getattr(importlib.import_module(module), name)
