"""Typed schema of scenario and portfolio files.

A scenario file is TOML; it is validated into these pydantic models, so that every field
has a type, a range and a docstring, and every table that holds numbers says where they
come from: a ``source`` (a publication or data set) or an ``assumption`` (one line of
reasoning). Unknown fields are errors, not silently ignored, because a typo in a
parameter name would otherwise leave the default in force unnoticed.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

Identifier = Annotated[str, Field(pattern=r"^[a-z][a-z0-9_]*$")]
Probability = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Positive = Annotated[float, Field(gt=0.0)]

# Physical bounds. A number that has one is checked against it here, so that a value the
# engine cannot count or that overflows later (1e308 yen, a rate of 1e308 a year) is
# refused with the file, the field and the bound instead of crashing a run.
HOURS_PER_YEAR = 8760.0
MAX_PERSONS = 1e10  # more than the world's population; the F-N bins end there
MAX_YEN = 1e18  # a thousand times Japan's annual output
MAX_RATE = 1000.0  # events a year per operator (or per power area): about three a day
MAX_MULTIPLIER = 1000.0  # exposures, duration scales
MAX_SIGMA = 10.0  # log-scale spread of a lognormal (exp(10 sigma) still finite)
Persons = Annotated[float, Field(gt=0.0, le=MAX_PERSONS)]
Yen = Annotated[float, Field(ge=0.0, le=MAX_YEN)]
PositiveYen = Annotated[float, Field(gt=0.0, le=MAX_YEN)]
Share = Annotated[float, Field(gt=0.0, le=1.0)]
Rate = Annotated[float, Field(ge=0.0, le=MAX_RATE)]
Multiplier = Annotated[float, Field(ge=0.0, le=MAX_MULTIPLIER)]
Sigma = Annotated[float, Field(gt=0.0, le=MAX_SIGMA)]
Hours = Annotated[float, Field(gt=0.0, le=HOURS_PER_YEAR)]
Elasticity = Annotated[float, Field(ge=0.0, le=100.0)]
Weight = Annotated[float, Field(ge=0.0, le=1e6)]
DataFile = Annotated[str, Field(pattern=r"^[A-Za-z0-9_][A-Za-z0-9_.-]*$", max_length=255)]
MAX_OPERATORS = 100_000  # operators of all sectors together (a world holds arrays per operator)
MAX_FISCAL_YEARS = 200  # fiscal years of a horizon (the agent model runs them day by day)

THREAT_KINDS = ("cyber", "unintentional", "disaster")


class Strict(BaseModel):
    """Base of every table: unknown keys, loose type coercion and inf/nan are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Sourced(Strict):
    """A table of numbers with its provenance: a source, an assumption, or both.

    A calibrated table also keeps its ``prior``: the values its calibrated fields had
    before calibration (the prior's centre), so that fitting the calibrated scenario again
    starts from them rather than counting the same data twice."""

    source: str | None = None
    assumption: str | None = None
    prior: dict[str, float] | None = None

    @model_validator(mode="after")
    def _has_provenance(self) -> Sourced:
        if not (self.source or "").strip() and not (self.assumption or "").strip():
            raise ValueError('a provenance: source = "..." or assumption = "why"')
        for name in self.prior or {}:
            value = getattr(self, name, None) if name in type(self).model_fields else None
            if isinstance(value, bool) or not isinstance(value, int | float) or name == "prior":
                raise ValueError(f"prior: {name!r} is not a number field of this table")
        return self


class Meta(Strict):
    name: Identifier
    title: str
    description: str = ""
    currency: Literal["JPY"] = "JPY"


class Horizon(Sourced):
    """Fiscal years the agent model runs through and the length of a basic plan."""

    start_fiscal_year: Annotated[int, Field(ge=1900, le=2200)]
    end_fiscal_year: Annotated[int, Field(ge=1900, le=2200)]
    plan_cycle_years: Annotated[int, Field(ge=1, le=20)]


class Region(Sourced):
    id: Identifier
    name: str
    population: Persons


class Ministry(Sourced):
    """A supervising ministry, or the cabinet centre that coordinates them (NISC)."""

    id: Identifier
    name: str
    kind: Literal["ministry", "cabinet_centre"] = "ministry"
    sectors: list[Identifier] = []
    mandatory: list[Identifier] = []
    recommended: list[Identifier] = []


class IOShare(Sourced):
    """Share of an input-output sector's output that belongs to a model sector."""

    io_sector: str
    share: Probability


class LocalSupply(Sourced):
    """Share of this sector's deliveries made inside the buyer's own region."""

    share: Probability


class Recovery(Sourced):
    """Hours a node needs to bring its inoperability down to 1% of the start (DIIM T_i)."""

    hours: Hours


