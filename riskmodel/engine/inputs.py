"""The world and a protection state packed as the tuples of arrays the kernels take.

Both the Monte Carlo engine (:mod:`riskmodel.engine.simulate`) and the agent model's
daily engine build their kernel inputs here, so the packing is written once.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from riskmodel.engine.kernels import DISASTER, MAX_SLOTS, MAX_THREATS
from riskmodel.engine.keyed import beta_quantile_table
from riskmodel.measures import Protection
from riskmodel.world import World


def cumulative_shares(weights: np.ndarray) -> np.ndarray:
    """Cumulative shares of ``weights``, the last exactly 1: an operator pick's inverse CDF."""
    cum = np.cumsum(weights / weights.sum())
    cum[-1] = 1.0
    return np.minimum(cum, 1.0)


@dataclass(frozen=True)
class KernelInputs:
    """The world and a protection state as the tuples of arrays the kernels take."""

    ops: tuple
    sect: tuple
    thr: tuple
    casc: tuple
    n_sectors: int

    @classmethod
    def build(cls, world: World, prot: Protection) -> KernelInputs:
        op = world.operators
        n_sectors = world.n_sectors
        sector_first = np.searchsorted(op.sector, np.arange(n_sectors + 1)).astype(np.int64)
        if n_sectors >= MAX_SLOTS or len(world.region_ids) >= MAX_SLOTS or len(world.threat_ids) >= MAX_THREATS:
            raise ValueError("too many sectors, regions or threats for the keyed draws' counters")
        op_cum = np.ones(len(op))
        for s in range(n_sectors):
            a, b = sector_first[s], sector_first[s + 1]
            if b > a:
                op_cum[a:b] = cumulative_shares(op.sector_share[a:b])
        region_ops = np.argsort(op.region, kind="stable").astype(np.int64)
        region_first = np.searchsorted(op.region[region_ops], np.arange(len(world.region_ids) + 1)).astype(np.int64)
        op_int = np.stack([op.sector, op.region, op.node], axis=1).astype(np.int64)
        shock = op.node_share * world.cascade_share[op.sector] * prot.cascade
        op_float = np.stack([op.users, op.it_dependence * prot.depth, shock, op.reach * prot.depth], axis=1)
        with np.errstate(divide="ignore"):  # a measure that removes all outage time gives log(0)
            log_duration = np.log(prot.duration) + np.log(world.duration_scale[op.sector])[:, None]
        op_threat = np.stack([prot.survive, log_duration, op.revenue[:, None] * prot.direct], axis=2)
        sector_float = np.stack(
            [
                world.value_of_time,
                world.service_kind.astype(float),
                world.service_hours,
                world.delay_hours,
                world.exposure[:, DISASTER],
                world.passed_system,
            ],
            axis=1,
        )
        t = world.threats
        threat_float = np.stack(
            [
                t.kind.astype(float),
                t.dispersion,
                t.hit_probability,
                t.duration_mu,
                t.duration_sigma,
                t.depth_alpha,
                t.depth_beta,
                t.loss_mu,
                t.loss_sigma,
                t.tail_probability,
                t.tail_shape,
                t.tail_threshold,
                t.tail_scale,
                t.tail_z,
            ],
            axis=1,
        )
        c = world.cascade
        node_weight = np.ascontiguousarray(np.stack([c.va_weight, c.others_weight, c.clip_bound], axis=1))  # NODE_*
        f = np.ascontiguousarray
        g = world.shared
        shared = (g.first, f(g.share), g.member_first, g.members)  # each sector's shared groups and their members
        return cls(
            ops=(op_int, f(op_float), f(op_threat), sector_first, op_cum, region_ops, region_first, *shared),
            sect=(f(world.sector_rate), f(sector_float)),
            thr=(f(threat_float), f(t.regional_rate), beta_quantile_table(t.depth_alpha, t.depth_beta)),
            casc=(c.local, c.spread, c.region_weight, c.k, c.value_added, c.sector_va_weight, c.leontief, node_weight),
            n_sectors=n_sectors,
        )
