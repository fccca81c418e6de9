"""Society problems coupled by a total budget or a shared CVaR bar, by decomposition.

The direct MILP (:mod:`.milp`) puts every sector's binaries and every tail year's rows
in one branch-and-bound; coupled by a total budget and a bar on society's loss it closes
its gap slowly (100 years x 10 sectors to 0.1% in about 5 minutes). Here the coupling
is priced instead (Dantzig-Wolfe column generation):

* **Columns.** A column is one sector's portfolio that meets the sector's own rules,
  budget, bars and F-N line, with its exact figures from the evaluator: the goal's value
  ``f`` (price x cost + expected counted loss), its cost ``c`` and its year losses
  ``L[y]`` (all layers, as the CVaR counts them). Society's year loss is the sum of its
  sectors' columns' ``L``.
* **Master.** Choose one column per sector (``sum_p lambda_sp = 1``) under the total
  budget ``sum c lambda <= B`` and each coupled bar, written as Kunzi-Bay & Mayer's cuts:
  ``CVaR_beta(L) = max_q sum_y q_y L_y`` over ``0 <= q_y <= 1 / ((1 - beta) S)``,
  ``sum q = 1``, so ``sum_y q_y sum_sp L_spy lambda_sp <= R`` for every ``q``. Only the
  cuts of the sorted tails of the masters' own solutions are added (the cut of a mix of
  columns is its exact CVaR, so the loop ends), one row each rather than a row and a
  variable per year.
* **Pricing.** With the master LP's duals (``mu`` on the budget, ``pi_k`` on the cuts,
  ``rho_y = sum_k pi_k q^k_y``) each sector solves its own MILP: minimise
  ``(price + mu) c + counted loss + sum_y rho_y L_y`` under its own constraints
  (:class:`~riskmodel.optimize.milp.Goal` with a ``tail``); its answer is a new column.
* **Bounds.** Every pricing value is a Lagrangian relaxation of the whole problem, so
  ``sum_s bound_s - mu B - sum_k pi_k R`` (``bound_s`` the sector MILP's proven lower
  bound) is a proven lower bound for any duals; the master MILP over the columns found
  gives portfolios, each re-checked with the evaluator on the whole instance (upper
  bound). It stops once the two are within the requested gap.

The Lagrangian bound is the bound of the convex hulls of the sectors' portfolios; what
separates it from the optimum is at most the non-convexity of the few sectors the master
LP splits between columns, small against society's total when there are many sectors.
If the columns are exhausted before the gap closes (small instances), the caller
finishes with the direct formulation (:func:`riskmodel.optimize.solve.solve`).
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
from scipy import optimize as scipy_optimize
from scipy import sparse

from riskmodel.optimize.evaluate import bar_losses, chain_values, cvar, evaluate, money_scale
from riskmodel.optimize.instance import Instance
from riskmodel.optimize.milp import Goal
from riskmodel.optimize.result import Solution, SolverOptions, goal_value

SectorSolver = Callable[[Instance, Goal, SolverOptions], Solution]
PENALTY = 1.0  # first price, model units per unit, of relaxing a coupling row in the master LP
PENALTY_GROWTH = 10.0  # the price's factor whenever the LP relaxes a row and no column helps
MAX_PENALTY = 1e6  # beyond this the rows are taken as out of the columns' reach
PRICING_SHARE = 0.25  # pricing MILPs stop at this share of the requested gap
MASTER_SECONDS = 60.0  # at most this long for one master MILP
ROW_TOLERANCE = 1e-9  # relative: a master solution above a cut's bar by more gets a new cut


@dataclass
class _Columns:
    """One sector's columns: portfolios and their exact figures (yen a year)."""

    x: list[np.ndarray] = field(default_factory=list)  # [option] bool
    value: list[float] = field(default_factory=list)  # the goal's value
    cost: list[float] = field(default_factory=list)
    losses: list[np.ndarray] = field(default_factory=list)  # [year], all layers

    def add(self, sector: Instance, x: np.ndarray, goal: Goal) -> bool:
        """Add portfolio ``x`` of the one-sector instance unless it is already a column."""
        if any(np.array_equal(x, old) for old in self.x):
            return False
        xs = x[None, :]
        evaluation = evaluate(sector, xs)
        self.x.append(x.copy())
        self.value.append(goal_value(sector, xs, evaluation, Goal("total", price=goal.price)))
        self.cost.append(float(evaluation.cost.sum()))
        self.losses.append(bar_losses(sector, xs, chain_values(sector, xs), (0,)))
        return True


