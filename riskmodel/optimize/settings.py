"""What an optimisation run is asked to do, checked before any work starts.

The run API and the Python API share these settings and these checks, so a bad value
gets the same one-line :class:`~riskmodel.errors.InputError` either way, named by its
field in a run spec (``options.budget``, ``size``); the command line maps its flags onto
those fields.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from riskmodel.engine.simulate import BLOCK_YEARS
from riskmodel.errors import InputError
from riskmodel.optimize.solve import SOLVERS, SolverOptions
from riskmodel.world import World

MODES = ("sector", "partial", "society")
WHERE = "(run spec)"
MAX_YEN = 1e18  # budgets and bars (a thousand times Japan's annual output)
MAX_EVAL_YEARS = 10_000_000  # fresh engine years (as simulate's --years)
MAX_REPLICATIONS = 100
MAX_FRONTIER_POINTS = 100
MAX_THREADS = 64
MAX_TIME_LIMIT = 30 * 86400.0  # seconds per solve


@dataclass(frozen=True)
class Settings:
    """One optimisation run.

    ``mode``: ``sector`` (one sector, what its operators bear: the own layer), ``partial``
    (every critical sector optimised alone that way) or ``society`` (all sectors jointly,
    every layer of every sector's failures; also solves ``partial`` for the comparison).
    ``budget``: yen a year, per sector in sector/partial mode, in total in society mode;
    ``sector_budgets`` adds per-sector budgets in any mode. ``cvar_level`` and
    ``cvar_max`` replace the sectors' CVaR bars (sector/partial) or add a bar on
    society's total annual loss (society). ``fn`` imposes the sectors' F-N lines.
    ``instruments`` (society mode) prices, for each sector, the instruments that make its
    operators choose society's portfolio (:mod:`riskmodel.optimize.instruments`).
    ``posterior``: a posterior draws file (``riskmodel calibrate fit``); block ``b`` of
    ``BLOCK_YEARS`` SAA years (and of every out-of-sample year) takes draw ``b mod D``, so
    the portfolio is chosen under parameter uncertainty too, and it is compared with the
    portfolio chosen at the draws' means (:mod:`riskmodel.optimize.robust`). It needs at
    least two blocks of SAA and of out-of-sample years, so that two draws are seen.
    """

    mode: str = "society"
    sector: str | None = None
    budget: float | None = None
    sector_budgets: tuple[tuple[str, float], ...] = ()
    cvar_level: float | None = None
    cvar_max: float | None = None
    fn: bool = True
    years: int = 1000
    seed: int = 0
    solver: SolverOptions = field(default_factory=SolverOptions)
    eval_years: int = 10_000
    replications: int = 5
    frontier_points: int = 8
    threads: int = 1
    instruments: bool = False
    posterior: str | None = None

    def check(self, world: World) -> None:
        """Raise InputError for the first bad value, naming its run-spec field."""
        if world.catalogue.n_options == 0:
            scenario = str(world.path) if world.path is not None else "(packaged scenario)"
            raise InputError(scenario, "measures", "(none)", "at least one measure for the optimiser to choose from")
        if self.mode not in MODES:
            raise InputError(WHERE, "options.mode", self.mode, f"one of {', '.join(MODES)}")
        critical = ", ".join(world.critical_ids)
        if self.mode == "sector" and self.sector is None:
            raise InputError(WHERE, "options.sector", None, f"a critical sector ({critical})")
        if self.instruments and self.mode != "society":
            raise InputError(WHERE, "options.instruments", True, "society mode (the instruments close its gap)")
        if self.posterior is not None:
            if self.instruments:
                raise InputError(WHERE, "options.instruments", True, "no instruments with a posterior (not priced "
                                 "under parameter uncertainty)")  # fmt: skip
            for option, value in (("size", self.years), ("options.eval_years", self.eval_years)):
                if value < 2 * BLOCK_YEARS:
                    expected = (f"at least {2 * BLOCK_YEARS:,} years with a posterior (each block of "
                                f"{BLOCK_YEARS:,} years takes one draw: two blocks, two draws)")  # fmt: skip
                    raise InputError(WHERE, option, value, expected)
        if self.mode != "sector" and self.sector is not None:
            raise InputError(
                WHERE, "options.sector", self.sector, f"no sector in {self.mode} mode (it covers every sector)"
            )
        named = ([self.sector] if self.sector is not None else []) + [s for s, _ in self.sector_budgets]
        for sector in named:
            if sector not in world.critical_ids:
                raise InputError(WHERE, "options.sector", sector, f"a critical sector ({critical})")
        named_budgets = ((f"options.sector_budgets.{s}", b) for s, b in self.sector_budgets)
        budgets = [("options.budget", self.budget), *named_budgets]
        for option, value in budgets:
            if value is not None and not (math.isfinite(value) and 0 <= value <= MAX_YEN):
                raise InputError(WHERE, option, value, f"a non-negative number of yen a year, at most {MAX_YEN:g}")
        if (self.cvar_level is None) != (self.cvar_max is None):
            given = "options.cvar_level" if self.cvar_max is None else "options.cvar_max"
            missing = "options.cvar_max" if self.cvar_max is None else "options.cvar_level"
            value = self.cvar_level if self.cvar_max is None else self.cvar_max
            raise InputError(WHERE, given, value, f"to come with {missing}")
        if self.cvar_level is not None and not 0.0 < self.cvar_level < 1.0:
            raise InputError(WHERE, "options.cvar_level", self.cvar_level, "a level strictly between 0 and 1")
        if self.cvar_max is not None and not (math.isfinite(self.cvar_max) and 0 < self.cvar_max <= MAX_YEN):
            raise InputError(WHERE, "options.cvar_max", self.cvar_max, f"a positive number of yen, at most {MAX_YEN:g}")
        whole = [
            ("size", self.years, 1, None),
            ("seed", self.seed, 0, None),
            ("options.eval_years", self.eval_years, 2, MAX_EVAL_YEARS),
            ("options.replications", self.replications, 0, MAX_REPLICATIONS),
            ("options.frontier_points", self.frontier_points, 0, MAX_FRONTIER_POINTS),
            ("options.threads", self.threads, 1, MAX_THREADS),
        ]
        for option, value, minimum, maximum in whole:
            if value < minimum:
                raise InputError(WHERE, option, value, f"a whole number of at least {minimum}")
            if maximum is not None and value > maximum:
                raise InputError(WHERE, option, value, f"a whole number of at most {maximum:,}")
        if self.replications == 1:
            raise InputError(WHERE, "options.replications", 1, "0 (no gap estimate) or at least 2 batches")
        options = self.solver
        if options.solver not in SOLVERS:
            raise InputError(WHERE, "options.solver", options.solver, f"one of {', '.join(SOLVERS)}")
        if not (math.isfinite(options.gap) and 0.0 <= options.gap < 1.0):
            raise InputError(WHERE, "options.gap", options.gap, "a relative gap from 0 up to (not including) 1")
        if options.time_limit is not None and not (
            math.isfinite(options.time_limit) and 0 < options.time_limit <= MAX_TIME_LIMIT
        ):
            expected = f"a positive number of seconds, at most {MAX_TIME_LIMIT:g}"
            raise InputError(WHERE, "options.time_limit", options.time_limit, expected)