class Operators(Sourced):
    """How many operators the sector has and how their sizes are spread."""

    count: Annotated[int, Field(ge=1, le=MAX_OPERATORS)]
    allocation: Literal["population", "one_per_region"] = "population"
    size_exponent: Annotated[float, Field(ge=0.0, le=10.0)] = 1.0


class Users(Sourced):
    """Who suffers when the service stops, and what an hour of it is worth to them.

    ``continuous`` services (power, water, telecom) lose every affected user for the
    whole outage; ``trips`` services (rail, air) lose the users who travel during it,
    each delayed by ``delay_hours`` (where every reached user passes the failed system,
    see :class:`Reach`, all of them, each by the failure's depth share of it).
    """

    total: Persons
    service: Literal["continuous", "trips"]
    value_of_time: Annotated[float, Field(ge=0.0, le=1e8)]
    service_hours: Annotated[float, Field(gt=0.0, le=24.0)] = 24.0
    delay_hours: Hours = 1.0


class Exposure(Sourced):
    """Multipliers of the threats' base rates for this sector, by threat kind."""

    cyber: Multiplier
    unintentional: Multiplier
    disaster: Probability


class ITDependence(Sourced):
    """Share of the sector's service that an IT failure can stop at most.

    A failure's depth (share of service lost) is its Beta draw times this: a software
    fault at a power utility stops billing, not the grid.

    ``concentration`` lets operators differ: each operator's share is drawn from a Beta
    with the sector's share as its mean and this precision (``alpha + beta``), then scaled
    so that the output-weighted mean over the sector's operators is ``share`` exactly
    (see :func:`riskmodel.world.operator_it_dependence`); without it every operator has
    the sector's share.
    """

    share: Probability
    concentration: Annotated[float, Field(gt=0.0, le=1e6)] | None = None


class Reach(Sourced):
    """Share of an operator's users that a failure of its IT at full depth reaches.

    A failure's reach is apart from its lost output: a check-in system down delays every
    passenger who checks in while it is down although the aircraft still fly. The users
    a failure reaches are the operator's users times this share, of whom the failure's
    Beta draw are affected (for a continuous service, for the whole outage). For a trips
    service a reach table also says that the failed system is one every reached user
    passes (ticket gates, check-in): all of them who travel during the outage are
    affected, each held up by the draw's share of the delay (a third of the gates down
    queues every passenger of the station), the same person-hours as the draw's share of
    them held up the whole delay (see :func:`riskmodel.engine.kernels.reached_outcome`).
    Without it, the reach is the operator's IT dependence (a failure reaches the users of
    the output it stops).
    """

    share: Probability


class SharedGroup(Sourced):
    """Operators of a sector that one failure can take down together.

    ``share`` of the sector's failure events of the ``threats`` listed (every threat but
    disasters when empty) strike the group instead of one operator; such an event takes
    every member down at once with one outage (one duration, depth, day and direct-loss
    draw, each member's own measures, size, IT dependence and reach applied). The
    sector's expected number of failure events stays the scenario's: a group's event is
    one event with several operators down. Members are the ``members`` largest operators
    (by users) of the ``regions`` listed (all regions when empty); every operator of those
    regions when ``members`` is left out. The shares of a sector's groups that cover one
    threat add up to at most 1 (they split that threat's events).
    """

    share: Probability
    members: Annotated[int, Field(ge=1, le=MAX_OPERATORS)] | None = None
    regions: list[Identifier] = []
    threats: list[Identifier] = []


class SharedSystem(SharedGroup):
    """A system several of the sector's operators share (a transit IC-card centre, an
    exchange's trading system, an airline's reservation and check-in system): by default
    any single failure (software, hardware, an attack) can strike it."""


class SharedContractor(SharedGroup):
    """A contractor (a system integrator, a data-centre or cloud provider) that serves
    several of the sector's operators: one faulty release or one failure of its data centre
    takes its clients down at once. By default only contractor faults strike it; the
    operators' measures against contractor faults act on each client as on its own faults."""

    threats: list[Identifier] = ["contractor_fault"]


class OutageScale(Sourced):
    """Multiplier of every threat's median outage duration in this sector.

    Durations are lognormal per sector and threat: the threat's median times this scale.
    """

    duration: Annotated[float, Field(gt=0.0, le=MAX_MULTIPLIER)]


class CascadeShare(Sourced):
    """Share of an operator's inoperability that passes into the cascade model."""

    share: Probability


