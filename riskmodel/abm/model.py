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

The calendar: ``day`` counts the days simulated (Mesa's ``steps`` counts calls to
``step``; they agree after each step). Fiscal years have 365 days and start on 1 April.

Randomness comes from counter-derived streams (:mod:`riskmodel.abm.streams`): the agents'
own draws (Mesa's ``model.rng``, from which ``model.random`` is seeded) take a fixed number
of numbers a day and a year, whatever happens; the engine's hazards come from one stream
per day. There is no global random state; the same seed gives the same outputs, byte for
byte.

Outputs go through Mesa's ``DataCollector``: ``datacollector`` (model reporters, one row a
day) and ``yearly`` (model reporters and the agents' records, once a fiscal year); see
:mod:`riskmodel.abm.outputs` for the tables written from them.
"""

from __future__ import annotations

import math
from functools import partial

import mesa
import numpy as np

from riskmodel.abm.attacks import Targeting
from riskmodel.abm.choices import Changes, LossWeights, evaluate_changes, option_costs
from riskmodel.abm.cohorts import Cohorts
from riskmodel.abm.daily_engine import DAYS_PER_YEAR, DailyEngine, DayEvents
from riskmodel.abm.outsourcing import outsourcing_rates
from riskmodel.abm.rules import Rules
from riskmodel.abm.streams import AGENTS, ATTACKERS, ENGINE, OUTSOURCING, PROPENSITY, SETUP, stream
from riskmodel.abm.tally import tally_day
from riskmodel.abm.targets import BasicPlans
from riskmodel.abm.valuation import by_sector, event_values, expected_reach
from riskmodel.agents import Attacker, CabinetCentre, Individual, Ministry, Operator
from riskmodel.engine.kernels import LAYERS
from riskmodel.errors import InputError
from riskmodel.measures import Protection, effect_products, no_measures
from riskmodel.schema import THREAT_KINDS
from riskmodel.world import SERVICE_KINDS, World

NEVER = np.iinfo(np.int64).max
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
    "alerted_operators": "operators on information-sharing alert for the next day",
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
        super().__init__(rng=stream(seed, AGENTS))
        self.world = world
        self.settings = settings
        self.seed = seed
        horizon = world.scenario.horizon
        self.start_year = horizon.start_fiscal_year
        self.n_years = fiscal_years if fiscal_years is not None else horizon.end_fiscal_year - self.start_year + 1
        if self.n_years < 0:
            raise ValueError("fiscal_years must not be negative")
        self.total_days = self.n_years * DAYS_PER_YEAR
        self.fiscal_year = self.start_year
        self.day = 0

        ops = world.operators
        n_ops, n_sectors, n_threats = len(ops), world.n_sectors, len(world.threat_ids)
        self.engine = DailyEngine(world, partial(stream, seed, ENGINE))
        self.values = event_values(world)
        self.rules = Rules.of(world)
        self.option_cost = option_costs(world, np.arange(n_ops))
        self.sector_size = np.bincount(ops.sector, minlength=n_sectors)
        kinds = world.threats.kind
        self.cyber = kinds == THREAT_KINDS.index("cyber")
        self._public = kinds == THREAT_KINDS.index("disaster")  # disasters are in the news
        self._shareable = np.isin(world.threat_ids, settings.information_sharing.threats)
        self._leaking = np.isin(world.threat_ids, settings.individuals.leak_threats)
        self._continuous = world.service_kind == SERVICE_KINDS.index("continuous")
        self.ddos_threat = world.threat_ids.index(settings.botnet.ddos_threat)
        self._outage_hours = np.zeros(len(world.region_ids))  # person-hours of outage a day, by power area
        self._leaks = np.zeros(len(world.region_ids))  # persons whose data leaked that day

        self.in_place = no_measures(world) if in_place is None else np.array(in_place, dtype=bool)
        self._standards()
        self._propensity = stream(seed, SETUP, PROPENSITY).normal(0.0, settings.concealment.propensity_sd, n_ops)
        self.immune = False
        self.hide_probability = np.zeros(n_ops)
        self.set_immunity(False)
        sharing = settings.information_sharing
        sector_index = {s: i for i, s in enumerate(world.sector_ids)}
        self.ceptoar_start = (
            {sector_index[c.sector]: c.from_fiscal_year for c in sharing.ceptoars} if sharing.enabled else {}
        )
        self.ceptoar_active = np.zeros(n_sectors, dtype=bool)
        self.member = np.zeros(n_ops, dtype=bool)
        self.council = False
        self.alert_until = np.zeros((n_ops, n_threats), dtype=np.int64)  # an alert holds on days before
        self._alert_ends = np.full(n_threats, math.inf)  # the day the next alert of each threat ends
        self._alerts_changed = np.zeros(n_threats, dtype=bool)
        self.exercised_until = np.full(n_ops, -1, dtype=np.int64)  # last fiscal year an exercise helps
        self.outsourcing = outsourcing_rates(world, settings.outsourcing, stream(seed, SETUP, OUTSOURCING))
        self._attack_factor = np.ones((n_sectors, n_threats))
        self._set_rates()
        self.targeting = Targeting(world, settings.attackers.displacement_elasticity)
        self._set_protection()

        self.cohorts = Cohorts(world, settings, *self._expected_suffering())
        self.foreign_bots = settings.botnet.bots - self.cohorts.bots()
        self.ddos_capacity = 1.0
        self._create_agents()
        self.targets = BasicPlans(
            self.start_year, self.start_year + self.n_years - 1, horizon.plan_cycle_years,
            settings.pdca.failure_reduction, settings.pdca.anxious_reduction,
        )  # fmt: skip
        self._counters()
        if settings.operators.enabled:
            self.operators.do("comply")  # the standards in force at the start are met
            self._set_protection()
        self._update_standing_figures()
        self._update_daily_figures(accumulate=False)
        self.running = self.total_days > 0

    # --- set-up ---------------------------------------------------------------------------
    def _standards(self) -> None:
        """Mandatory and recommended measures per sector, from the ministries' lists."""
        world = self.world
        index = {m: i for i, m in enumerate(world.catalogue.measure_ids)}
        sector_index = {s: i for i, s in enumerate(world.sector_ids)}
        shape = (world.n_sectors, len(index))
        self.mandatory = np.zeros(shape, dtype=bool)
        self.recommended = np.zeros(shape, dtype=bool)
        for ministry in world.scenario.ministries:
            rows = [sector_index[s] for s in ministry.sectors]
            for name in ministry.recommended:
                self.recommended[rows, index[name]] = True
            for name in ministry.mandatory:
                self.mandatory[rows, index[name]] = True
        self.recommended |= self.mandatory
        self.mandatory_in_force = self.mandatory.copy()  # as at the start of the fiscal year

    def _create_agents(self) -> None:
        """The agents, with Mesa's own API; each kind is an AgentSet of the model."""
        world, settings = self.world, self.settings
        sector_index = {s: i for i, s in enumerate(world.sector_ids)}
        Operator.create_agents(self, len(world.operators), index=list(range(len(world.operators))))
        for spec in world.scenario.ministries:
            kind = CabinetCentre if spec.kind == "cabinet_centre" else Ministry
            kind(self, spec.id, [sector_index[s] for s in spec.sectors if world.critical[sector_index[s]]])
        self._create_attackers()
        bands = [b.id for b in settings.individuals.age_bands]
        Individual.create_agents(
            self,
            len(self.cohorts),
            index=list(range(len(self.cohorts))),
            region_id=[world.region_ids[r] for r in self.cohorts.region],
            age_band=[bands[b] for b in self.cohorts.band],
        )
        self.operators = self.agents_by_type[Operator]
        self.attackers = self.agents_by_type[Attacker]
        self.individuals = self.agents_by_type[Individual]
        self.ministries = self.agents.select(agent_type=Ministry)
        self.cabinet_centre = next(iter(self.agents_by_type[CabinetCentre]))  # the scenario has exactly one
        self._attacker_list = list(self.attackers)
        self._plan_attacks()  # at the scenario's rates; they re-aim only when enabled

    def _create_attackers(self) -> None:
        """Attackers of each kind, their sizes spread lognormally and their countries drawn
        from the scenario's origins; each commands a share of its kind's attempts."""
        spec = self.settings.attackers
        world = self.world
        rng = stream(self.seed, SETUP, ATTACKERS)
        origins = list(spec.origins)
        weights = np.array([spec.origins[o] for o in origins])
        attempts = world.sector_rate.sum(axis=0) * self.cyber  # attempts a year per threat
        threat_index = {t: i for i, t in enumerate(world.threat_ids)}
        preference = np.zeros((len(spec.kinds), len(world.threat_ids)))
        for k, kind in enumerate(spec.kinds):
            for name, weight in kind.threats.items():
                preference[k, threat_index[name]] = kind.capacity_share * weight
        total = preference.sum(axis=0)
        kind_share = np.divide(preference, total, out=np.zeros_like(preference), where=total > 0)
        for k, kind in enumerate(spec.kinds):
            sizes = rng.lognormal(0.0, kind.capacity_sigma, kind.count)
            sizes /= sizes.sum()
            countries = rng.choice(len(origins), size=kind.count, p=weights / weights.sum())
            for size, country in zip(sizes, countries, strict=True):
                Attacker(self, kind.id, kind.values, origins[country], attempts * kind_share[k] * size)

    def _counters(self) -> None:
        """What is counted by day and by fiscal year, and the DataCollectors."""
        world = self.world
        n_sectors, n_threats, n_ops = world.n_sectors, len(world.threat_ids), len(world.operators)
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
        self._in_force: dict[str, object] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={name: DAILY_ATTRIBUTES.get(name, name) for name in DAILY_SERIES}
        )
        self.yearly = mesa.DataCollector(
            model_reporters={name: partial(_figure, name) for name in YEARLY_FIGURES},
            agenttype_reporters=AGENT_REPORTERS,
        )

    def _expected_suffering(self) -> tuple[np.ndarray, np.ndarray]:
        """Person-hours of outage and leaked persons a day, by power area, that the start
        makes expected (for the individuals' anxiety to start at its steady state)."""
        world = self.world
        hours, persons = expected_reach(self.values, self.operator_rates(), self.protection)
        leaks = persons[:, self._leaking].sum(axis=1) * self.settings.individuals.leak_share
        region = world.operators.region
        n_regions = len(world.region_ids)
        by_region = [np.bincount(region, weights=x, minlength=n_regions) / DAYS_PER_YEAR for x in (hours.sum(1), leaks)]
        return by_region[0], by_region[1]

    # --- the catalogue's rules, as the agents apply them -----------------------------------
    def held(self, operator: int | np.ndarray | slice = slice(None)) -> np.ndarray:
        """Which measures (at any level) an operator (or operators) holds."""
        return self.rules.measures_held(self.in_place[operator])

    def allowed(self, operator: int, option: int) -> bool:
        """Whether the catalogue's rules let an operator put ``option`` in place."""
        return self.rules.allowed(self.held(operator), option)

    def droppable(self, operator: int, option: int) -> bool:
        """Whether an operator may drop an option: not mandatory, not needed by another."""
        m = int(self.rules.option_measure[option])
        sector = int(self.world.operators.sector[operator])
        return not self.mandatory[sector, m] and not self.rules.needed(self.held(operator), m)

    def remove_measure(self, operator: int, measure: int) -> None:
        self.in_place[operator, self.rules.option_measure == measure] = False

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

    # --- rates and protection ------------------------------------------------------------
    def operator_rates(self) -> np.ndarray:
        """Failures a year each operator can expect before its own measures: the scenario's
        rates as attackers aim them now and as its outsourcing makes them."""
        factor = self._attack_factor * self.outsourcing.sector_factor
        return self.values.rate * factor[self.world.operators.sector] * self.outsourcing.thinning

    def _set_rates(self) -> None:
        self.engine.rate_factor[:] = self._attack_factor * self.outsourcing.sector_factor
        self.attack_attempts = (self.world.sector_rate * self.engine.rate_factor)[:, self.cyber].sum(axis=1)

    def measure_survive(self) -> np.ndarray:
        """``[operator, threat]``: the share of failures the measures in place let through."""
        return self.protection.survive

    def sector_sums(self, values: np.ndarray) -> np.ndarray:
        """``values[operator, ...]`` summed by sector (in operator order)."""
        return by_sector(self.world, values)

    def _set_protection(self) -> None:
        """The measures in place changed: the engine's tables and what they leave of the
        detection delay (which information-sharing alerts cut further)."""
        products = effect_products(self.world, self.in_place)
        self.protection: Protection = products.protection(self.world, np.zeros(len(self.world.operators)))
        self._detection_left = products.detection
        self.engine.set_protection(self.protection)

    def _apply_operator_factors(self, day: int, threats: np.ndarray | None = None) -> None:
        """Prepare ``day``: information-sharing alerts and exercises on top of the measures in
        place, for every threat or only for ``threats`` (whose alerts started or ended).

        An alert cuts ``detection`` of what the measures left of the detection delay: the
        duration multiplier ``1 - a (1 - T)`` becomes ``1 - a (1 - T (1 - detection))``.
        """
        abm = self.settings
        sharing = abm.information_sharing
        cols = slice(None) if threats is None else threats
        alerted = self.alert_until[:, cols] > day
        a = self.world.threats.detection_share[cols][None, :]
        left = self._detection_left[:, None]
        with np.errstate(divide="ignore", invalid="ignore"):
            sharper = np.where(
                a * (1.0 - left) < 1.0,
                (1.0 - a * (1.0 - left * (1.0 - sharing.detection))) / (1.0 - a * (1.0 - left)),
                1.0,
            )
        exercised = self.exercised_until >= self.fiscal_year
        engine = self.engine
        engine.survive_factor[:, cols] = self.outsourcing.thinning[:, cols] * np.where(
            alerted, 1.0 - sharing.blocking, 1.0
        )
        engine.duration_factor[:, cols] = (
            np.where(alerted, sharper, 1.0) * np.where(exercised, 1.0 - abm.exercises.duration_cut, 1.0)[:, None]
        )
        if threats is None:
            engine.cascade_factor[:] = np.where(exercised, 1.0 - abm.exercises.cascade_cut, 1.0)
        engine.refresh(threats)
        ends = np.where(alerted, self.alert_until[:, cols], NEVER).min(axis=0, initial=NEVER)
        self._alert_ends[cols] = np.where(ends == NEVER, math.inf, ends)
        self._alerts_changed[cols] = False

    # --- attackers ------------------------------------------------------------------------
    def target_shares(self, values: str) -> np.ndarray:
        """How an attacker valuing ``values`` spreads a threat's attempts over the sectors."""
        return self.targeting.shares[values]

    def _replan(self) -> None:
        """Attackers re-aim at the defences in force today."""
        self.targeting.aim(self.engine.op_threat, self.engine.op_float)
        attempts = self._plan_attacks()
        base = self.world.sector_rate
        ratio = np.divide(attempts, base, out=np.ones_like(base), where=base > 0)
        self._attack_factor = np.where(self.cyber[None, :], ratio, 1.0)
        self._set_rates()

    def _plan_attacks(self) -> np.ndarray:
        """Every attacker plans; returns the attempts a year by sector and threat."""
        self.attackers.do("plan")
        by_attacker = np.array([a.attempts for a in self._attacker_list]).reshape(-1, *self.world.sector_rate.shape)
        self._attempts_cumulative = np.cumsum(by_attacker, axis=0)
        return by_attacker.sum(axis=0)

    def _credit_attackers(self, events: DayEvents, draw: np.ndarray) -> None:
        """Give each successful attack to one attacker, in proportion to its attempts there."""
        worth = {"direct": events.direct, "persons": events.persons, "economy": events.economy}
        for row in np.flatnonzero(self.cyber[events.threat]):
            cumulative = self._attempts_cumulative[:, events.sector[row], events.threat[row]]
            if cumulative[-1] <= 0:
                continue
            k = min(int(np.searchsorted(cumulative, draw[row] * cumulative[-1], side="right")), cumulative.size - 1)
            attacker = self._attacker_list[k]
            attacker.successes += 1
            attacker.payoff += float(worth[attacker.values][row])

    # --- the day --------------------------------------------------------------------------
    def step(self) -> None:
        """One day."""
        if self.day % DAYS_PER_YEAR == 0:
            self._begin_year()
        if self.settings.attackers.enabled and self.day % self.settings.attackers.replan_days == 0:
            self._replan()
        self._absorb(self.engine.run_day(self.day))
        tomorrow = self.day + 1
        due = self._alerts_changed | (self._alert_ends <= tomorrow)
        if due.any():
            self._apply_operator_factors(tomorrow, np.flatnonzero(due))
        self._update_daily_figures()
        self.datacollector.collect(self)
        self.day = tomorrow
        if self.day % DAYS_PER_YEAR == 0:
            self._end_year()
        self.running = self.day < self.total_days

    def _absorb(self, events: DayEvents) -> None:
        """Let a day's failures reach the agents.

        The agents' draws of the day are one per operator for each decision (hide, share,
        whose attack), taken whatever the day's events, so a change in one operator's
        failures leaves the others' decisions as they were.
        """
        world, abm = self.world, self.settings
        hide, share, credit = self.rng.random((3, len(world.operators)))
        o = events.operator
        reported = np.zeros(len(events), dtype=bool)
        tally_day(
            events.sector, events.threat, o, events.region, events.persons, events.duration_hours,
            events.direct, events.users, events.economy, events.economy_external, hide[o], self.hide_probability,
            abm.concealment.public_persons, abm.concealment.enabled, self._public, self._continuous,
            world.delay_hours, self._leaking, abm.individuals.leak_share, self.day_true, self.day_reported,
            self.day_loss, self.op_failures, self.op_loss, self._outage_hours, self._leaks, reported,
        )  # fmt: skip
        if abm.information_sharing.enabled:
            shared = (
                reported
                & self.member[o]
                & self._shareable[events.threat]
                & (share[o] < abm.information_sharing.share_probability)
            )
            for row in np.flatnonzero(shared):
                self._alert(int(events.sector[row]), int(events.threat[row]))
        self._credit_attackers(events, credit[o])
        self.fy_true += self.day_true
        self.fy_reported += self.day_reported
        self.fy_loss += self.day_loss
        self.cohorts.step(self._outage_hours, self._leaks)
        botnet = self.foreign_bots + self.cohorts.bots()
        self.ddos_capacity = (botnet / abm.botnet.bots) ** abm.botnet.ddos_elasticity

    def _alert(self, sector: int, threat: int) -> None:
        """A member shared an incident: the CEPTOAR's members (every CEPTOAR's, once the
        Council works) are on guard against that threat from tomorrow for ``alert_days``."""
        recipients = self.member if self.council else self.member & (self.world.operators.sector == sector)
        self.alert_until[recipients, threat] = self.day + 1 + self.settings.information_sharing.alert_days
        self._alerts_changed[threat] = True

    def _update_standing_figures(self) -> None:
        """Figures that change only when measures, standards or CEPTOARs change."""
        ops = self.world.operators
        in_force = self.mandatory_in_force[ops.sector]
        required = in_force.sum(axis=1)
        met = (self.held() & in_force).sum(axis=1)
        compliance = np.where(required > 0, met / np.maximum(required, 1), 1.0)
        self.compliance = float(compliance.mean()) if compliance.size else 1.0
        self.security_spend = float(np.sum(self.option_cost * self.in_place))
        self.mandatory_measures = int(self.mandatory_in_force.sum())
        self.recommended_measures = int((self.recommended & ~self.mandatory_in_force).sum())
        working = self.member & self.ceptoar_active[ops.sector]
        self.ceptoar_share = float(working.mean()) if working.size else 0.0

    def _update_daily_figures(self, accumulate: bool = True) -> None:
        """The individuals' figures and the alerts, each day."""
        cohorts = self.cohorts
        self.botnet_size = self.foreign_bots + cohorts.bots()
        self.infected_share = cohorts.mean(cohorts.infected)
        self.hygiene = cohorts.mean(cohorts.hygiene)
        self.anxiety_index = cohorts.mean(cohorts.index)
        self.anxious_share = cohorts.mean(cohorts.anxious)
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
        self.engine.new_year(self.fiscal_year)
        self._apply_operator_factors(self.day)
        for counter in (self.fy_true, self.fy_reported, self.fy_loss, self.op_failures, self.op_loss):
            counter[:] = 0
        self._fy_sums = {}
        self.attackers.do("reset_year")
        self.mandatory_in_force = self.mandatory.copy()
        self._update_standing_figures()
        self._in_force = {
            "mandatory": self.mandatory_in_force.copy(),
            "mandatory_measures": self.mandatory_in_force.sum(axis=1),
            "recommended_measures": (self.recommended & ~self.mandatory_in_force).sum(axis=1),
            "compliance": self.compliance,
            "security_spend": self.security_spend,
            "ceptoar_share": self.ceptoar_share,
        }

    def _end_year(self) -> None:
        fiscal_year = self.fiscal_year
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

    # --- investment ---------------------------------------------------------------------------
    def _invest(self) -> None:
        """Operators comply, drop what does not pay, and adopt what pays, by their own weights.

        Changes are valued for every operator once; after that only the operators whose
        measures changed are valued again, since nothing else moves another's values.
        """
        world = self.world
        weights = LossWeights(1.0, self.settings.operators.users_weight, 0.0)
        options = np.arange(world.catalogue.n_options)
        self.compliance_draws = self.rng.random((len(world.operators), len(world.catalogue.measure_ids)))

        def value(rows: np.ndarray) -> Changes:
            return evaluate_changes(world, self.values, self.operator_rates(), self.in_place, rows, options, weights)

        changes = value(np.arange(len(world.operators)))

        def decide(method: str, flagged: np.ndarray) -> bool:
            """Let the flagged operators decide; value again those whose measures changed."""
            concerned = self.operators.select(lambda agent: flagged[agent.index])
            moved = concerned.map(method, changes)
            movers = np.array([a.index for a, m in zip(concerned, moved, strict=True) if m], dtype=np.int64)
            if movers.size:
                fresh = value(movers)
                for name in ("adds", "loss_removed", "cost_added"):
                    getattr(changes, name)[:, movers] = getattr(fresh, name)
            return bool(movers.size)

        decide("comply", (self.mandatory[world.operators.sector] & ~self.held()).any(axis=1))
        # a voluntary measure that now costs more than it removes for the operator
        unpaid = ~changes.adds & (changes.cost_added < 0) & (changes.loss_removed > changes.cost_added)
        decide("reconsider", unpaid.any(axis=0))
        for _ in range(len(world.catalogue.measure_ids)):
            if not decide("adopt", self.adoptable(changes).any(axis=0)):
                break
        self._set_protection()
        self._apply_operator_factors(self.day)
        self._update_standing_figures()

    def adoptable(self, changes: Changes, operator: int | None = None) -> np.ndarray:
        """``[option, operator]`` (or ``[option]`` for one ``operator``): the options an
        operator would adopt by its own cost-benefit - recommended for its sector, not in
        place, affordable within its budget, and removing at least ``adoption_ratio`` times
        their cost in its own expected loss. (The catalogue's rules are checked when it
        adopts.)"""
        ops = self.world.operators
        spec = self.settings.operators
        rows = slice(None) if operator is None else operator
        spent = np.sum(self.option_cost[rows] * self.in_place[rows], axis=-1)
        room = spec.budget_revenue_share * ops.revenue[rows] - spent
        gain, cost = changes.loss_removed[:, rows], changes.cost_added[:, rows]
        recommended = self.recommended[ops.sector[rows]][..., self.rules.option_measure[changes.options]].T
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
    "mandatory": "which measures are mandatory in each sector's standard, in force during the year",
    "mandatory_measures": "mandatory measures by sector, in force during the year",
    "recommended_measures": "recommended (not mandatory) measures by sector, in force during the year",
    "compliance": "operators' mean compliance with the mandatory measures in force, at the year's start",
    "security_spend": "operators' spending on measures during the year, yen",
    "ceptoar_share": "share of operators in a working CEPTOAR during the year",
}

MINISTRY_REPORTERS = {
    name: name for name in ("ministry_id", "mandatory_measures", "recommended_measures", "targets_missed")
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
    Ministry: MINISTRY_REPORTERS,
    CabinetCentre: MINISTRY_REPORTERS,
    Attacker: {name: name for name in ("kind", "origin", "attempts_per_year", "successes", "payoff")},
    Individual: {
        name: name
        for name in ("region_id", "age_band", "users", "hygiene", "infected_share", "anxiety_index", "anxious_share")
    },
}
