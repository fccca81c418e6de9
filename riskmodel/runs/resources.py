"""Pre-run resource estimates: refuse, in one line, a run that cannot fit.

Before a run starts (and before its output folder is touched) :func:`check_resources`
estimates the memory and the time it needs from the world's size (operators, expected
events a year, measure options) and the run's size (years, replications, frontier points),
and raises :class:`~riskmodel.errors.InputError` naming the option or scenario field that
makes it too big and the limit. The figures are deliberately rough upper estimates,
calibrated on the default scenario (about 560 events a year, 499 operators); they guard
against runs that would die allocating or run for days, not against a tight fit.

The memory limit is the memory available when the run starts (``MemAvailable``, else the
physical memory); the time limit is ``RISKMODEL_MAX_RUN_HOURS`` hours (default 24).
"""

from __future__ import annotations

import math
import os
from dataclasses import dataclass

from riskmodel.errors import InputError
from riskmodel.runs.spec import WHERE, RunSpec
from riskmodel.world import World

BASE_BYTES = 400e6  # the interpreter, numba, pandas and the compiled world
ENGINE_SECONDS_PER_EVENT = 2e-6  # measured about 0.3 microseconds (cascades included) on one core
ELT_ROW_BYTES = 14 * 8  # one event of the event loss table
BLOCK_YEARS = 1024  # years of one engine block (riskmodel.engine.simulate.BLOCK_YEARS)
BLOCKS_IN_FLIGHT = 32  # blocks whose buffers may be alive at once (two chunks of 16)
ABM_SECONDS_PER_OPERATOR_DAY = 1e-5  # measured about 3e-6 on one core
ABM_BYTES_PER_OPERATOR = 50e3  # a Mesa agent with its measures, history and rows of the agents table
SAA_BYTES_PER_EVENT = 1e3  # an event of the SAA years in the optimiser's instance
MILP_SECONDS_PER_YEAR_OPTION = 1e-4  # a solve, per SAA year and measure option (a rough scale)
INSTRUMENT_SOLVES = 12  # one-sector solves per sector (own, standard, ~4 parametric, ~5 cutting-plane), in joint solves


@dataclass(frozen=True)
class Estimate:
    """What a run needs, and which option or field its size comes from."""

    bytes: float
    seconds: float
    size_field: str  # the run-spec field (or scenario field) that scales it most


def available_bytes() -> float:
    """Memory a new run can use: ``MemAvailable`` (Linux), else the physical memory."""
    try:
        with open("/proc/meminfo", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("MemAvailable:"):
                    return float(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        return float(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return math.inf


def max_seconds() -> float:
    try:
        hours = float(os.environ.get("RISKMODEL_MAX_RUN_HOURS", "24"))
    except ValueError:
        hours = 24.0
    return hours * 3600.0 if math.isfinite(hours) and hours > 0 else 24 * 3600.0


def events_per_year(world: World) -> float:
    """Expected failures a year before measures, an upper estimate (every disaster hit
    counted as if it hit each operator of every region)."""
    return float(world.sector_rate.sum() + world.threats.regional_rate.sum() * len(world.operators))


def estimate(spec: RunSpec, world: World) -> Estimate:
    """The memory and time ``spec`` needs on ``world`` (see the module's note)."""
    events = events_per_year(world)
    operators = len(world.operators)
    options = max(world.catalogue.n_options, 1)
    if spec.kind == "simulate":
        years = spec.size or 1
        elt = BLOCK_YEARS * events * 1.5 * ELT_ROW_BYTES * BLOCKS_IN_FLIGHT if spec.option("elt") else 0.0
        return Estimate(BASE_BYTES + elt + operators * options, years * events * ENGINE_SECONDS_PER_EVENT, "size")
    if spec.kind == "abm":
        years = spec.size or world.scenario.horizon.end_fiscal_year - world.scenario.horizon.start_fiscal_year + 1
        field = "size" if spec.size is not None else "horizon.end_fiscal_year"
        seconds = years * (365 * operators * ABM_SECONDS_PER_OPERATOR_DAY + events * ENGINE_SECONDS_PER_EVENT * 10)
        memory = operators * ABM_BYTES_PER_OPERATOR + years * 365 * world.n_sectors * 200
        count = spec.option("replications")  # every replication's model is kept until the run ends
        return Estimate(BASE_BYTES + count * memory, count * seconds, field)
    years = spec.size or 1
    replications = spec.option("replications")
    frontier = spec.option("frontier_points")
    eval_years = spec.option("eval_years")
    engine_years = years * (1 + replications) + eval_years * (2 if spec.option("mode") == "society" else 1)
    solves = (1 + frontier + replications) * (2 if spec.option("mode") == "society" else 1)
    if spec.option("instruments"):  # four more engine runs, and the sectors' one-sector solves
        engine_years += 4 * eval_years
        solves += INSTRUMENT_SOLVES
    if spec.option("posterior") is not None:  # the SAA at the means; both portfolios across draws (events on disk)
        engine_years += years + 2 * eval_years
        solves += 1
    seconds = engine_years * events * ENGINE_SECONDS_PER_EVENT + solves * years * options * MILP_SECONDS_PER_YEAR_OPTION
    memory = BASE_BYTES + years * events * SAA_BYTES_PER_EVENT + operators * options
    largest = max(("size", years), ("options.eval_years", eval_years / 10), key=lambda item: item[1])[0]
    return Estimate(memory, seconds, largest)


def _value(spec: RunSpec, field: str, world: World) -> object:
    if field == "size":
        return spec.size
    if field.startswith("options."):
        return spec.option(field.removeprefix("options."))
    return world.scenario.horizon.end_fiscal_year


def check_resources(spec: RunSpec, world: World) -> Estimate:
    """Raise InputError when ``spec`` cannot fit in the memory available or the time
    allowed; returns the estimate otherwise. The optimiser's own settings are checked
    here too, so that a bad one is reported before the output folder is touched."""
    if spec.kind == "optimize":
        from riskmodel.runs.optimize import settings_of

        settings_of(spec).check(world)
    need = estimate(spec, world)
    if not math.isfinite(events_per_year(world)):
        raise InputError(world.path or "(packaged scenario)", "threats[].frequency", "(unbounded)",
                         "finite failure rates")  # fmt: skip
    where = WHERE if not need.size_field.startswith("horizon") else (world.path or "(packaged scenario)")
    value = _value(spec, need.size_field, world)
    scale = f"{events_per_year(world):,.0f} failures a year, {len(world.operators):,} operators"
    memory, limit = need.bytes, available_bytes()
    if memory > limit:
        expected = f"a run that fits in memory (about {memory / 1e9:,.1f} GB needed, {limit / 1e9:,.1f} GB available; "
        raise InputError(where, need.size_field, value, expected + scale + ")")
    seconds, allowed = need.seconds, max_seconds()
    if seconds > allowed:
        expected = f"a run of at most {allowed / 3600:,.0f} hours (about {seconds / 3600:,.0f} hours estimated; "
        raise InputError(where, need.size_field, value, expected + scale + "; RISKMODEL_MAX_RUN_HOURS raises it)")
    return need