@dataclass(frozen=True)
class _Cut:
    """``sum_y q_y L_y <= R`` for the coupled bar ``bar``."""

    bar: int
    q: np.ndarray  # [year]


def tail_weights(losses: np.ndarray, level: float) -> np.ndarray:
    """The ``q`` of the CVaR's dual at ``losses``: ``1 / ((1 - level) S)`` on the largest
    years, the remainder of the unit mass on the next; ``q @ losses`` is the CVaR."""
    n = losses.size
    cap = 1.0 / ((1.0 - level) * n)
    order = np.argsort(-losses, kind="stable")
    q = np.zeros(n)
    mass = 1.0
    for y in order:
        q[y] = min(cap, mass)
        mass -= q[y]
        if mass <= 0.0:
            break
    return q


class _Master:
    """The restricted master over the columns found so far, LP and MILP (scipy's HiGHS)."""

    def __init__(self, instance: Instance, coupled: list[int], columns: list[_Columns]):
        self.instance, self.coupled, self.columns = instance, coupled, columns
        self.unit = money_scale(instance)
        self.cuts: list[_Cut] = []
        self.weights = np.zeros(0)  # the last LP's column weights
        self.penalty = PENALTY
        self.relaxed = False  # whether the last LP relaxed a coupling row

    def split(self) -> dict[int, float]:
        """Sectors the last LP splits between columns, and the cost of their mix."""
        sector, position = self._index()
        out = {}
        for s, cols in enumerate(self.columns):
            w = self.weights[sector == s]
            if np.count_nonzero(w > 1e-9) > 1:
                out[s] = float(w @ np.array(cols.cost)[position[sector == s]])
        return out

    def _index(self) -> tuple[np.ndarray, np.ndarray]:
        sector = np.concatenate([np.full(len(c.x), s) for s, c in enumerate(self.columns)])
        position = np.concatenate([np.arange(len(c.x)) for c in self.columns])
        return sector, position

    def _rows(self) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """Objective, convexity rows, and the coupling rows ``A lambda <= b`` (budget first)."""
        inst, cols = self.instance, self.columns
        value = np.concatenate([c.value for c in cols]) / self.unit
        n = value.size
        sector, _ = self._index()
        convex = np.zeros((inst.n_sectors, n))
        convex[sector, np.arange(n)] = 1.0
        rows, rhs = [], []
        if math.isfinite(inst.budget_total):
            rows.append(np.concatenate([c.cost for c in cols]) / inst.budget_total)
            rhs.append(1.0)
        for cut in self.cuts:
            bar = inst.bars[cut.bar]
            rows.append(
                np.concatenate(
                    [
                        np.array([cut.q @ loss for loss in c.losses]) if s in bar.sectors else np.zeros(len(c.x))
                        for s, c in enumerate(cols)
                    ]
                )
                / self.unit
            )
            rhs.append(bar.cvar_max / self.unit)
        return value, convex, np.array(rows).reshape(-1, n), np.array(rhs), sector

    def mix(self, weights: np.ndarray, b: int) -> np.ndarray:
        """[year] society's losses of bar ``b`` under column weights ``weights``."""
        sector, position = self._index()
        total = np.zeros(self.instance.years)
        for k in np.flatnonzero(weights > 1e-12):
            if sector[k] in self.instance.bars[b].sectors:
                total += weights[k] * self.columns[sector[k]].losses[position[k]]
        return total

    def _separate(self, weights: np.ndarray, slack: np.ndarray | None) -> bool:
        """Add the cut of every coupled bar the weights break; whether any was added."""
        added = False
        for i, b in enumerate(self.coupled):
            bar = self.instance.bars[b]
            losses = self.mix(weights, b)
            allowed = bar.cvar_max + (0.0 if slack is None else slack[i] * self.unit)
            if float(cvar(losses, bar.level)) > allowed + ROW_TOLERANCE * max(bar.cvar_max, self.unit):
                self.cuts.append(_Cut(b, tail_weights(losses, bar.level)))
                added = True
        return added

    def lp(self) -> tuple[float, np.ndarray, float, np.ndarray]:
        """Solve the LP (cuts added until it breaks none); returns its value (yen), the
        sectors' convexity duals (model units), the budget's dual ``mu`` (yen per yen of
        cost) and ``rho[bar, year]`` (yen per yen of loss). Coupling rows may be relaxed
        at ``penalty`` per unit, so the LP is always feasible and its duals bounded: the
        columns it prices then are the ones that make the rows hold (a phase one that
        needs no feasible start); the bound is valid for any duals."""
        while True:
            value, convex, a, b, _ = self._rows()
            n_rows = a.shape[0]
            # one slack per coupling row kind: the budget's own, one per coupled bar
            kind = self._row_kinds()
            slack_cols = np.zeros((n_rows, 1 + len(self.coupled)))
            slack_cols[np.arange(n_rows), kind] = -1.0
            c = np.concatenate([value, np.full(slack_cols.shape[1], self.penalty)])
            result = scipy_optimize.linprog(
                c,
                A_ub=sparse.csr_matrix(np.hstack([a, slack_cols])) if n_rows else None,
                b_ub=b if n_rows else None,
                A_eq=sparse.csr_matrix(np.hstack([convex, np.zeros((convex.shape[0], slack_cols.shape[1]))])),
                b_eq=np.ones(convex.shape[0]),
                bounds=(0, None),
                method="highs",
            )
            if result.status != 0:
                raise RuntimeError(f"the master LP failed: {result.message}")
            weights = result.x[: value.size]
            if not self._separate(weights, result.x[value.size + 1 :]):
                break
        self.weights = weights
        self.relaxed = bool(np.any(result.x[value.size :] > 1e-9))
        sigma = result.eqlin.marginals
        duals = -result.ineqlin.marginals if n_rows else np.zeros(0)
        kind = self._row_kinds()
        mu = float(duals[kind == 0].sum()) * self.unit / self.instance.budget_total if (kind == 0).any() else 0.0
        rho = np.zeros((len(self.instance.bars), self.instance.years))
        for pi, cut in zip(duals[kind > 0], self.cuts, strict=True):
            rho[cut.bar] += pi * cut.q
        return float(result.fun) * self.unit, sigma, mu, rho

    def _row_kinds(self) -> np.ndarray:
        """[row] 0 for the budget row, 1 + i for a cut of coupled bar i."""
        budget = [0] if math.isfinite(self.instance.budget_total) else []
        return np.array(budget + [1 + self.coupled.index(cut.bar) for cut in self.cuts], dtype=np.int64)

    def milp(self, time_limit: float, gap: float) -> np.ndarray | None:
        """The best choice of one column per sector meeting the budget and every coupled
        bar (cuts added until it breaks none): ``[sector]`` column positions, or None."""
        start = time.perf_counter()
        while True:
            left = time_limit - (time.perf_counter() - start)
            if left <= 0.0:
                return None
            value, convex, a, b, sector = self._rows()
            constraints = [scipy_optimize.LinearConstraint(convex, 1.0, 1.0)]
            if a.shape[0]:
                constraints.append(scipy_optimize.LinearConstraint(a, -np.inf, b))
            result = scipy_optimize.milp(
                value,
                constraints=constraints,
                integrality=np.ones(value.size),
                bounds=scipy_optimize.Bounds(0, 1),
                options={"time_limit": left, "mip_rel_gap": gap},
            )
            if result.x is None:
                return None
            weights = np.round(result.x)
            if not self._separate(weights, None):
                _, position = self._index()
                return np.array([position[(sector == s) & (weights > 0.5)][0] for s in range(len(self.columns))])


