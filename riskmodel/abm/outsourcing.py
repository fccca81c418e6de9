"""IT outsourcing and the contractor faults it brings.

Operators of a sector outsource a Beta-distributed share of their IT (the sector's mean,
``concentration`` as the Beta's precision); an operator's rate of contractor faults is the
threat's rate times its share over ``reference_share``. The engine picks the failing
operator of a sector in proportion to its size, so the sector's rate is set by its most
outsourced operator and the others' faults are thinned (the engine's own thinning, with
common random numbers) down to their share.

The world's shared contractor (``[sectors.shared_contractor]``) takes a share of the
sector's contractor faults and puts every client down at once; the thinning acts on each
client of such a fault as on its own faults (the engine keeps a client when the fault's
survival uniform is below the client's own survival), so both the independent and the
common-cause faults of an operator scale with its outsourced share, and its expected rate
stays the valuation's rate times the sector factor times its thinning.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.schema import Outsourcing
from riskmodel.world import World


@dataclass(frozen=True)
class OutsourcingRates:
    share: np.ndarray  # [operator] share of its IT outsourced
    sector_factor: np.ndarray  # [sector, threat] multiplier of the scenario's rate
    thinning: np.ndarray  # [operator, threat] share of the sector-rate failures kept


def outsourcing_rates(world: World, spec: Outsourcing, rng: np.random.Generator) -> OutsourcingRates:
    """Draw the operators' outsourced shares and the rates they imply (all 1 when off)."""
    n_ops, n_threats = len(world.operators), len(world.threat_ids)
    share = np.zeros(n_ops)
    factor = np.ones((world.n_sectors, n_threats))
    thinning = np.ones((n_ops, n_threats))
    if spec.enabled:
        h = world.threat_ids.index(spec.threat)
        for s, sector in enumerate(world.sector_ids):
            rows = np.flatnonzero(world.operators.sector == s)
            if sector not in spec.shares or rows.size == 0:
                continue
            mean = spec.shares[sector]
            share[rows] = rng.beta(mean * spec.concentration, (1.0 - mean) * spec.concentration, rows.size)
            top = share[rows].max()
            factor[s, h] = top / spec.reference_share
            thinning[rows, h] = share[rows] / top
    return OutsourcingRates(share, factor, thinning)
