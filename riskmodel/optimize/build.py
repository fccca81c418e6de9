"""Building the SAA instance from engine years: chains, base losses, rules, costs, bars.

Every event of the engine years (no measures in place) has its unmitigated losses; under
a portfolio its own loss scales with ``survive x duration x depth x direct``, its
users' loss with ``survive x depth x duration`` (continuous services) and its others' loss
with ``survive x depth x cascade x duration``, where duration is ``D ((1 - a) + a T)`` with
``a`` the threat's detection share. Each of these products, per sector and threat, is a
chain; an event adds its base losses (weighted by ``1 - a`` or ``a``) to its chains'
columns of its year, so the model never sees single events.

Three engine effects are not linear in the multipliers. For them the chain leaves out
the effect it may not credit, which bounds the engine's residual loss from above (every
multiplier is at most 1 and these losses are monotone), so a portfolio the SAA accepts
is never better in the engine than the SAA says:

* trips services: persons scale with ``f(d) = max(min(1, d/H), d/24)`` of the duration
  ``d``. With ``g(m) = f(m d) / f(d)`` for a duration multiplier ``m``, the event's users'
  loss is split into ``alpha`` crediting duration and ``1 - alpha`` not, with the largest
  ``alpha`` such that ``g(m) <= alpha m + 1 - alpha`` for every reachable ``m`` (exact for
  ``d <= H``, where ``g(m) = m``);
* outages at the cap ``MAX_OUTAGE_HOURS``: users' and others' losses credit no duration;
* a cascade that hit the clip: a single failure's others' loss credits only survival
  (it is monotone in the shock and the duration); a disaster hit's share, which the
  kernel scales to the clipped total of all hits, is bounded by its unclipped linear
  value, which credits every effect.

``bounded_share`` reports, per sector, the share of base loss treated this way.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit
from scipy import sparse

from riskmodel.engine.events import EVENT_COLUMNS
from riskmodel.engine.kernels import DISASTER, MAX_OUTAGE_HOURS, trips_share
from riskmodel.metrics import FN_BINS, FN_BINS_PER_DECADE, fn_bin
from riskmodel.optimize.instance import ALL_LAYERS, OTHERS, OWN, USERS, Bar, EventLosses, Instance, best_product
from riskmodel.optimize.sample import EventSample
from riskmodel.streams import THINNING_STREAM, counter_rng
from riskmodel.world import SERVICE_KINDS, World

TRIPS = SERVICE_KINDS.index("trips")
CLIP_TOLERANCE = 1e-9  # relative shortfall of the ELT's others' loss below the linear value that marks a clip


@njit(cache=True)
def _fn_bins(persons: np.ndarray) -> np.ndarray:
    """The kernel's F-N bin of each event (-1 below one person), with the kernel's own code."""
    out = np.empty(persons.size, dtype=np.int64)
    for i in range(persons.size):
        out[i] = fn_bin(persons[i])
    return out


def duration_credit(duration: np.ndarray, hours: np.ndarray, m_min: np.ndarray) -> np.ndarray:
    """Largest ``alpha`` in [0, 1] with ``g(m) <= alpha m + 1 - alpha`` for all m in [m_min, 1].

    ``g(m) = f(m d) / f(d)`` is a trips event's users' loss under a duration multiplier
    ``m`` relative to its base, with ``f`` the kernel's persons factor. ``g`` is piecewise
    linear in ``m`` with breakpoints where ``m d`` equals ``H`` or 24 hours, so ``(1 - g(m))
    / (1 - m)`` is monotone on each piece: its minimum over ``[m_min, 1)`` is at a
    breakpoint, at ``m_min``, or the slope of ``g`` at 1 (0 where ``H < d <= 24``: a day's
    trips are lost whether the outage lasts ``H`` or 24 hours).
    """
    base = trips_share(duration, hours)
    alpha = np.where((duration > hours) & (duration <= 24.0), 0.0, 1.0)
    for m in (hours / duration, 24.0 / duration, m_min):
        inside = (m >= m_min) & (m < 1.0)
        m_safe = np.where(inside, m, 0.5)
        ratio = (1.0 - trips_share(m_safe * duration, hours) / base) / (1.0 - m_safe)
        alpha = np.where(inside, np.minimum(alpha, ratio), alpha)
    return np.clip(alpha, 0.0, 1.0)


@dataclass
class _Factors:
    """Factor vectors with duplicates merged and all-zero ones dropped (their product is 1)."""

    vectors: list[np.ndarray]
    names: list[str]
    ids: dict[bytes, int]

    def add(self, reduction: np.ndarray, name: str) -> int:
        """Id of a factor (-1 for one that never reduces anything)."""
        if not np.any(reduction > 0):
            return -1
        key = np.ascontiguousarray(reduction, dtype=float).tobytes()
        if key not in self.ids:
            self.ids[key] = len(self.vectors)
            self.vectors.append(np.asarray(reduction, dtype=float))
            self.names.append(name)
        else:
            self.names[self.ids[key]] += f"|{name}"
        return self.ids[key]


@dataclass
class _Chains:
    """Chains keyed by (sector, factor tuple), with their id in order of first use."""

    keys: dict[tuple[int, tuple[int, ...]], int]

    def id(self, sector: int, factors: tuple[int, ...]) -> int:
        key = (sector, tuple(f for f in factors if f >= 0))
        return self.keys.setdefault(key, len(self.keys))


def _catalogue_arrays(world: World) -> dict[str, object]:
    """Options, measures and rules of the catalogue (as the compiled world has them)."""
    cat = world.catalogue
    return {
        "option_labels": cat.option_labels,
        "option_measure": cat.option_measure.copy(),
        "measure_ids": tuple(cat.measure_ids),
        "requires": np.argwhere(cat.requires).astype(np.int64).reshape(-1, 2),
        "excludes": np.argwhere(np.triu(cat.excludes)).astype(np.int64).reshape(-1, 2),
    }


def _costs(world: World, sectors: list[int]) -> np.ndarray:
    """[sector, option] annual cost of an option at every operator of the sector."""
    cat, op = world.catalogue, world.operators
    count = np.array([np.sum(op.sector == s) for s in sectors], dtype=float)
    revenue = np.array([op.revenue[op.sector == s].sum() for s in sectors])
    return count[:, None] * cat.cost_fixed[None, :] + revenue[:, None] * cat.cost_revenue_share[None, :]


@dataclass(frozen=True)
class _FactorIds:
    """Factor ids of the catalogue's effects (-1: no option has that effect)."""

    survive: list[int]  # per threat
    duration: int
    detection: int
    depth: int
    cascade: int
    direct: int
    depth_power: dict[float, int]  # F-N exponent -> depth ** exponent