def coupled_bars(instance: Instance) -> list[int]:
    """Bars spanning more than one sector whose unmitigated years do not already meet them
    (those hold for every portfolio)."""
    return [
        b
        for b, bar in enumerate(instance.bars)
        if len(bar.sectors) > 1 and cvar(instance.unmitigated_losses(bar.sectors), bar.level) > bar.cvar_max
    ]


def solve_coupled(instance: Instance, goal: Goal, options: SolverOptions, solve_sector: SectorSolver) -> Solution:
    """Column generation for a ``total`` goal of several sectors coupled by the total
    budget and bars over several sectors (module docstring); ``solve_sector`` solves a
    one-sector problem (the compact MILP with lazily generated rows).

    Status ``optimal``: proven within ``options.gap``; ``time_limit``: stopped by the time
    limit with the best portfolio and bound so far; ``infeasible``: a sector cannot meet
    its own constraints, or no portfolio of the columns meets the coupling rows when no
    column can be added (then the direct formulation must decide: ``exhausted``, as when
    the bound cannot close the gap)."""
    start = time.perf_counter()
    coupled = coupled_bars(instance)
    sectors = [instance.restrict([s]) for s in range(instance.n_sectors)]
    columns = [_Columns() for _ in sectors]
    master = _Master(instance, coupled, columns)
    pricing_gap = options.gap * PRICING_SHARE
    stats = {"rounds": 0, "pricing_solves": 0, "columns": 0, "cuts": 0}
    build = 0.0

    def left() -> float:
        if options.time_limit is None:
            return math.inf
        return options.time_limit - (time.perf_counter() - start)

    def sector_options() -> SolverOptions:
        limit = left()
        return SolverOptions(
            options.solver, pricing_gap, None if math.isinf(limit) else max(limit, 0.01), options.threads
        )

    def price(s: int, sector_goal: Goal) -> Solution:
        nonlocal build
        solution = solve_sector(sectors[s], sector_goal, sector_options())
        stats["pricing_solves"] += 1
        build += solution.build_seconds
        return solution

    def finish(status: str, x: np.ndarray | None, objective: float, bound: float) -> Solution:
        stats["columns"] = sum(len(c.x) for c in columns)
        stats["cuts"] = len(master.cuts)
        if x is None:
            return Solution(
                status, None, None, math.nan, bound, math.nan, build, time.perf_counter() - start - build, stats
            )
        evaluation = evaluate(instance, x)
        gap = max(0.0, objective - bound) / max(abs(objective), 1e-12)
        return Solution(status, x, evaluation, objective, bound, gap, build, time.perf_counter() - start - build, stats)

    # first columns: each sector's own optimum, and its cheapest portfolio
    for s in range(len(sectors)):
        for first in (Goal("total", price=goal.price), Goal("cost")):
            solution = price(s, first)
            if solution.status == "infeasible":
                return finish("infeasible", None, math.nan, math.nan)
            if solution.x is None:
                return finish("time_limit", None, math.nan, math.nan)
            columns[s].add(sectors[s], solution.x[0], goal)

    best_x: np.ndarray | None = None
    upper, lower = math.inf, -math.inf
    while True:
        stats["rounds"] += 1
        _, sigma, mu, rho = master.lp()
        # pricing: one sector MILP each at the LP's duals; together a Lagrangian bound
        bound = -mu * (instance.budget_total if math.isfinite(instance.budget_total) else 0.0)
        bound -= sum(float(rho[b].sum()) * instance.bars[b].cvar_max for b in coupled)
        added = 0
        for s, sector in enumerate(sectors):
            weights = sum((rho[b] for b in coupled if s in instance.bars[b].sectors), np.zeros(instance.years))
            tail = tuple((int(y), float(weights[y])) for y in np.flatnonzero(weights > 0))
            solution = price(s, Goal("total", price=goal.price + mu, tail=tail))
            if solution.x is None:
                return finish("time_limit", best_x, upper, lower)
            bound += solution.bound
            if solution.objective / master.unit < sigma[s] - ROW_TOLERANCE:
                added += columns[s].add(sector, solution.x[0], goal)
        lower = max(lower, bound)
        if added == 0 and not master.relaxed:  # the LP bound is reached: columns the integer optimum may need
            for s, mix_cost in master.split().items():
                limited = sectors[s].replace(budget=np.minimum(sectors[s].budget, mix_cost))
                weights = sum((rho[b] for b in coupled if s in instance.bars[b].sectors), np.zeros(instance.years))
                tail = tuple((int(y), float(weights[y])) for y in np.flatnonzero(weights > 0))
                solution = solve_sector(limited, Goal("total", price=goal.price, tail=tail), sector_options())
                stats["pricing_solves"] += 1
                if solution.x is not None:
                    added += columns[s].add(sectors[s], solution.x[0], goal)
        # the master MILP over the columns: a portfolio of the whole instance
        pick = master.milp(min(MASTER_SECONDS, left()), pricing_gap)
        if pick is not None:
            x = np.stack([columns[s].x[p] for s, p in enumerate(pick)])
            evaluation = evaluate(instance, x)
            if bool(evaluation.feasible):
                objective = goal_value(instance, x, evaluation, goal)
                if objective < upper:
                    upper, best_x = objective, x
        if best_x is not None and upper - lower <= options.gap * abs(upper):
            return finish("optimal", best_x, upper, lower)
        if left() <= 0.0:
            return finish("time_limit", best_x, upper, lower)
        if added == 0 and master.relaxed and master.penalty < MAX_PENALTY:  # the columns cannot meet
            master.penalty *= PENALTY_GROWTH  # the rows at this price: raise it
        elif added == 0:  # nothing new: only the direct formulation can close the rest (or prove infeasibility)
            return finish("exhausted", best_x, upper, lower)
