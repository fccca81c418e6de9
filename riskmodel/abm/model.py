"""The agent-based model: operators, ministries, attackers and individuals through the PDCA years.

A step is one day. Each day the engine's kernel draws the day's IT failures and their
losses (outages and cascades run hourly inside it) on arrays this model owns; the model
then lets the failures reach the agents: operators report or hide them, members of a
CEPTOAR share them and raise each other's guard, attackers score their successes, and the
individuals of the affected power areas grow anxious. Every ``replan_days`` the attackers
re-aim their attempts. At a fiscal year's end the cabinet centre evaluates the year and
sets targets, the ministries run their PDCA review of the standards, and operators invest;
at the start of the next the cabinet centre runs its exercises and campaigns and the
ministries set up information sharing.

Randomness. One root seed gives two independent streams (``SeedSequence`` spawning): one
for the engine's hazards, one for the agents' own draws (Mesa's ``model.rng``, from which
``model.random`` is seeded). There is no global random state; the same seed gives the same
outputs, byte for byte.

Outputs go through Mesa's ``DataCollector``: ``daily`` (model reporters, one row a day) and
``yearly`` (model reporters and the agents' records, once a fiscal year); see
:mod:`riskmodel.abm.outputs` for the tables written from them.
"""

from __future__ import annotations

import math
from functools import partial

import mesa
import numpy as np

from riskmodel.abm.choices import Changes, LossWeights, evaluate_changes, option_costs
from riskmodel.abm.cohorts import Cohorts
from riskmodel.abm.daily_engine import DAYS_PER_YEAR, DailyEngine, DayEvents
from riskmodel.abm.tally import tally_day
from riskmodel.abm.targets import BasicPlans
from riskmodel.abm.valuation import event_values
from riskmodel.agents import Attacker, CabinetCentre, Individual, Ministry, Operator
from riskmodel.engine.kernels import LAYERS, OP_DEPTH_SCALE, OP_SHOCK, OP_USERS, OT_DIRECT, OT_LOG_DURATION, OT_SURVIVE
from riskmodel.engine.simulate import KernelInputs
from riskmodel.errors import InputError
from riskmodel.measures import no_measures, protection
from riskmodel.schema import THREAT_KINDS
from riskmodel.world import SERVICE_KINDS, World

ABM_STREAM = 1  # spawn key of the agent model's streams (the Monte Carlo engine uses 0)
VALUE_KINDS = ("direct", "persons", "economy")

FY_MEANS = ("anxious_share", "anxiety_index", "infected_share", "hygiene")
DAILY_ATTRIBUTES = {"true_failures": "day_true", "reported_failures": "day_reported", "loss": "day_loss"}
DAILY_SERIES = {
    "true_failures": "IT failures that day, by sector and threat",
    "reported_failures": "IT failures reported to the ministries that day, by sector and threat",
    "loss": "losses that day by sector and layer (direct, users, economy, economy_external), yen",
    "attack_attempts": "attackers' attempts a year at that day's aim, by sector (cyber threats)",
    "mandatory_measures": "measures mandatory in a sector's standard, summed over sectors",
    "recommended_measures": "measures recommended but not mandatory, summed over sectors",
    "compliance": "operators' mean share of their sector's mandatory measures in place",
    "security_spend": "operators' spending on measures in place, yen a year",
    "botnet_size": "bots available to attackers, worldwide",
    "infected_share": "share of the individuals' machines infected (user-weighted)",
    "hygiene": "share of individuals practising good security hygiene (user-weighted)",
    "anxiety_index": "IT-anxiety index (user-weighted mean)",
    "anxious_share": "share of individuals anxious about using IT",
    "ceptoar_share": "share of operators that are members of a working CEPTOAR",
    "alerted_operators": "operators with an information-sharing alert in force",
}


def _figure(name: str, model: CriticalInfrastructureModel) -> object:
    """A fiscal-year figure for the yearly DataCollector."""
    return model.year_figures[name]


