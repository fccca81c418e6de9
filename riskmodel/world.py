"""The scenario compiled into arrays: operators, threats, measures and the cascade.

A :class:`World` is what the Monte Carlo engine, the agent model and the optimiser all
read. Operators are generated from each sector's table: per region in proportion to
population (or one per region), with Zipf-distributed sizes inside a region, so that an
operator's share of its (region, sector) node output is its share of the node's users
and revenue.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import NormalDist

import numpy as np

from riskmodel.errors import InputError
from riskmodel.incidents import read_incident_data
from riskmodel.interdependency import Cascade, build_cascade, data_file, resolve_data_file
from riskmodel.overrides import Override, apply_overrides
from riskmodel.scenario import load_scenario, resolve_scenario
from riskmodel.schema import SHARED_GROUPS, THREAT_KINDS, Scenario
from riskmodel.streams import OPERATOR_STREAM, counter_rng

SERVICE_KINDS = ("continuous", "trips")


@dataclass(frozen=True)
class Operators:
    """One row per operator, sorted by sector then region."""

    sector: np.ndarray  # int64 index into World.sector_ids
    region: np.ndarray  # int64 index into World.region_ids
    node: np.ndarray  # region * n_sectors + sector
    users: np.ndarray  # persons served
    revenue: np.ndarray  # yen per year
    node_share: np.ndarray  # share of its node's output
    sector_share: np.ndarray  # share of its sector's users and revenue
    it_dependence: np.ndarray  # share of its output an IT failure can stop at most
    reach: np.ndarray  # share of its users a failure of its IT at full depth reaches

    def __len__(self) -> int:
        return int(self.sector.size)


@dataclass(frozen=True)
class SharedGroups:
    """Operators that one failure takes down together: each sector's shared system and
    shared contractor (``schema.SHARED_GROUPS``), the groups of a sector in that order (the
    order in which they split a threat's events, see engine.kernels)."""

    kind: np.ndarray  # [group] index into SHARED_GROUPS
    sector: np.ndarray  # [group] its sector
    first: np.ndarray  # [sector + 1] groups of sector s: first[s] .. first[s + 1] - 1
    share: np.ndarray  # [group, threat] share of its sector's failures of the threat that strike the group
    member_first: np.ndarray  # [group + 1] members of group g: members[member_first[g]:member_first[g + 1]]
    members: np.ndarray  # operators, ascending within a group

    def __len__(self) -> int:
        return int(self.kind.size)

    def members_of(self, g: int) -> np.ndarray:
        return self.members[self.member_first[g] : self.member_first[g + 1]]

    def sector_share(self, n_sectors: int) -> np.ndarray:
        """``[sector, threat]`` share of the sector's failures that strike any of its groups."""
        total = np.zeros((n_sectors, self.share.shape[1]))
        np.add.at(total, self.sector, self.share)
        return total

    def operator_share(self, n_operators: int) -> np.ndarray:
        """``[operator, threat]`` share of its sector's failures that take the operator
        down through a group it belongs to (the sum over its groups)."""
        joint = np.zeros((n_operators, self.share.shape[1]))
        group = np.repeat(np.arange(len(self)), np.diff(self.member_first))
        np.add.at(joint, self.members, self.share[group])
        return joint


@dataclass(frozen=True)
class Threats:
    """Per-threat parameters in array form (index = position in World.threat_ids)."""

    kind: np.ndarray  # index into THREAT_KINDS
    rate: np.ndarray
    dispersion: np.ndarray
    regional_rate: np.ndarray  # [threat, region], disasters only
    hit_probability: np.ndarray
    duration_mu: np.ndarray
    duration_sigma: np.ndarray
    detection_share: np.ndarray
    depth_alpha: np.ndarray
    depth_beta: np.ndarray
    loss_mu: np.ndarray
    loss_sigma: np.ndarray
    tail_probability: np.ndarray
    tail_shape: np.ndarray
    tail_threshold: np.ndarray
    tail_scale: np.ndarray
    tail_z: np.ndarray  # standard normal quantile of the splice point


@dataclass(frozen=True)
class Catalogue:
    """Measure options (a measure at a level) with their costs and effects as arrays."""

    measure_ids: list[str]
    option_measure: np.ndarray  # option -> measure index
    option_level: np.ndarray  # option -> level (1-based)
    cost_fixed: np.ndarray
    cost_revenue_share: np.ndarray
    frequency: np.ndarray  # [option, threat] reduction
    duration: np.ndarray
    depth: np.ndarray
    cascade: np.ndarray
    detection: np.ndarray
    direct: np.ndarray
    option_labels: tuple[str, ...]  # portfolio-file entries: "measure", or "measure:level" when it has levels
    requires: np.ndarray  # [measure, measure] bool: the first needs the second in place
    excludes: np.ndarray  # [measure, measure] bool, symmetric: never in place together
    mandatory: np.ndarray  # [sector, measure] bool: required by the sector's supervising ministry
    recommended: np.ndarray  # [sector, measure] bool: recommended (mandatory ones included)

    @property
    def n_options(self) -> int:
        return int(self.option_measure.size)

    def option_costs(self, revenue: np.ndarray) -> np.ndarray:
        """Annual cost in yen of each option for operators of the given revenues: ``[row, option]``."""
        return self.cost_fixed[None, :] + self.cost_revenue_share[None, :] * np.asarray(revenue)[:, None]


@dataclass(frozen=True)
class World:
    scenario: Scenario
    path: Path | None
    sector_ids: list[str]
    region_ids: list[str]
    threat_ids: list[str]
    critical: np.ndarray  # bool per sector
    sector_output: np.ndarray  # yen per year
    cascade_share: np.ndarray
    it_dependence: np.ndarray
    duration_scale: np.ndarray
    value_of_time: np.ndarray
    service_kind: np.ndarray  # index into SERVICE_KINDS
    service_hours: np.ndarray
    delay_hours: np.ndarray
    # 1 for a trips service with a reach table: its failed system (gates, check-in) is one every
    # reached user passes, so a failure affects all who travel in it and its depth sets their delay
    passed_system: np.ndarray
    exposure: np.ndarray  # [sector, threat kind]
    operators: Operators
    threats: Threats
    catalogue: Catalogue
    cascade: Cascade
    sector_rate: np.ndarray = field(repr=False)  # [sector, threat] events per year, no measures
    shared: SharedGroups = field(repr=False)  # shared systems and contractors: groups one failure takes down
    content_hash: str = ""  # of the scenario's content and its data files (see scenario_hash)

    @property
    def name(self) -> str:
        return self.scenario.scenario.name

    @property
    def n_sectors(self) -> int:
        return len(self.sector_ids)

    @property
    def critical_sectors(self) -> list[int]:
        """Indices of the critical sectors (those with operators and acceptability bars)."""
        return [int(i) for i in np.flatnonzero(self.critical)]

    @property
    def critical_ids(self) -> list[str]:
        return [self.sector_ids[i] for i in self.critical_sectors]


def _allocate(count: int, weights: np.ndarray) -> np.ndarray:
    """Split ``count`` over regions by weight (largest remainder), at least one each if possible."""
    floor_min = 1 if count >= weights.size else 0
    raw = weights / weights.sum() * (count - floor_min * weights.size)
    counts = np.floor(raw).astype(int) + floor_min
    left = count - counts.sum()
    order = np.argsort(-(raw - np.floor(raw)), kind="stable")
    counts[order[:left]] += 1
    return counts


def _operators(scenario: Scenario, output: np.ndarray, path: Path) -> Operators:
    population = np.array([r.population for r in scenario.regions])
    omega = population / population.sum()
    n_sectors = len(scenario.sectors)
    rows: list[tuple[int, int, float, float, float, float]] = []
    for s, sector in enumerate(scenario.sectors):
        if sector.operators is None or sector.users is None:
            continue
        spec = sector.operators
        if spec.allocation == "one_per_region":
            if spec.count != len(scenario.regions):
                raise InputError(
                    path,
                    f"sectors[id={sector.id}].operators.count",
                    spec.count,
                    f"{len(scenario.regions)} (one per region)",
                )
            counts = np.ones(len(scenario.regions), dtype=int)
        else:
            counts = _allocate(spec.count, omega)
        for r, n in enumerate(counts):
            if n == 0:
                continue
            zipf = 1.0 / np.arange(1, n + 1) ** spec.size_exponent
            zipf /= zipf.sum()
            for share in zipf:
                sector_share = omega[r] * share
                rows.append((s, r, sector.users.total * sector_share, output[s] * sector_share, share, sector_share))
    table = np.array(rows, dtype=float).reshape(-1, 6)
    sector = table[:, 0].astype(np.int64)
    region = table[:, 1].astype(np.int64)
    it_dependence = np.zeros(sector.size)
    reach = np.zeros(sector.size)
    for s, spec in enumerate(scenario.sectors):
        rows_of = np.flatnonzero(sector == s)
        if rows_of.size == 0 or spec.it_dependence is None:
            continue
        it = spec.it_dependence
        if it.concentration is None:
            it_dependence[rows_of] = it.share
        else:
            rng = counter_rng(0, OPERATOR_STREAM, s)  # a world is the scenario's one draw: root seed 0
            it_dependence[rows_of] = operator_it_dependence(it.share, it.concentration, table[rows_of, 5], rng)
        reach[rows_of] = spec.reach.share if spec.reach is not None else it_dependence[rows_of]
    return Operators(
        sector=sector,
        region=region,
        node=region * n_sectors + sector,
        users=table[:, 2].copy(),
        revenue=table[:, 3].copy(),
        node_share=table[:, 4].copy(),
        sector_share=table[:, 5].copy(),
        it_dependence=it_dependence,
        reach=reach,
    )


def operator_it_dependence(
    share: float, concentration: float, weights: np.ndarray, rng: np.random.Generator
) -> np.ndarray:
    """Operators' IT dependence around their sector's ``share``, output-weighted mean exact.

    Each operator draws Beta(``share`` x ``concentration``, (1 - ``share``) x
    ``concentration``) (mean ``share``); the draws are then scaled by one common factor so
    that their mean weighted by ``weights`` (the operators' output) is ``share``, operators
    the factor would push above 1 held at 1 and the factor found again for the rest. So a
    sector's output-weighted IT dependence, which sets its expected lost output, stays the
    scenario's value however the operators differ.
    """
    w = np.asarray(weights, dtype=float) / np.sum(weights)
    alpha, beta = share * concentration, (1.0 - share) * concentration
    if alpha <= 0.0 or beta <= 0.0:  # a share of 0 or 1 (or one that underflows): no spread
        return np.full(w.size, share)
    x = rng.beta(alpha, beta, w.size)
    capped = np.zeros(w.size, dtype=bool)
    while True:
        free = ~capped
        mass = float(w[free] @ x[free])
        left = share - float(w[capped].sum())
        if mass > 0.0 and not math.isfinite(left / mass):  # subnormal draws: the factor overflows
            x[free] /= x[free].max()
            mass = float(w[free] @ x[free])
        if mass <= 0.0:  # every free draw underflowed to 0: share what is left equally
            x[free] = left / float(w[free].sum())
        else:
            x[free] *= left / mass
        over = free & (x > 1.0)
        if not over.any():
            return x
        x[over] = 1.0
        capped |= over


def _shared_groups(scenario: Scenario, operators: Operators, path: Path) -> SharedGroups:
    """Each sector's shared groups (schema.SHARED_GROUPS, in that order): the ``members``
    largest operators by users in the group's regions, and the share of each threat's
    failures that strike the group; a sector's shares of one threat add up to at most 1."""
    region_index = {r.id: i for i, r in enumerate(scenario.regions)}
    threat_index = {t.id: h for h, t in enumerate(scenario.threats)}
    single = np.array([t.kind != "disaster" for t in scenario.threats])
    kind, sector_of, shares, members = [], [], [], []
    first = np.zeros(len(scenario.sectors) + 1, dtype=np.int64)
    for s, sector in enumerate(scenario.sectors):
        covered = np.zeros(len(scenario.threats))
        for k, name in enumerate(SHARED_GROUPS):
            spec = getattr(sector, name)
            if spec is None or sector.operators is None:
                continue
            where = f"sectors[id={sector.id}].{name}"
            candidates = operators.sector == s
            if spec.regions:
                candidates &= np.isin(operators.region, [region_index[r] for r in spec.regions])
            rows = np.flatnonzero(candidates)
            count = rows.size if spec.members is None else spec.members
            if count > rows.size:
                raise InputError(path, f"{where}.members", count,
                                 f"at most {rows.size} (the sector's operators in those regions)")  # fmt: skip
            by_size = rows[np.argsort(-operators.users[rows], kind="stable")]
            share = np.zeros(len(scenario.threats))
            if spec.threats:
                share[[threat_index[t] for t in spec.threats]] = spec.share
            else:
                share[single] = spec.share
            over = np.flatnonzero(covered + share > 1.0 + 1e-12)
            if over.size:
                left = 1.0 - covered[over[0]]
                raise InputError(path, f"{where}.share", spec.share,
                                 f"at most {left:g}: the shares of the sector's shared groups that cover "
                                 f"{scenario.threats[over[0]].id!r} add up to at most 1")  # fmt: skip
            covered += share
            kind.append(k)
            sector_of.append(s)
            shares.append(share)
            members.append(np.sort(by_size[:count]))
        first[s + 1] = len(kind)
    sizes = [m.size for m in members]
    return SharedGroups(
        kind=np.array(kind, dtype=np.int64),
        sector=np.array(sector_of, dtype=np.int64),
        first=first,
        share=np.array(shares, dtype=float).reshape(len(kind), len(scenario.threats)),
        member_first=np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64),
        members=np.concatenate([np.zeros(0, dtype=np.int64), *members]).astype(np.int64),
    )


