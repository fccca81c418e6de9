"""What a measure is worth to whoever decides on it: expected annual losses by layer.

Operators weigh a measure by the loss it removes for them, ministries by the loss it
removes for society, attackers by what an attempt still yields. All of them need the
*expected* annual loss of an operator under a set of measures. It follows from the
engine's own distributions: the expected count of an operator's failures, times the
expected loss of one unmitigated failure, times the engine's multipliers
(:meth:`riskmodel.measures.EffectProducts.protection`). The means of the duration, the
direct-loss ratio and the trips factor are integrated numerically with the kernels' own
functions (``loss_ratio``, the duration cap), so nothing of the loss model is written twice.

Two simplifications, both harmless for a decision rule: measures scale a trips service's
users' loss linearly in the outage duration (exact while the outage stays within a
service day) and the cascade is taken as unclipped (exact unless it saturates a node).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from numba import njit

from riskmodel.engine.kernels import DISASTER, MAX_OUTAGE_HOURS, loss_ratio, reached_outcome, trips_share
from riskmodel.measures import Protection
from riskmodel.world import World

QUADRATURE_POINTS = 4001  # standard-normal grid on [-8, 8]: errors far below 1e-6 of the means


@njit(cache=True)
def _mean_loss_ratio(z, weight, mu, sigma, tail_p, shape, threshold, scale, z_threshold):
    total = 0.0
    for i in range(z.size):
        total += weight[i] * loss_ratio(z[i], mu, sigma, tail_p, shape, threshold, scale, z_threshold)
    return total


@njit(cache=True)
def _mean_loss_ratio_sq(z, weight, mu, sigma, tail_p, shape, threshold, scale, z_threshold):
    total = 0.0
    for i in range(z.size):
        total += weight[i] * loss_ratio(z[i], mu, sigma, tail_p, shape, threshold, scale, z_threshold) ** 2
    return total


def limited_ratio(world: World, points: int = 400) -> tuple[np.ndarray, np.ndarray]:
    """``(x, G)``: ``G[threat, k] = E[min(R, x[k])]``, the limited expected direct-loss
    ratio of one failure of each threat at ``x`` on a log grid over (0, 1] (``x[0] = 0``).
    An insurer with a deductible ``d`` (a share of revenue) pays ``E[max(0, mR - d)] =
    m (E[R] - G(d / m))`` for a failure whose direct loss measures scale by ``m``."""
    t = world.threats
    z, weight = _normal_grid()
    x = np.concatenate([[0.0], np.logspace(-9, 0, points - 1)])
    loss_params = (t.loss_mu, t.loss_sigma, t.tail_probability, t.tail_shape, t.tail_threshold, t.tail_scale, t.tail_z)
    g = np.empty((len(world.threat_ids), x.size))
    for h in range(len(world.threat_ids)):
        r = np.array([loss_ratio(v, *(p[h] for p in loss_params)) for v in z])
        g[h] = (np.minimum(r[None, :], x[:, None]) * weight[None, :]).sum(axis=1)
    return x, g


def _normal_grid() -> tuple[np.ndarray, np.ndarray]:
    z = np.linspace(-8.0, 8.0, QUADRATURE_POINTS)
    weight = np.exp(-0.5 * z**2)
    return z, weight / weight.sum()


@dataclass(frozen=True)
class EventValues:
    """Per operator and threat: failures a year and the mean losses of one failure.

    ``rate`` is at the scenario's rates with no measures (the agent model rescales it with
    attackers and outsourcing); losses are of an unmitigated failure, in yen.
    """

    rate: np.ndarray  # [operator, threat] failures a year
    own: np.ndarray  # [operator, threat] borne by the operator (kernels.LAYERS)
    users: np.ndarray  # [operator, threat]
    others: np.ndarray  # [operator, threat] value added lost by everyone else (unclipped DIIM)
    persons: np.ndarray  # [operator, threat] persons affected
    person_hours: np.ndarray  # [operator, threat] hours lost by them (users' loss before the value of time)
    own_sq: np.ndarray  # [operator, threat] mean square of the operator's own loss of one failure, yen^2
    users_sq: np.ndarray  # [operator, threat] mean square of the users' loss of one failure, yen^2


def event_values(world: World) -> EventValues:
    """Expected failures a year and mean unmitigated losses per failure, for every operator."""
    op, t = world.operators, world.threats
    s = op.sector
    z, weight = _normal_grid()
    n_threats = len(world.threat_ids)

    loss_params = (t.loss_mu, t.loss_sigma, t.tail_probability, t.tail_shape, t.tail_threshold, t.tail_scale, t.tail_z)
    ratio = np.array([_mean_loss_ratio(z, weight, *(p[h] for p in loss_params)) for h in range(n_threats)])
    ratio_sq = np.array([_mean_loss_ratio_sq(z, weight, *(p[h] for p in loss_params)) for h in range(n_threats)])
    # durations: the threat's lognormal times the sector's scale, capped as in the kernel
    log_duration = t.duration_mu[None, :] + np.log(world.duration_scale)[:, None]  # [sector, threat]
    hours = np.minimum(np.exp(log_duration[..., None] + t.duration_sigma[None, :, None] * z), MAX_OUTAGE_HOURS)
    mean_hours = (hours * weight).sum(axis=-1)
    service = world.service_hours[:, None, None]
    trips = (trips_share(hours, service) * weight).sum(axis=-1)
    continuous = world.service_kind[:, None] == 0
    mean_draw = t.depth_alpha / (t.depth_alpha + t.depth_beta)
    # persons and hours per reached user: linear in the draw, so the mean draw gives their means
    per_person, per_hours = reached_outcome(
        world.service_kind.astype(float)[:, None, None], world.passed_system[:, None, None], hours, service,
        world.delay_hours[:, None, None],
        np.broadcast_to(mean_draw[None, :, None], hours.shape),
    )  # fmt: skip
    per_person, per_hours = (per_person * weight).sum(axis=-1), (per_hours * weight).sum(axis=-1)
    # spread of one failure's users' loss: the outage's hours (or trips) and the depth vary
    # independently; E[g^2] / E[g]^2 of each
    hours_sq = (hours**2 * weight).sum(axis=-1) / mean_hours**2
    trips_sq = (trips_share(hours, service) ** 2 * weight).sum(axis=-1) / np.maximum(trips, 1e-300) ** 2
    spread = np.where(continuous, hours_sq, trips_sq)
    a, b = t.depth_alpha, t.depth_beta
    depth_sq = (a + 1.0) * (a + b) / (a * (a + b + 1.0))  # E[D^2] / E[D]^2 of a Beta depth

    depth = mean_draw[None, :] * op.it_dependence[:, None]
    reached = op.users * op.reach  # the users a failure at full depth reaches
    persons = reached[:, None] * per_person[s]
    person_hours = reached[:, None] * per_hours[s]
    users = person_hours * world.value_of_time[s][:, None]
    c = world.cascade
    shock = depth * (op.node_share * world.cascade_share[s])[:, None]
    others = c.others_weight[op.node][:, None] * shock * mean_hours[s]
    own = op.revenue[:, None] * ratio[None, :]

    rate = np.zeros((len(op), n_threats))
    sector_weight = op.sector_share / np.bincount(s, weights=op.sector_share)[s]
    single = t.kind != DISASTER
    # a share of the sector's failures strikes a shared group (its shared system, its shared
    # contractor) and takes every member down: an operator's rate is its pick by size of the
    # rest plus its groups' shares
    p = world.shared.sector_share(world.n_sectors)[s]
    joint = world.shared.operator_share(len(op))
    rate[:, single] = (world.sector_rate[s] * ((1.0 - p) * sector_weight[:, None] + joint))[:, single]
    hit = t.hit_probability[None, ~single] * world.exposure[s, DISASTER][:, None]
    rate[:, ~single] = t.regional_rate[~single][:, op.region].T * hit
    return EventValues(
        rate=rate, own=own, users=users, others=others, persons=persons, person_hours=person_hours,
        own_sq=op.revenue[:, None] ** 2 * ratio_sq[None, :], users_sq=users**2 * (spread * depth_sq)[s],
    )  # fmt: skip


def expected_losses(values: EventValues, rate: np.ndarray, prot: Protection) -> tuple[np.ndarray, ...]:
    """Expected annual (own, users, others) loss per operator and threat under ``prot``.

    ``rate`` gives failures a year before measures, shaped like ``values.rate``;
    ``prot``'s arrays may carry extra leading axes (candidate options, say) before the
    operator axis.
    """
    kept = rate * prot.survive
    duration_depth = prot.duration * prot.depth[..., None]
    own = kept * values.own * prot.direct
    users = kept * values.users * duration_depth
    others = kept * values.others * duration_depth * prot.cascade[..., None]
    return own, users, others


def expected_reach(values: EventValues, rate: np.ndarray, prot: Protection) -> tuple[np.ndarray, np.ndarray]:
    """Expected (person-hours of outage, persons affected) a year per operator and threat
    under ``prot``: what the individuals suffer."""
    kept = rate * prot.survive
    depth = prot.depth[..., None]
    return kept * values.person_hours * prot.duration * depth, kept * values.persons * depth


def by_sector(world: World, values: np.ndarray) -> np.ndarray:
    """Sums of ``values[operator, ...]`` by sector, added in operator order (the same bits
    whatever the BLAS or its threads)."""
    totals = np.zeros((world.n_sectors, *values.shape[1:]))
    np.add.at(totals, world.operators.sector, values)
    return totals