class CriticalInfrastructureModel(mesa.Model):
    """Japan's critical infrastructure, day by day, from the scenario's first fiscal year.

    ``world`` is a compiled scenario with ``[abm]`` tables; ``in_place[operator, option]``
    the measures in place at the start (default none: the FY2006 starting point);
    ``fiscal_years`` how many years to run (default the scenario's horizon).
    """

    def __init__(
        self, world: World, in_place: np.ndarray | None = None, fiscal_years: int | None = None, seed: int = 0
    ):
        settings = world.scenario.abm
        if settings is None:
            raise InputError(world.path or "<scenario>", "abm", "(missing)", "the [abm] tables of the agent model")
        super().__init__(rng=np.random.default_rng(np.random.SeedSequence(seed, spawn_key=(ABM_STREAM, 0))))
        self.world = world
        self.settings = settings
        self.seed = seed
        horizon = world.scenario.horizon
        self.start_year = horizon.start_fiscal_year
        self.n_years = fiscal_years if fiscal_years is not None else horizon.end_fiscal_year - self.start_year + 1
        self.total_days = self.n_years * DAYS_PER_YEAR
        self.fiscal_year = self.start_year
        self.day = 0  # days simulated so far

        ops, cat = world.operators, world.catalogue
        n_ops, n_sectors, n_threats = len(ops), world.n_sectors, len(world.threat_ids)
        n_measures = len(cat.measure_ids)
        engine_rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=(ABM_STREAM, 1))))
        self.engine = DailyEngine(world, engine_rng)
        self.values = event_values(world)
        self.sector_size = np.bincount(ops.sector, minlength=n_sectors)
        self.pick_weight = ops.sector_share / np.maximum(
            np.bincount(ops.sector, weights=ops.sector_share)[ops.sector], 1e-300
        )
        self.sector_matrix = (ops.sector[None, :] == np.arange(n_sectors)[:, None]).astype(float)  # sums by sector
        self.cyber = world.threats.kind == THREAT_KINDS.index("cyber")
        self.ddos_threat = world.threat_ids.index(settings.botnet.ddos_threat)
        self._leaking = np.isin(
            np.arange(n_threats), [world.threat_ids.index(t) for t in settings.individuals.leak_threats]
        )
        self._continuous = world.service_kind == SERVICE_KINDS.index("continuous")
        self._outage_hours = np.zeros(len(world.region_ids))  # person-hours of outage a day, by power area
        self._leaks = np.zeros(len(world.region_ids))  # persons whose data leaked

        # --- the catalogue's rules, by measure
        self.option_cost = option_costs(world, np.arange(n_ops))
        self.first_option = np.array([np.flatnonzero(cat.option_measure == m)[0] for m in range(n_measures)])
        self._option_measure = (cat.option_measure[:, None] == np.arange(n_measures)[None, :]).astype(float)
        index = {m: i for i, m in enumerate(cat.measure_ids)}
        self.requires = np.zeros((n_measures, n_measures), dtype=bool)
        self.excludes = np.zeros((n_measures, n_measures), dtype=bool)
        for i, measure in enumerate(world.scenario.measures):
            for name in measure.requires:
                self.requires[i, index[name]] = True
            for name in measure.excludes:
                self.excludes[i, index[name]] = self.excludes[index[name], i] = True
        self.measure_depth = self._prerequisite_depth()

        self.in_place = no_measures(world) if in_place is None else np.array(in_place, dtype=bool)
        self.mandatory = np.zeros((n_sectors, n_measures), dtype=bool)
        self.recommended = np.zeros((n_sectors, n_measures), dtype=bool)
        sector_index = {s: i for i, s in enumerate(world.sector_ids)}
        for ministry in world.scenario.ministries:
            rows = [sector_index[s] for s in ministry.sectors]
            for name in ministry.recommended:
                self.recommended[rows, index[name]] = True
            for name in ministry.mandatory:
                self.mandatory[rows, index[name]] = True
        self.recommended |= self.mandatory

        # --- operators' behaviour and exposure
        concealment = settings.concealment
        self._propensity = self.rng.normal(0.0, concealment.propensity_sd, n_ops) if n_ops else np.zeros(0)
        self.immune = False
        self.hide_probability = np.zeros(n_ops)
        self.set_immunity(False)
        sharing = settings.information_sharing
        self.ceptoar_start = (
            {sector_index[c.sector]: c.from_fiscal_year for c in sharing.ceptoars} if sharing.enabled else {}
        )
        self.ceptoar_active = np.zeros(n_sectors, dtype=bool)
        self.member = np.zeros(n_ops, dtype=bool)
        self.council = False
        self.alert_until = np.zeros((n_ops, n_threats), dtype=np.int64)
        self._alert_ends = np.full(n_threats, math.inf)  # day the next alert of each threat ends
        self._alerts_changed = np.zeros(n_threats, dtype=bool)
        self.exercised_until = np.full(n_ops, -1, dtype=np.int64)
        self._outsourcing_setup()
        self._attack_factor = np.ones((n_sectors, n_threats))
        self._set_rates()

        # --- individuals and attackers
        self.cohorts = Cohorts(world, settings)
        self.bots_at_start = settings.botnet.bots
        self.foreign_bots = settings.botnet.bots - self.cohorts.bots()
        self.ddos_capacity = 1.0
        start = KernelInputs.build(world, protection(world, no_measures(world)))
        self._payoff_at_start = self._payoffs(start.ops[2], start.ops[1])
        base = world.sector_rate
        total = base.sum(axis=0)
        self._shares = dict.fromkeys(VALUE_KINDS, np.divide(base, total, out=np.zeros_like(base), where=total > 0))

        # --- agents (Mesa's own creation API; each kind is an AgentSet of the model)
        Operator.create_agents(self, n_ops, index=list(range(n_ops)))
        for spec in world.scenario.ministries:
            kind = CabinetCentre if spec.kind == "cabinet_centre" else Ministry
            kind(self, spec.id, [sector_index[s] for s in spec.sectors if world.critical[sector_index[s]]])
        self._create_attackers()
        n_bands = len(settings.individuals.age_bands)
        bands = [b.id for b in settings.individuals.age_bands]
        Individual.create_agents(
            self,
            len(self.cohorts),
            index=list(range(len(self.cohorts))),
            region_id=[world.region_ids[r] for r in self.cohorts.region],
            age_band=[bands[b % n_bands] for b in self.cohorts.band],
        )
        self.operators = self.agents_by_type[Operator]
        self.attackers = self.agents_by_type.get(Attacker, mesa.agent.AgentSet([], random=self.random))
        self.individuals = self.agents_by_type[Individual]
        ministries = [a for a in self.agents if isinstance(a, Ministry)]
        self.ministries = mesa.agent.AgentSet(ministries, random=self.random)
        self.cabinet_centre = next((a for a in ministries if isinstance(a, CabinetCentre)), None)
        self._attacker_list = list(self.attackers)
        self._plan_attacks()  # at the scenario's rates; they re-aim only when enabled

        plan = settings.pdca
        self.targets = BasicPlans(
            self.start_year, self.start_year + self.n_years - 1, horizon.plan_cycle_years,
            plan.failure_reduction, plan.anxious_reduction,
        )  # fmt: skip

        # --- what is counted, by day and by fiscal year
        self.day_true = np.zeros((n_sectors, n_threats), dtype=np.int64)
        self.day_reported = np.zeros_like(self.day_true)
        self.day_loss = np.zeros((n_sectors, len(LAYERS)))
        self.fy_true = np.zeros_like(self.day_true)
        self.fy_reported = np.zeros_like(self.day_true)
        self.fy_loss = np.zeros_like(self.day_loss)
        self.op_failures = np.zeros((n_ops, 2), dtype=np.int64)  # true, reported this fiscal year
        self.op_loss = np.zeros(n_ops)
        self._fy_sums: dict[str, float] = {}
        self.year_figures: dict[str, object] = {}
        self._update_standing_figures()
        self._update_daily_figures(accumulate=False)
        self.daily = mesa.DataCollector(
            model_reporters={name: DAILY_ATTRIBUTES.get(name, name) for name in DAILY_SERIES}
        )
        self.yearly = mesa.DataCollector(
            model_reporters={name: partial(_figure, name) for name in YEARLY_FIGURES},
            agenttype_reporters=AGENT_REPORTERS,
        )
        if settings.operators.enabled:
            self.operators.do("comply")  # the standards in force at the start
        self.engine.set_protection(protection(world, self.in_place))
        self.running = self.total_days > 0

    # --- the catalogue's rules ---------------------------------------------------------
    def _prerequisite_depth(self) -> np.ndarray:
        depth = np.zeros(len(self.requires), dtype=np.int64)
        for _ in range(len(depth)):
            new = np.array(
                [1 + depth[self.requires[m]].max() if self.requires[m].any() else 0 for m in range(len(depth))]
            )
            if np.array_equal(new, depth):
                break
            depth = new
        return depth

    def has_measure(self, operator: int) -> np.ndarray:
        """Which measures (at any level) an operator has."""
        return self.in_place[operator] @ self._option_measure > 0

    def allowed(self, operator: int, option: int) -> bool:
        """Whether the catalogue's rules let an operator put ``option`` in place: its
        prerequisites in place, nothing it excludes in place (other levels of the same
        measure aside)."""
        m = int(self.world.catalogue.option_measure[option])
        has = self.has_measure(operator)
        has[m] = False
        return not (self.requires[m] & ~has).any() and not (self.excludes[m] & has).any()

    def droppable(self, operator: int, option: int) -> bool:
        """Whether an operator may drop an option: not mandatory, not needed by another."""
        m = int(self.world.catalogue.option_measure[option])
        sector = int(self.world.operators.sector[operator])
        return not self.mandatory[sector, m] and not self.requires[self.has_measure(operator), m].any()

    def remove_measure(self, operator: int, measure: int) -> None:
        self.in_place[operator, self.world.catalogue.option_measure == measure] = False

    # --- policies the cabinet centre and ministries set ----------------------------------
    def set_immunity(self, immune: bool) -> None:
        """Reporting is (or is not) immune from sanctions: operators' hiding propensity."""
        spec = self.settings.concealment
        self.immune = immune
        logit = (
            math.log(spec.base_probability / (1.0 - spec.base_probability))
            + spec.blame_slope * spec.blame
            - spec.immunity_effect * immune
        )
        self.hide_probability = 1.0 / (1.0 + np.exp(-(logit + self._propensity)))

    def establish_ceptoar(self, sector: int) -> None:
        """A sector's CEPTOAR starts: its largest operators join."""
        rows = np.flatnonzero(self.world.operators.sector == sector)
        n = round(self.settings.information_sharing.membership_share * rows.size)
        largest = rows[np.argsort(-self.world.operators.revenue[rows], kind="stable")][:n]
        self.member[largest] = True
        self.ceptoar_active[sector] = True

    def campaign(self, active: bool) -> None:
        """This year's awareness campaign, or hygiene slipping without one."""
        awareness = self.settings.awareness
        if active:
            self.cohorts.campaign(awareness.hygiene_gain)
        else:
            self.cohorts.slip(awareness.hygiene_decay)

    # --- outsourcing ----------------------------------------------------------------------
    def _outsourcing_setup(self) -> None:
        """Operators' outsourced shares and the contractor-fault rates they imply: the sector's
        rate is set by its most outsourced operator and thinned for the others (the engine's
        thinning), so each operator's rate is the threat's times share / reference."""
        world, spec = self.world, self.settings.outsourcing
        n_ops = len(world.operators)
        self.outsourced = np.zeros(n_ops)
        self._outsourcing_factor = np.ones((world.n_sectors, len(world.threat_ids)))
        self._outsourcing_thinning = np.ones((n_ops, len(world.threat_ids)))
        if not spec.enabled:
            return
        h = world.threat_ids.index(spec.threat)
        sector = world.operators.sector
        for s, sid in enumerate(world.sector_ids):
            rows = np.flatnonzero(sector == s)
            if sid not in spec.shares or rows.size == 0:
                continue
            mean = spec.shares[sid]
            self.outsourced[rows] = self.rng.beta(
                mean * spec.concentration, (1.0 - mean) * spec.concentration, rows.size
            )
            top = self.outsourced[rows].max()
            self._outsourcing_factor[s, h] = top / spec.reference_share
            self._outsourcing_thinning[rows, h] = self.outsourced[rows] / top

    def operator_rates(self) -> np.ndarray:
        """Failures a year each operator expects before its own measures: the scenario's
        rates as attackers aim them now and as its outsourcing makes them."""
        factor = self._attack_factor * self._outsourcing_factor
        return self.values.rate * factor[self.world.operators.sector] * self._outsourcing_thinning

    # --- attackers ------------------------------------------------------------------------
    def _create_attackers(self) -> None:
        spec = self.settings.attackers
        world = self.world
        origins = list(spec.origins)
        weights = np.array([spec.origins[o] for o in origins])
        attempts = world.sector_rate.sum(axis=0) * self.cyber  # attempts a year per threat
        threat_index = {t: i for i, t in enumerate(world.threat_ids)}
        preference = np.zeros((len(spec.kinds), len(world.threat_ids)))
        for k, kind in enumerate(spec.kinds):
            for name, weight in kind.threats.items():
                preference[k, threat_index[name]] = kind.capacity_share * weight
        kind_share = np.divide(preference, preference.sum(axis=0), out=np.zeros_like(preference), where=preference > 0)
        for k, kind in enumerate(spec.kinds):
            sizes = self.rng.lognormal(0.0, kind.capacity_sigma, kind.count)
            sizes /= sizes.sum()
            countries = self.rng.choice(len(origins), size=kind.count, p=weights / weights.sum())
            for size, country in zip(sizes, countries, strict=True):
                Attacker(self, kind.id, kind.values, origins[country], attempts * kind_share[k] * size)

    def _payoffs(self, op_threat: np.ndarray, op_float: np.ndarray) -> dict[str, np.ndarray]:
        """What an attempt on each sector and threat yields, by what attackers value: the
        chance it gets through times the yen, persons or production it then costs."""
        survive = op_threat[:, :, OT_SURVIVE] * self.pick_weight[:, None]
        c = self.world.cascade
        reach = {
            "direct": op_threat[:, :, OT_DIRECT],
            "persons": (op_float[:, OP_USERS] * op_float[:, OP_DEPTH_SCALE])[:, None],
            "economy": (op_float[:, OP_SHOCK] * c.loss_weight[self.world.operators.node])[:, None]
            * np.exp(op_threat[:, :, OT_LOG_DURATION]),
        }
        return {kind: self.sector_matrix @ (survive * value) for kind, value in reach.items()}

    def target_shares(self, values: str) -> np.ndarray:
        """How an attacker valuing ``values`` spreads a threat's attempts over the sectors."""
        return self._shares[values]

    def _replan(self) -> None:
        """Attackers re-aim: payoffs now against payoffs without measures."""
        spec = self.settings.attackers
        now = self._payoffs(self.engine.op_threat, self.engine.op_float)
        base = self.world.sector_rate
        for kind in VALUE_KINDS:
            start = self._payoff_at_start[kind]
            ratio = np.divide(now[kind], start, out=np.ones_like(start), where=start > 0)
            raw = base * ratio**spec.displacement_elasticity
            total = raw.sum(axis=0)
            self._shares[kind] = np.divide(raw, total, out=np.zeros_like(raw), where=total > 0)
        attempts = self._plan_attacks()
        cyber = np.zeros_like(base, dtype=bool)
        cyber[:, self.cyber] = True
        self._attack_factor = np.where(
            cyber & (base > 0), np.divide(attempts, base, out=np.ones_like(base), where=base > 0), 1.0
        )
        self._set_rates()

    def _plan_attacks(self) -> np.ndarray:
        """Every attacker plans; returns the attempts a year by sector and threat."""
        self.attackers.do("plan")
        by_attacker = np.array([a.attempts for a in self._attacker_list]).reshape(-1, *self.world.sector_rate.shape)
        self._attempts_cumulative = np.cumsum(by_attacker, axis=0)
        return by_attacker.sum(axis=0)

    def _set_rates(self) -> None:
        self.engine.rate_factor[:] = self._attack_factor * self._outsourcing_factor
        self.attack_attempts = (self.world.sector_rate * self.engine.rate_factor)[:, self.cyber].sum(axis=1)

    # --- the day --------------------------------------------------------------------------
    def step(self) -> None:
        """One day."""
        if self.day % DAYS_PER_YEAR == 0:
            self._begin_year()
        if self.settings.attackers.enabled and self.day % self.settings.attackers.replan_days == 0:
            self._replan()
        events = self.engine.run_day(self.day)
        self._absorb(events)
        due = self._alerts_changed | (self._alert_ends <= self.day + 1)
        if due.any():
            self._apply_operator_factors(np.flatnonzero(due))
        self._update_daily_figures()
        self.daily.collect(self)
        self.day += 1
        if self.day % DAYS_PER_YEAR == 0:
            self._end_year()
        self.running = self.day < self.total_days

    def _absorb(self, events: DayEvents) -> None:
        """Let a day's failures reach the agents."""
        world, abm = self.world, self.settings
        n = len(events)
        hide_draw, share_draw, attacker_draw = self.rng.random((3, n))
        reported = np.zeros(n, dtype=bool)
        tally_day(
            events.sector, events.threat, events.operator, events.region, events.persons, events.duration_hours,
            events.direct, events.users, events.economy, events.economy_external, hide_draw, self.hide_probability,
            abm.concealment.public_persons, abm.concealment.enabled, self._continuous, world.delay_hours,
            self._leaking, self.day_true, self.day_reported, self.day_loss, self.op_failures, self.op_loss,
            self._outage_hours, self._leaks, reported,
        )  # fmt: skip
        if n and abm.information_sharing.enabled:
            shared = reported & self.member[events.operator] & (share_draw < abm.information_sharing.share_probability)
            for row in np.flatnonzero(shared):
                self._alert(int(events.sector[row]), int(events.threat[row]))
        if n:
            self._credit_attackers(events, attacker_draw)
        self.fy_true += self.day_true
        self.fy_reported += self.day_reported
        self.fy_loss += self.day_loss
        self.cohorts.step(self._outage_hours, self._leaks)
        botnet = self.foreign_bots + self.cohorts.bots()
        self.ddos_capacity = (botnet / self.bots_at_start) ** abm.botnet.ddos_elasticity

    def _alert(self, sector: int, threat: int) -> None:
        """A member shared an incident: the CEPTOAR's members (every CEPTOAR's, once the
        Council works) are on guard against that threat."""
        recipients = self.member if self.council else self.member & (self.world.operators.sector == sector)
        until = self.day + 1 + self.settings.information_sharing.alert_days
        self.alert_until[recipients, threat] = until
        self._alerts_changed[threat] = True  # in force from tomorrow

    def _credit_attackers(self, events: DayEvents, draw: np.ndarray) -> None:
        """Give each successful attack to one attacker, in proportion to its attempts there."""
        for row in np.flatnonzero(self.cyber[events.threat]):
            cumulative = self._attempts_cumulative[:, events.sector[row], events.threat[row]]
            if cumulative[-1] <= 0:
                continue
            k = min(int(np.searchsorted(cumulative, draw[row] * cumulative[-1], side="right")), cumulative.size - 1)
            attacker = self._attacker_list[k]
            attacker.successes += 1
            attacker.payoff += {"direct": events.direct, "persons": events.persons, "economy": events.economy}[
                attacker.values
            ][row]

    def _apply_operator_factors(self, threats: np.ndarray | None = None) -> None:
        """Information-sharing alerts and exercises on top of the measures in place: for
        every threat, or only for ``threats`` (whose alerts started or ended)."""
        abm = self.settings
        cols = slice(None) if threats is None else threats
        alerted = self.alert_until[:, cols] > self.day + 1
        sharing = abm.information_sharing
        exercised = self.exercised_until >= self.fiscal_year
        detection = 1.0 - self.world.threats.detection_share[cols] * sharing.detection
        engine = self.engine
        engine.survive_factor[:, cols] = self._outsourcing_thinning[:, cols] * np.where(
            alerted, 1.0 - sharing.blocking, 1.0
        )
        engine.duration_factor[:, cols] = (
            np.where(alerted, detection, 1.0) * np.where(exercised, 1.0 - abm.exercises.duration_cut, 1.0)[:, None]
        )
        if threats is None:
            engine.cascade_factor[:] = np.where(exercised, 1.0 - abm.exercises.cascade_cut, 1.0)
        engine.refresh(threats)
        ends = np.where(alerted, self.alert_until[:, cols], np.iinfo(np.int64).max).min(
            axis=0, initial=np.iinfo(np.int64).max
        )
        self._alert_ends[cols] = np.where(ends == np.iinfo(np.int64).max, math.inf, ends)
        self._alerts_changed[cols] = False

    def _update_standing_figures(self) -> None:
        """Figures that change only when measures, standards, CEPTOARs or aims change."""
        ops = self.world.operators
        required = self.mandatory[ops.sector].sum(axis=1)
        has = (self.in_place.astype(float) @ self._option_measure > 0) & self.mandatory[ops.sector]
        compliance = np.where(required > 0, has.sum(axis=1) / np.maximum(required, 1), 1.0)
        self.compliance = float(compliance.mean()) if compliance.size else 1.0
        self.security_spend = float((self.option_cost * self.in_place).sum())
        self.mandatory_measures = int(self.mandatory.sum())
        self.recommended_measures = int((self.recommended & ~self.mandatory).sum())
        working = self.member & self.ceptoar_active[ops.sector]
        self.ceptoar_share = float(working.mean()) if working.size else 0.0

    def _update_daily_figures(self, accumulate: bool = True) -> None:
        """The individuals' figures and the alerts in force, each day."""
        cohorts = self.cohorts
        self.botnet_size = self.foreign_bots + cohorts.bots()
        self.infected_share = cohorts.mean(cohorts.infected)
        self.hygiene = cohorts.mean(cohorts.hygiene)
        index = cohorts.index()
        self.anxiety_index = cohorts.mean(index)
        self.anxious_share = cohorts.mean(1.0 - np.exp(-index))
        self.alerted_operators = int((self.alert_until > self.day + 1).any(axis=1).sum())
        if accumulate:
            for name in FY_MEANS:
                self._fy_sums[name] = self._fy_sums.get(name, 0.0) + getattr(self, name)

    def fy_mean(self, name: str) -> float:
        """Mean of a daily figure over the fiscal year's days so far."""
        days = self.day % DAYS_PER_YEAR or DAYS_PER_YEAR
        return self._fy_sums.get(name, math.nan) / days

    # --- the fiscal year -----------------------------------------------------------------------
    def _begin_year(self) -> None:
        self.fiscal_year = self.start_year + self.day // DAYS_PER_YEAR
        self.ministries.do("plan_year", self.fiscal_year)
        self.engine.new_year()
        self._apply_operator_factors()
        self.fy_true[:] = 0
        self.fy_reported[:] = 0
        self.fy_loss[:] = 0.0
        self.op_failures[:] = 0
        self.op_loss[:] = 0.0
        self._fy_sums = {}
        self.attackers.do("reset_year")
        self._update_standing_figures()
        self._in_force = {
            "mandatory_measures": self.mandatory.sum(axis=1),
            "recommended_measures": (self.recommended & ~self.mandatory).sum(axis=1),
            "compliance": self.compliance,
            "security_spend": self.security_spend,
            "ceptoar_share": self.ceptoar_share,
        }

    def _end_year(self) -> None:
        fiscal_year = self.fiscal_year
        if self.cabinet_centre is not None:
            self.cabinet_centre.evaluate(fiscal_year)
        self.ministries.do("review", fiscal_year)
        self.year_figures = self._year_figures(fiscal_year)
        self.yearly.collect(self)
        if self.settings.operators.enabled:
            self._invest()

    def _year_figures(self, fiscal_year: int) -> dict[str, object]:
        targets = self.targets.failures.get(fiscal_year)
        missed = np.zeros(self.world.n_sectors, dtype=bool)
        for ministry in self.ministries:
            for sector, flag in ministry.missed.items():
                missed[sector] = flag
        return {
            "fiscal_year": fiscal_year,
            "true_failures": self.fy_true.copy(),
            "reported_failures": self.fy_reported.copy(),
            "loss": self.fy_loss.copy(),
            "failures_per_operator": self.fy_reported.sum(axis=1) / np.maximum(self.sector_size, 1),
            "failures_target": targets.copy() if targets is not None else np.full(self.world.n_sectors, np.nan),
            "target_missed": missed,
            "anxious_target": self.targets.anxious.get(fiscal_year, math.nan),
            **{name: self.fy_mean(name) for name in FY_MEANS},
            "botnet_size": self.botnet_size,
            "attack_attempts": self.attack_attempts.copy(),
            **self._in_force,
        }

    def _invest(self) -> None:
        """Operators comply, drop what does not pay, and adopt what pays, by their own weights.

        Changes are valued for every operator once; after that only the operators whose
        measures changed are valued again, since nothing else moves another's values.
        """
        world = self.world
        weights = LossWeights(1.0, self.settings.operators.users_weight, 0.0)
        options = np.arange(world.catalogue.n_options)

        def value(rows: np.ndarray) -> Changes:
            return evaluate_changes(world, self.values, self.operator_rates(), self.in_place, rows, options, weights)

        changes = value(np.arange(len(world.operators)))

        def decide(method: str, flagged: np.ndarray) -> bool:
            """Let the flagged operators decide; value again those whose measures changed."""
            movers = np.array(
                [a.index for a in self.operators if flagged[a.index] and getattr(a, method)(changes)], dtype=np.int64
            )
            if movers.size:
                fresh = value(movers)
                for name in ("adds", "loss_removed", "cost_added"):
                    getattr(changes, name)[:, movers] = getattr(fresh, name)
            return bool(movers.size)

        sector = world.operators.sector
        decide("comply", (self.mandatory[sector] & ~(self.in_place @ self._option_measure > 0)).any(axis=1))
        # a voluntary measure that now costs more than it removes for the operator
        unpaid = ~changes.adds & (changes.cost_added < 0) & (changes.loss_removed > changes.cost_added)
        decide("reconsider", unpaid.any(axis=0))
        for _ in range(len(world.catalogue.measure_ids)):
            if not decide("adopt", self.adoptable(changes).any(axis=0)):
                break
        self.engine.set_protection(protection(world, self.in_place))
        self._apply_operator_factors()
        self._update_standing_figures()

    def adoptable(self, changes: Changes, operator: int | None = None) -> np.ndarray:
        """``[option, operator]`` (or ``[option]`` for one ``operator``): the options an
        operator would adopt by its own cost-benefit - recommended for its sector, not in
        place, affordable within its budget, and removing at least ``adoption_ratio`` times
        their cost in its own expected loss. (The catalogue's rules are checked when it
        adopts.)"""
        ops, cat = self.world.operators, self.world.catalogue
        spec = self.settings.operators
        rows = slice(None) if operator is None else operator
        room = spec.budget_revenue_share * ops.revenue[rows] - (self.option_cost[rows] * self.in_place[rows]).sum(
            axis=-1
        )
        gain, cost = changes.loss_removed[:, rows], changes.cost_added[:, rows]
        recommended = self.recommended[ops.sector[rows]][..., cat.option_measure[changes.options]].T
        return changes.adds[:, rows] & (cost > 0) & (cost <= room) & (gain >= spec.adoption_ratio * cost) & recommended


