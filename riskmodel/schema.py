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

THREAT_KINDS = ("cyber", "unintentional", "disaster")


class Strict(BaseModel):
    """Base of every table: unknown keys, loose type coercion and inf/nan are errors."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True, allow_inf_nan=False)


class Sourced(Strict):
    """A table of numbers with its provenance: a source, an assumption, or both."""

    source: str | None = None
    assumption: str | None = None

    @model_validator(mode="after")
    def _has_provenance(self) -> Sourced:
        if not (self.source or "").strip() and not (self.assumption or "").strip():
            raise ValueError('a provenance: source = "..." or assumption = "why"')
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
    population: Positive


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

    hours: Positive


class Operators(Sourced):
    """How many operators the sector has and how their sizes are spread."""

    count: Annotated[int, Field(ge=1, le=1_000_000)]
    allocation: Literal["population", "one_per_region"] = "population"
    size_exponent: NonNegative = 1.0


class Users(Sourced):
    """Who suffers when the service stops, and what an hour of it is worth to them.

    ``continuous`` services (power, water, telecom) lose every affected user for the
    whole outage; ``trips`` services (rail, air) lose the users who travel during it,
    each delayed by ``delay_hours``.
    """

    total: Positive
    service: Literal["continuous", "trips"]
    value_of_time: NonNegative
    service_hours: Positive = 24.0
    delay_hours: Positive = 1.0


class Exposure(Sourced):
    """Multipliers of the threats' base rates for this sector, by threat kind."""

    cyber: NonNegative
    unintentional: NonNegative
    disaster: Probability


class ITDependence(Sourced):
    """Share of the sector's service that an IT failure can stop at most.

    A failure's depth (share of service lost) is its Beta draw times this: a software
    fault at a power utility stops billing, not the grid.
    """

    share: Probability


class OutageScale(Sourced):
    """Multiplier of every threat's median outage duration in this sector.

    Durations are lognormal per sector and threat: the threat's median times this scale.
    """

    duration: Positive


class CascadeShare(Sourced):
    """Share of an operator's inoperability that passes into the cascade model."""

    share: Probability


class Acceptability(Sourced):
    """Acceptable-risk bars: an F-N tolerability line and a CVaR bar on annual loss.

    Tolerable: ``F(N) <= constant / N**exponent`` for ``N >= min_persons`` and
    ``CVaR_level(annual loss) <= cvar_max``. Broadly acceptable: both within
    ``broadly_factor`` times those limits.
    """

    fn_constant: Positive
    fn_exponent: Positive
    fn_min_persons: Positive = 1.0
    cvar_level: Annotated[float, Field(gt=0.0, lt=1.0)]
    cvar_max: Positive
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

    rate: NonNegative = 0.0
    dispersion: NonNegative = 0.0
    regional_rates: dict[Identifier, NonNegative] = {}
    hit_probability: Probability = 0.0


class Duration(Sourced):
    """Lognormal outage duration in hours; ``detection_share`` of it is detection delay."""

    median_hours: Positive
    sigma: Positive
    detection_share: Probability = 0.0


class Depth(Sourced):
    """Beta-distributed inoperability: the share of the operator's service lost."""

    alpha: Positive
    beta: Positive


class DirectLoss(Sourced):
    """Direct loss as a share of the operator's annual revenue.

    A lognormal body (median, sigma) spliced at its ``1 - tail_probability`` quantile
    with a generalised Pareto tail of shape ``tail_shape`` (heavy tails are the rule in
    cyber-loss data).
    """

    median_revenue_share: Positive
    sigma: Positive
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

    By default A* is derived from the input-output table (``io_table``, a CSV beside the
    scenario file or packaged with riskmodel) and the sectors' IO shares, plus the
    lifeline dependencies. ``matrix`` (rows and columns in sector order) replaces both,
    and then ``output`` (yen a year, in sector order) gives the sectors' outputs.
    """

    io_table: str = "japan_io_2011_13sector.csv"
    matrix: list[list[NonNegative]] | None = None
    output: list[Positive] | None = None


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

    cost_fixed: NonNegative
    cost_revenue_share: NonNegative = 0.0
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


class Incidents(Sourced):
    """The seed's table of reported IT failures (calibration data), a CSV file."""

    file: str


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


class SectorPortfolio(Strict):
    """Measures in place at every operator of a sector: ``"id"`` or ``"id:level"``."""

    measures: list[str] = []


class Portfolio(Strict):
    """A portfolio file: which measures are in place, sector by sector."""

    name: str = "portfolio"
    description: str = ""
    sectors: dict[Identifier, SectorPortfolio] = {}