def _threats(scenario: Scenario) -> Threats:
    region_index = {r.id: i for i, r in enumerate(scenario.regions)}
    n = len(scenario.threats)
    regional = np.zeros((n, len(scenario.regions)))
    columns: dict[str, list[float]] = {name: [] for name in Threats.__dataclass_fields__ if name != "regional_rate"}
    for h, threat in enumerate(scenario.threats):
        for region, rate in threat.frequency.regional_rates.items():
            regional[h, region_index[region]] = rate
        loss = threat.direct_loss
        mu, sigma, p = math.log(loss.median_revenue_share), loss.sigma, loss.tail_probability
        tail_z = NormalDist().inv_cdf(1.0 - p) if p > 0 else math.inf
        threshold = math.exp(mu + sigma * tail_z)
        # lognormal density at the splice point: phi(z) / (x sigma)
        density = NormalDist().pdf(tail_z) / (threshold * sigma) if p > 0 else 1.0
        values = {
            "kind": THREAT_KINDS.index(threat.kind),
            "rate": threat.frequency.rate,
            "dispersion": threat.frequency.dispersion,
            "hit_probability": threat.frequency.hit_probability,
            "duration_mu": math.log(threat.duration.median_hours),
            "duration_sigma": threat.duration.sigma,
            "detection_share": threat.duration.detection_share,
            "depth_alpha": threat.depth.alpha,
            "depth_beta": threat.depth.beta,
            "loss_mu": mu,
            "loss_sigma": sigma,
            "tail_probability": p,
            "tail_shape": loss.tail_shape,
            # GPD scale that makes the density continuous at the splice point
            "tail_threshold": threshold,
            "tail_scale": p / density if p > 0 else 1.0,
            "tail_z": tail_z,
        }
        for name, value in values.items():
            columns[name].append(value)
    arrays = {name: np.array(v, dtype=np.int64 if name == "kind" else float) for name, v in columns.items()}
    return Threats(regional_rate=regional, **arrays)


