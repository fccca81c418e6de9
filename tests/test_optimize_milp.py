"""The MILP against brute force: on random small instances its optimum is the best of
all portfolios on the same years, found by enumeration with the numpy evaluator.

Instances are built from arrays (no engine): up to 12 binaries over one or two sectors,
measures with levels, prerequisites, exclusions, mandatory measures, budgets, CVaR bars
(a society bar too), F-N rows, and a few hundred years of heavy-tailed losses. Bars are
drawn around what is reachable, so some instances bind, some do not and some are
infeasible; every status must agree with the enumeration.
"""

from __future__ import annotations

import itertools
import math
from pathlib import Path

import numpy as np
import pytest
from scipy import sparse

from riskmodel.metrics import LossSketch
from riskmodel.optimize.analysis import frontier, marginal
from riskmodel.optimize.evaluate import bar_losses, chain_values, cvar, evaluate, money_scale
from riskmodel.optimize.instance import ALL_LAYERS, OWN_LAYERS, Bar, EventLosses, Instance
from riskmodel.optimize.milp import Goal, build_model
from riskmodel.optimize.solve import SolverOptions, VerificationError, _run_highs, parse_cbc_log, solve

EXACT = SolverOptions(gap=1e-9)
N_RANDOM = 60


def random_instance(seed: int) -> Instance:
    """A random instance with at most 12 binaries; see the module docstring."""
    rng = np.random.default_rng(seed)
    n_sectors = int(rng.choice([1, 2], p=[0.6, 0.4]))
    n_options = 12 // n_sectors - int(rng.integers(0, 3))
    levels = []
    while sum(levels) < n_options:
        levels.append(int(min(rng.choice([1, 1, 2, 3]), n_options - sum(levels))))
    n_measures = len(levels)
    option_measure = np.repeat(np.arange(n_measures), levels)
    pairs = [(a, b) for a in range(n_measures) for b in range(n_measures) if a != b]
    picks = rng.permutation(len(pairs))
    requires = np.array([pairs[i] for i in picks[: rng.integers(0, 3)]], dtype=np.int64).reshape(-1, 2)
    excludes = np.array([sorted(pairs[i]) for i in picks[3 : 3 + rng.integers(0, 2)]], dtype=np.int64).reshape(-1, 2)
    mandatory = rng.random((n_sectors, n_measures)) < 0.08
    cost = rng.lognormal(0.0, 0.7, (n_sectors, n_options)) * rng.uniform(0.02, 0.2)
    # factors: threat survival, duration, depth, ...; levels of a measure grow stronger
    n_factors = int(rng.integers(2, 6))
    factors = np.where(rng.random((n_factors, n_options)) < 0.45, rng.uniform(0.05, 0.7, (n_factors, n_options)), 0.0)
    for m in range(n_measures):
        opts = np.flatnonzero(option_measure == m)
        factors[:, opts] = np.sort(factors[:, opts], axis=1)
    chains = [
        (s, tuple(rng.choice(n_factors, size=rng.integers(1, min(3, n_factors) + 1), replace=False)))
        for s in range(n_sectors)
        for _ in range(rng.integers(2, 6))
    ]
    n_chains = len(chains)
    depth = max(len(f) for _, f in chains)
    chain_factors = np.full((n_chains, depth), -1, dtype=np.int64)
    for c, (_, f) in enumerate(chains):
        chain_factors[c, : len(f)] = f
    years = int(rng.integers(150, 400))
    hits = rng.random((years, n_chains)) < rng.uniform(0.2, 0.8, n_chains)
    year_loss = np.where(hits, rng.lognormal(0.0, 1.2, (years, n_chains)), 0.0) * rng.uniform(0.2, 1.0, n_chains)
    # part of the losses in groups of events that blocking coins of some options stop
    chain_sector = np.array([s for s, _ in chains], dtype=np.int64)
    group_year, group_sector, group_block, group_rows = [], [], [], []
    for y in range(years):
        for _ in range(int(rng.integers(0, 3))):
            s = int(rng.integers(0, n_sectors))
            mine = np.flatnonzero((chain_sector == s) & (year_loss[y] > 0))
            if mine.size == 0:
                continue
            cut = np.zeros(n_chains)
            cut[mine] = year_loss[y, mine] * rng.uniform(0.2, 0.8, mine.size)
            year_loss[y] -= cut
            group_year.append(y)
            group_sector.append(s)
            group_block.append(rng.random(n_options) < 0.3)
            group_rows.append(cut)
    shares = rng.dirichlet([1.0, 1.0, 1.0], n_chains).T  # own, users, others
    mean = year_loss.mean(axis=0) + np.sum(group_rows, axis=0) / years
    layer_mean = shares * mean
    rng.uniform(0, 1, n_chains)  # drew a former fourth layer: kept, so each seed still gives its instance
    base = Instance(
        sector_ids=tuple(f"s{i}" for i in range(n_sectors)),
        option_labels=tuple(f"o{j}" for j in range(n_options)),
        option_measure=option_measure,
        measure_ids=tuple(f"m{m}" for m in range(n_measures)),
        requires=requires,
        excludes=excludes,
        mandatory=mandatory,
        cost=cost,
        factors=factors,
        factor_names=tuple(f"f{f}" for f in range(n_factors)),
        chain_sector=chain_sector,
        chain_factors=chain_factors,
        year_loss=year_loss,
        layer_mean=layer_mean,
        counted_layers=OWN_LAYERS if rng.random() < 0.5 else ALL_LAYERS,
        bars=(),
        fn_rows=sparse.csr_matrix((0, n_chains)),
        fn_limit=np.zeros(0),
        fn_sector=np.zeros(0, dtype=np.int64),
        budget=np.full(n_sectors, math.inf),
        budget_total=math.inf,
        bounded_share=np.zeros(n_sectors),
        group_year=np.array(group_year, dtype=np.int64),
        group_sector=np.array(group_sector, dtype=np.int64),
        group_block=np.array(group_block, dtype=bool).reshape(-1, n_options),
        group_loss=sparse.csr_matrix(np.array(group_rows).reshape(-1, n_chains)),
    )
    # bars in the reachable range: a low quantile of the CVaRs of all portfolios, a little
    # below or above it, so that some bind, some do not and some cannot be met
    everyone = all_portfolios(base)
    w = chain_values(base, everyone)

    def bar_at(label: str, sectors: tuple[int, ...], level: float) -> Bar:
        reachable = cvar(bar_losses(base, everyone, w, sectors), level)
        return Bar(
            label, sectors, level, float(np.quantile(reachable, rng.uniform(0.05, 0.6))) * rng.uniform(0.97, 1.15)
        )

    bars = [bar_at(f"s{s}", (s,), float(rng.choice([0.9, 0.95, 0.99]))) for s in range(n_sectors)]
    if n_sectors > 1 and rng.random() < 0.5:
        bars.append(bar_at("society", (0, 1), 0.95))
    rows, limits, row_sector = [], [], []
    for s in range(n_sectors):
        for _ in range(int(rng.integers(0, 4))):
            frequency = np.where(
                (chain_sector == s) & (rng.random(n_chains) < 0.6), rng.uniform(0.01, 1.0, n_chains), 0
            )
            if not frequency.any():
                continue
            rows.append(frequency)
            limits.append(frequency.sum() * rng.uniform(0.2, 1.2))
            row_sector.append(s)
    budget_scale = cost.sum() * rng.uniform(0.1, 0.8)
    budget = np.where(rng.random(n_sectors) < 0.3, budget_scale / n_sectors, math.inf)
    return base.replace(
        bars=tuple(bars),
        fn_rows=sparse.csr_matrix(np.array(rows).reshape(-1, n_chains)),
        fn_limit=np.array(limits, dtype=float),
        fn_sector=np.array(row_sector, dtype=np.int64),
        budget=budget,
        budget_total=budget_scale if rng.random() < 0.3 else math.inf,
        # a liability rule on half the sectors-alone instances: the uncounted layers at a share
        liability=float(rng.uniform(0, 1)) if base.counted_layers == OWN_LAYERS and rng.random() < 0.5 else 0.0,
    )


