"""The PuLP model of an SAA instance: the compact formulation, and the naive one.

**Chains, linearised once.** A chain value ``w = prod_j (1 - e_j x_j)`` with binary
``x`` is the recursive product ``w_k = w_{k-1} - e_k z_k`` with ``z_k = x_k w_{k-1}``
written exactly as ``z_k <= x_k``, ``z_k <= w_{k-1}``, ``z_k >= w_{k-1} - (1 - x_k)``,
``z_k >= 0`` (over the options with ``e_k > 0``; the first step of a product is just
``1 - e_1 x_1``). A chain is a product of factors; chains that start with the same
factors share that prefix's steps (a trie), so the society model with every sector and
threat stays small. For binary ``x`` a factor may be split in two
(``(1 - a x)(1 - b x) = 1 - (a + b - ab) x``), which is what lets one option appear in
several factors of a chain.

**Losses.** The expected loss (the objective) is linear in the chain values, so it
never sees single events. A year's loss in a CVaR row is linear in the chains of the
events no blocking coin can stop, plus, for each group of blockable events of that year,
``sum_c b_gc w_c prod_{j in B_g} (1 - x_j)``: each *blocked chain* ``w_c prod_{j in B}
(1 - x_j)`` is linearised exactly like a chain (one product per option of ``B``, the
options in index order) and shared by every group of any year with that chain and a
block with that prefix, so the rows grow with the distinct (chain, block) pairs of the
tail years, not with their events. (A big-M row per group, ``v_g >= sum_c b_gc w_c -
M_g sum_{j in B_g} x_j``, is exact too, but took twice as long on the benchmark's
finance problem.) CVaR by
Rockafellar-Uryasev: ``eta + sum_y u_y / ((1 - beta) S) <= R``, ``u_y >= L_y - eta``,
``u_y >= 0``. Two exact reductions: a bar that the unmitigated years already meet is
implied (every year's loss only falls when measures are added) and gets no rows;
otherwise ``eta`` is bounded below by the ``beta``-quantile ``eta_lo`` of the smallest
reachable year losses (every minimiser of the RU function, a ``beta``-quantile of
``L(x)``, lies above it), so a year whose unmitigated loss is at most ``eta_lo`` always
has ``u_y = 0`` and needs no row. With the rows generated lazily (:mod:`.solve`) only
the years near the tail carry rows, so the model grows with the tail's events, not with
all the years' events.

**Naive formulation** (for the benchmark only): a loss variable per event in every year,
``v_e >= sum_k base_ek w_c(e, k) - M_e sum_{j in B_e} x_j`` with ``M_e = sum_k base_ek``
(exact for binary x: the event's loss while none of its blocking options is in place, 0
once one is), and year losses ``sum_e v_e`` in every year's CVaR row.

Money is scaled by the instance's mean unmitigated loss, so coefficients are near 1 and
solver tolerances mean something.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from itertools import count

import numpy as np
import pulp
from scipy import sparse

from riskmodel.optimize.evaluate import cvar, lower_quantile, money_scale
from riskmodel.optimize.instance import EventLosses, Instance, best_product

Terms = dict[pulp.LpVariable, float]
TANGENTS = 8  # outer-approximation cuts per chain


@dataclass(frozen=True)
class Goal:
    """What to minimise: ``total`` (``price`` x annual cost + expected counted loss;
    price 1 is the planner's objective), ``cost``, the CVaR of bar ``index`` (``cvar``),
    or the F-N ratio of sector ``index`` (``fn``).

    ``tail`` adds ``sum_y weight_y L_y(x)`` to a ``total`` goal, ``L_y`` the year's loss
    (all layers) of the instance's sectors as the CVaR rows count it: the price the
    decomposition (:mod:`.decompose`) puts on a coupled CVaR bar's years."""

    kind: str = "total"
    index: int = 0
    price: float = 1.0  # for ``total``: yen of expected loss one yen of measures must remove
    tail: tuple[tuple[int, float], ...] = ()  # for ``total``: (year, yen per yen of its loss)


TOTAL = Goal()


@dataclass(frozen=True)
class Active:
    """The risk rows a model holds when they are generated lazily: per bar, the years
    with a CVaR row (a bar with none is left out), and the F-N grid rows."""

    years: dict[int, np.ndarray]
    fn_rows: np.ndarray


@dataclass
class Affine:
    """``sum terms + constant``: a linear expression kept as a plain dict while building."""

    terms: Terms = field(default_factory=dict)
    constant: float = 0.0

    def add(self, other: Affine, factor: float) -> None:
        for var, coef in other.terms.items():
            self.terms[var] = self.terms.get(var, 0.0) + factor * coef
        self.constant += factor * other.constant


@dataclass
class Model:
    """A built PuLP problem with the handles needed to read a solution back."""

    problem: pulp.LpProblem
    x: np.ndarray  # [sector, option] of LpVariable
    unit: float  # yen per model money unit
    goal: Goal
    stats: dict[str, int]

    def portfolio(self) -> np.ndarray:
        """The binaries of the solver's solution, rounded: ``x[sector, option]`` (bool)."""
        return np.vectorize(lambda v: (v.varValue or 0.0) > 0.5, otypes=[bool])(self.x)


class _Builder:
    """Adds variables and rows to a PuLP problem, naming them by counters."""

    def __init__(self, name: str):
        self.problem = pulp.LpProblem(name, pulp.LpMinimize)
        self.stats: dict[str, int] = {}
        self._ids = count()

    def tally(self, what: str, n: int = 1) -> None:
        self.stats[what] = self.stats.get(what, 0) + n

    def var(self, prefix: str, low: float | None = 0.0, up: float | None = None, binary: bool = False):
        cat = pulp.LpBinary if binary else pulp.LpContinuous
        return self.problem.add_variable(f"{prefix}{next(self._ids)}", low, up, cat)

    def row(self, expr: Affine, sense: int, rhs: float = 0.0) -> None:
        """Add ``expr (sense) rhs`` with sense one of pulp.LpConstraintLE/GE/EQ."""
        lhs = pulp.LpAffineExpression([(v, c) for v, c in expr.terms.items() if c != 0.0])
        self.problem.addConstraint(pulp.LpConstraint(lhs, sense, None, rhs - expr.constant))


LE, GE, EQ = pulp.LpConstraintLE, pulp.LpConstraintGE, pulp.LpConstraintEQ


class _Chains:
    """Chain values as linear expressions, built once per (sector, factor prefix)."""

    def __init__(self, build: _Builder, instance: Instance, x: np.ndarray):
        self.build, self.instance, self.x = build, instance, x
        self.memo: dict[tuple[int, tuple[int, ...]], Affine] = {}
        self.steps = 0

    def value(self, sector: int, prefix: tuple[int, ...]) -> Affine:
        if not prefix:
            return Affine({}, 1.0)
        key = (sector, prefix)
        if key in self.memo:
            return self.memo[key]
        w = self.value(sector, prefix[:-1])
        reduction = self.instance.factors[prefix[-1]]
        for j in np.flatnonzero(reduction > 0):
            w = self.times(w, float(reduction[j]), self.x[sector, j])
        if len(w.terms) > 1:
            w = self.named(w, "w")
        self.memo[key] = w
        return w

    def named(self, w: Affine, prefix: str) -> Affine:
        """``w`` as one new variable in [0, 1] tied to it by an equality row, so that longer
        products built on ``w`` refer to one variable."""
        v = self.build.var(prefix, 0.0, 1.0)
        self.build.row(Affine({v: 1.0, **{k: -c for k, c in w.terms.items()}}, -w.constant), EQ)
        return Affine({v: 1.0})

    def times(self, w: Affine, e: float, xj: pulp.LpVariable) -> Affine:
        """``w (1 - e x_j)`` for binary ``x_j``: exact with ``z = x_j w`` linearised."""
        if not w.terms:  # a constant times (1 - e x): no new variable needed
            return Affine({xj: -e * w.constant}, w.constant)
        self.steps += 1
        z = self.build.var("z", 0.0, 1.0)
        self.build.row(Affine({z: 1.0, xj: -1.0}), LE)  # z <= x
        below = Affine({z: 1.0})
        below.add(w, -1.0)
        self.build.row(below, LE)  # z <= w
        above = Affine({z: 1.0, xj: -1.0}, 1.0)
        above.add(w, -1.0)
        self.build.row(above, GE)  # z >= w - (1 - x)
        out = Affine(dict(w.terms), w.constant)
        out.terms[z] = out.terms.get(z, 0.0) - e
        return out


def chain_minimum(instance: Instance) -> np.ndarray:
    """[chain] a lower bound on each chain's value over all portfolios: every factor at its
    strongest level of every measure, ignoring the rules."""
    padded = np.append(best_product(instance.factors.T, instance.option_measure), 1.0)
    return np.prod(padded[instance.chain_factors], axis=1)


class _Formulation:
    """Builds one model: decisions, rules, budgets, chains on demand, objective, bars."""

    def __init__(self, instance: Instance, goal: Goal, events: EventLosses | None, active: Active | None):
        self.instance, self.goal, self.events, self.active = instance, goal, events, active
        self.unit = money_scale(instance)
        self.build = _Builder(f"saa_{goal.kind}")
        n_sectors, n_options = instance.cost.shape
        self.x = np.empty((n_sectors, n_options), dtype=object)
        for s in range(n_sectors):
            for j in range(n_options):
                self.x[s, j] = self.build.var("x", 0, 1, binary=True)
        self.chains = _Chains(self.build, instance, self.x)
        self._chain: dict[int, Affine] = {}
        self._naive_years: dict[tuple[int, ...], list[Affine]] = {}
        self._year_groups: list[np.ndarray] | None = None
        self._blocked_memo: dict[tuple[int, tuple[int, ...]], Affine] = {}

    def chain(self, c: int) -> Affine:
        """The value of chain ``c`` (built, with its tangent cuts, on first use)."""
        if c not in self._chain:
            factors = tuple(int(f) for f in self.instance.chain_factors[c] if f >= 0)
            sector = int(self.instance.chain_sector[c])
            self._chain[c] = self.chains.value(sector, factors)
            self._tangents(self._chain[c], sector, factors)
        return self._chain[c]

    def _tangents(self, w: Affine, sector: int, factors: tuple[int, ...]) -> None:
        """Outer-approximation cuts ``w >= exp(t) (1 + l(x) - t)`` at TANGENTS points ``t``.

        ``w = exp(l(x))`` with ``l(x) = sum_j x_j ln(1 - e_j)`` linear, and ``exp`` is
        convex, so every tangent is valid for all x in [0, 1]^n and cuts off none of the
        binary points; it lifts the weak fractional values the product linearisation
        allows and shrinks branch-and-bound trees by an order of magnitude. The points
        are spread over ``[l_min, 0]``, ``l_min`` the strongest reachable reduction.
        """
        inst = self.instance
        kept = np.prod(1.0 - inst.factors[list(factors)], axis=0)
        acting = np.flatnonzero(kept < 1.0)
        if acting.size < 2 or np.any(kept <= 1e-12):  # linear already, or no finite log
            return
        slope = np.log(kept)
        lowest = math.log(float(best_product(1.0 - kept, inst.option_measure)))
        for t in np.linspace(lowest, 0.0, TANGENTS + 2)[1:-1]:
            row = Affine(dict(w.terms), w.constant)
            for j in acting:
                xj = self.x[sector, j]
                row.terms[xj] = row.terms.get(xj, 0.0) - math.exp(t) * slope[j]
            self.build.row(row, GE, math.exp(t) * (1.0 - t))
        self.build.tally("tangent_rows", TANGENTS)

    def linear(self, coefficients: np.ndarray) -> Affine:
        """``sum_c coefficients[c] w_c``."""
        out = Affine()
        for c in np.flatnonzero(coefficients):
            out.add(self.chain(int(c)), float(coefficients[c]))
        return out

    def rules(self) -> None:
        """One level per measure, prerequisites, exclusions, mandatory measures."""
        inst, x, build = self.instance, self.x, self.build
        options = [inst.options_of(m) for m in range(len(inst.measure_ids))]
        for s in range(inst.n_sectors):
            on = [{x[s, j]: 1.0 for j in opts} for opts in options]
            for m, opts in enumerate(options):
                if opts.size > 1:
                    build.row(Affine(on[m]), LE, 1.0)
                if inst.mandatory[s, m]:
                    build.row(Affine(on[m]), GE, 1.0)
            for m, r in inst.requires:
                build.row(Affine({**on[m], **{v: -1.0 for v in on[r]}}), LE)
            for a, b in inst.excludes:
                build.row(Affine({**on[a], **on[b]}), LE, 1.0)

    def cost(self, sectors: list[int]) -> Affine:
        return Affine(
            {
                self.x[s, j]: float(self.instance.cost[s, j]) / self.unit
                for s in sectors
                for j in range(self.instance.n_options)
                if self.instance.cost[s, j] != 0
            }
        )

    def budgets(self) -> None:
        inst = self.instance
        for s in range(inst.n_sectors):
            if np.isfinite(inst.budget[s]):
                self._budget_row([s], float(inst.budget[s]))
        if np.isfinite(inst.budget_total):
            self._budget_row(list(range(inst.n_sectors)), float(inst.budget_total))

    def _budget_row(self, sectors: list[int], budget: float) -> None:
        """``cost / budget <= 1``: scaled by the budget, so the solver's feasibility
        tolerance is relative to it and the evaluator can hold the portfolio to 1e-9;
        a zero budget rules out every option that costs anything."""
        cost = self.instance.cost
        pairs = [(s, j) for s in sectors for j in range(self.instance.n_options) if cost[s, j] != 0]
        if budget > 0:
            self.build.row(Affine({self.x[s, j]: float(cost[s, j]) / budget for s, j in pairs}), LE, 1.0)
        elif pairs:
            self.build.row(Affine({self.x[s, j]: 1.0 for s, j in pairs}), LE, 0.0)

    def year_loss(self, bar_sectors: tuple[int, ...], y: int) -> Affine:
        """``L_y`` of the bar's sectors, in model units."""
        if self.events is not None:
            return self._naive_year(bar_sectors)[y]
        inst = self.instance
        mask = np.isin(inst.chain_sector, bar_sectors)
        out = self.linear(np.where(mask, inst.year_loss[y], 0.0) / self.unit)
        for g in self._groups_of_year(y):
            sector = int(inst.group_sector[g])
            if sector not in bar_sectors:
                continue
            block = tuple(int(j) for j in np.flatnonzero(inst.group_block[g]))
            losses = inst.group_loss[g]
            for c, base in zip(losses.indices, losses.data, strict=True):
                out.add(self._blocked(int(c), sector, block), float(base) / self.unit)
            self.build.tally("groups")
        return out

    def _blocked(self, c: int, sector: int, block: tuple[int, ...]) -> Affine:
        """``w_c prod_{j in block} (1 - x_j)``: chain ``c`` while none of the options in
        ``block`` is in place, exact for binary x; shared by every group with that chain
        and a block with that prefix."""
        if not block:
            return self.chain(c)
        key = (c, block)
        if key not in self._blocked_memo:
            w = self.chains.times(self._blocked(c, sector, block[:-1]), 1.0, self.x[sector, block[-1]])
            self._blocked_memo[key] = self.chains.named(w, "b")
            self.build.tally("blocked_products")
        return self._blocked_memo[key]

    def _groups_of_year(self, y: int) -> np.ndarray:
        """The groups of blockable events of year ``y``."""
        if self._year_groups is None:
            order = np.argsort(self.instance.group_year, kind="stable")
            edges = np.searchsorted(self.instance.group_year[order], np.arange(self.instance.years + 1))
            self._year_groups = [order[edges[k] : edges[k + 1]] for k in range(self.instance.years)]
        return self._year_groups[y]

    def _kept(self, losses: sparse.csr_matrix, sector: int, block: np.ndarray) -> pulp.LpVariable:
        """The naive formulation's loss variable of one event: bounded below by its loss
        while none of its blocking options is in place, and by 0 once one is."""
        v = self.build.var("v", 0.0, None)
        row = Affine({v: 1.0})
        for c, base in zip(losses.indices, losses.data, strict=True):
            row.add(self.chain(int(c)), -float(base) / self.unit)
        big = float(losses.data.sum()) / self.unit
        for j in np.flatnonzero(block):
            row.terms[self.x[sector, j]] = row.terms.get(self.x[sector, j], 0.0) + big
        self.build.row(row, GE)
        return v

    def _naive_year(self, bar_sectors: tuple[int, ...]) -> list[Affine]:
        """Year losses as sums of one loss variable per event (:meth:`_kept`)."""
        if bar_sectors not in self._naive_years:
            events = self.events
            assert events is not None
            keep = np.isin(self.instance.chain_sector, bar_sectors)
            matrix = sparse.csr_matrix(events.matrix.multiply(keep[None, :]))
            matrix.eliminate_zeros()
            years = [Affine() for _ in range(self.instance.years)]
            for e in range(matrix.shape[0]):
                if matrix.indptr[e] == matrix.indptr[e + 1]:
                    continue
                v = self._kept(matrix[e], int(events.sector[e]), events.block[e])
                self.build.tally("event_rows")
                years[int(events.year[e])].terms[v] = 1.0
            self._naive_years[bar_sectors] = years
        return self._naive_years[bar_sectors]

    def cvar(self, b: int) -> Affine:
        """The RU expression ``eta + sum_y u_y / ((1 - beta) S)`` of bar ``b``, with its rows."""
        inst = self.instance
        bar = inst.bars[b]
        mask = np.isin(inst.chain_sector, bar.sectors)
        if self.events is None:
            smallest = np.einsum("yc,c->y", inst.year_loss[:, mask], chain_minimum(inst)[mask])  # groups may all go
            eta_low = float(lower_quantile(smallest, bar.level)) / self.unit
            eta = self.build.var("eta", eta_low, None)
            tail = np.flatnonzero(inst.unmitigated_losses(bar.sectors) / self.unit > eta_low)
            if self.active is not None and self.goal != Goal("cvar", b):
                tail = np.intersect1d(tail, self.active.years.get(b, []))
        else:
            eta = self.build.var("eta", None, None)
            tail = np.arange(inst.years)
        expr = Affine({eta: 1.0})
        weight = 1.0 / ((1.0 - bar.level) * inst.years)
        for y in tail:
            u = self.build.var("u", 0.0, None)
            row = Affine({u: 1.0, eta: 1.0})
            row.add(self.year_loss(bar.sectors, int(y)), -1.0)
            self.build.row(row, GE)  # u_y >= L_y - eta
            expr.terms[u] = weight
        self.build.tally("cvar_rows", len(tail))
        return expr

    def fn_rows(self, sector: int, binding_only: bool) -> list[Affine]:
        """F-N rows of a sector as ``curve / line`` expressions (<= 1 to meet the line)."""
        inst = self.instance
        rows = np.flatnonzero(inst.fn_sector == sector)
        if binding_only:
            unmitigated = np.asarray(inst.fn_rows[rows].sum(axis=1)).ravel()
            rows = rows[unmitigated > inst.fn_limit[rows] * (1.0 + 1e-12)]
            if self.active is not None:
                rows = np.intersect1d(rows, self.active.fn_rows)
        out = []
        for r in rows:
            coefficients = inst.fn_rows[r].toarray().ravel() / inst.fn_limit[r]
            out.append(self.linear(coefficients))
        self.build.tally("fn_rows", len(out))
        return out

    def bars(self) -> None:
        """The risk bars as constraints, except the one the goal minimises."""
        inst = self.instance
        for b, bar in enumerate(inst.bars):
            if self.goal == Goal("cvar", b):
                continue
            if cvar(inst.unmitigated_losses(bar.sectors), bar.level) <= bar.cvar_max:
                continue  # met with no measures, so met by every portfolio
            if self.active is not None and len(self.active.years.get(b, [])) == 0:
                continue  # no year generated yet
            self.build.row(self.cvar(b), LE, bar.cvar_max / self.unit)
        for s in range(inst.n_sectors if inst.fn_imposed else 0):
            if self.goal == Goal("fn", s):
                continue
            for row in self.fn_rows(s, binding_only=True):
                self.build.row(row, LE, 1.0)

    def objective(self) -> None:
        inst, goal = self.instance, self.goal
        if goal.kind == "total":
            expr = Affine()
            expr.add(self.cost(list(range(inst.n_sectors))), goal.price)
            expr.add(self.linear(inst.counted_mean() / self.unit), 1.0)
            every = tuple(range(inst.n_sectors))
            for y, weight in goal.tail:
                expr.add(self.year_loss(every, y), weight)
        elif goal.kind == "cost":
            expr = self.cost(list(range(inst.n_sectors)))
        elif goal.kind == "cvar":
            expr = self.cvar(goal.index)
        elif goal.kind == "fn":
            t = self.build.var("t", 0.0, None)
            for row in self.fn_rows(goal.index, binding_only=False):
                row.terms[t] = row.terms.get(t, 0.0) - 1.0
                self.build.row(row, LE)  # curve / line <= t
            expr = Affine({t: 1.0})
        else:
            raise ValueError(f"unknown goal {goal.kind!r}")
        if expr.constant != 0.0:  # solvers drop an objective constant: carry it on a variable fixed at 1
            expr.terms[self.build.var("one", 1.0, 1.0)] = expr.constant
        self.build.problem.setObjective(pulp.LpAffineExpression([(v, c) for v, c in expr.terms.items() if c != 0.0]))


def build_model(
    instance: Instance,
    goal: Goal = TOTAL,
    bars: bool = True,
    events: EventLosses | None = None,
    active: Active | None = None,
) -> Model:
    """The MILP of ``instance``: minimise ``goal`` under the rules, the budgets and (if
    ``bars``) the CVaR bars and F-N lines. ``events`` switches to the naive formulation;
    ``active`` holds only some of the risk rows (constraint generation)."""
    form = _Formulation(instance, goal, events, active)
    form.rules()
    form.budgets()
    form.objective()
    if bars:
        form.bars()
    stats = dict(form.build.stats)
    stats.update(options=int(form.x.size), chains=len(form._chain), steps=form.chains.steps)
    return Model(form.build.problem, form.x, form.unit, goal, stats)
