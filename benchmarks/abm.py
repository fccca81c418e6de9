"""Agent-model suite: agent-steps per second against Mesa's own BoltzmannWealth example.

Figures (see README.md for what each means and why it has its goal):

1. agent-steps per second of ``CriticalInfrastructureModel`` on the default scenario (every
   mechanism on) and on the same scenario with 10x the operators and the individuals'
   cohorts, over the same fiscal years;
2. agent-steps per second of Mesa's ``BoltzmannWealth`` example (``mesa.examples``) at about
   the same numbers of agents;
3. the ratio of the two at the default size (goal >= 3), and the cost of 10x the agents
   (time for the same days, goal <= 12x).

An agent-step is one agent through one model step (a day here, a tick in BoltzmannWealth),
so both are counted as agents x steps. Only the agents that change every day are counted
for the agent model - operators (their failures, losses and recoveries) and the
individuals' cohorts (infection, anxiety) - not the ministries and attackers, who act
once a year or month; BoltzmannWealth runs with that many agents. Cases run interleaved round-robin and each keeps its
best round; every case runs once before timing, so numba's compilation (or its cache load)
never enters a timing. Model construction is timed apart from stepping.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, field
from typing import Any

from benchmarks.common import Figure, check, info, load_average, log, print_table, write_json
from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.scenario import load_scenario
from riskmodel.schema import Scenario
from riskmodel.world import World, build_world, load_world

HELP = "agent model: agent-steps/s against Mesa's BoltzmannWealth, and the cost of 10x the agents"
SEED = 20240601
SPEED_GOAL = 3.0  # agent model / BoltzmannWealth, agent-steps per second
SCALE_GOAL = 12.0  # time of 10x the agents / time of the default, same days
SCALE = 10


@dataclass(frozen=True)
class Settings:
    quick: bool
    repeats: int
    fiscal_years: int | None  # None: the scenario's horizon
    boltzmann_seconds: float  # about how long one BoltzmannWealth timing runs


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The suite's own options (``--quick`` and ``--json`` are shared by all suites)."""
    parser.add_argument("--repeats", type=int, metavar="N", help="rounds, best kept (default 3; 2 with --quick)")
    parser.add_argument(
        "--fiscal-years", type=int, metavar="N", help="fiscal years per run (default: the horizon; 1 with --quick)"
    )


def scaled_world(factor: int) -> World:
    """The default scenario with ``factor`` times the operators of every sector (electricity's
    then allocated by population, like the others) and ``factor`` times the cohorts of
    individuals (the same 80 million users in more, smaller cohorts)."""
    data = load_scenario().model_dump()
    for sector in data["sectors"]:
        if sector["operators"] is not None:
            sector["operators"]["count"] *= factor
            sector["operators"]["allocation"] = "population"
    data["abm"]["individuals"]["cohorts_per_band"] *= factor
    return build_world(Scenario.model_validate(data))


@dataclass
class Timing:
    agents: int
    steps: int
    init: list[float] = field(default_factory=list)
    run: list[float] = field(default_factory=list)

    @property
    def best(self) -> float:
        return min(self.run)

    @property
    def agent_steps_per_second(self) -> float:
        return self.agents * self.steps / self.best


def daily_agents(model: CriticalInfrastructureModel) -> int:
    """Agents whose state changes every day: operators and the individuals' cohorts."""
    return len(model.operators) + len(model.individuals)


def time_abm(world: World, fiscal_years: int | None, timing: Timing | None) -> Timing:
    start = time.perf_counter()
    model = CriticalInfrastructureModel(world, fiscal_years=fiscal_years, seed=SEED)
    built = time.perf_counter()
    model.run_model()
    done = time.perf_counter()
    timing = timing or Timing(daily_agents(model), model.total_days)
    timing.init.append(built - start)
    timing.run.append(done - built)
    return timing


def boltzmann(n_agents: int):
    """Mesa's BoltzmannWealth at ``n_agents``, on the example's density (one agent per cell of
    its default 10 x 10 grid with 100 agents)."""
    from mesa.examples.basic.boltzmann_wealth_model.model import BoltzmannWealth

    side = math.ceil(math.sqrt(n_agents))
    return BoltzmannWealth(n=n_agents, width=side, height=side, seed=SEED)