class Acceptability(Sourced):
    """Acceptable-risk bars: an F-N tolerability line and a CVaR bar on annual loss.

    Tolerable: ``F(N) <= constant / N**exponent`` for ``N >= min_persons`` and
    ``CVaR_level(annual loss) <= cvar_max``. Broadly acceptable: both within
    ``broadly_factor`` times those limits.
    """

    fn_constant: Annotated[float, Field(gt=0.0, le=1e12)]
    fn_exponent: Annotated[float, Field(gt=0.0, le=10.0)]
    fn_min_persons: Annotated[float, Field(gt=0.0, le=MAX_PERSONS)] = 1.0
    cvar_level: Annotated[float, Field(gt=0.0, lt=1.0)]
    cvar_max: PositiveYen
    broadly_factor: Annotated[float, Field(gt=0.0, lt=1.0)] = 0.01


class Sector(Strict):
    id: Identifier
    name: str
    ministry: Identifier | None = None
    critical: bool = True
    io: list[IOShare] = []
    io_remainder: bool = False
    local_supply: LocalSupply
    recovery: Recovery
    operators: Operators | None = None
    users: Users | None = None
    exposure: Exposure | None = None
    it_dependence: ITDependence | None = None
    reach: Reach | None = None
    shared_system: SharedSystem | None = None
    shared_contractor: SharedContractor | None = None
    outage: OutageScale | None = None
    cascade: CascadeShare | None = None
    acceptability: Acceptability | None = None

    @model_validator(mode="after")
    def _critical_sectors_are_complete(self) -> Sector:
        if self.critical:
            for name in ("operators", "users", "exposure", "it_dependence", "outage", "cascade", "acceptability"):
                if getattr(self, name) is None:
                    raise ValueError(f"a critical sector to have its [{name}] table")
        return self


# a sector's shared groups, in the order they split a threat's events (a keyed uniform
# below the first group's share strikes it, the next share the next group): a new kind
# goes last, so that the events of the kinds before it stay where they were
SHARED_GROUPS = ("shared_system", "shared_contractor")


class Frequency(Sourced):
    """Events before any countermeasure, and their over-dispersion.

    ``rate`` is the mean number of failures per operator-year, averaged over a sector's
    operators (times the sector's exposure): the sector's count is drawn at ``rate x
    exposure x operators`` and its failures fall on operators in proportion to their size.
    ``dispersion`` is the variance of a Gamma multiplier shared by the sector's count in a
    period (0 gives a Poisson count, > 0 a negative binomial one). Disasters use
    ``regional_rates`` (events a year per power area) and ``hit_probability`` (the chance
    that a given operator of the area is hit, times the sector's disaster exposure).
    """

    rate: Rate = 0.0
    dispersion: Annotated[float, Field(ge=0.0, le=100.0)] = 0.0
    regional_rates: dict[Identifier, Rate] = {}
    hit_probability: Probability = 0.0


class Duration(Sourced):
    """Lognormal outage duration in hours; ``detection_share`` of it is detection delay."""

    median_hours: Hours
    sigma: Sigma
    detection_share: Probability = 0.0


class Depth(Sourced):
    """Beta-distributed inoperability: the share of the operator's service lost."""

    alpha: Annotated[float, Field(gt=0.0, le=1e4)]
    beta: Annotated[float, Field(gt=0.0, le=1e4)]


class DirectLoss(Sourced):
    """Direct loss as a share of the operator's annual revenue.

    A lognormal body (median, sigma) spliced at its ``1 - tail_probability`` quantile
    with a generalised Pareto tail of shape ``tail_shape`` (heavy tails are the rule in
    cyber-loss data).
    """

    median_revenue_share: Share
    sigma: Sigma
    tail_probability: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.05
    tail_shape: Annotated[float, Field(ge=0.0, lt=1.0)] = 0.5


class Threat(Strict):
    id: Identifier
    name: str
    kind: Literal["cyber", "unintentional", "disaster"]
    frequency: Frequency
    duration: Duration
    depth: Depth
    direct_loss: DirectLoss


class Lifeline(Sourced):
    """Physical dependence inside a region: ``share`` of ``sector`` stops when its
    supplier ``depends_on`` is fully out (a lifeline, as distinct from money flows)."""

    sector: Identifier
    depends_on: Identifier
    share: Probability


class Interdependency(Sourced):
    """Where the cascade matrix A* comes from.

    By default A* is derived from the input-output table (``io_table``, a CSV file in
    the scenario file's own folder: ``riskmodel scenario export`` puts the packaged one
    there; a bare file name, never a path out of the folder) and the sectors' IO shares, plus the
    lifeline dependencies. ``matrix`` (rows and columns in sector order) replaces both,
    and then ``output`` (yen a year, in sector order) gives the sectors' outputs and
    ``value_added`` (yen a year, each at most the output) their value added, which the
    cascade's losses are valued at; without it each yen of output counts as value added
    (a hand-written matrix with no input accounting).
    """

    io_table: DataFile = "japan_io_2011_13sector.csv"
    matrix: list[list[Probability]] | None = None
    output: list[PositiveYen] | None = None
    value_added: list[PositiveYen] | None = None


