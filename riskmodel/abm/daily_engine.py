"""The Monte Carlo engine's kernel, stepped one day at a time on arrays the model owns.

The agent model never re-implements hazards, severities or the cascade: each day it calls
:func:`riskmodel.engine.kernels.simulate_periods` with a period of 1/365 year on kernel
inputs whose arrays it keeps and changes in place as the agents act:

* ``sector_rate`` (failures a year per sector and threat): attackers' attempts for the
  cyber threats, the operators' outsourcing for contractor faults, and this year's
  negative-binomial multiplier;
* the per-operator tables: measures in place (rebuilt when operators invest), and on top
  of them the temporary effects of information sharing and exercises.

Over-dispersion. The engine draws a (period, sector, threat)'s count as one negative
binomial quantile; stepping days that way would give a different year. Here the kernel's
dispersion is set to zero and a Gamma multiplier (mean 1, variance the dispersion) is
drawn once per fiscal year (:meth:`DailyEngine.new_year`) and folded into the rates, so
that a year of days has the engine's negative-binomial count (a Gamma-mixed Poisson). The
multipliers are drawn in sequence, threat after threat, from the year's stream: a change
of one threat's rate leaves them all as they were, but a dispersion switched to or from
zero shifts the later threats' multipliers.

Random numbers are keyed, as the engine's are: the kernel's draws on day ``d`` are Philox
draws with ``d`` as their period counter, under a key taken from ``streams(DAY)``'s seed
sequence, and fiscal year ``y`` draws its multipliers from ``streams(YEAR, y)``. What
happens on one day (a rate an attacker moved, an event a measure blocked) therefore
changes no other day's draws, and within a day a higher rate only adds events (see
:mod:`riskmodel.engine.kernels`), which keeps two arms of an experiment paired.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from riskmodel.engine.events import Events
from riskmodel.engine.inputs import KernelInputs
from riskmodel.engine.kernels import (
    ELT_FLOAT_COLUMNS,
    ELT_INT_COLUMNS,
    LAYERS,
    OP_SHOCK,
    OT_DIRECT,
    OT_LOG_DURATION,
    OT_SURVIVE,
    TH_DISPERSION,
    simulate_periods,
)
from riskmodel.measures import Protection
from riskmodel.metrics import FN_BINS
from riskmodel.world import World

DAYS_PER_YEAR = 365
DAY, YEAR = 0, 1  # stream kinds: a day's hazards, a fiscal year's multipliers
Streams = Callable[..., np.random.Generator]  # streams(kind, counter) -> a generator


def stream_key(generator: np.random.Generator) -> np.ndarray:
    """Two 32-bit key words from the seed sequence behind a counter stream's generator."""
    seed_seq = generator.bit_generator.seed_seq
    assert isinstance(seed_seq, np.random.SeedSequence)
    return seed_seq.generate_state(2, dtype=np.uint32)