def all_portfolios(instance: Instance) -> np.ndarray:
    n = instance.n_sectors * instance.n_options
    bits = np.array(list(itertools.product([False, True], repeat=n)), dtype=bool)
    return bits.reshape(-1, instance.n_sectors, instance.n_options)


def enumerate_best(instance: Instance) -> tuple[float | None, np.ndarray]:
    """The best objective over every feasible portfolio (None if none is feasible)."""
    evaluation = evaluate(instance, all_portfolios(instance))
    feasible = evaluation.feasible
    if not feasible.any():
        return None, feasible
    return float(evaluation.objective[feasible].min()), feasible


def test_random_instances_cover_every_case():
    """The generator's instances bind, do not bind and are infeasible, with every rule."""
    kinds = {"infeasible": 0, "binding": 0, "slack": 0}
    rules = {"requires": 0, "excludes": 0, "mandatory": 0, "levels": 0, "fn": 0, "society": 0, "budget": 0}
    for seed in range(N_RANDOM):
        instance = random_instance(seed)
        best, _ = enumerate_best(instance)
        free = instance.replace(bars=(), fn_imposed=False)
        unbarred, _ = enumerate_best(free)
        kinds["infeasible" if best is None else "binding" if best > unbarred * (1 + 1e-9) else "slack"] += 1
        rules["requires"] += len(instance.requires) > 0
        rules["excludes"] += len(instance.excludes) > 0
        rules["mandatory"] += bool(instance.mandatory.any())
        rules["levels"] += len(instance.measure_ids) < instance.n_options
        rules["fn"] += instance.fn_limit.size > 0
        rules["society"] += any(len(b.sectors) > 1 for b in instance.bars)
        rules["budget"] += bool(np.isfinite(instance.budget).any() or np.isfinite(instance.budget_total))
    assert min(kinds.values()) >= 5, kinds
    assert min(rules.values()) >= 5, rules