class Effects(Strict):
    """What a measure does; each number is a fractional reduction in [0, 1].

    ``frequency`` thins events of the named threats; ``duration`` and ``depth`` shorten
    and flatten outages; ``cascade`` cuts the share of an outage that reaches dependent
    sectors; ``detection`` cuts the detection-delay part of an outage; ``direct`` cuts
    the operator's own direct loss (leak costs, compensation, recovery work).
    """

    frequency: dict[Identifier, Probability] = {}
    duration: Probability = 0.0
    depth: Probability = 0.0
    cascade: Probability = 0.0
    detection: Probability = 0.0
    direct: Probability = 0.0


class MeasureLevel(Sourced):
    """One level of a measure: its annual cost per operator and its effects."""

    cost_fixed: Annotated[float, Field(ge=0.0, le=1e13)]
    cost_revenue_share: Probability = 0.0
    effects: Effects


class Measure(Strict):
    id: Identifier
    name: str
    pillar: Literal[
        "organisation",
        "information",
        "requirements",
        "systems",
        "business_continuity",
        "leak_prevention",
        "outsourcing",
    ]
    description: str = ""
    requires: list[Identifier] = []
    excludes: list[Identifier] = []
    levels: Annotated[list[MeasureLevel], Field(min_length=1)]


class CalibrationRecord(Sourced):
    """What the scenario's calibrated numbers were fitted to: the posterior draws file
    beside the scenario (one column per calibrated field, ``--posterior``), the incident
    data and reporting filters, and the date. The calibrated tables say so in their
    ``source`` and keep their ``prior``."""

    draws: DataFile
    data: str
    targets: str
    date: str


class Incidents(Sourced):
    """The seed's table of reported IT failures (calibration data), a CSV file beside the
    scenario file (format: :mod:`riskmodel.incidents`)."""

    file: DataFile


# --- The agent model (riskmodel.abm): behaviour of operators, ministries, attackers and
# individuals. Each mechanism can be switched off (``enabled = false``), which leaves the
# engine's own hazard in force for it, so that a run with every mechanism off reproduces
# the Monte Carlo engine's annual losses.

FiscalYear = Annotated[int, Field(ge=1900, le=2200)]


class Beliefs(Sourced):
    """What operators believe their failure rates to be (``enabled = false``: they know the
    true rates and the attackers' current aim, the optimiser's view).

    An operator's rate of each threat is its public rate (the scenario's, as its sector's
    incident level makes it known) times a multiplier ``theta`` it is unsure of: a Gamma
    prior with mean 1 and shape ``prior_shape`` (coefficient of variation
    ``1 / sqrt(prior_shape)``), updated each fiscal year by the Poisson counts of its own
    failures (exposure: its public rate times the share its measures let through) and,
    for a CEPTOAR member, the incidents shared in its sector (exposure: the other members'
    expected failures times ``shared_reach``, the share of them it expects to hear of).
    Evidence older than a year counts ``memory`` times a year's weight.
    """

    enabled: bool = True
    prior_shape: Annotated[float, Field(gt=0.0, le=1e6)]
    shared_reach: Probability
    memory: Probability


class Insurance(Sourced):
    """Insurance of the direct loss: the insurer pays ``cover`` of each failure's direct
    loss above a deductible of ``deductible_revenue_share`` of revenue, for a premium of
    ``1 + loading`` times its expected payout, at the operator's public rates and either
    with the measures it has (``rated``) or as if it had none (a flat premium)."""

    enabled: bool = False
    cover: Probability
    deductible_revenue_share: Probability
    loading: Annotated[float, Field(ge=0.0, le=100.0)]
    rated: bool = False


class StartingState(Sourced):
    """How the measures in place at the first fiscal year come about: operators invest by
    their own rule through ``years`` fiscal years before it (at the public rates, nothing
    learnt yet), and the rates before measures are set so that the expected failures under
    the measures that spin-up leaves equal the scenario's rates (read as the first year's
    incident level). Off: nothing but the standards in force is in place, at the scenario's
    rates."""

    enabled: bool = True
    years: Annotated[int, Field(ge=1, le=50)]