def _catalogue(scenario: Scenario) -> Catalogue:
    threat_index = {t.id: i for i, t in enumerate(scenario.threats)}
    rows: list[tuple[int, int]] = []
    fixed, share, freq = [], [], []
    effects: dict[str, list[float]] = {k: [] for k in ("duration", "depth", "cascade", "detection", "direct")}
    for m, measure in enumerate(scenario.measures):
        for level, spec in enumerate(measure.levels, start=1):
            rows.append((m, level))
            fixed.append(spec.cost_fixed)
            share.append(spec.cost_revenue_share)
            reduction = np.zeros(len(scenario.threats))
            for threat, value in spec.effects.frequency.items():
                reduction[threat_index[threat]] = value
            freq.append(reduction)
            for name, values in effects.items():
                values.append(getattr(spec.effects, name))
    index = np.array(rows, dtype=np.int64).reshape(-1, 2)
    measure_index = {m.id: i for i, m in enumerate(scenario.measures)}
    n = len(measure_index)
    requires = np.zeros((n, n), dtype=bool)
    excludes = np.zeros((n, n), dtype=bool)
    for i, measure in enumerate(scenario.measures):
        for name in measure.requires:
            requires[i, measure_index[name]] = True
        for name in measure.excludes:
            excludes[i, measure_index[name]] = excludes[measure_index[name], i] = True
    sector_index = {s.id: i for i, s in enumerate(scenario.sectors)}
    mandatory = np.zeros((len(sector_index), n), dtype=bool)
    recommended = np.zeros_like(mandatory)
    for ministry in scenario.ministries:
        rows_of = [sector_index[s] for s in ministry.sectors]
        for name in ministry.recommended:
            recommended[rows_of, measure_index[name]] = True
        for name in ministry.mandatory:
            mandatory[rows_of, measure_index[name]] = True
    levels = np.bincount(index[:, 0], minlength=n)
    labels = tuple(
        f"{scenario.measures[m].id}:{level}" if levels[m] > 1 else scenario.measures[m].id for m, level in index
    )
    return Catalogue(
        option_labels=labels,
        requires=requires,
        excludes=excludes,
        mandatory=mandatory,
        recommended=recommended | mandatory,
        measure_ids=[m.id for m in scenario.measures],
        option_measure=index[:, 0].copy(),
        option_level=index[:, 1].copy(),
        cost_fixed=np.array(fixed, dtype=float),
        cost_revenue_share=np.array(share, dtype=float),
        frequency=np.array(freq, dtype=float).reshape(-1, len(scenario.threats)),
        **{name: np.array(values, dtype=float) for name, values in effects.items()},
    )


