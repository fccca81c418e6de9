"""Engine suite: the Monte Carlo engine's speed, threading, warm start and memory.

Figures (see README.md for what each means and why it has its goal):

1. simulated years per second on the default scenario, 1 and 2 threads;
2. the engine's speed as a share of the RNG-bound floor (``draw_only_years``: the same random
   numbers and nothing else), for the bare kernel and for the full ``simulate()``;
3. the 2-thread speed-up of ``simulate()``;
4. a 10-sector compound Poisson-lognormal toy through the engine beside per-sector NumPy loops
   (vectorised, and riskquant's own per-year loop), with a check that the means agree;
5. the JIT warm start: wall time of a fresh process once numba's cache exists (and cold);
6. the peak memory of 10^7 streamed years in a subprocess;
7. common random numbers: the variance of the paired difference of AAL and of TVaR 99% between a
   base run and a run with one threat's rate (or one severity median) raised 5%, same seed against
   independent seeds over the same years;
8. the keyed RNG floor (Philox4x32-10) against NumPy's PCG64 making the same draws.

Speeds are compared only within one run: the cases are interleaved round-robin and each
keeps its best round. Every case is run once before timing, so compilation (or loading
numba's cache) never enters a timing.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import partial
from typing import Any

import numpy as np
from numba import njit
from scipy import stats

from benchmarks.common import Figure, check, info, interleaved_best, load_average, log, print_table, write_json
from riskmodel.engine.inputs import KernelInputs
from riskmodel.engine.kernels import (
    DISASTER,
    ELT_FLOAT_COLUMNS,
    ELT_INT_COLUMNS,
    LAYERS,
    OP_SECTOR,
    OT_SURVIVE,
    SEC_DISASTER,
    TH_DISPERSION,
    TH_HIT,
    TH_KIND,
    count_setup,
    draw_only_years,
    pick_operator,
    simulate_periods,
)
from riskmodel.engine.keyed import count_quantile, ndtri, philox4x32, table_quantile, u32, u53
from riskmodel.engine.simulate import BLOCK_YEARS, engine_key, simulate
from riskmodel.measures import no_measures, protection
from riskmodel.metrics import FN_BINS
from riskmodel.scenario import load_scenario
from riskmodel.schema import Scenario
from riskmodel.toy import compound_poisson
from riskmodel.world import World, build_world, load_world

HELP = "Monte Carlo engine: years/s against the RNG floor, 2-thread speed-up, NumPy baseline, warm start, memory"
SEED = 20240601
FLOOR_GOAL = 0.5  # engine speed / RNG floor speed
THREADS_GOAL = 1.7  # simulate() 2 threads / 1 thread
NUMPY_GOAL = 10.0  # toy: engine speed / NumPy loop speed
MEMORY_GOAL_GIB = 2.0  # peak RSS of 10^7 streamed years
MEAN_TOLERANCE_SE = 4.0  # toy: allowed gap between means, in combined standard errors
CRN_GOAL = 10.0  # variance of a paired difference: independent seeds / common random numbers
KEYED_GOAL = 0.8  # keyed RNG floor speed / the same draws from NumPy's PCG64
CRN_THREAT = "ddos"  # the example: its rate, and its median loss share, raised 5%
CRN_RISE = 1.05
CRN_BOOTSTRAP = 400  # paired bootstrap resamples for the variance of a TVaR difference
TOY_SECTORS = 10

BlockFn = Callable[[int, int], object]


@dataclass(frozen=True)
class Settings:
    """How much work each part does; ``--quick`` shrinks all of it for a smoke test."""

    quick: bool
    repeats: int  # interleaved rounds per speed comparison (best kept)
    target_seconds: float  # default scenario: single-thread simulate() time per timing
    toy_target_seconds: float  # toy: engine time per timing
    years: int | None  # default scenario years per timing (None: calibrated to target_seconds)
    toy_years: int | None  # toy years per timing (None: calibrated to toy_target_seconds)
    start_runs: int  # warm-start processes timed (best kept)
    start_years: int  # years the warm-start process simulates
    crn_years: int  # default scenario years per run of the common-random-numbers figures
    cold_start: bool  # also time a process compiling from an empty numba cache
    memory_years: int  # years of the memory run (0: skip it)

    @classmethod
    def from_args(cls, args: argparse.Namespace) -> Settings:
        quick = bool(args.quick)
        return cls(
            quick=quick,
            repeats=args.repeats or (2 if quick else 5),
            target_seconds=0.25 if quick else 2.0,
            toy_target_seconds=0.25 if quick else 1.0,
            years=args.years,
            toy_years=args.toy_years,
            start_runs=2 if quick else 3,
            start_years=args.start_years,
            crn_years=args.crn_years or (4096 if quick else 20_000),
            cold_start=(not quick) if args.cold_start is None else args.cold_start,
            memory_years=(100_000 if quick else 10_000_000) if args.memory_years is None else args.memory_years,
        )


@dataclass
class Section:
    """A part of the suite: its table rows and the raw numbers behind them (for the JSON)."""

    figures: list[Figure]
    raw: dict[str, Any] = field(default_factory=dict)


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's own options (``--quick`` and ``--json`` are shared by all suites)."""
    parser.add_argument(
        "--repeats", type=int, metavar="N", help="interleaved timing rounds, best kept (default 5; 2 with --quick)"
    )
    parser.add_argument(
        "--years", type=int, metavar="N", help="default-scenario years per timing (default: ~2 s single-thread)"
    )
    parser.add_argument("--toy-years", type=int, metavar="N", help="toy years per timing (default: ~1 s engine)")
    parser.add_argument(
        "--memory-years",
        type=int,
        metavar="N",
        help="years of the memory run (default 10^7; 10^5 with --quick; 0 skips it)",
    )
    parser.add_argument(
        "--start-years",
        type=int,
        default=1000,
        metavar="N",
        help="years the warm-start process simulates (default 1000)",
    )
    parser.add_argument(
        "--crn-years",
        type=int,
        metavar="N",
        help="years per run of the common-random-numbers figures (default 20,000; 4,096 with --quick)",
    )
    parser.add_argument(
        "--cold-start",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="also time a start with an empty numba cache, ~30 s (default: on, off with --quick)",
    )