def _factor_ids(world: World, exponents: set[float], factors: _Factors) -> _FactorIds:
    cat = world.catalogue
    survive = [factors.add(cat.frequency[:, h], f"survive:{t}") for h, t in enumerate(world.threat_ids)]
    common = {
        name: factors.add(getattr(cat, name), name) for name in ("duration", "detection", "depth", "cascade", "direct")
    }
    power = {a: common["depth"] if a == 1.0 else factors.add(1.0 - (1.0 - cat.depth) ** a, f"depth^{a:g}")
             for a in sorted(exponents)}  # fmt: skip
    return _FactorIds(survive=survive, depth_power=power, **common)


@dataclass(frozen=True)
class _Split:
    """Every event's base loss split by the chain that scales it (module docstring)."""

    kinds: list[tuple[int, tuple[int, ...], np.ndarray]]  # (layer, factors before survival, base per event)
    bounded: np.ndarray  # [event] base loss bounded from above rather than reproduced
    total: np.ndarray  # [event] base loss, all layers


def _split(world: World, ev: dict[str, np.ndarray], ids: _FactorIds) -> _Split:
    cat, op, threats = world.catalogue, world.operators, world.threats
    s, h, o = ev["sector"], ev["threat"], ev["operator"]
    share = threats.detection_share[h]
    # duration credit: users' and others' losses may credit duration measures in full,
    # in part (trips beyond the service hours) or not at all (outages at the cap)
    detection_left = best_product(cat.detection, cat.option_measure)
    m_min = best_product(cat.duration, cat.option_measure) * (1.0 - share + share * detection_left)
    capped = ev["duration_hours"] >= MAX_OUTAGE_HOURS
    trips = world.service_kind[s] == TRIPS
    credit_users = np.where(trips, duration_credit(ev["duration_hours"], world.service_hours[s], m_min), 1.0)
    credit_users = np.where(capped, 0.0, credit_users)
    credit_economy = np.where(capped, 0.0, 1.0)
    # others' layer: the linear (unclipped) value, and whether the cascade hit the clip
    node = op.node[o]
    shock = ev["depth"] * op.node_share[o] * world.cascade_share[s]
    linear = world.cascade.others_weight[node] * shock * ev["duration_hours"]
    clipped = ev["others"] < linear * (1.0 - CLIP_TOLERANCE)
    disaster = threats.kind[h] == DISASTER
    single_clipped = clipped & ~disaster
    economy = np.where(single_clipped, 0.0, np.where(clipped, linear, ev["others"]))
    P, D, C, R, T = ids.depth, ids.duration, ids.cascade, ids.direct, ids.detection
    kinds = [
        (OWN, (P, D, R), ev["own"] * (1.0 - share)),
        (OWN, (P, D, R, T), ev["own"] * share),
        (USERS, (P, D), ev["users"] * credit_users * (1.0 - share)),
        (USERS, (P, D, T), ev["users"] * credit_users * share),
        (USERS, (P,), ev["users"] * (1.0 - credit_users)),
        (OTHERS, (P, D, C), economy * credit_economy * (1.0 - share)),
        (OTHERS, (P, D, C, T), economy * credit_economy * share),
        (OTHERS, (P, C), economy * (1.0 - credit_economy)),
        (OTHERS, (), np.where(single_clipped, ev["others"], 0.0)),
    ]
    bounded = (
        ev["users"] * (1.0 - credit_users)
        + economy * (1.0 - credit_economy)
        + np.where(single_clipped, ev["others"], 0.0)
        + np.where(clipped & disaster, linear - ev["others"], 0.0)
    )
    return _Split(kinds, bounded, ev["own"] + ev["users"] + ev["others"])