def scenario_hash(scenario: Scenario, path: Path | None = None, part: str = "all") -> str:
    """SHA-256 of a scenario's content (canonical JSON of every field) and of the data
    files it reads; ``part="world"`` leaves out the agent model's ``[abm]`` tables, which
    the compiled arrays do not depend on."""
    content = scenario.model_dump(mode="json", exclude={"abm"} if part == "world" else None)
    digest = hashlib.sha256(json.dumps(content, sort_keys=True, separators=(",", ":")).encode())
    for _, name in scenario.data_files():
        data = resolve_data_file(name, path)
        try:
            content = data.read_bytes() if data.is_file() else b"(missing)"
        except OSError:
            content = b"(unreadable)"  # reported when the world is compiled
        digest.update(name.encode() + b"\0" + content)
    return digest.hexdigest()


_COMPILED: OrderedDict[str, World] = OrderedDict()
_COMPILED_KEEP = 8  # compiled worlds kept (a default world takes about 1 MB)


def build_world(scenario: Scenario, path: Path | None = None) -> World:
    """Compile a validated scenario into arrays (raises InputError if it is ill-posed).

    Compiled worlds are cached by content: a scenario that differs from one compiled
    before only in its ``[abm]`` tables reuses that world's arrays."""
    _check_data_files(scenario, path)  # before the cache: a link out of the folder may hold valid content
    key = scenario_hash(scenario, path, part="world")
    cached = _COMPILED.get(key)
    if cached is None:
        cached = _compile(scenario, path)
        _COMPILED[key] = cached
        while len(_COMPILED) > _COMPILED_KEEP:
            _COMPILED.popitem(last=False)
    _COMPILED.move_to_end(key)
    return dataclasses.replace(cached, scenario=scenario, path=path, content_hash=scenario_hash(scenario, path))