@pytest.mark.parametrize("seed", range(N_RANDOM))
def test_milp_optimum_equals_enumeration(seed):
    """Solved with the exact shortcuts (decomposition, lazily generated risk rows) and
    without them (the full RU model), the optimum and the status match brute force."""
    instance = random_instance(seed)
    best, _ = enumerate_best(instance)
    for shortcuts in (True, False):
        solution = solve(instance, options=EXACT, lazy=shortcuts, decompose=shortcuts)
        if best is None:
            assert solution.status == "infeasible" and solution.x is None
            continue
        assert solution.status == "optimal"
        assert abs(solution.objective - best) <= 1e-6 * abs(best)
        assert bool(evaluate(instance, solution.x).feasible)


def random_events(instance: Instance, seed: int) -> EventLosses:
    """Each year's unblockable base losses cut into one to three events at random (per
    sector), and every group of blockable events as one event with its coins."""
    rng = np.random.default_rng(seed)
    rows, years, sectors, blocks = [], [], [], []
    for y, losses in enumerate(instance.year_loss):
        for s in range(instance.n_sectors):
            mine = np.where(instance.chain_sector == s, losses, 0.0)
            cuts = rng.dirichlet(np.ones(int(rng.integers(1, 4))), size=mine.size).T  # [event, chain]
            rows += list(cuts * mine)
            years += [y] * len(cuts)
            sectors += [s] * len(cuts)
            blocks += [np.zeros(instance.n_options, dtype=bool)] * len(cuts)
    rows += list(instance.group_loss.toarray())
    years += list(instance.group_year)
    sectors += list(instance.group_sector)
    blocks += list(instance.group_block)
    return EventLosses(
        np.array(years), np.array(sectors), np.array(blocks, dtype=bool).reshape(-1, instance.n_options),
        sparse.csr_matrix(np.array(rows)),
    )  # fmt: skip


@pytest.mark.parametrize("seed", [0, 3, 6, 11, 17])
def test_naive_formulation_has_the_same_optimum(seed):
    """The benchmark's naive formulation (a loss variable and a row per event) agrees."""
    instance = random_instance(seed)
    best, _ = enumerate_best(instance)
    naive = solve(instance, options=EXACT, events=random_events(instance, seed))
    assert naive.status == ("infeasible" if best is None else "optimal")
    if best is not None:
        assert abs(naive.objective - best) <= 1e-6 * abs(best)


@pytest.mark.parametrize("seed", [1, 4, 7, 12, 23])
def test_highs_and_cbc_agree(seed):
    instance = random_instance(seed)
    highs = solve(instance, options=EXACT, lazy=False, decompose=False)
    cbc = solve(instance, options=SolverOptions(solver="cbc", gap=1e-9), lazy=False, decompose=False)
    assert highs.status == cbc.status
    if highs.x is not None:
        assert abs(highs.objective - cbc.objective) <= 1e-6 * abs(highs.objective)


