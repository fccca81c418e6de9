"""Attackers: criminals, hacktivists and states, choosing targets by payoff for effort.

Each attacker commands a share of its kind's attempts on each cyber threat (the kinds
share a threat's attempts by capacity and threat preference; inside a kind, agents' sizes
spread lognormally). Every few weeks it spreads its attempts over the sectors in
proportion to the scenario's attempt rates times ``(payoff / payoff at the start) **
elasticity``: the payoff of an attempt is the chance it gets through a sector's defences
times what a success is worth to its kind (money for criminals, persons reached for
hacktivists, economic disruption for states). At the scenario's starting point the
attempts are exactly the scenario's cyber rates; hardening one sector lowers its payoff
and displaces attempts to the others. Denial-of-service capacity grows and shrinks with
the botnet, which the individuals' infected machines feed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import mesa
import numpy as np

if TYPE_CHECKING:
    from riskmodel.abm.model import CriticalInfrastructureModel


class Attacker(mesa.Agent):
    """An attacker group of one kind and country of origin."""

    model: CriticalInfrastructureModel

    def __init__(self, model: CriticalInfrastructureModel, kind: str, values: str, origin: str, capacity: np.ndarray):
        super().__init__(model)
        self.kind = kind
        self.values = values  # what a success is worth to it: direct, persons or economy
        self.origin = origin
        self.capacity = capacity  # attempts a year per threat at the starting botnet
        self.attempts = np.zeros_like(model.world.sector_rate)  # [sector, threat] a year
        self.successes = 0
        self.payoff = 0.0

    def plan(self) -> None:
        """Spread this attacker's attempts over the sectors by their payoff for effort."""
        model = self.model
        scale = np.ones_like(self.capacity)
        scale[model.ddos_threat] = model.ddos_capacity
        self.attempts = model.target_shares(self.values) * (self.capacity * scale)[None, :]

    @property
    def attempts_per_year(self) -> float:
        return float(self.attempts.sum())

    def reset_year(self) -> None:
        self.successes = 0
        self.payoff = 0.0