class DailyEngine:
    """One day of IT failures at a time, on kernel inputs the agent model updates.

    The model writes ``rate_factor[sector, threat]`` (multiplies the scenario's rates),
    ``survive_factor[operator, threat]``, ``duration_factor[operator, threat]`` and
    ``cascade_factor[operator]`` (multiply the measures' multipliers; all 1 to start) and
    calls :meth:`refresh` after changing the operator factors.
    """

    def __init__(self, world: World, streams: Streams):
        self.world = world
        self.streams = streams
        self.key = stream_key(streams(DAY))  # the kernel's keyed draws; a day is their period counter
        n_ops, n_sectors, n_threats = len(world.operators), world.n_sectors, len(world.threat_ids)
        self.rate_factor = np.ones((n_sectors, n_threats))
        self.survive_factor = np.ones((n_ops, n_threats))
        self.duration_factor = np.ones((n_ops, n_threats))
        self.cascade_factor = np.ones(n_ops)
        self._year_gamma = np.ones((n_sectors, n_threats))
        self._region_gamma = np.ones_like(world.threats.regional_rate)
        self._sector_rate = world.sector_rate.copy()
        self._regional_rate = world.threats.regional_rate.copy()
        self._base: KernelInputs | None = None
        self._ops: tuple = ()
        self._op_float = np.empty(0)
        self._op_threat = np.empty(0)
        self._threat_float = np.empty(0)
        self._year_loss = np.zeros((1, n_sectors, len(LAYERS)))
        self._year_max = np.zeros((1, n_sectors + 1))
        self._year_events = np.zeros((1, n_sectors), dtype=np.int64)
        self._fn_counts = np.zeros((n_sectors + 1, FN_BINS), dtype=np.int64)
        self._ints = np.zeros((0, len(ELT_INT_COLUMNS)), dtype=np.int64)
        self._floats = np.zeros((0, len(ELT_FLOAT_COLUMNS)))
        self._grow(4 * n_ops + 1024)

    def _grow(self, capacity: int) -> None:
        """Event-table buffers for ``capacity`` failures a day, reused from day to day."""
        self._ints = np.zeros((capacity, len(ELT_INT_COLUMNS)), dtype=np.int64)
        self._floats = np.zeros((capacity, len(ELT_FLOAT_COLUMNS)))

    def set_protection(self, prot: Protection) -> None:
        """Measures in place changed: rebuild the kernel inputs from their multipliers."""
        base = KernelInputs.build(self.world, prot)
        self._base = base
        op_int, op_float, op_threat, *rest = base.ops
        self._op_float = op_float.copy()
        self._op_threat = op_threat.copy()
        self._ops = (op_int, self._op_float, self._op_threat, *rest)
        self._threat_float = base.thr[0].copy()
        self._threat_float[:, TH_DISPERSION] = 0.0  # drawn once a year instead, see new_year()
        self._depth_table = base.thr[2]
        self.refresh()

    @property
    def base(self) -> KernelInputs:
        assert self._base is not None, "set_protection() first"
        return self._base

    @property
    def op_threat(self) -> np.ndarray:
        """The kernel's effective ``[operator, threat, (survive, log duration, direct)]``."""
        return self._op_threat

    @property
    def op_float(self) -> np.ndarray:
        """The kernel's effective ``[operator, (users, depth scale, shock, reach)]``."""
        return self._op_float

    def refresh(self, threats: np.ndarray | None = None) -> None:
        """Apply the operator factors to the measures' multipliers: all of them, or only
        the columns of ``threats`` (the cascade factor is applied with all of them)."""
        base_float, base_threat = self.base.ops[1], self.base.ops[2]
        cols = slice(None) if threats is None else threats
        survive, duration = self.survive_factor[:, cols], self.duration_factor[:, cols]
        self._op_threat[:, cols, OT_SURVIVE] = base_threat[:, cols, OT_SURVIVE] * survive
        with np.errstate(divide="ignore"):
            self._op_threat[:, cols, OT_LOG_DURATION] = base_threat[:, cols, OT_LOG_DURATION] + np.log(duration)
        # the direct loss scales with the outage's duration, as the measures' own multiplier does
        self._op_threat[:, cols, OT_DIRECT] = base_threat[:, cols, OT_DIRECT] * duration
        if threats is None:
            self._op_float[:, OP_SHOCK] = base_float[:, OP_SHOCK] * self.cascade_factor

    def new_year(self, year: int) -> None:
        """Draw year ``year``'s negative-binomial multipliers (Gamma, mean 1, variance the
        threat's dispersion) for every sector and threat, and every region and disaster."""
        rng = self.streams(YEAR, year)
        dispersion = self.world.threats.dispersion
        shape = np.divide(1.0, dispersion, out=np.zeros_like(dispersion), where=dispersion > 0)
        for h, phi in enumerate(dispersion):
            if phi > 0:
                self._year_gamma[:, h] = rng.gamma(shape[h], phi, size=self._year_gamma.shape[0])
                self._region_gamma[h] = rng.gamma(shape[h], phi, size=self._region_gamma.shape[1])
        self._regional_rate[:] = self.world.threats.regional_rate * self._region_gamma

    def expected_rate(self) -> np.ndarray:
        """Failures a year per sector and threat at the current factors (no yearly draw)."""
        return self.world.sector_rate * self.rate_factor

    def run_day(self, day: int) -> Events:
        """Simulate one day; ``day`` labels it. Returns its failures."""
        np.multiply(self.world.sector_rate * self.rate_factor, self._year_gamma, out=self._sector_rate)
        base = self.base
        while True:
            self._year_loss[:] = 0.0
            self._year_max[:] = 0.0
            self._year_events[:] = 0
            n = simulate_periods(
                self.key, 1.0 / DAYS_PER_YEAR, 1, day, self._ops, (self._sector_rate, base.sect[1]),
                (self._threat_float, self._regional_rate, self._depth_table), base.casc, self._year_loss,
                self._year_max, self._year_events, self._fn_counts, self._ints, self._floats,
            )  # fmt: skip
            if n >= 0:
                return Events.of(self._ints[:n], self._floats[:n])
            self._grow(2 * self._ints.shape[0])  # the day outgrew the buffers: again, same draws