@pytest.mark.parametrize("seed", [2, 5, 9])
def test_a_larger_budget_never_gives_a_worse_objective(seed):
    instance = random_instance(seed).replace(budget_total=math.inf)
    top = instance.cost.sum()
    previous = math.inf
    feasible_before = False
    for budget in np.linspace(0.0, top, 7):
        solution = solve(instance.replace(budget=np.full(instance.n_sectors, math.inf), budget_total=budget),
                         options=EXACT)  # fmt: skip
        if solution.x is None:
            assert not feasible_before  # once feasible, a larger budget stays feasible
            continue
        feasible_before = True
        assert solution.objective <= previous * (1 + 1e-9)
        previous = solution.objective


def one_chain_instance(losses: np.ndarray, level: float) -> Instance:
    """One sector, one option with no effect, one chain holding ``losses`` as its years."""
    years = losses.size
    return Instance(
        sector_ids=("s",), option_labels=("o",), option_measure=np.zeros(1, dtype=np.int64), measure_ids=("m",),
        requires=np.zeros((0, 2), dtype=np.int64), excludes=np.zeros((0, 2), dtype=np.int64),
        mandatory=np.zeros((1, 1), dtype=bool), cost=np.ones((1, 1)), factors=np.zeros((1, 1)), factor_names=("f",),
        chain_sector=np.zeros(1, dtype=np.int64), chain_factors=np.zeros((1, 1), dtype=np.int64),
        year_loss=losses.reshape(years, 1), layer_mean=np.vstack([[losses.mean()], [0], [0]]),
        counted_layers=ALL_LAYERS, bars=(Bar("s", (0,), level, 1.0),), fn_rows=sparse.csr_matrix((0, 1)),
        fn_limit=np.zeros(0), fn_sector=np.zeros(0, dtype=np.int64), budget=np.full(1, math.inf),
        budget_total=math.inf, bounded_share=np.zeros(1), **Instance.no_groups(1, 1),
    )  # fmt: skip


@pytest.mark.parametrize("level,years", [(0.99, 500), (0.95, 333), (0.9, 250)])
def test_rockafellar_uryasev_lp_equals_the_sketch_tvar(level, years):
    """min over eta of the RU LP equals LossSketch.tvar (and the evaluator's sorted CVaR)."""
    losses = np.random.default_rng(years).lognormal(10.0, 1.5, years)
    instance = one_chain_instance(losses, level)
    model = build_model(instance, Goal("cvar", 0), bars=False)
    outcome = _run_highs(model, EXACT)
    lp = outcome.objective * model.unit
    sketch = LossSketch.from_losses(losses)
    assert lp == pytest.approx(float(cvar(losses, level)), rel=1e-9)
    assert lp == pytest.approx(sketch.tvar(level), rel=1e-9)


def test_an_infeasible_instance_is_reported_as_such():
    instance = random_instance(0)
    impossible = instance.replace(
        bars=tuple(Bar(b.label, b.sectors, b.level, b.cvar_max * 1e-6) for b in instance.bars)
    )
    assert solve(impossible, options=EXACT).status == "infeasible"
    assert solve(impossible, options=EXACT, lazy=False, decompose=False).status == "infeasible"


def test_verification_catches_a_wrong_model(monkeypatch):
    """A model whose objective disagrees with the evaluator is never reported."""
    instance = random_instance(3).replace(bars=(), fn_imposed=False)
    monkeypatch.setattr("riskmodel.optimize.milp.Instance.counted_mean", lambda self: 0.5 * self.layer_mean[:3].sum(0))
    with pytest.raises(VerificationError, match="objective"):
        solve(instance, options=EXACT)


CBC_LOGS = Path(__file__).parent / "data" / "cbc"  # real CBC 2.10.3 logs (PuLP's bundled binary)


