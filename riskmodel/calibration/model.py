"""What the fits need of a compiled world, and how fitted parameters become overrides.

The calibrated parameters, each a change of the scenario by override path:

* per threat kind with reported durations, a shift ``delta`` of every threat's log median
  duration (``threats[id=h].duration.median_hours`` times ``exp(delta)``) and a factor
  ``kappa`` on every threat's log-sd (``threats[id=h].duration.sigma`` times ``kappa``):
  the data rarely name the threat, only its kind, so the threats of a kind keep their
  stated ratios to one another;
* per sector and threat kind, a factor ``m`` on the sector's exposure to the kind
  (``sectors[id=s].exposure.<kind>`` times ``m``), which scales the rates of all of the
  kind's threats in the sector.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from riskmodel.overrides import Override, render_path
from riskmodel.schema import THREAT_KINDS, Scenario
from riskmodel.world import World, with_overrides

Step = str | int | tuple[str, str]


def priors(data: Any, steps: tuple[Step, ...] = ()) -> Iterator[tuple[tuple[Step, ...], dict[str, float]]]:
    """Every table of scenario data (as dumped) that keeps a ``prior``: its path steps and
    the prior values of its calibrated fields."""
    if isinstance(data, dict):
        if data.get("prior"):
            yield steps, data["prior"]
        for key, value in data.items():
            if key != "prior":
                yield from priors(value, (*steps, key))
    elif isinstance(data, list):
        for i, item in enumerate(data):
            step = ("id", item["id"]) if isinstance(item, dict) and "id" in item else i
            yield from priors(item, (*steps, step))


def prior_values(scenario: Scenario) -> dict[str, float]:
    """Every calibrated field of ``scenario`` at its prior, by override path (empty for a
    scenario never calibrated): ``RunSpec(..., overrides=prior_values(scenario))`` runs the
    scenario as it stood before calibration."""
    data = scenario.model_dump(mode="json")
    return {render_path((*steps, name)): value for steps, prior in priors(data) for name, value in prior.items()}


def prior_world(world: World) -> World:
    """The world a fit starts from: every calibrated number back at its prior (the value
    it had before calibration, kept in its table), so that calibrating a calibrated
    scenario on the same data starts where the first calibration started instead of
    counting the data twice. A scenario never calibrated is its own prior world."""
    return with_overrides(world, [Override(path, value) for path, value in prior_values(world.scenario).items()])


def _groups(world: World) -> list[tuple[int, np.ndarray, float]]:
    """The shared groups of the critical sectors: (sector position among them, share of
    each threat's failures striking the group, its members' share of the sector's users)."""
    critical, op, shared = list(world.critical_sectors), world.operators, world.shared
    out = []
    for g, s in enumerate(shared.sector.tolist()):
        if s in critical:
            members = op.sector_share[shared.members_of(g)].sum() / op.sector_share[op.sector == s].sum()
            out.append((critical.index(s), shared.share[g].copy(), float(members)))
    return out


@dataclass(frozen=True)
class CalibrationModel:
    """A world's critical sectors and threats, as arrays the likelihoods use."""

    sectors: list[str]  # critical sector ids
    threats: list[str]
    kind_of: np.ndarray  # [threat] kind index
    rate: np.ndarray  # [sector, threat] failures a year, no measures
    mu: np.ndarray  # [threat] log median duration, hours
    sigma: np.ndarray  # [threat] log-sd of the duration
    log_scale: np.ndarray  # [sector] log of the sector's outage-duration factor
    exposure: np.ndarray  # [sector, kind]
    shares: list[np.ndarray]  # [sector] its operators' shares of the sector's users
    # shared groups (systems, contractors): (sector position, share of each threat's failures
    # that strike the group, its members' share of the sector's users)
    groups: list[tuple[int, np.ndarray, float]] = field(default_factory=list)

    @classmethod
    def of(cls, world: World) -> CalibrationModel:
        critical = world.critical_sectors
        op = world.operators
        return cls(
            sectors=world.critical_ids,
            threats=list(world.threat_ids),
            kind_of=world.threats.kind.copy(),
            rate=world.sector_rate[critical].copy(),
            mu=world.threats.duration_mu.copy(),
            sigma=world.threats.duration_sigma.copy(),
            log_scale=np.log(world.duration_scale[critical]),
            exposure=world.exposure[critical].copy(),
            shares=[op.sector_share[op.sector == s] / op.sector_share[op.sector == s].sum() for s in critical],
            groups=_groups(world),
        )

    def of_kind(self, kind: str) -> np.ndarray:
        """Indices of the threats of ``kind``."""
        return np.flatnonzero(self.kind_of == THREAT_KINDS.index(kind))

    def durations(self, shifts: dict[str, tuple[float, float]]) -> tuple[np.ndarray, np.ndarray]:
        """``mu`` and ``sigma`` with each kind's ``(delta, kappa)`` applied."""
        mu, sigma = self.mu.copy(), self.sigma.copy()
        for kind, (delta, kappa) in shifts.items():
            h = self.of_kind(kind)
            mu[h] += delta
            sigma[h] *= kappa
        return mu, sigma

    def duration_overrides(self, kind: str, delta: float, kappa: float) -> dict[str, float]:
        """Override paths and values of a kind's calibrated durations."""
        out = {}
        for h in self.of_kind(kind):
            out[f"threats[id={self.threats[h]}].duration.median_hours"] = float(np.exp(self.mu[h] + delta))
            out[f"threats[id={self.threats[h]}].duration.sigma"] = float(self.sigma[h] * kappa)
        return out

    def exposure_path(self, sector: str, kind: str) -> str:
        return f"sectors[id={sector}].exposure.{kind}"

    def exposure_value(self, sector: str, kind: str, factor: float) -> float:
        """The calibrated exposure: the scenario's times the fitted factor."""
        return float(self.exposure[self.sectors.index(sector), THREAT_KINDS.index(kind)] * factor)