# ---------------------------------------------------------------------------------------------
# 1-3: default scenario, engine against the RNG floor, threads


def block_spans(years: int) -> list[tuple[int, int]]:
    """``(block, years in it)`` as simulate() cuts ``years``: blocks of BLOCK_YEARS, the last short."""
    return [(b, min(BLOCK_YEARS, years - b * BLOCK_YEARS)) for b in range(-(-years // BLOCK_YEARS))]


def run_blocks(block_fn: BlockFn, years: int, threads: int) -> list[object]:
    """Run a block kernel over the blocks of ``years`` on ``threads`` threads, as simulate() does.

    The kernels are ``nogil``, so the pool's threads run them in parallel.
    """
    spans = block_spans(years)
    if threads == 1:
        return [block_fn(b, n) for b, n in spans]
    with ThreadPoolExecutor(max_workers=threads) as pool:
        return list(pool.map(lambda span: block_fn(*span), spans))


def floor_block(inputs: KernelInputs, seed: int) -> BlockFn:
    """One block of the RNG-bound floor: exactly the engine's random numbers, nothing else."""
    key = engine_key(seed)

    def run(block: int, n_years: int) -> float:
        return draw_only_years(key, n_years, block * BLOCK_YEARS, inputs.ops, inputs.sect, inputs.thr)

    return run


def kernel_block(inputs: KernelInputs, seed: int) -> BlockFn:
    """One block of the bare kernel ``kernels.simulate_periods`` (one-year periods), with the
    buffers simulate() gives it and no event loss table: the engine without simulate()'s
    chunk-level metric streaming."""
    n_sectors = inputs.n_sectors
    key = engine_key(seed)

    def run(block: int, n_years: int) -> object:
        return simulate_periods(
            key, 1.0, n_years, block * BLOCK_YEARS, inputs.ops, inputs.sect, inputs.thr,
            inputs.casc, np.zeros((n_years, n_sectors, len(LAYERS))), np.zeros((n_years, n_sectors + 1)),
            np.zeros((n_years, n_sectors), dtype=np.int64), np.zeros((n_sectors + 1, FN_BINS), dtype=np.int64),
            np.zeros((0, len(ELT_INT_COLUMNS)), dtype=np.int64), np.zeros((0, len(ELT_FLOAT_COLUMNS))),
        )  # fmt: skip

    return run


def default_cases(world: World, years: int, seed: int) -> dict[str, Callable[[], object]]:
    """simulate(), the bare kernel and the RNG floor, each on 1 and 2 threads, over ``years``."""
    inputs = KernelInputs.build(world, protection(world, no_measures(world)))
    floor, kernel = floor_block(inputs, seed), kernel_block(inputs, seed)
    cases: dict[str, Callable[[], object]] = {}
    for threads in (1, 2):
        cases[f"simulate_{threads}t"] = partial(simulate, world, years=years, seed=seed, threads=threads)
        cases[f"kernel_{threads}t"] = partial(run_blocks, kernel, years, threads)
        cases[f"floor_{threads}t"] = partial(run_blocks, floor, years, threads)
    return cases


def calibrate(run: Callable[[int], object], pilot_years: int, target_seconds: float, multiple: int) -> int:
    """Years for which ``run(years)`` takes about ``target_seconds``, rounded to a multiple of ``multiple``.

    One timed pilot run of ``pilot_years``; the caller has already warmed ``run`` up.
    """
    start = time.perf_counter()
    run(pilot_years)
    rate = pilot_years / (time.perf_counter() - start)
    return max(multiple, round(target_seconds * rate / multiple) * multiple)


def warm_up(cases: dict[str, Callable[[], object]]) -> None:
    """Run each case once so that compiling or loading numba's cache stays out of the timings."""
    for case in cases.values():
        case()


def bench_default(settings: Settings) -> Section:
    """Figures 1-3: years/s, engine / RNG floor (kernel and simulate()), 2-thread speed-up."""
    log("default scenario: loading the world and warming up")
    world = load_world()
    warm_up(default_cases(world, 2 * BLOCK_YEARS, SEED))
    years = settings.years or calibrate(
        lambda n: simulate(world, years=n, seed=SEED, threads=1),
        4 * BLOCK_YEARS,
        settings.target_seconds,
        2 * BLOCK_YEARS,  # an even number of blocks: the two threads get equal work
    )
    log(f"default scenario: {years:,} years per timing, {settings.repeats} interleaved rounds of 6 cases")
    timings = interleaved_best(default_cases(world, years, SEED), settings.repeats)
    speed = {name: years / seconds for name, seconds in timings.best.items()}
    figures = [
        info("default: simulate() years/s, 1 thread", speed["simulate_1t"], "years/s"),
        info("default: simulate() years/s, 2 threads", speed["simulate_2t"], "years/s"),
        info("default: RNG floor years/s, 1 thread", speed["floor_1t"], "years/s"),
    ]
    for threads in (1, 2):
        for engine, what in (("kernel", "bare kernel"), ("simulate", "simulate()")):
            figures.append(
                check(
                    f"default: {what} / RNG floor, {threads} thread{'s' if threads > 1 else ''}",
                    speed[f"{engine}_{threads}t"] / speed[f"floor_{threads}t"],
                    "x",
                    ">=",
                    FLOOR_GOAL,
                )
            )
    figures += [
        check(
            "default: simulate() 2 threads / 1 thread",
            speed["simulate_2t"] / speed["simulate_1t"],
            "x",
            ">=",
            THREADS_GOAL,
        ),
        info("default: bare kernel 2 threads / 1 thread", speed["kernel_2t"] / speed["kernel_1t"], "x"),
        info(
            "default: RNG floor 2 threads / 1 thread",
            speed["floor_2t"] / speed["floor_1t"],
            "x",
            "what the machine gives two threads",
        ),
        info(
            "default: simulate() speed-up / RNG floor speed-up",
            (speed["simulate_2t"] / speed["simulate_1t"]) / (speed["floor_2t"] / speed["floor_1t"]),
            "x",
            "~1: scales as well as the machine allows",
        ),
    ]
    return Section(figures, {"years": years, "seconds": timings.rounds, "years_per_second": speed})


# ---------------------------------------------------------------------------------------------
# 4: compound Poisson-lognormal toy, engine beside per-sector NumPy loops


@dataclass(frozen=True)
class ToySector:
    """One toy sector: Poisson rate of failures, log-mean and log-sd of a failure's loss in yen."""

    rate: float
    mu: float
    sigma: float


def toy_world(n_sectors: int = TOY_SECTORS) -> World:
    """The compound Poisson-lognormal toy, compiled like any scenario."""
    return build_world(compound_poisson(n_sectors=n_sectors))


def toy_sectors(world: World) -> list[ToySector]:
    """The toy's per-sector loss model read back from the compiled world (one operator, one threat).

    The engine's loss is ``revenue * R`` with ``R`` lognormal(``loss_mu``, ``loss_sigma``) capped
    at 1, so the loss is lognormal(``loss_mu + log revenue``, ``loss_sigma``); the cap lies 6.9
    standard deviations out and never binds in practice.
    """
    op, threats = world.operators, world.threats
    if len(world.threat_ids) != 1 or np.bincount(op.sector).max() != 1:
        raise ValueError("toy_sectors expects one threat and at most one operator per sector")
    return [
        ToySector(
            float(world.sector_rate[s, 0]), float(threats.loss_mu[0] + math.log(op.revenue[o])), threats.loss_sigma[0]
        )
        for o, s in enumerate(op.sector)
    ]


def numpy_loop(sectors: list[ToySector], years: int, seed: int) -> np.ndarray:
    """Annual total loss from a per-sector NumPy loop with vectorised per-year sums.

    Per sector: Poisson counts for all years, all losses at once, then per-year sums with
    ``np.add.reduceat`` over the years that had a loss (reduceat cannot express an empty year).
    """
    rng = np.random.default_rng(seed)
    total = np.zeros(years)
    for sector in sectors:
        counts = rng.poisson(sector.rate, years)
        losses = rng.lognormal(sector.mu, sector.sigma, counts.sum())
        starts = np.cumsum(counts) - counts
        hit = counts > 0
        total[hit] += np.add.reduceat(losses, starts[hit])
    return total


def riskquant_loop(sectors: list[ToySector], years: int, seed: int) -> np.ndarray:
    """Annual total loss computed the way riskquant does it.

    Mirrors Netflix-Skunkworks/riskquant: ``riskquant/simpleloss.py`` (SimpleLoss.simulate_years:
    Poisson counts, all losses drawn at once from a scipy lognorm, then a Python loop summing
    each year's slice) and ``riskquant/multiloss.py`` (MultiLoss.simulate_years: one such run per
    loss, summed with ``np.array(...).sum(axis=0)``). Only change: a seeded Generator instead of
    the global ``np.random`` state.
    """
    rng = np.random.default_rng(seed)
    per_sector = []
    for sector in sectors:
        distribution = stats.lognorm(sector.sigma, scale=math.exp(sector.mu))
        losses_each_year = rng.poisson(sector.rate, years)
        total_loss_count = sum(losses_each_year)
        all_losses = distribution.rvs(size=total_loss_count, random_state=rng)
        i = 0
        year = 0
        result = []
        while year < len(losses_each_year):
            losses_this_year = losses_each_year[year]
            result += [sum(all_losses[i : i + losses_this_year])]
            i += losses_this_year
            year += 1
        per_sector.append(result)
    return np.array(per_sector).sum(axis=0)


def mean_and_se(losses: np.ndarray) -> tuple[float, float]:
    """Sample mean and its standard error."""
    return float(losses.mean()), float(losses.std(ddof=1) / math.sqrt(losses.size))


def gap_in_se(a: tuple[float, float], b: tuple[float, float]) -> float:
    """|mean a - mean b| in combined standard errors (``b``'s SE may be 0: a closed form)."""
    return abs(a[0] - b[0]) / math.hypot(a[1], b[1])


def bench_toy(settings: Settings) -> Section:
    """Figure 4: the toy through the engine (1 thread) beside the NumPy loops, and the mean checks."""
    log(f"toy: {TOY_SECTORS}-sector compound Poisson-lognormal, warming up")
    world = toy_world()
    sectors = toy_sectors(world)
    inputs = KernelInputs.build(world, protection(world, no_measures(world)))
    floor = floor_block(inputs, SEED)

    def cases(years: int) -> dict[str, Callable[[], object]]:
        return {
            "engine": partial(simulate, world, years=years, seed=SEED, threads=1),
            "numpy": partial(numpy_loop, sectors, years, SEED),
            "riskquant": partial(riskquant_loop, sectors, years, SEED),
            "floor": partial(run_blocks, floor, years, 1),
        }

    warm_up(cases(BLOCK_YEARS))
    years = settings.toy_years or calibrate(
        lambda n: simulate(world, years=n, seed=SEED, threads=1),
        16 * BLOCK_YEARS,
        settings.toy_target_seconds,
        BLOCK_YEARS,
    )
    log(f"toy: {years:,} years per timing, {settings.repeats} interleaved rounds of 4 cases")
    timings = interleaved_best(cases(years), settings.repeats)
    speed = {name: years / seconds for name, seconds in timings.best.items()}
    result = timings.results["engine"]
    engine = (result.aggregate.mean(result.total), result.aggregate.standard_error(result.total))
    numpy = mean_and_se(timings.results["numpy"])
    riskquant = mean_and_se(timings.results["riskquant"])
    closed_form = (sum(s.rate * math.exp(s.mu + s.sigma**2 / 2) for s in sectors), 0.0)
    tolerance = MEAN_TOLERANCE_SE
    figures = [
        info("toy: engine simulate() years/s, 1 thread", speed["engine"], "years/s"),
        info("toy: NumPy loop years/s", speed["numpy"], "years/s"),
        info("toy: riskquant loop years/s", speed["riskquant"], "years/s"),
        check("toy: engine / NumPy loop (vectorised)", speed["engine"] / speed["numpy"], "x", ">=", NUMPY_GOAL),
        check("toy: engine / riskquant loop (per-year)", speed["engine"] / speed["riskquant"], "x", ">=", NUMPY_GOAL),
        info(
            "toy: RNG floor / NumPy loop",
            speed["floor"] / speed["numpy"],
            "x",
            "ceiling of engine / NumPy with today's draws",
        ),
        check("toy: mean gap engine vs NumPy loop", gap_in_se(engine, numpy), "SE", "<=", tolerance),
        check("toy: mean gap engine vs riskquant loop", gap_in_se(engine, riskquant), "SE", "<=", tolerance),
        check("toy: mean gap engine vs closed form", gap_in_se(engine, closed_form), "SE", "<=", tolerance),
    ]
    means = {"engine": engine, "numpy": numpy, "riskquant": riskquant, "closed_form": closed_form}
    raw = {"years": years, "seconds": timings.rounds, "years_per_second": speed, "mean_and_se": means}
    return Section(figures, raw)


# ---------------------------------------------------------------------------------------------
# 5: JIT warm start (fresh processes)

IMPORT_CODE = "import riskmodel.engine.simulate, riskmodel.world"
START_CODE = """
from riskmodel.engine.simulate import simulate
from riskmodel.world import load_world
simulate(load_world(), years={years}, seed=0)
"""


def process_seconds(code: str, env: dict[str, str]) -> float:
    """Wall time of a fresh Python process running ``code``."""
    start = time.perf_counter()
    subprocess.run([sys.executable, "-c", code], env=env, check=True)
    return time.perf_counter() - start


def bench_start(settings: Settings) -> Section:
    """Figure 5: a fresh process importing, loading the world and simulating a few years.

    Cold: numba's cache is empty, so every kernel compiles (a private NUMBA_CACHE_DIR keeps the
    package's own cache untouched). Warm: the next processes, loading the compiled code from
    that cache. Without ``--cold-start`` only warm processes run, on the package's own cache,
    which this process has just filled. The pure-import process is the reference.
    """
    code = START_CODE.format(years=settings.start_years)
    env = dict(os.environ)
    with tempfile.TemporaryDirectory(prefix="numba-cache-") as cache:
        cold = None
        if settings.cold_start:
            env["NUMBA_CACHE_DIR"] = cache
            log("warm start: one process with an empty numba cache (compiles everything)")
            cold = process_seconds(code, env)
        log(f"warm start: {settings.start_runs} interleaved rounds of an import-only and a warm process")
        timings = interleaved_best(
            {"import": partial(process_seconds, IMPORT_CODE, env), "warm": partial(process_seconds, code, env)},
            settings.start_runs,
        )
    warm, imports = timings.best["warm"], timings.best["import"]
    n = f"{settings.start_years:,} years"
    figures = [
        info(f"start: cold process, import + load + {n}", cold, "s", "empty numba cache"),
        info(f"start: warm process, import + load + {n}", warm, "s", "numba cache filled"),
        info("start: import-only process", imports, "s"),
        info("start: warm minus import-only", warm - imports, "s", "load world + load cached code + run"),
        info("start: warm / import-only", warm / imports, "x"),
    ]
    if cold is not None:
        figures.append(info("start: cold / warm", cold / warm, "x"))
    return Section(figures, {"cold_seconds": cold, "seconds": timings.rounds})


# ---------------------------------------------------------------------------------------------
# 6: peak memory of a long streamed run (subprocess)

MEMORY_CODE = """
import json, resource, sys, time
from riskmodel.engine.simulate import simulate
from riskmodel.world import load_world

years = int(sys.argv[1])
world = load_world()
rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
reported = [0]

def progress(done, total):
    if done * 10 // total > reported[0]:
        reported[0] = done * 10 // total
        elapsed = time.perf_counter() - start
        print(f"    memory run: {done:,} / {total:,} years, {elapsed:.0f} s", file=sys.stderr, flush=True)

simulate(world, years=years, seed=0, threads=2, progress=progress)
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"simulate_seconds": seconds, "rss_before_kib": rss_before, "peak_rss_kib": peak}))
"""


def bench_memory(settings: Settings, short_run_speed: float) -> Section:
    """Figure 6: peak RSS of ``memory_years`` streamed years on 2 threads, no loss tables kept.

    The child reports its own peak RSS (``getrusage(RUSAGE_SELF).ru_maxrss``, KiB on Linux), which
    other children of this process cannot inflate as they would ``RUSAGE_CHILDREN``'s maximum.
    """
    years = settings.memory_years
    if years <= 0:
        return Section([info("memory: peak RSS (skipped: --memory-years 0)", None, "GiB")])
    log(f"memory: {years:,} streamed years on 2 threads in a subprocess")
    start = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", MEMORY_CODE, str(years)], stdout=subprocess.PIPE, text=True, check=True
    )
    wall = time.perf_counter() - start
    child = json.loads(done.stdout.strip().splitlines()[-1])
    gib = 1024.0**2  # KiB per GiB
    speed = years / child["simulate_seconds"]
    figures = [
        check(
            f"memory: peak RSS, {years:,} years, 2 threads", child["peak_rss_kib"] / gib, "GiB", "<=", MEMORY_GOAL_GIB
        ),
        info("memory: peak RSS before simulate()", child["rss_before_kib"] / gib, "GiB", "imports + world"),
        info("memory: elapsed, whole process", wall, "s"),
        info("memory: simulate() years/s in the long run", speed, "years/s"),
        info("memory: long-run / short-run speed, 2 threads", speed / short_run_speed, "x", "~1: no slow-down"),
    ]
    return Section(figures, {"years": years, "wall_seconds": wall, **child})


# ---------------------------------------------------------------------------------------------
# 7: common random numbers across a parameter change


def scenario_with(scenario: Scenario, threat: str, rate: float = 1.0, median_loss: float = 1.0) -> World:
    """The world of ``scenario`` with ``threat``'s rates (regional ones too) and its median
    direct-loss share multiplied by the given factors."""
    document = scenario.model_dump()
    for entry in document["threats"]:
        if entry["id"] == threat:
            frequency = entry["frequency"]
            frequency["rate"] *= rate
            frequency["regional_rates"] = {r: v * rate for r, v in frequency["regional_rates"].items()}
            entry["direct_loss"]["median_revenue_share"] *= median_loss
    return build_world(Scenario.model_validate(document))


def annual_totals(world: World, years: int, seed: int) -> np.ndarray:
    """Each year's total loss (all sectors and layers), from the year loss table."""
    ylt = simulate(world, years=years, seed=seed, threads=1, ylt=True).ylt
    return ylt.groupby("year").total.sum().reindex(range(years), fill_value=0.0).to_numpy()


def tvar(losses: np.ndarray, level: float = 0.99) -> np.ndarray:
    """TVaR at ``level`` of each row: the mean of its worst ``(1 - level) n`` years."""
    k = max(1, round((1.0 - level) * losses.shape[-1]))
    return np.partition(losses, -k, axis=-1)[..., -k:].mean(axis=-1)


def difference_variances(base: np.ndarray, changed: np.ndarray, rng: np.random.Generator) -> tuple[float, float]:
    """Variance of the estimated change of AAL (var of the yearly differences / n) and of
    TVaR 99% (paired bootstrap over years) between two runs of the same years."""
    n = base.size
    aal = float(np.var(changed - base, ddof=1) / n)
    index = rng.integers(0, n, size=(CRN_BOOTSTRAP, n))
    tvar_diff = tvar(changed[index]) - tvar(base[index])
    return aal, float(np.var(tvar_diff, ddof=1))


def bench_crn(settings: Settings) -> Section:
    """Figure 7: paired-difference variance, common random numbers against independent seeds."""
    years = settings.crn_years
    scenario = load_scenario()
    log(f"common random numbers: {CRN_THREAT} rate and median loss share +5%, {years:,} years per run, 5 runs")
    base = annual_totals(build_world(scenario), years, SEED)
    rng = np.random.default_rng(SEED)
    figures, raw = [], {"years": years, "threat": CRN_THREAT}
    for change, world in (
        ("rate", scenario_with(scenario, CRN_THREAT, rate=CRN_RISE)),
        ("median loss", scenario_with(scenario, CRN_THREAT, median_loss=CRN_RISE)),
    ):
        common = annual_totals(world, years, SEED)
        independent = annual_totals(world, years, SEED + 1)
        crn_aal, crn_tvar = difference_variances(base, common, rng)
        ind_aal, ind_tvar = difference_variances(base, independent, rng)
        what = f"crn: {CRN_THREAT} {change} +5%"
        figures += [
            check(f"{what}, AAL difference variance, independent / same seed", ind_aal / crn_aal, "x", ">=", CRN_GOAL),
            check(
                f"{what}, TVaR 99% difference variance, independent / same seed",
                ind_tvar / crn_tvar,
                "x",
                ">=",
                CRN_GOAL,
                f"paired bootstrap, {CRN_BOOTSTRAP} resamples",
            ),
            info(
                f"{what}, share of years whose loss fell, same seed", float(np.mean(common < base)), "", "0 by design"
            ),
            info(f"{what}, share of years whose loss fell, independent", float(np.mean(independent < base)), ""),
            info(f"{what}, AAL change, same seed", float(common.mean() - base.mean()), "yen"),
        ]
        raw[change] = {
            "aal_variance": {"same_seed": crn_aal, "independent": ind_aal},
            "tvar99_variance": {"same_seed": crn_tvar, "independent": ind_tvar},
            "years_fell": {
                "same_seed": float(np.mean(common < base)),
                "independent": float(np.mean(independent < base)),
            },
        }
    return Section(figures, raw)


# ---------------------------------------------------------------------------------------------
# 8: keyed RNG floor against NumPy's PCG64 making the same draws


@njit(cache=True, nogil=True, error_model="numpy")
def pcg64_floor_years(rng, n_years, ops, sect, thr):
    """The RNG floor's loop with every uniform drawn from a NumPy Generator (PCG64) instead of
    a keyed Philox call: the same counts, events, uniforms and transforms as ``draw_only_years``
    (one uniform per count, four per event and two more per kept event; one per disaster, one
    per operator of its region and four per kept hit), so the ratio of the two loops' speeds is
    the cost of keyed numbers against sequential ones."""
    op_int, _op_float, op_threat, sector_first, op_cum, region_ops, region_first = ops[:7]  # no shared groups drawn
    sector_rate, sector_float = sect
    threat_float, regional_rate, depth_table = thr
    sector_mean, sector_p0, region_mean, region_p0 = count_setup(sector_rate, regional_rate, threat_float, 1.0)
    n_sectors, n_threats = sector_rate.shape
    checksum = 0.0
    kept = 0
    for _ in range(n_years):
        for s in range(n_sectors):
            first, last = sector_first[s], sector_first[s + 1]
            if last == first:
                continue
            for h in range(n_threats):
                if threat_float[h, TH_KIND] == DISASTER or sector_mean[s, h] <= 0.0:
                    continue
                count = count_quantile(rng.random(), sector_mean[s, h], threat_float[h, TH_DISPERSION], sector_p0[s, h])
                for _ in range(count):
                    u_pick, u_keep, u_depth, u_day = rng.random(), rng.random(), rng.random(), rng.random()
                    o = pick_operator(op_cum, first, last, u_pick)
                    if u_keep >= op_threat[o, h, OT_SURVIVE]:
                        continue
                    z, u_loss = ndtri(rng.random()), rng.random()
                    checksum += o + z + table_quantile(depth_table, h, u_depth) + ndtri(u_loss) + u_day
                    kept += 1
        for h in range(n_threats):
            if threat_float[h, TH_KIND] != DISASTER:
                continue
            for r in range(regional_rate.shape[1]):
                if region_mean[h, r] <= 0.0:
                    continue
                count = count_quantile(rng.random(), region_mean[h, r], threat_float[h, TH_DISPERSION], region_p0[h, r])
                for _ in range(count):
                    checksum += rng.random()
                    for idx in range(region_first[r], region_first[r + 1]):
                        o = region_ops[idx]
                        s = op_int[o, OP_SECTOR]
                        if rng.random() >= threat_float[h, TH_HIT] * sector_float[s, SEC_DISASTER]:
                            continue
                        u_keep, u_depth = rng.random(), rng.random()
                        if u_keep >= op_threat[o, h, OT_SURVIVE]:
                            continue
                        z, u_loss = ndtri(rng.random()), rng.random()
                        checksum += z + table_quantile(depth_table, h, u_depth) + ndtri(u_loss)
                        kept += 1
    return checksum, kept


@njit(cache=True, nogil=True)
def philox_uniforms(key, n: int) -> float:
    """``n`` keyed 32-bit uniforms, four per Philox call (counter: the call's index)."""
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    total = 0.0
    zero = np.uint64(0)
    for i in range(n // 4):
        a, b, c, d = philox4x32(np.uint64(i), zero, zero, zero, k0, k1)
        total += u32(a) + u32(b) + u32(c) + u32(d)
    return total


@njit(cache=True, nogil=True)
def philox_doubles(key, n: int) -> float:
    """``n`` keyed 53-bit uniforms, two per Philox call."""
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    total = 0.0
    zero = np.uint64(0)
    for i in range(n // 2):
        a, b, c, d = philox4x32(np.uint64(i), zero, zero, zero, k0, k1)
        total += u53(a, b) + u53(c, d)
    return total


@njit(cache=True, nogil=True)
def pcg64_doubles(rng, n: int) -> float:
    """``n`` uniforms from a NumPy Generator (PCG64), each a 53-bit double."""
    total = 0.0
    for _ in range(n):
        total += rng.random()
    return total


def pcg64_block(inputs: KernelInputs, seed: int) -> BlockFn:
    """One block of the PCG64 floor, from the block's own counter stream (as the engine used to)."""

    def run(block: int, n_years: int) -> object:
        return pcg64_floor_years(
            np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(0, block)))),
            n_years, inputs.ops, inputs.sect, inputs.thr,
        )  # fmt: skip

    return run


def bench_keyed(settings: Settings) -> Section:
    """Figure 8: the keyed floor against the same draws from PCG64, and raw uniforms per second."""
    world = load_world()
    inputs = KernelInputs.build(world, protection(world, no_measures(world)))
    key = engine_key(SEED)
    keyed, pcg = floor_block(inputs, SEED), pcg64_block(inputs, SEED)
    n_uniforms = 4_000_000 if settings.quick else 20_000_000

    def cases(years: int) -> dict[str, Callable[[], object]]:
        return {
            "keyed_floor": partial(run_blocks, keyed, years, 1),
            "pcg64_floor": partial(run_blocks, pcg, years, 1),
            "philox_u32": partial(philox_uniforms, key, n_uniforms),
            "philox_u53": partial(philox_doubles, key, n_uniforms),
            "pcg64_u53": partial(pcg64_doubles, np.random.default_rng(SEED), n_uniforms),
        }

    warm_up(cases(BLOCK_YEARS))
    years = settings.years or calibrate(
        lambda n: run_blocks(keyed, n, 1), 4 * BLOCK_YEARS, settings.target_seconds / 2, BLOCK_YEARS
    )
    log(f"keyed floor: {years:,} years per timing, {n_uniforms:,} raw uniforms, {settings.repeats} rounds")
    timings = interleaved_best(cases(years), settings.repeats)
    best = timings.best
    kept = {name: timings.results[name][0][1] for name in ("keyed_floor", "pcg64_floor")}
    figures = [
        info("keyed: keyed floor years/s, 1 thread", years / best["keyed_floor"], "years/s"),
        info("keyed: PCG64 floor years/s, 1 thread", years / best["pcg64_floor"], "years/s", "same draws, PCG64"),
        check(
            "keyed: keyed floor / PCG64 floor, same draws",
            best["pcg64_floor"] / best["keyed_floor"],
            "x",
            ">=",
            KEYED_GOAL,
        ),
        info(
            "keyed: Philox 32-bit uniforms / PCG64 doubles",
            best["pcg64_u53"] / best["philox_u32"],
            "x",
            "raw, per uniform",
        ),
        info(
            "keyed: Philox 53-bit uniforms / PCG64 doubles",
            best["pcg64_u53"] / best["philox_u53"],
            "x",
            "raw, per uniform",
        ),
        info("keyed: Philox 32-bit uniforms per second", n_uniforms / best["philox_u32"], "/s"),
        info("keyed: PCG64 doubles per second", n_uniforms / best["pcg64_u53"], "/s"),
    ]
    raw = {"years": years, "uniforms": n_uniforms, "seconds": timings.rounds, "events_first_block": kept}
    return Section(figures, raw)


# ---------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> int:
    """Run the whole suite, print the table and optionally write the JSON; returns the exit code."""
    settings = Settings.from_args(args)
    started = time.perf_counter()
    log(f"load average at start: {load_average()} ({os.cpu_count()} CPUs; other jobs slow the timings, threads most)")
    default = bench_default(settings)
    sections = {
        "default": default,
        "toy": bench_toy(settings),
        "start": bench_start(settings),
        "memory": bench_memory(settings, default.raw["years_per_second"]["simulate_2t"]),
        "crn": bench_crn(settings),
        "keyed": bench_keyed(settings),
    }
    figures = [figure for section in sections.values() for figure in section.figures]
    elapsed = time.perf_counter() - started
    log(f"load average at end: {load_average()}")
    print_table(f"engine benchmarks ({'quick' if settings.quick else 'full'} run, {elapsed:.0f} s)", figures)
    if args.json is not None:
        raw = {name: section.raw for name, section in sections.items()} | {"elapsed_seconds": elapsed}
        write_json(args.json, "engine", vars(settings), figures, raw)
        print(f"results written to {args.json}")
    return 0