def test_cbc_log_statuses():
    """CBC's own verdicts, read from real logs: PuLP reported 'Optimal' for stopped.log,
    a run CBC stopped at its time limit with a 3% gap."""
    stopped = parse_cbc_log((CBC_LOGS / "stopped.log").read_text(), time_limited=True)
    assert (stopped.status, stopped.has_solution, stopped.objective, stopped.bound) == (
        "time_limit", True, 4260.0, 4116.622)  # fmt: skip
    tiny = parse_cbc_log((CBC_LOGS / "tiny.log").read_text(), time_limited=True)
    assert (tiny.status, tiny.has_solution, tiny.bound) == ("time_limit", False, -139553.05)  # from Cbc0005I
    assert parse_cbc_log((CBC_LOGS / "infeasible.log").read_text()).status == "infeasible"
    done = parse_cbc_log((CBC_LOGS / "optimal.log").read_text())
    assert (done.status, done.objective, done.bound) == ("optimal", 823.0, 823.0)
    assert parse_cbc_log("Result - Problem proven infeasible\n").status == "infeasible"
    cut_short = "Cbc0045I Pre-processing says infeasible or unbounded\n"  # no verdict line
    assert parse_cbc_log(cut_short, time_limited=True).status == "time_limit"
    with pytest.raises(RuntimeError, match="without a verdict"):
        parse_cbc_log(cut_short)


def test_money_is_scaled_near_one():
    instance = random_instance(8)
    model = build_model(instance)
    assert model.unit == money_scale(instance)
    coefficients = [abs(c) for c in model.problem.objective.values()]
    assert 1e-4 < max(coefficients) < 1e2


@pytest.mark.parametrize("seed", [2, 10, 21])
def test_frontier_points_are_the_lowest_loss_for_their_cost(seed):
    """Each price point is the lowest-loss portfolio within a budget equal to its own cost
    (brute force), the curve falls as it costs more, and the cheapest acceptable point is
    the cheapest portfolio meeting every bar."""
    instance = random_instance(seed).replace(budget=np.full(random_instance(seed).n_sectors, math.inf),
                                             budget_total=math.inf)  # fmt: skip
    frame = frontier(instance, "p", 6, 0.95, EXACT)
    portfolios = all_portfolios(instance)
    evaluation = evaluate(instance, portfolios)
    allowed = evaluation.rules_ok.all(axis=-1)
    cost, loss = evaluation.cost.sum(axis=-1), evaluation.counted.sum(axis=-1)
    points = frame[frame["point"] == "price"]
    for row in points.itertuples():
        within = allowed & (cost <= row.cost * (1 + 1e-9))
        assert row.expected_loss == pytest.approx(loss[within].min(), rel=1e-6)
    assert points["expected_loss"].is_monotonic_decreasing and points["cost"].is_monotonic_increasing
    acceptable = frame[frame["point"] == "cheapest_acceptable"].iloc[0]
    if acceptable["status"] == "optimal":
        assert acceptable["cost"] == pytest.approx(cost[evaluation.feasible].min(), rel=1e-6, abs=1e-12)
    else:
        assert not evaluation.feasible.any()


@pytest.mark.parametrize("seed", [2, 4, 7, 21])  # 4 and 7 drop dependents with a chosen option
def test_per_measure_figures_satisfy_the_optimality_conditions(seed):
    """At the optimum with no budget or bar, every chosen option (with what needs it)
    removes at least what it costs, and no addable option removes more than it costs."""
    instance = random_instance(seed).replace(budget=np.full(random_instance(seed).n_sectors, math.inf),
                                             budget_total=math.inf, bars=(), fn_imposed=False)  # fmt: skip
    solution = solve(instance, options=EXACT)
    table = marginal(instance, solution.x)
    for row in table.itertuples():
        s, j = instance.sector_ids.index(row.sector), instance.option_labels.index(row.option)
        spend = instance.cost[s, j]
        if row.chosen and "without " in row.note:  # the dependents dropped with it save their cost too
            dropped = row.note.split("without ")[1].split(", ")
            spend += sum(instance.cost[s, k] for k in np.flatnonzero(solution.x[s])
                         if instance.measure_ids[instance.option_measure[k]] in dropped)  # fmt: skip
        assert row.cost == pytest.approx(spend, rel=1e-12)
        if row.cost > 0:
            assert row.rosi == pytest.approx((row.loss_removed - row.cost) / row.cost, rel=1e-9)
        if row.cost == 0 or row.note.startswith("mandatory"):
            continue
        if row.chosen:
            assert row.loss_removed >= row.cost * (1 - 1e-6)
        else:
            assert row.loss_removed <= row.cost * (1 + 1e-6)