def time_boltzmann(n_agents: int, steps: int, timing: Timing | None) -> Timing:
    start = time.perf_counter()
    model = boltzmann(n_agents)
    built = time.perf_counter()
    for _ in range(steps):
        model.step()
    done = time.perf_counter()
    timing = timing or Timing(n_agents, steps)
    timing.init.append(built - start)
    timing.run.append(done - built)
    return timing


def boltzmann_steps(n_agents: int, seconds: float) -> int:
    """Steps for which BoltzmannWealth at ``n_agents`` runs about ``seconds`` (a pilot of 5 steps)."""
    model = boltzmann(n_agents)
    start = time.perf_counter()
    for _ in range(5):
        model.step()
    per_step = (time.perf_counter() - start) / 5
    return max(5, round(seconds / per_step))


def run(args: argparse.Namespace) -> int:
    quick = bool(args.quick)
    settings = Settings(
        quick=quick,
        repeats=args.repeats or (2 if quick else 3),
        fiscal_years=args.fiscal_years or (1 if quick else None),
        boltzmann_seconds=0.3 if quick else 1.5,
    )
    started = time.perf_counter()
    log(f"load average at start: {load_average()}")
    log("building the default world and the one with 10x the operators and cohorts")
    worlds = {"default": load_world(), f"{SCALE}x": scaled_world(SCALE)}
    log("warming up (numba compiles or loads its cache)")
    warm = {name: time_abm(world, 1, None) for name, world in worlds.items()}
    sizes = {name: w.agents for name, w in warm.items()}
    steps = {name: boltzmann_steps(n, settings.boltzmann_seconds) for name, n in sizes.items()}
    timings: dict[str, Timing | None] = dict.fromkeys(
        [f"abm_{name}" for name in worlds] + [f"boltzmann_{name}" for name in worlds]
    )
    for round_ in range(settings.repeats):
        log(f"round {round_ + 1} of {settings.repeats}")
        for name, world in worlds.items():
            timings[f"abm_{name}"] = time_abm(world, settings.fiscal_years, timings[f"abm_{name}"])
            timings[f"boltzmann_{name}"] = time_boltzmann(sizes[name], steps[name], timings[f"boltzmann_{name}"])
    done: dict[str, Timing] = {k: v for k, v in timings.items() if v is not None}
    abm, abm10 = done["abm_default"], done[f"abm_{SCALE}x"]
    mesa, mesa10 = done["boltzmann_default"], done[f"boltzmann_{SCALE}x"]

    figures: list[Figure] = [
        info("agent model, default: agents stepped daily", abm.agents, note="operators and cohorts"),
        info("agent model, default: days per run", abm.steps),
        info("agent model, default: run time (best)", abm.best, "s"),
        info("agent model, default: construction time (best)", min(abm.init), "s"),
        info("agent model, default: agent-steps/s", abm.agent_steps_per_second, "agent-steps/s"),
        info(f"agent model, {SCALE}x: agents stepped daily", abm10.agents),
        info(f"agent model, {SCALE}x: run time (best)", abm10.best, "s"),
        info(f"agent model, {SCALE}x: construction time (best)", min(abm10.init), "s"),
        info(f"agent model, {SCALE}x: agent-steps/s", abm10.agent_steps_per_second, "agent-steps/s"),
        info(f"BoltzmannWealth, {mesa.agents} agents: agent-steps/s", mesa.agent_steps_per_second, "agent-steps/s"),
        info(f"BoltzmannWealth, {mesa10.agents} agents: agent-steps/s", mesa10.agent_steps_per_second, "agent-steps/s"),
        check(
            "agent model / BoltzmannWealth, default size",
            abm.agent_steps_per_second / mesa.agent_steps_per_second,
            "x",
            ">=",
            SPEED_GOAL,
        ),
        info(
            f"agent model / BoltzmannWealth, {SCALE}x size",
            abm10.agent_steps_per_second / mesa10.agent_steps_per_second,
            "x",
        ),
        check(f"time of {SCALE}x the agents / default, same days", abm10.best / abm.best, "x", "<=", SCALE_GOAL),
    ]
    elapsed = time.perf_counter() - started
    log(f"load average at end: {load_average()}")
    print_table(f"agent-model benchmarks ({'quick' if quick else 'full'} run, {elapsed:.0f} s)", figures)
    if args.json is not None:
        raw: dict[str, Any] = {name: vars(t) for name, t in done.items()} | {"elapsed_seconds": elapsed}
        write_json(args.json, "abm", vars(settings), figures, raw)
        print(f"results written to {args.json}")
    return 0
