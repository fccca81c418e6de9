"""The Basic Plans' targets, fiscal year by fiscal year, and whether they can be reached.

The first Basic Plan (FY2006-FY2008) "fixed the risks at 2006, the target state for 2009"
(seed, DIGEST section 2): a plan's targets are set against a baseline year - its own
first year for the first plan, the year before it for the later ones - and fall on a
straight line from the baseline to ``(1 - reduction)`` times it in the plan's last year.
Targets never loosen: where a sector missed the target of the year a later plan takes as
its baseline, the plan keeps the reference of the plan before and starts from the target
it replaces.

Two indicators carry targets. For each critical sector, its *serious* IT failures
(reported, disasters aside, whose outage reaches ``serious_person_hours``; see
:class:`~riskmodel.schema.PDCA`): a target is a ratio to the reference year's count, so
that the ministries can test a year against it with the two counts and their estimated
reporting rates (:mod:`riskmodel.abm.agents.ministry`), and it is reported as serious
failures per operator on the true scale (the reference count over its reporting rate).
For the individuals, the share anxious about using IT ("as close to zero as possible").

A target is *reachable* when the ratio it asks for is no lower than what every measure
the catalogue offers, at every operator of the sector, would leave of the sector's
expected outage person-hours from IT failures (the quantity the serious failures
count), relative to the measures in place in the reference year; the share of reachable
sector-years is reported, not assumed.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

from riskmodel.abm.valuation import expected_reach
from riskmodel.measures import effect_products

if TYPE_CHECKING:
    from riskmodel.abm.model import CriticalInfrastructureModel


@dataclass(frozen=True)
class Plan:
    first: int  # fiscal years
    last: int
    baseline: int


@dataclass(frozen=True)
class Reference:
    """What a sector's targets are ratios of: a year's reported serious failures, the
    ministry's estimate of their reporting rate then, and the expected outage
    person-hours of the measures in place then (for reachability)."""

    count: np.ndarray  # [sector]
    exposure: np.ndarray  # [sector] estimated share of serious failures reported
    person_hours: np.ndarray  # [sector] expected, a year


@dataclass
class BasicPlans:
    """Plans of ``cycle`` years from ``start``, and the targets set so far."""

    start: int
    end: int
    cycle: int
    failure_reduction: float
    anxious_reduction: float
    ratio: dict[int, np.ndarray] = field(default_factory=dict)  # fiscal year -> [sector] of the reference
    reference: dict[int, Reference] = field(default_factory=dict)  # fiscal year -> its reference
    reachable: dict[int, np.ndarray] = field(default_factory=dict)  # fiscal year -> [sector]
    anxious: dict[int, float] = field(default_factory=dict)

    @property
    def plans(self) -> list[Plan]:
        firsts = range(self.start, self.end + 1, self.cycle)
        return [Plan(p, p + self.cycle - 1, p if p == self.start else p - 1) for p in firsts]

    def update(self, fiscal_year: int, model: CriticalInfrastructureModel, missed: np.ndarray) -> None:
        """At the end of ``fiscal_year`` (``missed[sector]`` its verdicts): set the targets
        of the plans whose baseline it is."""
        for plan in self.plans:
            if plan.baseline != fiscal_year:
                continue
            hours, floor = outage_person_hours(model)
            now = Reference(model.fy_serious.astype(float), model.serious_exposure(), hours)
            start = np.ones(model.world.n_sectors)
            anxious = model.fy_mean("anxious_share")
            if fiscal_year in self.ratio:  # a sector that missed keeps its reference and target
                old = self.reference[fiscal_year]
                fields = ("count", "exposure", "person_hours")
                now = Reference(*(np.where(missed, getattr(old, f), getattr(now, f)) for f in fields))
                start = np.where(missed, self.ratio[fiscal_year], 1.0)
                anxious = min(anxious, self.anxious[fiscal_year])
            achievable = np.divide(floor, now.person_hours, out=np.ones_like(floor), where=now.person_hours > 0)
            for year in range(max(plan.first, plan.baseline), plan.last + 1):
                progress = (year - plan.baseline) / (plan.last - plan.baseline) if plan.last > plan.baseline else 1.0
                self.ratio[year] = start * (1.0 - self.failure_reduction * progress)
                self.reference[year] = now
                self.reachable[year] = self.ratio[year] >= achievable
                self.anxious[year] = anxious * (1.0 - self.anxious_reduction * progress)

    def per_operator(self, fiscal_year: int, sector_size: np.ndarray) -> np.ndarray | None:
        """The targets as serious failures per operator a year (true scale), by sector."""
        if fiscal_year not in self.ratio:
            return None
        ref = self.reference[fiscal_year]
        true_count = np.divide(ref.count, ref.exposure, out=np.zeros_like(ref.count), where=ref.exposure > 0)
        return true_count * self.ratio[fiscal_year] / np.maximum(sector_size, 1)

    def anxious_share(self, fiscal_year: int) -> float | None:
        return self.anxious.get(fiscal_year)


def outage_person_hours(model: CriticalInfrastructureModel) -> tuple[np.ndarray, np.ndarray]:
    """Expected outage person-hours a year from IT failures (disasters aside), by sector:
    under the measures in place, and with every measure of the catalogue at its last
    level at every operator (as far as the catalogue's rules allow, prerequisites first)."""
    world = model.world
    rules = model.rules
    full = model.in_place.copy()
    order = sorted(range(len(rules.first_option)), key=lambda m: rules.depth[m])
    for m in order:
        option = int(np.flatnonzero(rules.option_measure == m)[-1])
        held = rules.measures_held(full)
        ok = ~(rules.requires[m][None, :] & ~held).any(axis=1) & ~(rules.excludes[m][None, :] & held).any(axis=1)
        full[ok[:, None] & (rules.option_measure == m)[None, :]] = False
        full[ok, option] = True
    rate = model.operator_rates() * ~model.public_threats[None, :]
    results = []
    for in_place in (model.in_place, full):
        prot = effect_products(world, in_place).protection(world, np.zeros(len(world.operators)))
        hours, _ = expected_reach(model.values, rate, prot)
        results.append(model.sector_sums(hours.sum(axis=1)))
    return results[0], results[1]
