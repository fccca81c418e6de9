"""The Basic Plans' targets, fiscal year by fiscal year.

The first Basic Plan (FY2006-FY2008) "fixed the risks at 2006, the target state for 2009"
(seed, DIGEST section 2): a plan's targets are set from the indicators of a baseline
year - its own first year for the first plan, the year before it for the later ones -
and fall on a straight line from the baseline to ``(1 - reduction)`` times it in the
plan's last year. Targets never loosen: a plan that follows one whose targets were
missed starts from the target it replaces, not from the worse indicator. Two indicators
carry targets: reported IT failures per operator of each critical sector ("IT failures
as close to zero as possible") and the share of individuals anxious about using IT ("as
close to zero as possible").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from riskmodel.abm.model import CriticalInfrastructureModel


@dataclass(frozen=True)
class Plan:
    first: int  # fiscal years
    last: int
    baseline: int


@dataclass
class BasicPlans:
    """Plans of ``cycle`` years from ``start``, and the targets set so far."""

    start: int
    end: int
    cycle: int
    failure_reduction: float
    anxious_reduction: float
    failures: dict[int, np.ndarray] = field(default_factory=dict)  # fiscal year -> [sector] per operator
    anxious: dict[int, float] = field(default_factory=dict)

    @property
    def plans(self) -> list[Plan]:
        firsts = range(self.start, self.end + 1, self.cycle)
        return [Plan(p, p + self.cycle - 1, p if p == self.start else p - 1) for p in firsts]

    def update(self, fiscal_year: int, model: CriticalInfrastructureModel) -> None:
        """At the end of ``fiscal_year``: set the targets of the plans whose baseline it is."""
        for plan in self.plans:
            if plan.baseline != fiscal_year:
                continue
            failures = model.fy_reported.sum(axis=1) / np.maximum(model.sector_size, 1)
            anxious = model.fy_mean("anxious_share")
            if fiscal_year in self.failures:  # the target this plan replaces, if it was missed
                failures = np.minimum(failures, self.failures[fiscal_year])
                anxious = min(anxious, self.anxious[fiscal_year])
            for year in range(max(plan.first, plan.baseline), plan.last + 1):
                progress = (year - plan.baseline) / (plan.last - plan.baseline) if plan.last > plan.baseline else 1.0
                self.failures[year] = failures * (1.0 - self.failure_reduction * progress)
                self.anxious[year] = anxious * (1.0 - self.anxious_reduction * progress)

    def failures_per_operator(self, sector: int, fiscal_year: int) -> float | None:
        """The target for a sector's reported failures per operator, once it is set."""
        targets = self.failures.get(fiscal_year)
        return None if targets is None else float(targets[sector])

    def anxious_share(self, fiscal_year: int) -> float | None:
        return self.anxious.get(fiscal_year)
