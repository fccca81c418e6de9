"""The agent-based model: operators, ministries, attackers and individuals through the PDCA years.

A step is one day. Each day the engine's kernel draws the day's IT failures and their
losses (outages and cascades run hourly inside it) on arrays this model owns; the model
then lets the failures reach the agents: operators report or hide them (weighing blame
against the chance and cost of being found out), some hidden ones are found out, members
of a CEPTOAR share them and raise each other's guard (an alert fading as it ages),
attackers score their successes, and the individuals grow anxious with the outages and
leaks of their power area and the failures in the news. Every ``replan_days`` the
attackers re-aim their attempts. At a fiscal year's end the ministries test each sector's
serious failures against the Basic Plan's target and review the standards, the cabinet
centre sets the next plan's targets (and an accident-investigation body, if there is one,
investigates), and operators invest; at the start of the next the operators decide on
CEPTOAR membership and exercise invitations, the cabinet centre campaigns if anxiety is
high, and online use follows last year's anxiety. A full description in the ODD protocol
is ``docs/ODD.md``.

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

from riskmodel.abm.agents import Attacker, CabinetCentre, Individual, Ministry, Operator
from riskmodel.abm.attacks import Targeting
from riskmodel.abm.beliefs import Beliefs
from riskmodel.abm.cohorts import Cohorts
from riskmodel.abm.daily_engine import DAYS_PER_YEAR, DailyEngine
from riskmodel.abm.day import DaySchedule
from riskmodel.abm.fiscal_year import FiscalYear
from riskmodel.abm.investment import Investment
from riskmodel.abm.objective import Press
from riskmodel.abm.outsourcing import outsourcing_rates
from riskmodel.abm.parameters import lever_overrides
from riskmodel.abm.reporters import (
    AGENT_REPORTERS,
    DAILY_ATTRIBUTES,
    DAILY_SERIES,
    YEARLY_FIGURES,
    OutagesInProgress,
    figure,
)
from riskmodel.abm.rules import Rules
from riskmodel.abm.streams import AGENTS, ATTACKERS, ENGINE, OUTSOURCING, PROPENSITY, SETUP, stream
from riskmodel.abm.targets import BasicPlans
from riskmodel.abm.valuation import by_sector, event_values, expected_losses, expected_reach
from riskmodel.engine.events import Events
from riskmodel.engine.kernels import LAYERS, OP_USERS
from riskmodel.errors import InputError
from riskmodel.measures import Protection, effect_products, no_measures
from riskmodel.portfolio import load_portfolio
from riskmodel.schema import THREAT_KINDS
from riskmodel.world import World, load_world, with_overrides

NEVER = np.iinfo(np.int64).max


class CriticalInfrastructureModel(DaySchedule, FiscalYear, Investment, mesa.Model):
    """Japan's critical infrastructure, day by day, from the scenario's first fiscal year.

    ``world`` is a compiled scenario with ``[abm]`` tables; ``in_place[operator, option]``
    measures put in place at the start (default none): on top of what the operators'
    spin-up (``[abm.operators.start]``) leaves, replacing other levels of the same
    measures, so that the world (its rates before measures) is the same whatever is given;
    with the spin-up off, they are all there is, at the scenario's rates. ``fiscal_years``
    how many years to run (default the scenario's horizon).

    It can also be built from scalar parameters, Mesa's convention, so that
    ``mesa.batch_run`` and SolaraViz can drive it: leave ``world`` out and name a
    ``scenario`` (a file or packaged name; default the packaged one), a ``portfolio`` file,
    and levers by the names of :data:`~riskmodel.abm.parameters.LEVERS` (``blame=2.0``,
    ``information_sharing=False``), which set the scenario's fields as overrides do. (Give
    ``mesa.batch_run`` a ``max_steps`` of at least ``365 * fiscal_years``: its default of
    1,000 days would cut a run short.)
    """

    def __init__(
        self,
        world: World | None = None,
        in_place: np.ndarray | None = None,
        fiscal_years: int | None = None,
        seed: int = 0,
        *,
        scenario: str | None = None,
        portfolio: str | None = None,
        **levers: object,
    ):
        if world is None:
            world = load_world(scenario)
        elif scenario is not None:
            raise ValueError("give a world or a scenario, not both")
        world = with_overrides(world, lever_overrides(levers))
        if portfolio is not None:
            in_place = load_portfolio(portfolio, world)
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
        self.option_cost = world.catalogue.option_costs(ops.revenue)
        self.sector_size = np.bincount(ops.sector, minlength=n_sectors)
        kinds = world.threats.kind
        self.cyber = kinds == THREAT_KINDS.index("cyber")
        self._public = kinds == THREAT_KINDS.index("disaster")  # disasters are in the news
        self._shareable = np.isin(world.threat_ids, settings.information_sharing.threats)
        self._leaking = np.isin(world.threat_ids, settings.individuals.leak_threats)
        self.ddos_threat = world.threat_ids.index(settings.botnet.ddos_threat)
        self._outage_hours = np.zeros(len(world.region_ids))  # person-hours of outage a day, by power area
        self._leaks = np.zeros(len(world.region_ids))  # persons whose data leaked that day
        self.outages = OutagesInProgress()  # the outages running on the last day simulated

        given = None if in_place is None else np.array(in_place, dtype=bool)
        spin_up = settings.operators.enabled and settings.operators.start.enabled
        self.in_place = given.copy() if given is not None and not spin_up else no_measures(world)
        self._standards()
        # expected penalty a year per mandatory measure an operator lacks, as a share of its revenue
        self.penalty_share = np.full(n_sectors, settings.operators.penalty_revenue_share)
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
        self._alert_coverage = math.nan  # share of member-days on alert last year (per threat, averaged)
        self.campaigns_in_row = 0
        self.campaigns_run = 0
        self.campaigning = False
        self.council = False
        self.alert_until = np.zeros((n_ops, n_threats), dtype=np.int64)  # an alert holds on days before
        self._alert_ends = np.full(n_threats, math.inf)  # the day the next alert of each threat ends
        self._alerts_changed = np.zeros(n_threats, dtype=bool)
        self.exercised_until = np.full(n_ops, -1, dtype=np.int64)  # last fiscal year an exercise helps
        self.exercised_in = np.full(n_ops, -1, dtype=np.int64)  # fiscal year of its last exercise
        self.lessons = np.zeros(n_threats)  # investigations of each threat so far
        self.use_factor = np.ones(len(world.region_ids))  # online use by power area, from anxiety
        self.outsourcing = outsourcing_rates(world, settings.outsourcing, stream(seed, SETUP, OUTSOURCING))
        self._attack_factor = np.ones((n_sectors, n_threats))
        self.baseline = np.ones((n_sectors, n_threats))  # rates before measures over the scenario's
        self.spin_up_rounds = 0  # rounds of the spin-up's last year to its fixed point (Investment._spin_up)
        self.spin_up_converged = True
        self._set_rates()
        self._set_protection()
        self.beliefs = Beliefs(settings.operators.beliefs, (n_ops, n_threats))
        self.press = Press(world, self.values, settings.concealment.public_persons)
        self._counters()
        Operator.create_agents(self, n_ops, index=list(range(n_ops)))
        self.operators = self.agents_by_type[Operator]
        if settings.operators.enabled:
            self.operators.do("comply")  # the standards in force at the start are met
            self._set_protection()
            if spin_up:
                self._spin_up()
                if given is not None:
                    self._put_in_place(given)
        attackers = settings.attackers
        self.targeting = Targeting(world, attackers.displacement_elasticity, attackers.outside_option, self.in_place)

        self.cohorts = Cohorts(world, settings, *self._expected_suffering())
        self.start_foreign_bots = settings.botnet.bots - self.cohorts.bots()
        self.foreign_bots = self.start_foreign_bots
        self._start_anxious = self.cohorts.region_mean(self.cohorts.anxious)
        self._fy_region_anxious = self._start_anxious.copy()
        self.ddos_capacity = 1.0
        self._create_agents()
        self.targets = BasicPlans(
            self.start_year, self.start_year + self.n_years - 1, horizon.plan_cycle_years,
            settings.pdca.failure_reduction, settings.pdca.anxious_reduction,
        )  # fmt: skip
        self._update_standing_figures()
        self._update_daily_figures(accumulate=False)
        self.running = self.total_days > 0

    # --- set-up ---------------------------------------------------------------------------
    def _standards(self) -> None:
        """Mandatory and recommended measures per sector, from the ministries' lists (the
        model's own copies: the ministries change them)."""
        self.mandatory = self.world.catalogue.mandatory.copy()
        self.recommended = self.world.catalogue.recommended.copy()
        self.mandatory_in_force = self.mandatory.copy()  # as at the start of the fiscal year

    def _create_agents(self) -> None:
        """The agents other than the operators (made first, for the spin-up), with Mesa's
        own API; each kind is an AgentSet of the model."""
        world, settings = self.world, self.settings
        sector_index = {s: i for i, s in enumerate(world.sector_ids)}
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
        self.op_threat_failures = np.zeros((n_ops, n_threats))  # an operator's failures this fiscal year
        n_options, n_measures = world.catalogue.n_options, len(world.catalogue.measure_ids)
        self.compliance_draws = np.zeros((n_ops, n_measures))  # a round's draws (Investment._decide)
        self.adoption_draws = np.zeros((n_ops, n_options))
        # incidents shared through each sector's CEPTOAR this fiscal year (members' beliefs read it)
        self.shared_counts = np.zeros((n_sectors, n_threats))
        self.fy_serious = np.zeros(n_sectors, dtype=np.int64)  # reported serious failures (the indicator)
        self.fy_serious_public = np.zeros(n_sectors, dtype=np.int64)  # of which the press reported
        self.fy_public_failures: list[tuple[float, int]] = []  # (persons, threat) of reported public ones
        self.reporting_estimate = np.full(n_sectors, self.settings.pdca.reporting_prior)  # the ministries'
        self.fy_found_out = np.zeros(n_sectors, dtype=np.int64)  # hidden failures discovered
        self.fy_nonpublic_reported = np.zeros(n_sectors, dtype=np.int64)  # reported, not in the press
        self.fy_alerted_member_days = 0.0  # member-days on alert, summed over shared threats
        self.fy_member_days = 0.0
        self.fy_state_cost = 0.0  # mandates, investigations, campaigns: yen this fiscal year
        self.fy_sharing_cost = 0.0  # CEPTOAR membership and exercises' staff time: yen
        self.fy_exercise_cost = 0.0
        self.fy_penalties = 0.0  # penalties paid for incidents found out, yen
        self.fy_news = 0  # publicised IT failures
        self._fy_sums: dict[str, float] = {}
        self.year_figures: dict[str, object] = {}
        self._in_force: dict[str, object] = {}
        self.datacollector = mesa.DataCollector(
            model_reporters={name: DAILY_ATTRIBUTES.get(name, name) for name in DAILY_SERIES}
        )
        self.yearly = mesa.DataCollector(
            model_reporters={name: partial(figure, name) for name in YEARLY_FIGURES},
            agenttype_reporters=AGENT_REPORTERS,
        )

    def _expected_suffering(self) -> tuple[np.ndarray, np.ndarray, float]:
        """Person-hours of outage and leaked persons a day, by power area, and publicised
        IT failures a day in the country, that the start makes expected (for the
        individuals' anxiety to start at its steady state). A failure is publicised when
        it reaches ``public_persons``, with the chance the operators weigh (:class:`Press`)."""
        world = self.world
        rate = self.operator_rates()
        hours, persons = expected_reach(self.values, rate, self.protection)
        leaks = persons[:, self._leaking].sum(axis=1) * self.settings.individuals.leak_share
        region = world.operators.region
        n_regions = len(world.region_ids)
        by_region = [np.bincount(region, weights=x, minlength=n_regions) / DAYS_PER_YEAR for x in (hours.sum(1), leaks)]
        public = self.press(np.arange(len(world.operators)), self.protection.depth)
        news = rate * self.protection.survive * public * ~self._public[None, :]
        return by_region[0], by_region[1], float(news.sum()) / DAYS_PER_YEAR

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
        """Reporting is (or is not) immune from sanctions: operators decide anew whether to hide."""
        self.immune = immune
        self._decide_hiding()

    @property
    def detection_probability(self) -> float:
        """The chance a hidden incident is found out: audits and the press, plus the
        accident-investigation body's work while it exists."""
        probability = self.settings.concealment.detection_probability
        body = self.settings.investigation
        if body is not None and body.enabled and self.fiscal_year >= body.from_fiscal_year:
            probability += body.detection_gain
        return min(probability, 1.0)

    def _decide_hiding(self) -> None:
        """Operators' hiding probabilities: the blame a report brings against the expected
        cost of being found out (penalty and reputation, in units of that blame), less
        immunity, on the logit scale, with each operator's own propensity."""
        spec = self.settings.concealment
        found_out = self.detection_probability * (spec.penalty + spec.reputation)
        logit = (
            math.log(spec.base_probability / (1.0 - spec.base_probability))
            + spec.blame_slope * (spec.blame - found_out)
            - spec.immunity_effect * self.immune
        )
        self.hide_probability = 1.0 / (1.0 + np.exp(-(logit + self._propensity)))

    def establish_ceptoar(self, sector: int) -> None:
        """A sector's CEPTOAR starts; its operators decide whether to join (see
        :meth:`decide_membership`)."""
        self.ceptoar_active[sector] = True
        self.decide_membership(sector)

    def decide_membership(self, sector: int) -> None:
        """Operators of a sector with a working CEPTOAR join or stay if the alerts are worth
        their cost to them: what an alert cuts (``blocking``, and ``detection`` of the
        detection part of what is left) times the share of days members were on alert
        last year (or the expected coverage of a new CEPTOAR) times their own expected
        loss from the shared threats, against the membership cost. The largest
        ``membership_share`` of the sector are the ones invited (those that had a reason to
        take part in setting it up)."""
        sharing = self.settings.information_sharing
        rows = np.flatnonzero(self.world.operators.sector == sector)
        n = round(sharing.membership_share * rows.size)
        invited = rows[np.argsort(-self.world.operators.revenue[rows], kind="stable")][:n]
        coverage = self._alert_coverage if np.isfinite(self._alert_coverage) else sharing.expected_coverage
        # an alert blocks events and, of those left, shortens the detection part of outages
        detection = sharing.detection * float(np.mean(self.world.threats.detection_share[self._shareable]))
        cut = sharing.blocking + (1.0 - sharing.blocking) * detection
        worth = cut * coverage * self.own_loss(invited, self._shareable)
        self.member[rows] = False
        self.member[invited] = worth >= sharing.membership_cost

    @property
    def public_threats(self) -> np.ndarray:
        """``[threat]``: disasters, always in the news (not IT failures of the operators' making)."""
        return self._public

    def serious_exposure(self) -> np.ndarray:
        """``[sector]``: the ministries' estimate of the share of serious failures reported
        this year: those the press reported count whole, the others at the estimated
        reporting rate (the estimate itself where there were none)."""
        public = self.fy_serious_public.astype(float)
        private = self.fy_serious - public
        corrected = public + private / self.reporting_estimate
        return np.divide(public + private, corrected, out=self.reporting_estimate.copy(), where=corrected > 0)

    def own_loss(self, rows: np.ndarray, threats: np.ndarray) -> np.ndarray:
        """Operators' own expected loss a year (their own layer and their liability share of
        what they cause others, as in their objective) from ``threats``, under the measures
        in place: what protection against them is worth."""
        own, users, others = expected_losses(self.values, self.operator_rates(), self.protection)
        share = self.settings.operators.liability_share
        return (own[rows][:, threats] + share * (users + others)[rows][:, threats]).sum(axis=1)

    def own_outage_loss(self, rows: np.ndarray) -> np.ndarray:
        """Operators' own expected loss a year from every threat's outages (what an
        exercise shortens), as :meth:`own_loss` counts it."""
        return self.own_loss(rows, np.ones(len(self.world.threat_ids), dtype=bool))

    def campaign(self, active: bool) -> None:
        """This year's awareness campaign (its gain shrinking by ``fatigue`` for each
        campaign in a row before it), or hygiene slipping without one."""
        awareness = self.settings.awareness
        if active:
            self.cohorts.campaign(awareness.hygiene_gain * awareness.fatigue**self.campaigns_in_row)
            self.campaigns_in_row += 1
            self.campaigns_run += 1
        else:
            self.cohorts.slip(awareness.hygiene_decay)
            self.campaigns_in_row = 0

    def adjust_use(self) -> None:
        """Online use by power area follows last year's anxiety: it falls by
        ``use_elasticity`` times the rise of the area's anxious share over the start (never
        by more than ``max_use_cut``, never above the start); the persons an operator's
        failures affect scale with its area's use."""
        spec = self.settings.individuals
        rise = np.maximum(self._fy_region_anxious - self._start_anxious, 0.0)
        self.use_factor = 1.0 - np.minimum(spec.use_elasticity * rise, spec.max_use_cut)

    # --- rates and protection ------------------------------------------------------------
    def operator_rates(self) -> np.ndarray:
        """Failures a year each operator can expect before its own measures: the scenario's
        rates before measures as attackers aim them now and as its outsourcing makes them."""
        return self.public_rates() * self._attack_factor[self.world.operators.sector]

    def public_rates(self) -> np.ndarray:
        """Failures a year before measures at each operator as its sector's public incident
        level makes them known (the scenario's rates before measures, its outsourcing;
        not where attackers aim now): its prior and its insurer's rate."""
        factor = self.baseline * self.outsourcing.sector_factor
        return self.values.rate * factor[self.world.operators.sector] * self.outsourcing.thinning

    def _set_rates(self) -> None:
        self.engine.rate_factor[:] = self._attack_factor * self.outsourcing.sector_factor * self.baseline
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
        fading = np.where(exercised, (1.0 - abm.exercises.effect_decay) ** (self.fiscal_year - self.exercised_in), 0.0)
        # an alert's blocking halves every alert_half_life_days from the day it was raised
        age = day - (self.alert_until[:, cols] - sharing.alert_days)
        blocking = sharing.blocking * 0.5 ** (np.maximum(age, 0) / sharing.alert_half_life_days)
        engine = self.engine
        engine.survive_factor[:, cols] = (
            self.outsourcing.thinning[:, cols] * np.where(alerted, 1.0 - blocking, 1.0) * self._lesson_factor(cols)
        )
        engine.duration_factor[:, cols] = (
            np.where(alerted, sharper, 1.0) * (1.0 - abm.exercises.duration_cut * fading)[:, None]
        )
        if threats is None:
            engine.cascade_factor[:] = 1.0 - abm.exercises.cascade_cut * fading
        engine.refresh(threats)
        if threats is None:
            base_users = engine.base.ops[1][:, OP_USERS]
            engine.op_float[:, OP_USERS] = base_users * self.use_factor[self.world.operators.region]
        ends = np.where(alerted, self.alert_until[:, cols], NEVER).min(axis=0, initial=NEVER)
        self._alert_ends[cols] = np.where(ends == NEVER, math.inf, ends)
        self._alerts_changed[cols] = False

    def _lesson_factor(self, cols: slice | np.ndarray) -> np.ndarray:
        """``[operator, threat]`` factor on the share of failures the measures let through:
        the investigation body's findings on a threat make the measures against it remove
        ``effect_gain (1 - 0.5 ** n)`` more of what they remove after ``n`` investigations
        (through ``S`` becomes ``1 - (1 - S)(1 + gain)``, floored at 0)."""
        body = self.settings.investigation
        survive = self.protection.survive[:, cols]
        if body is None or not body.enabled:
            return np.ones_like(survive)
        gain = body.effect_gain * (1.0 - 0.5 ** self.lessons[cols])
        improved = np.maximum(1.0 - (1.0 - survive) * (1.0 + gain[None, :]), 0.0)
        return np.divide(improved, survive, out=np.ones_like(survive), where=survive > 0)

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

    def _credit_attackers(self, events: Events, draw: np.ndarray) -> None:
        """Give each successful attack to one attacker, in proportion to its attempts there."""
        worth = {"direct": events.own, "persons": events.persons, "economy": events.others}
        for row in np.flatnonzero(self.cyber[events.threat]):
            cumulative = self._attempts_cumulative[:, events.sector[row], events.threat[row]]
            if cumulative[-1] <= 0:
                continue
            k = min(int(np.searchsorted(cumulative, draw[row] * cumulative[-1], side="right")), cumulative.size - 1)
            attacker = self._attacker_list[k]
            attacker.successes += 1
            attacker.payoff += float(worth[attacker.values][row])