class OperatorBehaviour(Sourced):
    """How operators weigh security spending against what failures cost them.

    The operator bears its own layer (what the optimiser's partial mode counts) and
    ``liability_share`` of the loss its failures cause others, its users' and the
    cascade's (compensation, lost custom; 0 is the optimiser's partial mode, 1 society's
    loss). Its objective adds
    ``reputation_revenue_share`` of revenue per public failure (a disaster or one that
    reaches the press), an expected penalty of ``penalty_revenue_share`` of revenue a year
    per mandatory measure it lacks, the premium and retained loss of its insurance, and,
    with ``risk_aversion`` ``a``, the mean-variance approximation of exponential utility,
    ``(a / revenue) / 2`` times the variance of its annual loss. Each fiscal year it puts
    a lacking mandatory measure in place with probability ``compliance_probability`` if
    that pays (penalty included), within its security budget (``budget_revenue_share`` of
    revenue); it drops a voluntary measure that removes less than it costs; and it adopts
    recommended measures, one at a time, while one removes at least ``adoption_ratio``
    times its annual cost and fits the budget; a measure it decides on takes effect within
    the year with probability ``adoption_rate`` (projects take time). It decides on the
    rates it believes (``beliefs``).
    """

    enabled: bool = True
    budget_revenue_share: Share
    liability_share: Probability
    adoption_ratio: Annotated[float, Field(ge=1.0, le=1e6)] = 1.0
    compliance_probability: Probability = 1.0
    adoption_rate: Probability = 1.0
    reputation_revenue_share: Probability = 0.0
    penalty_revenue_share: Probability = 0.0
    risk_aversion: Annotated[float, Field(ge=0.0, le=1e3)] = 0.0
    beliefs: Beliefs
    insurance: Insurance
    start: StartingState


class Fatigue(Sourced):
    """Measures wear out (attackers learn their way around them, configurations drift):
    each measure in place lapses at a fiscal year's end with probability
    ``1 - 0.5 ** (1 / half_life_years)`` and works again only when its operator puts it
    in place anew (a fresh decision, with the adoption lag)."""

    enabled: bool = True
    half_life_years: Annotated[float, Field(gt=0.0, le=1e9)]


class Concealment(Sourced):
    """Whether an operator reports an IT failure to its ministry or hides it: a decision.

    A disaster, or an incident that affects ``public_persons`` or more persons, is public
    (the press reports it) and always reported. Otherwise the operator weighs the blame a
    report brings (``blame``, the policy lever, 1 for the FY2006 state; cancelled by
    ``immunity_effect`` once reporting is immune from sanctions, from
    ``immunity_from_fiscal_year``; ``None`` never) against the expected cost of being found
    out: the chance a hidden incident is discovered (``detection_probability``, raised by
    an accident-investigation body) times what discovery costs it, a ``penalty`` and a
    ``reputation`` cost, both in units of the blame of a report. It hides with probability
    ``logistic(logit(base_probability) + blame_slope * (blame - detection * (penalty +
    reputation)) - immunity_effect * immune + e_o)``, a random-utility choice with the
    operator's own disclosure propensity ``e_o`` (normal, sd ``propensity_sd``, on the
    logit scale). A discovered incident costs the operator ``penalty_yen`` and counts as
    found out at its ministry, which estimates the reporting rate from such findings.
    """

    enabled: bool = True
    base_probability: Annotated[float, Field(gt=0.0, lt=1.0)]
    blame: Elasticity = 1.0
    blame_slope: Elasticity
    immunity_effect: Elasticity
    immunity_from_fiscal_year: FiscalYear | None = None
    propensity_sd: Annotated[float, Field(ge=0.0, le=10.0)] = 0.0
    public_persons: Persons
    detection_probability: Probability = 0.0
    penalty: Elasticity = 0.0
    reputation: Elasticity = 0.0
    penalty_yen: Yen = 0.0


class Investigation(Sourced):
    """An accident-investigation body (a lever; off unless a source says one existed).

    From ``from_fiscal_year`` it investigates the ``investigations_per_year`` reported
    non-disaster failures that reached most persons each year. Its work raises the chance
    that a hidden incident is found out by ``detection_gain`` (added to the concealment's
    ``detection_probability``), and its findings on a threat make the measures against that
    threat work better: what they remove of it grows by ``effect_gain`` times ``1 - 0.5 **
    n`` after ``n`` investigations of it. Each investigation costs the state
    ``cost_per_investigation`` yen.
    """

    enabled: bool = False
    from_fiscal_year: FiscalYear
    investigations_per_year: Annotated[int, Field(ge=0, le=10_000)]
    detection_gain: Probability
    effect_gain: Annotated[float, Field(ge=0.0, le=1.0)]
    cost_per_investigation: Yen


