"""Where attackers aim: the payoff of an attempt on each sector and threat.

The payoff of an attempt is the chance it gets through a sector's defences (the kernel's
``survive`` multipliers, information-sharing alerts included) times what a success is
worth to the attacker: the direct loss it causes (money, for criminals), the persons it
reaches (visibility, for hacktivists) or the production it stops (disruption, for states).
Effort per attempt is taken as the same everywhere, so payoff per attempt is payoff for
effort. An attacker spreads a threat's attempts over the sectors in proportion to the
scenario's attempt rates times ``(payoff now / payoff at the start) ** elasticity``, the
start being the measures in place at the first fiscal year (``in_place``; none by
default): there the attempts are the scenario's rates exactly, and hardening a sector
moves attempts to the others (displacement). With an outside option ``w``, a share ``w``
of the attempts is not spread over the sectors but aimed at each by its own payoff ratio
alone: as payoffs fall, those attempts leave for targets outside the model (other
countries) instead of moving to another sector, so the total is no longer conserved.
"""

from __future__ import annotations

import numpy as np

from riskmodel.abm.valuation import by_sector
from riskmodel.engine.inputs import KernelInputs
from riskmodel.engine.kernels import OP_REACH, OP_SHOCK, OP_USERS, OT_DIRECT, OT_LOG_DURATION, OT_SURVIVE
from riskmodel.measures import no_measures, protection
from riskmodel.world import World

VALUES = ("direct", "persons", "economy")  # what a success is worth, by kind of attacker


class Targeting:
    """Payoffs of attempts and the shares of a threat's attempts each sector draws."""

    def __init__(
        self, world: World, elasticity: float, outside_option: float = 0.0, in_place: np.ndarray | None = None
    ):
        self.world = world
        self.elasticity = elasticity
        self.outside_option = outside_option
        ops = world.operators
        self.pick = ops.sector_share / np.bincount(ops.sector, weights=ops.sector_share)[ops.sector]
        start = no_measures(world) if in_place is None else in_place
        reference = KernelInputs.build(world, protection(world, start))
        self.start = self.payoffs(reference.ops[2], reference.ops[1])
        self.shares = {kind: self._shares(self.start[kind], self.start[kind]) for kind in VALUES}

    def payoffs(self, op_threat: np.ndarray, op_float: np.ndarray) -> dict[str, np.ndarray]:
        """``[sector, threat]`` payoff of an attempt, by value, from the kernel's tables."""
        kept = op_threat[:, :, OT_SURVIVE] * self.pick[:, None]
        node_loss = self.world.cascade.others_weight[self.world.operators.node]
        worth = {
            "direct": op_threat[:, :, OT_DIRECT],
            "persons": (op_float[:, OP_USERS] * op_float[:, OP_REACH])[:, None],
            "economy": (op_float[:, OP_SHOCK] * node_loss)[:, None] * np.exp(op_threat[:, :, OT_LOG_DURATION]),
        }
        return {kind: by_sector(self.world, kept * value) for kind, value in worth.items()}

    def _shares(self, now: np.ndarray, start: np.ndarray) -> np.ndarray:
        base = self.world.sector_rate
        ratio = np.divide(now, start, out=np.ones_like(start), where=start > 0)
        raw = base * ratio**self.elasticity
        total, at_start = raw.sum(axis=0), base.sum(axis=0)
        spread = np.divide(raw, total, out=np.zeros_like(raw), where=total > 0)
        alone = np.divide(raw, at_start, out=np.zeros_like(raw), where=at_start > 0)
        w = self.outside_option
        return (1.0 - w) * spread + w * alone

    def aim(self, op_threat: np.ndarray, op_float: np.ndarray) -> None:
        """Re-aim at the defences in the kernel's tables now."""
        now = self.payoffs(op_threat, op_float)
        self.shares = {kind: self._shares(now[kind], self.start[kind]) for kind in VALUES}