def _check_data_files(scenario: Scenario, path: Path | None) -> None:
    """The data files a scenario names exist as regular files in its own folder."""
    for where, name in scenario.data_files():
        if where != "interdependency.io_table" or scenario.interdependency.matrix is None:
            data_file(name, path, where)


def _compile(scenario: Scenario, path: Path | None) -> World:
    if scenario.incidents is not None:  # calibration data: read and checked, so a broken file is not carried along
        critical = [s.id for s in scenario.sectors if s.critical]
        read_incident_data(data_file(scenario.incidents.file, path, "incidents.file"), critical)
    cascade = build_cascade(scenario, path)
    n_regions = len(scenario.regions)
    output = cascade.output.reshape(n_regions, -1).sum(axis=0) * 8760.0
    where = path or Path("<scenario>")
    operators = _operators(scenario, output, where)
    shared = _shared_groups(scenario, operators, where)
    threats = _threats(scenario)
    sectors = scenario.sectors
    exposure = np.array([[getattr(s.exposure, kind) if s.exposure else 0.0 for kind in THREAT_KINDS] for s in sectors])
    counts = np.bincount(operators.sector, minlength=len(sectors))
    rate = exposure[:, threats.kind] * threats.rate[None, :] * counts[:, None]
    return World(
        scenario=scenario,
        path=path,
        sector_ids=[s.id for s in sectors],
        region_ids=[r.id for r in scenario.regions],
        threat_ids=[t.id for t in scenario.threats],
        critical=np.array([s.critical for s in sectors]),
        sector_output=output,
        cascade_share=np.array([s.cascade.share if s.cascade else 0.0 for s in sectors]),
        it_dependence=np.array([s.it_dependence.share if s.it_dependence else 0.0 for s in sectors]),
        duration_scale=np.array([s.outage.duration if s.outage else 1.0 for s in sectors]),
        value_of_time=np.array([s.users.value_of_time if s.users else 0.0 for s in sectors]),
        service_kind=np.array([SERVICE_KINDS.index(s.users.service) if s.users else 0 for s in sectors]),
        service_hours=np.array([s.users.service_hours if s.users else 24.0 for s in sectors]),
        delay_hours=np.array([s.users.delay_hours if s.users else 0.0 for s in sectors]),
        passed_system=np.array(
            [float(s.users is not None and s.users.service == "trips" and s.reach is not None) for s in sectors]
        ),
        exposure=exposure,
        operators=operators,
        threats=threats,
        catalogue=_catalogue(scenario),
        cascade=cascade,
        sector_rate=rate,
        shared=shared,
    )


def load_world(scenario: str | Path | None = None, overrides: Iterable[Override] = ()) -> World:
    """Load, check and compile a scenario (a file, a packaged name, or ``None`` for the
    packaged default), with ``overrides`` applied and validated."""
    path = resolve_scenario(scenario) if scenario is not None else None
    return with_overrides(build_world(load_scenario(path), path), overrides)


def with_overrides(world: World, overrides: Iterable[Override]) -> World:
    """``world`` with ``overrides`` applied to its scenario; arrays are recompiled only
    when something outside the ``[abm]`` tables changed (and then from the cache when that
    content was compiled before)."""
    overrides = list(overrides)
    if not overrides:
        return world
    return build_world(apply_overrides(world.scenario, overrides), world.path)