class PDCA(Sourced):
    """The ministries' yearly PDCA cycle on safety standards.

    The Basic Plan's indicator for a sector is its *serious* IT failures: reported
    failures, disasters excluded, whose outage reaches ``serious_person_hours``
    person-hours (measures that shorten or shallow outages move it, not only those that
    prevent failures). Each Basic Plan (``horizon.plan_cycle_years``) takes a baseline
    year (its own first year for the first plan, the year before it for later ones, or
    the reference of the plan before if that plan's last target was missed) and asks for
    ``failure_reduction`` fewer serious failures by its last year, on a straight line.

    At each fiscal year's end a ministry tests whether a sector missed its target: the
    year's count against the baseline year's, corrected by its estimates of the reporting
    rate in both years (so that more reports under immunity do not read as failure), with
    an exact conditional test for two over-dispersed Poisson counts (the year's share of
    the two counts is beta-binomial under the target) at one-sided level
    ``false_alarm_rate`` (mid-p). Its reporting-rate estimate comes from the hidden
    incidents found out (their number over the detection chance it knows is the number
    hidden), smoothed with ``reporting_prior`` worth ``prior_weight`` incidents. Where a
    target is missed it makes mandatory at most ``max_new_mandatory`` recommended
    measures per sector, and at most ``mandate_capacity`` a year over its sectors,
    whose estimated social loss removed (from *reported* failure rates, built up with
    weight ``memory`` on the newest year) is at least ``mandate_ratio`` times the
    sector's compliance cost plus ``mandate_cost`` (the state's cost of drafting and
    enforcing a standard, yen a year); any mandatory measure whose estimated loss removed
    falls below ``demote_ratio`` times its cost goes back to recommended.
    ``anxious_reduction`` is the plan's aim for the share of anxious individuals.
    """

    enabled: bool = True
    failure_reduction: Probability
    anxious_reduction: Probability
    mandate_ratio: Annotated[float, Field(gt=0.0, le=1e6)]
    demote_ratio: Annotated[float, Field(gt=0.0, le=1e6)]
    max_new_mandatory: Annotated[int, Field(ge=0, le=1000)]
    memory: Annotated[float, Field(gt=0.0, le=1.0)]
    serious_person_hours: Annotated[float, Field(ge=0.0, le=1e12)] = 0.0
    false_alarm_rate: Annotated[float, Field(gt=0.0, lt=0.5)] = 0.05
    reporting_prior: Annotated[float, Field(gt=0.0, le=1.0)] = 1.0
    prior_weight: Annotated[float, Field(ge=0.0, le=1e6)] = 0.0
    mandate_capacity: Annotated[int, Field(ge=0, le=1000)] = 1000
    mandate_cost: Yen = 0.0

    @model_validator(mode="after")
    def _demote_below_mandate(self) -> PDCA:
        if self.demote_ratio > self.mandate_ratio:
            raise ValueError("demote_ratio not above mandate_ratio")
        return self


class Ceptoar(Sourced):
    """When a sector's CEPTOAR (information-sharing and analysis function) starts."""

    sector: Identifier
    from_fiscal_year: FiscalYear


class InformationSharing(Sourced):
    """CEPTOAR information sharing: membership and sharing are the operators' decisions.

    Each fiscal year an operator of a sector with a working CEPTOAR joins (or stays) if
    the alerts are worth their cost to it: ``blocking`` times the share of days members
    were on alert last year (``expected_coverage`` for a new CEPTOAR) times its own
    expected loss from ``threats``, against ``membership_cost`` yen a year (fee and staff
    time). A member shares an incident of one of ``threats`` it reported with probability
    ``share_probability`` times ``1 - competitor_reluctance`` (what it tells its
    competitors may cost it business); members that never share still get the alerts
    (free-riding). A shared incident puts every member of that CEPTOAR (of every CEPTOAR,
    once the cross-sector CEPTOAR Council exists) on guard for ``alert_days``: it blocks
    ``blocking`` of that threat's events, halving every ``alert_half_life_days`` as the
    alert ages, and cuts ``detection`` of what is left of the detection delay.
    Non-members gain nothing but the shared incidents they read about.
    """

    enabled: bool = True
    threats: list[Identifier]
    membership_share: Probability
    share_probability: Probability
    alert_days: Annotated[int, Field(ge=1, le=3650)]
    blocking: Probability
    detection: Probability
    council_from_fiscal_year: FiscalYear | None = None
    ceptoars: list[Ceptoar] = []
    membership_cost: Yen = 0.0
    expected_coverage: Probability = 1.0
    competitor_reluctance: Probability = 0.0
    alert_half_life_days: Annotated[float, Field(gt=0.0, le=1e6)] = 1e6