def build_instance(world: World, sample: EventSample, sectors: list[int] | None = None) -> Instance:
    """The SAA instance of ``sectors`` (default: every critical sector) on ``sample``'s years.

    It counts every layer (society's view) and carries each sector's own bars (its
    ``[acceptability]`` CVaR bar on the annual loss, all layers, of its failures, and its
    F-N line), no budget, and the mandatory measures of the scenario's ministries; callers
    change counting, bars and budgets with :meth:`Instance.replace`.
    """
    return _build(world, sample, sectors, keep_events=False)[0]


def build_instance_and_events(
    world: World, sample: EventSample, sectors: list[int] | None = None
) -> tuple[Instance, EventLosses]:
    """:func:`build_instance` and the per-event losses the naive formulation needs."""
    instance, events = _build(world, sample, sectors, keep_events=True)
    assert events is not None
    return instance, events


def _build(
    world: World, sample: EventSample, sectors: list[int] | None, keep_events: bool
) -> tuple[Instance, EventLosses | None]:
    sectors = world.critical_sectors if sectors is None else list(sectors)
    rules = [world.scenario.sectors[s].acceptability for s in sectors]
    assert all(rule is not None for rule in rules)  # critical sectors have their bars
    factors = _Factors([], [], {})
    ids = _factor_ids(world, {rule.fn_exponent for rule in rules}, factors)  # type: ignore[union-attr]

    position = np.full(world.n_sectors, -1, dtype=np.int64)
    position[sectors] = np.arange(len(sectors))
    mine = position[sample.events.sector] >= 0
    ev = {name: getattr(sample.events, name)[mine] for name in EVENT_COLUMNS}
    s_pos, h = position[ev["sector"]], ev["threat"]
    split = _split(world, ev, ids)

    # chain ids: per (sector, kind, threat) with the threat's survival for the means
    # (expected thinning), per (sector, kind) without it for the CVaR (blocking coins)
    chains = _Chains({})
    pairs = sorted(set(zip(s_pos.tolist(), h.tolist(), strict=True)))
    n_events = s_pos.size
    columns, plain_columns, layers, values = [], [], [], []
    for layer, common, base in split.kinds:
        table = np.full((len(sectors), len(world.threat_ids)), -1, dtype=np.int64)
        for s, t in pairs:
            table[s, t] = chains.id(s, (*common, ids.survive[t]))
        plain = np.array([chains.id(s, common) for s in range(len(sectors))], dtype=np.int64)
        columns.append(table[s_pos, h])
        plain_columns.append(plain[s_pos])
        layers.append(np.full(n_events, layer))
        values.append(base)
    event_rows = np.tile(np.arange(n_events), len(split.kinds))
    chain_of, plain_of, layer, base = (np.concatenate(a) for a in (columns, plain_columns, layers, values))
    fn = _fn_entries(world, sample, ev, s_pos, sectors)
    fn_chain = np.array(
        [chains.id(s, (ids.depth_power[rules[s].fn_exponent], ids.survive[t] if single else -1))  # type: ignore[union-attr]
         for s, t, single in zip(fn.sector, fn.threat, fn.single, strict=True)], dtype=np.int64
    )  # fmt: skip

    # means per layer and chain (expected thinning)
    n_chains, years = len(chains.keys), sample.years
    means = [np.bincount(chain_of[layer == k], weights=base[layer == k], minlength=n_chains) for k in ALL_LAYERS]
    layer_mean = np.array(means) / years
    fn_rows = sparse.csr_matrix((fn.frequency, (fn.row, fn_chain)), shape=(fn.limit.size, n_chains))

    # year losses for the CVaR: events no coin blocks by year, the others in groups
    block = blocking_coins(world, h, sample.seed)
    blockable = block.any(axis=1)
    free_rows = ~blockable[event_rows]
    year_of = ev["year"][event_rows]
    year_loss = np.bincount(
        year_of[free_rows] * n_chains + plain_of[free_rows], weights=base[free_rows], minlength=years * n_chains
    ).reshape(years, n_chains)
    key = np.concatenate([np.stack([ev["year"], s_pos], axis=1), np.packbits(block, axis=1)], axis=1)[blockable]
    groups, first, group_of = np.unique(key, axis=0, return_index=True, return_inverse=True)
    group_index = np.full(n_events, -1, dtype=np.int64)
    group_index[np.flatnonzero(blockable)] = group_of.ravel()
    in_group = ~free_rows
    group_loss = sparse.csr_matrix(
        (base[in_group], (group_index[event_rows[in_group]], plain_of[in_group])), shape=(len(groups), n_chains)
    )
    blockable_rows = np.flatnonzero(blockable)[first]

    used = (
        (year_loss.sum(axis=0) > 0)
        | (layer_mean.sum(axis=0) > 0)
        | (np.asarray(fn_rows.sum(axis=0)).ravel() > 0)
        | (np.asarray(group_loss.sum(axis=0)).ravel() > 0)
    )
    keys = list(chains.keys)
    chain_factors = np.full((n_chains, max([len(f) for _, f in keys] + [1])), -1, dtype=np.int64)
    for c, (_, f) in enumerate(keys):
        chain_factors[c, : len(f)] = f
    total_by_sector = np.bincount(s_pos, weights=split.total, minlength=len(sectors))
    bounded_by_sector = np.bincount(s_pos, weights=split.bounded, minlength=len(sectors))
    instance = Instance(
        sector_ids=tuple(world.sector_ids[s] for s in sectors),
        **_catalogue_arrays(world),  # type: ignore[arg-type]
        mandatory=world.catalogue.mandatory[sectors],
        cost=_costs(world, sectors),
        factors=np.array(factors.vectors).reshape(-1, world.catalogue.n_options),
        factor_names=tuple(factors.names),
        chain_sector=np.array([s for s, _ in keys], dtype=np.int64)[used],
        chain_factors=chain_factors[used],
        year_loss=year_loss[:, used],
        layer_mean=layer_mean[:, used],
        counted_layers=ALL_LAYERS,
        bars=tuple(
            Bar(world.sector_ids[s], (i,), rule.cvar_level, rule.cvar_max)  # type: ignore[union-attr]
            for i, (s, rule) in enumerate(zip(sectors, rules, strict=True))
        ),
        fn_rows=fn_rows[:, used].tocsr(),
        fn_limit=fn.limit,
        fn_sector=fn.row_sector,
        budget=np.full(len(sectors), np.inf),
        budget_total=np.inf,
        bounded_share=np.divide(
            bounded_by_sector, total_by_sector, out=np.zeros(len(sectors)), where=total_by_sector > 0
        ),
        group_year=ev["year"][blockable_rows],
        group_sector=s_pos[blockable_rows],
        group_block=block[blockable_rows],
        group_loss=group_loss[:, used].tocsr(),
    )
    if not keep_events:
        return instance, None
    renumber = np.cumsum(used) - 1
    nonzero = base > 0
    matrix = sparse.csr_matrix(
        (base[nonzero], (event_rows[nonzero], renumber[plain_of[nonzero]])), shape=(n_events, int(used.sum()))
    )
    return instance, EventLosses(ev["year"], s_pos, block, matrix)