YEARLY_FIGURES = {
    "fiscal_year": "fiscal year",
    "true_failures": "IT failures, by sector and threat",
    "reported_failures": "IT failures reported to the ministries, by sector and threat",
    "loss": "losses by sector and layer (direct, users, economy, economy_external), yen",
    "failures_per_operator": "reported failures per operator, by sector (the Basic Plan's indicator)",
    "failures_target": "the Basic Plan's target for reported failures per operator, by sector",
    "target_missed": "whether the sector missed its target",
    "anxious_target": "the Basic Plan's target for the anxious share",
    "anxious_share": "share of individuals anxious about using IT (mean over the year)",
    "anxiety_index": "IT-anxiety index (mean over the year)",
    "infected_share": "share of machines infected (mean over the year)",
    "hygiene": "share practising good hygiene (mean over the year)",
    "botnet_size": "bots at the year's end",
    "attack_attempts": "attackers' attempts a year by sector at the year's end",
    "mandatory_measures": "mandatory measures by sector, in force during the year",
    "recommended_measures": "recommended (not mandatory) measures by sector, in force during the year",
    "compliance": "operators' mean compliance with mandatory measures during the year",
    "security_spend": "operators' spending on measures during the year, yen",
    "ceptoar_share": "share of operators in a working CEPTOAR during the year",
}

AGENT_REPORTERS = {
    Operator: {
        name: name
        for name in (
            "sector_id",
            "region_id",
            "measures",
            "mandatory_in_place",
            "compliance",
            "security_spend",
            "true_failures",
            "reported_failures",
            "loss",
            "hide_probability",
            "ceptoar_member",
            "exercised",
        )
    },
    Ministry: {name: name for name in ("ministry_id", "mandatory_measures", "recommended_measures", "targets_missed")},
    CabinetCentre: {
        name: name for name in ("ministry_id", "mandatory_measures", "recommended_measures", "targets_missed")
    },
    Attacker: {name: name for name in ("kind", "origin", "attempts_per_year", "successes", "payoff")},
    Individual: {
        name: name
        for name in ("region_id", "age_band", "users", "hygiene", "infected_share", "anxiety_index", "anxious_share")
    },
}