class AttackerKind(Sourced):
    """A kind of attacker: how many agents, their share of attempts and what they value.

    ``threats`` weighs the kind's attempts over the cyber threats: a threat's attempts
    (the scenario's rate) are shared between kinds in proportion to ``capacity_share``
    times that weight. ``values`` is what a success is worth to the kind: ``direct``
    (money), ``persons`` (visibility) or ``economy`` (disruption); it decides which
    measures deter it.
    """

    id: Literal["criminal", "hacktivist", "state"]
    count: Annotated[int, Field(ge=1, le=100_000)]
    capacity_share: Annotated[float, Field(gt=0.0, le=1e6)]
    capacity_sigma: Annotated[float, Field(ge=0.0, le=MAX_SIGMA)] = 0.0
    threats: dict[Identifier, Weight]
    values: Literal["direct", "persons", "economy"]


class Attackers(Sourced):
    """Attacker agents choose their targets by expected payoff for effort.

    Every ``replan_days`` an attacker spreads its attempts over the sectors in proportion
    to the scenario's attempt rates times ``(payoff / payoff at the start) **
    displacement_elasticity``, where the payoff of an attempt is the chance it gets through
    the sector's defences times what it is worth to the attacker's kind: hardening one
    sector displaces attempts to the others. With ``outside_option`` ``w`` the attempts on a
    sector are ``(1 - w)`` times that share of the threat's attempts plus ``w`` times the
    sector's rate times the payoff ratio alone: a share ``w`` of the attempts leaves for
    targets outside the model (other countries) as payoffs fall instead of moving to
    another sector (``w = 0`` conserves the attempts). ``origins`` is the distribution of the
    attackers' countries. Off, the cyber threats keep the scenario's rates.
    """

    enabled: bool = True
    displacement_elasticity: Elasticity
    outside_option: Probability = 0.0
    replan_days: Annotated[int, Field(ge=1, le=365)]
    kinds: Annotated[list[AttackerKind], Field(min_length=1)]
    origins: dict[Identifier, Share]


class Botnet(Sourced):
    """Bots that carry denial-of-service attacks: ``bots`` worldwide at the start, of
    which ``domestic_share`` are infected machines of the model's individuals; the
    foreign part grows by ``foreign_growth`` a year (compounded daily). Attackers draw on
    the global botnet: DDoS attempts scale with ``(bots now / bots at the start) **
    ddos_elasticity``."""

    bots: Persons
    domestic_share: Probability
    ddos_elasticity: Elasticity
    ddos_threat: Identifier = "ddos"
    foreign_growth: Annotated[float, Field(ge=-0.9, le=10.0)] = 0.0


class AgeBand(Sourced):
    """Internet users of an age band: their share of users, the share practising good
    security hygiene at the start, and their dependence on services (relative exposure to
    outages)."""

    id: Identifier
    user_share: Probability
    hygiene: Annotated[float, Field(ge=0.0, lt=1.0)]
    dependence: Annotated[float, Field(gt=0.0, le=1e3)]


class Individuals(Sourced):
    """Cohorts of internet users by power area and age band.

    Infected machines are cleaned at ``cleanup_per_year``; the infection pressure is set
    so that the domestic bots of ``[abm.botnet]`` are in steady state at the start, and it
    acts on users without good hygiene. The IT-anxiety index of a cohort is a background
    (lowered by ``hygiene_relief`` times the cohort's gain in hygiene over the gap it had)
    plus what it suffered and read: ``outage_weight`` per outage hour per member,
    ``leak_weight`` per leak per member, and ``news_weight`` per publicised IT failure
    (one that reaches ``public_persons``; disasters aside) anywhere in the country, all
    decaying with ``anxiety_half_life_days``. At the start the index makes
    ``anxious_share`` anxious, with the outages, leaks and news the start makes expected
    at their steady state and the background the rest. A failure of one of
    ``leak_threats`` leaks the data of ``leak_share`` of the persons it affects. The share
    of anxious individuals is ``1 - exp(-index)`` (individual thresholds exponentially
    spread). Anxiety feeds back into IT use: each fiscal year a power area's online use
    is ``1 - use_elasticity`` times the rise of its anxious share over the start (floored
    at ``1 - max_use_cut``), and the persons its operators' failures affect scale with it.
    """

    users: Persons
    cohorts_per_band: Annotated[int, Field(ge=1, le=1000)] = 1
    age_bands: Annotated[list[AgeBand], Field(min_length=1)]
    cleanup_per_year: Annotated[float, Field(gt=0.0, le=365.0)]
    anxious_share: Annotated[float, Field(ge=0.0, lt=1.0)]
    anxiety_half_life_days: Annotated[float, Field(gt=0.0, le=36_500.0)]
    outage_weight: Annotated[float, Field(ge=0.0, le=1e3)]
    leak_weight: Annotated[float, Field(ge=0.0, le=1e3)]
    leak_threats: list[Identifier] = []
    leak_share: Probability = 0.0
    hygiene_relief: Probability = 0.0
    news_weight: Annotated[float, Field(ge=0.0, le=1e3)] = 0.0
    use_elasticity: Annotated[float, Field(ge=0.0, le=100.0)] = 0.0
    max_use_cut: Probability = 0.0