def blocking_coins(world: World, threat: np.ndarray, seed: int) -> np.ndarray:
    """[event, option] the blocking coins of events of ``threat``: ``True`` with the
    option's frequency effect on the event's threat, from the run's own stream (so the
    same years always carry the same coins)."""
    rng = counter_rng(seed, THINNING_STREAM)
    frequency = world.catalogue.frequency.T[threat]  # [event, option]
    return rng.random(frequency.shape) < frequency


@dataclass(frozen=True)
class _FnEntries:
    """The F-N grid rows of every sector, as (row, sector, threat, frequency) entries."""

    row: np.ndarray
    sector: np.ndarray
    threat: np.ndarray
    frequency: np.ndarray  # G_h(M) / S: events a year of the threat with at least M base persons
    single: np.ndarray  # whether the entry's events are single failures (else disasters with several hits)
    limit: np.ndarray  # [row] C / (M one bin above the upper edge)^alpha
    row_sector: np.ndarray  # [row]


def _fn_entries(
    world: World, sample: EventSample, ev: dict[str, np.ndarray], s_pos: np.ndarray, sectors: list[int]
) -> _FnEntries:
    """F-N constraint rows on the grid of :func:`riskmodel.metrics.fn_exceeds`.

    With persons scaling by the depth multiplier ``P(x)`` and counts by survival, the
    curve under a portfolio is ``F_x(N) = sum_h survive_h(x) G_h(N / P(x)) / S``.
    Substituting ``M = N / P`` turns ``F_x(N) <= C N^-alpha`` for all N into
    ``sum_h survive_h(x) P(x)^alpha G_h(M) / S <= C M^-alpha``, linear in the chains
    ``survive_h P^alpha``. It is imposed for every ``M >= N_min`` (the engine judges
    ``N >= N_min``, i.e. ``M >= N_min / P``: requiring it also in the narrow band
    ``[N_min, N_min / P)`` is conservative) at the lower edge of every F-N bin, against
    the line one bin above the bin's upper edge: ``N / P`` may fall anywhere in a bin, and
    ``fn_exceeds`` judges the engine's curve at the upper edge of the bin ``N`` falls in,
    so the margin of one bin makes the grid imply the engine's check. Persons of trips
    services also shrink with shorter outages, which is not credited (conservative). A
    disaster's hits in one sector, and a shared system's members, are one F-N event
    (persons summed, as in the kernel); the engine thins each hit on its own, so an event
    with several hits gets no credit for survival (an upper bound of the chance that
    enough of its persons are reached).
    """
    key = np.stack([ev["year"], ev["event"], s_pos], axis=1)  # a shared system's failure: one event too
    groups, first, inverse = np.unique(key, axis=0, return_index=True, return_inverse=True)
    persons_all = np.bincount(inverse.ravel(), weights=ev["persons"], minlength=len(groups))
    sector_all, threat_all = s_pos[first], ev["threat"][first]
    alone_all = np.bincount(inverse.ravel(), minlength=len(groups)) == 1
    bins = _fn_bins(np.ascontiguousarray(persons_all, dtype=float))
    counted = bins >= 0
    n_threats = len(world.threat_ids)
    lower = 10.0 ** (np.arange(FN_BINS) / FN_BINS_PER_DECADE)
    step = 10.0 ** (1.0 / FN_BINS_PER_DECADE)
    upper = lower * step
    entries: list[tuple[int, int, int, float, bool]] = []  # row, sector, threat, frequency, single
    limits, row_sector = [], []
    for i, s in enumerate(sectors):
        rule = world.scenario.sectors[s].acceptability
        assert rule is not None
        mask = counted & (sector_all == i)
        counts = np.zeros((2, n_threats, FN_BINS))  # [several hits, single][threat, bin]
        np.add.at(counts, (alone_all[mask].astype(np.int64), threat_all[mask], bins[mask]), 1.0)
        at_least = np.cumsum(counts[:, :, ::-1], axis=2)[:, :, ::-1] / sample.years  # G_h(lower edge) / S
        # rows from one bin below the first the engine judges: N / P may fall a bin lower
        judged = np.flatnonzero((upper * step > rule.fn_min_persons) & (at_least.sum(axis=(0, 1)) > 0))
        for b in judged:
            r = len(limits)
            row_sector.append(i)
            limits.append(rule.fn_constant / (upper[b] * step) ** rule.fn_exponent)
            for kind, t in zip(*np.nonzero(at_least[:, :, b]), strict=True):
                entries.append((r, i, int(t), float(at_least[kind, t, b]), bool(kind)))
    row, sector_of, threat_of, frequency, single_of = (
        np.array([e[k] for e in entries], dtype=dtype)
        for k, dtype in enumerate((np.int64, np.int64, np.int64, float, bool))
    )
    return _FnEntries(
        row=row,
        sector=sector_of,
        threat=threat_of,
        frequency=frequency,
        single=single_of,
        limit=np.array(limits, dtype=float),
        row_sector=np.array(row_sector, dtype=np.int64),
    )