class Awareness(Sourced):
    """Awareness campaigns by the cabinet centre. From ``from_fiscal_year`` it runs a
    campaign in a fiscal year when the anxious share of the year before exceeded
    ``anxiety_threshold``; a campaign costs ``cost_per_campaign`` yen and closes
    ``hygiene_gain`` of the gap to full hygiene, times ``fatigue`` for each campaign run
    before it in a row (diminishing returns); without one hygiene slips back toward its
    start by ``hygiene_decay`` a year."""

    enabled: bool = True
    from_fiscal_year: FiscalYear
    hygiene_gain: Probability
    hygiene_decay: Probability
    anxiety_threshold: Probability = 0.0
    cost_per_campaign: Yen = 0.0
    fatigue: Probability = 1.0


class Exercises(Sourced):
    """Cross-sector exercises: each fiscal year from ``from_fiscal_year`` the cabinet
    centre invites the ``participants_per_year`` largest operators that have not taken
    part within ``effect_years``; an operator takes part if what the exercise is worth to
    it (the cut of its own expected outage losses) covers ``cost_per_participant`` yen
    (staff time). A participant's outages are ``duration_cut`` shorter and ``cascade_cut``
    less of them reaches other sectors in its first year, fading by ``effect_decay`` a
    year after that, for ``effect_years``."""

    enabled: bool = True
    from_fiscal_year: FiscalYear
    participants_per_year: Annotated[int, Field(ge=0, le=MAX_OPERATORS)]
    duration_cut: Probability
    cascade_cut: Probability
    effect_years: Annotated[int, Field(ge=1, le=100)]
    cost_per_participant: Yen = 0.0
    effect_decay: Probability = 0.0


class Outsourcing(Sourced):
    """IT outsourcing as a source of contractor faults.

    Operators of a sector outsource a Beta-distributed share of their IT (mean the
    sector's entry in ``shares``, concentration ``concentration``); their rate of
    ``threat`` failures is the threat's rate times share / ``reference_share``. The
    outsourcing measures of the catalogue lower it as any measure does.
    """

    enabled: bool = True
    threat: Identifier = "contractor_fault"
    reference_share: Annotated[float, Field(ge=0.05, le=1.0)]
    concentration: Annotated[float, Field(gt=0.0, le=1e6)]
    shares: dict[Identifier, Annotated[float, Field(gt=0.0, lt=1.0)]]


class AgentModelSettings(Strict):
    """The ``[abm]`` tables: every mechanism of the agent model and its parameters."""

    operators: OperatorBehaviour
    concealment: Concealment
    investigation: Investigation | None = None
    pdca: PDCA
    information_sharing: InformationSharing
    attackers: Attackers
    botnet: Botnet
    individuals: Individuals
    awareness: Awareness
    exercises: Exercises
    outsourcing: Outsourcing
    fatigue: Fatigue


class Scenario(Strict):
    """A whole scenario file."""

    scenario: Meta
    horizon: Horizon
    regions: Annotated[list[Region], Field(min_length=1)]
    ministries: list[Ministry] = []
    sectors: Annotated[list[Sector], Field(min_length=1)]
    threats: Annotated[list[Threat], Field(min_length=1)]
    lifelines: list[Lifeline] = []
    interdependency: Interdependency
    measures: list[Measure] = []
    incidents: Incidents | None = None
    calibration: CalibrationRecord | None = None
    abm: AgentModelSettings | None = None

    def data_files(self) -> list[tuple[str, str]]:
        """``(field, file name)`` of every data file the scenario reads beside it."""
        files = [("interdependency.io_table", self.interdependency.io_table)]
        if self.incidents is not None:
            files.append(("incidents.file", self.incidents.file))
        if self.calibration is not None:
            files.append(("calibration.draws", self.calibration.draws))
        return files


class SectorPortfolio(Strict):
    """Measures in place at every operator of a sector: ``"id"`` or ``"id:level"``."""

    measures: list[str] = []


class Portfolio(Strict):
    """A portfolio file: which measures are in place, sector by sector."""

    name: str = "portfolio"
    description: str = ""
    sectors: dict[Identifier, SectorPortfolio] = {}
