"""Numba kernels: hazard draws, severity, the hourly DIIM cascade and loss layers.

Loss layers (:data:`LAYERS`) partition society's loss of a failure, each yen in one layer,
by who bears it:

* ``own``: the failing operator's own costs and lost margin (repair, recovery work, lost
  fees: the direct-loss draw). Its lost production is here and nowhere else.
* ``users``: its customers' lost time (persons x hours x value of time), gross of any
  compensation: compensation is a transfer from the operator to its users, which moves
  yen between these two layers and changes no total, so no layer counts it.
* ``others``: value added lost through the DIIM cascade by everyone but the failing
  operator: other sectors, other operators of its own sector, and the feedback of the
  cascade onto its own node. In closed form ``v' (S - I) c* d`` (``v`` the value added per
  node and hour, ``S = (I - A*)^-1``, ``c*`` the forced inoperability, ``d`` the hours):
  the term ``v' c* d`` is the failing operator's own lost output, held by ``own``.

The external cost of a failure is ``users + others``, everything the failing operator
does not bear; society's loss is ``own + users + others``.

This is the one implementation of the hazard and cascade mathematics: the Monte Carlo
engine calls :func:`simulate_periods` with a period of one year; an agent model steps it a
day at a time.

Common random numbers. Events are drawn at the rates *without* measures and then kept
with probability ``survive`` (thinning); every event draws the same random numbers
whether it is kept or not, and measures only scale durations, depths and losses down.
So two portfolios see the same random years, and adding a measure can never raise a
year's total loss, nor any sector's own or users' loss: the property a sample-average
optimiser relies on. (The value added lost in a disaster or a shared group's failure whose
cascade hits the clip is shared between the operators hit in proportion to their unclipped
contributions, so that one sector's share can rise when another's measures shrink the total.)

Cascade. Each event (a single operator's failure, or all operators a disaster hits)
forces direct inoperability ``c*`` on its (region, sector) nodes for its duration. When
``c*`` is too small for the clip at 1 to bind anywhere (``c* max_m S[m, n] <= 1``, a
bound that holds for the whole trajectory because the update is monotone), the hourly
DIIM's total lost value added equals ``v^T (I - A*)^-1 sum_t c*(t)`` exactly, so it is
computed in closed form. Otherwise the hourly update runs with clipping while the shock
lasts and until no clip can bind any more, and the rest of the recovery is again
closed-form (``S K^-1 q``).

Keyed random numbers (common random numbers across parameter changes). Every random
number is a Philox4x32-10 draw (:mod:`riskmodel.engine.keyed`) under the run's key, named
by a counter: ``c0`` the period (the year, or the agent model's day), ``c1`` the kind of
draw with its threat and its sector or region (:func:`counter_word`), ``c2`` the event's
index ``k`` in its (period, threat, sector or region), ``c3`` the call (and, for a
disaster, the operator's position in its region). Nothing is drawn in sequence, so what a
parameter governs is all a change of it can alter; with the same key:

* Counts. A (year, sector, threat)'s count of single failures, and a (year, region,
  disaster)'s count of disasters, is the quantile of one keyed uniform (Poisson, or
  negative binomial for a dispersed threat). Event ``k``'s numbers depend only on ``k``,
  so events ``0 .. N-1`` are the same whatever ``N``. Raising a threat's rate (or a
  regional disaster rate, or a sector's exposure) never lowers a count, so every event
  drawn at the lower rate is drawn again (same operator, day, duration, depth, severity)
  and events are only added; lowering it only removes events. Other threats' events are
  untouched (their counters differ). (A sector's operator count raises its counts too, but
  it also changes every operator's share, so picks move: see Operators.) The count's CDF
  is summed in floating point, so for two means within about 1e-15 of each other the
  order could flip by rounding.
* Over-dispersion. Changing a threat's dispersion at a fixed mean also keeps the first
  ``min(N, N')`` events of each year exactly, but may move a year's count either way: no
  coupling can do better, since negative binomials of one mean and two dispersions are not
  stochastically ordered (the larger dispersion has more zero years *and* a heavier tail).
* Severity, by quantile from per-event uniforms: duration ``exp(mu + sigma z)`` with
  ``z = Phi^-1(u)``, the direct-loss ratio likewise (and its GPD tail from the same ``u``),
  depth from a table of Beta quantiles (:func:`riskmodel.engine.keyed.beta_quantile_table`).
  Raising a median duration or loss share, the depth (``alpha`` up or ``beta`` down), a
  tail's shape, or a sigma for the events above the median (``z > 0``, which is all that
  can hold: below the median a larger sigma means a smaller value) never lowers any event's
  duration, depth or loss ratio, hence its losses: a single failure's every layer, and a
  disaster's total (the clipped cascade is monotone in its shocks and durations; a
  disaster's lost value added is shared between its hits in proportion to their unclipped
  contributions, so one hit's share can fall when another hit's shock grows). A tail
  probability moves the splice point and is not monotone. Depth tables hold exact Beta
  quantiles at ``i / 4096`` and interpolate linearly, so the depth's CDF is within 1/4096
  of the Beta's. A disaster's hit of an operator is a keyed uniform below the hit
  probability, so raising the hit probability only adds hits.
* Operators. A single failure's operator is the inverse CDF, over the sector's operators'
  cumulative shares, of a keyed uniform. A change of the shares moves an event only if its
  uniform lies between an old and a new cumulative boundary: at most ``sum_i |C'_i - C_i|``
  of a sector's events move, typically to a neighbouring operator; a sector's users (which
  scale every operator alike) move none, nor does a change that keeps a (sector, region)'s
  total share (operators are ordered by region, so region boundaries stay put) move events
  between regions. It is not the least possible, the total variation
  ``sum_i |p'_i - p_i| / 2``: with 12 operators of Zipf sizes, exponent 1 to 1.2, 49% of
  the events move where 7.4% must. The least needs an exponential race over all of a
  sector's operators per event (``argmin E_i / w_i``), O(operators) keyed draws per event,
  too slow here.
* Shared groups (a sector's shared system, its shared contractor). Whether single failure
  ``k`` strikes one of its sector's groups is a keyed uniform of its own kind
  (``KEY_SHARED``), drawn only where the groups' shares of the threat add up to more than
  0: the first group takes the uniforms below its share of the threat, the next group the
  next share, and so on (``world.SharedGroups``' order). So switching groups on, or adding
  a group after the others, changes nothing else, and raising a share only turns more of
  the same single failures into shared ones. A shared event keeps the event's own numbers
  (its survival, depth, day and severity draws) and applies them to every member (each
  with its own measures, size, IT dependence and reach, a member kept when the event's
  survival uniform is below its own survival): one outage of one system or one
  contractor's fault, one event with several operators down, whose lost output, persons
  and losses are the sums over the members.
* Numbers and thinning. The draws of a kept event never depend on which other events are
  kept, so measures still only thin events and scale them down (the property above); and
  results do not depend on blocks, threads or reruns of a block.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from riskmodel.engine.keyed import (
    count_pmf0,
    count_quantile,
    counter_word,
    ndtri,
    philox4x32,
    table_quantile,
    u32,
    u53,
)
from riskmodel.metrics import fn_bin
from riskmodel.schema import THREAT_KINDS

LAYERS = ("own", "users", "others")  # who bears the loss: see the module docstring
DISASTER = THREAT_KINDS.index("disaster")
MAX_OUTAGE_HOURS = 8760.0  # an outage lasts at most a year
TAIL_CHECK_HOURS = 6  # hours stepped between checks that the recovery tail can no longer clip
ELT_INT_COLUMNS = ("year", "event", "day", "sector", "region", "operator", "threat")
ELT_FLOAT_COLUMNS = ("duration_hours", "depth", "persons", *LAYERS)
# kinds of keyed draw (the top byte of the second counter word)
KEY_SECTOR_COUNT = 1  # a (period, sector, threat)'s count of single failures
KEY_FAILURE = 2  # single failure k of a (period, sector, threat): call 0 operator, survival, depth, day, 1 severity
KEY_REGION_COUNT = 3  # a (period, region, disaster)'s count of events
KEY_DISASTER = 4  # disaster k: call 0 its day, call 1 + j // 4 the hit of the j-th operator of the region
KEY_HIT = 5  # disaster k's hit of the region's j-th operator: calls 2 j and 2 j + 1
KEY_SHARED = 6  # single failure k of a (period, sector, threat): whether it strikes a shared group
MAX_THREATS = 256
MAX_SLOTS = 65536  # sectors or regions


@njit(cache=True, nogil=True, error_model="numpy")
def gpd_tail_ratio(v: float, threshold: float, scale: float, shape: float) -> float:
    """The generalised Pareto tail's ratio at its own quantile ``v`` (not capped)."""
    v = min(max(v, 0.0), 1.0 - 1e-16)
    t = -math.log1p(-v)  # the exponential tail's quantile (shape 0)
    if shape > 1e-200:  # ((1 - v)^-shape - 1) / shape without cancellation; its limit t below
        t = math.expm1(shape * t) / shape
    return threshold + scale * t


@njit(cache=True, nogil=True, error_model="numpy")
def loss_ratio(
    z: float, mu: float, sigma: float, tail_p: float, shape: float, threshold: float, scale: float, z_threshold: float
) -> float:
    """Spliced lognormal-GPD direct-loss ratio from a standard normal draw ``z``, capped at 1.

    Below the lognormal's ``1 - tail_p`` quantile (``z`` below ``z_threshold =
    Phi^-1(1 - tail_p)``) the ratio is the lognormal ``exp(mu + sigma z)`` itself; above,
    ``Phi(z)`` is mapped onto a generalised Pareto tail that starts at that quantile
    (``z_threshold`` is ``inf`` when there is no tail). The engine draws it by quantile
    instead (:func:`loss_ratio_quantile`), the same function of ``Phi(z)``.
    """
    if z < z_threshold:
        return min(math.exp(mu + sigma * z), 1.0)
    v = (0.5 * math.erfc(-z / math.sqrt(2.0)) - (1.0 - tail_p)) / tail_p
    return min(gpd_tail_ratio(v, threshold, scale, shape), 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def loss_ratio_quantile(
    u: float, mu: float, sigma: float, tail_p: float, shape: float, threshold: float, scale: float
) -> float:
    """The spliced direct-loss ratio at quantile ``u`` (:func:`loss_ratio` of ``Phi^-1(u)``).

    The normal quantile is needed only in the body. Monotone in ``u``, in ``mu``, in the
    tail's shape and, above the median, in ``sigma`` (the splice threshold and the GPD
    scale grow with ``mu`` and ``sigma``).
    """
    if u < 1.0 - tail_p:
        return min(math.exp(mu + sigma * ndtri(u)), 1.0)
    return min(gpd_tail_ratio((u - (1.0 - tail_p)) / tail_p, threshold, scale, shape), 1.0)


@njit(cache=True, nogil=True, error_model="numpy")
def diim_step(q, c, local, spread, omega, k, clip, out):
    """One hour of ``q <- q + K (A* q + c* - q)`` in the factored regional form, into ``out``."""
    n_regions, n_sectors = q.shape
    qbar = np.zeros(n_sectors)
    for r in range(n_regions):
        for j in range(n_sectors):
            qbar[j] += omega[r] * q[r, j]
    for r in range(n_regions):
        for i in range(n_sectors):
            acc = c[r, i] - q[r, i]
            for j in range(n_sectors):
                acc += local[i, j] * q[r, j] + spread[i, j] * qbar[j]
            value = q[r, i] + k[r * n_sectors + i] * acc
            if clip:
                value = min(1.0, max(0.0, value))
            out[r, i] = value


@njit(cache=True, nogil=True, error_model="numpy")
def tail_may_clip(q, leontief) -> bool:
    """Whether the unforced recovery from ``q`` could still hit the clip.

    ``w = S q`` satisfies ``M w <= w`` for the hourly map ``M = I - K (I - A*)`` and
    ``w >= q``, so the unclipped trajectory stays below ``w``: if ``max(S q) <= 1`` the
    clip never binds again and the rest of the recovery has the closed form ``S K^-1 q``.
    """
    n_regions, n_sectors = q.shape
    n_nodes = n_regions * n_sectors
    for m in range(n_nodes):
        acc = 0.0
        for n in range(n_nodes):
            acc += leontief[m, n] * q[n // n_sectors, n % n_sectors]
        if acc > 1.0:
            return True
    return False


@njit(cache=True, nogil=True, error_model="numpy")
def cascade_hourly(
    nodes, shocks, durations, n_hits, local, spread, omega, k, value_added, sector_weight, leontief, by_sector
):
    """Value added lost (yen) on each sector's nodes from one event, hourly DIIM with clipping.

    ``shocks[e]`` of inoperability is forced on ``nodes[e]`` for ``durations[e]`` hours
    (the last hour fractional). The hourly update runs while the shock lasts and then
    until the clip can no longer bind (:func:`tail_may_clip`); the rest of the recovery
    is added in closed form. Fills ``by_sector``.
    """
    n_regions = omega.size
    n_sectors = local.shape[0]
    q = np.zeros((n_regions, n_sectors))
    nxt = np.zeros((n_regions, n_sectors))
    c = np.zeros((n_regions, n_sectors))
    integral = np.zeros((n_regions, n_sectors))
    hours = 0
    for e in range(n_hits):
        hours = max(hours, math.ceil(durations[e]))
    for t in range(hours):
        c[:, :] = 0.0
        for e in range(n_hits):
            share = min(1.0, max(0.0, durations[e] - t))
            c[nodes[e] // n_sectors, nodes[e] % n_sectors] += shocks[e] * share
        integral += q
        diim_step(q, c, local, spread, omega, k, True, nxt)
        q, nxt = nxt, q
    c[:, :] = 0.0
    while tail_may_clip(q, leontief):
        for _ in range(TAIL_CHECK_HOURS):
            integral += q
            diim_step(q, c, local, spread, omega, k, True, nxt)
            q, nxt = nxt, q
    by_sector[:] = 0.0
    for r in range(n_regions):
        for i in range(n_sectors):
            n = r * n_sectors + i
            by_sector[i] += value_added[n] * integral[r, i]
            for s in range(n_sectors):
                by_sector[s] += sector_weight[s, n] * q[r, i] / k[n]


@njit(cache=True, nogil=True, error_model="numpy")
def event_economy(nodes, shocks, durations, n_hits, casc, by_sector):
    """Value added lost by affected sector for one event: closed form unless the clip may bind.

    Used for disasters (many nodes at once) and for the rare single failures whose shock
    may reach the clip; the common single failure uses the per-node weights directly.
    """
    local, spread, omega, k, value_added, sector_weight, leontief, _ = casc
    n_nodes = leontief.shape[0]
    node_shock = np.zeros(n_nodes)
    for e in range(n_hits):
        node_shock[nodes[e]] += shocks[e]
    touched = np.flatnonzero(node_shock)
    may_clip = False
    for m in range(n_nodes):
        bound = 0.0
        for n in touched:
            bound += leontief[m, n] * node_shock[n]
        if bound > 1.0:
            may_clip = True
            break
    if may_clip:
        cascade_hourly(
            nodes, shocks, durations, n_hits, local, spread, omega, k, value_added, sector_weight, leontief, by_sector
        )
    else:
        for s in range(by_sector.size):
            by_sector[s] = 0.0
        for e in range(n_hits):
            dose = shocks[e] * durations[e]
            for s in range(by_sector.size):
                by_sector[s] += sector_weight[s, nodes[e]] * dose


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def pick_operator(op_cum, first: int, last: int, u: float) -> int:
    """The first operator ``o`` in ``[first, last)`` with ``u < op_cum[o]`` (the cumulative
    shares, the last exactly 1): the inverse CDF of the shares, by bisection."""
    lo, hi = first, last - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if u < op_cum[mid]:
            hi = mid
        else:
            lo = mid + 1
    return lo


@njit(cache=True, nogil=True, error_model="numpy")
def trips_share(duration, service_hours):
    """Persons a trips service's outage reaches, per user: the outage's share of a service
    day, or, beyond a day, its days of trips (scalars or arrays alike; the kernel, the
    agents' valuation and the optimiser all count persons with it)."""
    return np.maximum(np.minimum(1.0, duration / service_hours), duration / 24.0)


@njit(cache=True, nogil=True, error_model="numpy")
def reached_outcome(trips, passed, duration, service_hours, delay_hours, draw):
    """Persons affected and their hours lost, per user a failure reaches (scalars or
    arrays alike: the kernel and the agents' valuation count persons with it, the
    optimiser credits durations by :func:`trips_share`).

    ``trips`` is 1 for a trips service, 0 for a continuous one; ``draw`` the failure's
    Beta draw. Of the reached users, a continuous service's failure meets all, a trips
    service's those who travel in the outage (:func:`trips_share`). Of those, the draw's
    share are affected, each for the whole outage (continuous) or the whole
    ``delay_hours`` (trips): a failure stops the service of the users of the output it
    stops. Where the failed system is one every reached user passes (``passed`` 1: a
    trips service with a reach table, such as ticket gates or check-in), all of them are
    affected, each held up by the draw's share of the delay: a third of the gates down
    queues every passenger of the station. The person-hours, hence the users' loss, are
    the same either way; the persons differ."""
    share = trips * trips_share(duration, service_hours) + (1.0 - trips)
    persons = share * (passed + (1.0 - passed) * draw)
    return persons, persons * hours_per_person(trips, passed, duration, delay_hours, draw)


@njit(cache=True, nogil=True, error_model="numpy")
def hours_per_person(trips, passed, duration, delay_hours, draw):
    """Hours each person :func:`reached_outcome` counts loses: the whole outage
    (continuous), the whole delay (trips), or the draw's share of the delay (trips through
    a passed system). ``passed`` is 1 only for trips services."""
    return trips * delay_hours * (passed * draw + (1.0 - passed)) + (1.0 - trips) * duration


# Column layout of the packed parameter tables (see engine.simulate.KernelInputs):
# ops = (op_int, op_float, op_threat, sector_first, op_cum, region_ops, region_first,
#        group_first, group_share, member_first, member_ops): see world.SharedGroups,
# sect = (sector_rate, sector_float), thr = (threat_float, regional_rate, depth_table).
OP_SECTOR, OP_REGION, OP_NODE = 0, 1, 2  # op_int[operator, :]
OP_USERS, OP_DEPTH_SCALE, OP_SHOCK, OP_REACH = 0, 1, 2, 3  # op_float[operator, :]
OT_SURVIVE, OT_LOG_DURATION, OT_DIRECT = 0, 1, 2  # op_threat[operator, threat, :]
SEC_VOT, SEC_KIND, SEC_SERVICE_HOURS, SEC_DELAY, SEC_DISASTER, SEC_PASSED = range(6)  # sector_float[sector, :]
(
    TH_KIND,
    TH_DISPERSION,
    TH_HIT,
    TH_DUR_MU,
    TH_DUR_SIGMA,
    TH_DEPTH_A,
    TH_DEPTH_B,
    TH_LOSS_MU,
    TH_LOSS_SIGMA,
    TH_TAIL_P,
    TH_TAIL_SHAPE,
    TH_TAIL_THRESHOLD,
    TH_TAIL_SCALE,
    TH_TAIL_Z,
) = range(14)  # threat_float[threat, :]
# node_weight[node, :]: value added lost everywhere per unit of c*-hour forced on the node
# (v' S), the part others bear (v' (S - I)), and the clip bound (max_m S[m, node])
NODE_VA, NODE_OTHERS, NODE_CLIP = 0, 1, 2


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def hit_outcome(o, h, z_duration, depth_draw, u_loss, op_float, op_threat, sector_float, threat_float, s):
    """Duration, depth, shock, persons, users loss and direct loss of operator o's failure.

    The depth (share of output lost, which the cascade sees) is the Beta draw times the
    operator's IT dependence; the users it reaches are its users times its reach, of whom
    :func:`reached_outcome` counts the persons affected and their hours."""
    log_duration = threat_float[h, TH_DUR_MU] + threat_float[h, TH_DUR_SIGMA] * z_duration
    duration = min(math.exp(log_duration + op_threat[o, h, OT_LOG_DURATION]), MAX_OUTAGE_HOURS)
    depth = depth_draw * op_float[o, OP_DEPTH_SCALE]
    shock = depth * op_float[o, OP_SHOCK]
    per_person, per_hours = reached_outcome(
        sector_float[s, SEC_KIND], sector_float[s, SEC_PASSED], duration, sector_float[s, SEC_SERVICE_HOURS],
        sector_float[s, SEC_DELAY], depth_draw,
    )  # fmt: skip
    reached = op_float[o, OP_USERS] * op_float[o, OP_REACH]
    persons = reached * per_person
    users = reached * per_hours * sector_float[s, SEC_VOT]
    ratio = loss_ratio_quantile(
        u_loss,
        threat_float[h, TH_LOSS_MU],
        threat_float[h, TH_LOSS_SIGMA],
        threat_float[h, TH_TAIL_P],
        threat_float[h, TH_TAIL_SHAPE],
        threat_float[h, TH_TAIL_THRESHOLD],
        threat_float[h, TH_TAIL_SCALE],
    )
    direct = ratio * op_threat[o, h, OT_DIRECT]
    return duration, depth, shock, persons, users, direct


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def write_elt_row(
    elt_i, elt_f, n, year, event, day, sector, region, operator, threat, duration, depth, persons, own, users, others
):  # fmt: skip
    """Row ``n`` of the event loss table: the ELT_INT_COLUMNS, then the ELT_FLOAT_COLUMNS."""
    elt_i[n, 0], elt_i[n, 1], elt_i[n, 2], elt_i[n, 3] = year, event, day, sector
    elt_i[n, 4], elt_i[n, 5], elt_i[n, 6] = region, operator, threat
    elt_f[n, 0], elt_f[n, 1], elt_f[n, 2], elt_f[n, 3] = duration, depth, persons, own
    elt_f[n, 4], elt_f[n, 5] = users, others


ZERO = np.uint64(0)


@njit(cache=True, nogil=True, error_model="numpy")
def count_setup(sector_rate, regional_rate, threat_float, period: float):
    """Mean and P(N = 0) of every (sector, threat) count and (disaster, region) count over
    a period: computed once per kernel call, not once per draw."""
    n_sectors, n_threats = sector_rate.shape
    n_regions = regional_rate.shape[1]
    sector_mean = np.zeros((n_sectors, n_threats))
    sector_p0 = np.ones((n_sectors, n_threats))
    region_mean = np.zeros((n_threats, n_regions))
    region_p0 = np.ones((n_threats, n_regions))
    for h in range(n_threats):
        dispersion = threat_float[h, TH_DISPERSION]
        if threat_float[h, TH_KIND] == DISASTER:
            for r in range(n_regions):
                region_mean[h, r] = regional_rate[h, r] * period
                region_p0[h, r] = count_pmf0(region_mean[h, r], dispersion)
        else:
            for s in range(n_sectors):
                sector_mean[s, h] = sector_rate[s, h] * period
                sector_p0[s, h] = count_pmf0(sector_mean[s, h], dispersion)
    return sector_mean, sector_p0, region_mean, region_p0


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def keyed_count(k0, k1, label, kind: int, h: int, slot: int, mean: float, dispersion: float, p0: float) -> int:
    """The keyed count of a (period, threat, sector or region): the quantile of one uniform."""
    if mean <= 0.0:
        return 0
    w0, w1, _, _ = philox4x32(label, counter_word(kind, h, slot), ZERO, ZERO, k0, k1)
    return count_quantile(u53(w0, w1), mean, dispersion, p0)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def failure_words(k0, k1, label, c1, k: int):
    """Both calls of single failure ``k`` (eight words), issued together: the two Philox
    chains are independent, so the processor overlaps them."""
    kk = np.uint64(k)
    a0, a1, a2, a3 = philox4x32(label, c1, kk, ZERO, k0, k1)
    b0, b1, b2, b3 = philox4x32(label, c1, kk, np.uint64(1), k0, k1)
    return a0, a1, a2, a3, b0, b1, b2, b3


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def severity_draws(k0, k1, label, c1, k: int, call: int):
    """A kept event's duration normal and direct-loss uniform (53 bits each), one call."""
    b0, b1, b2, b3 = philox4x32(label, c1, np.uint64(k), np.uint64(call), k0, k1)
    return ndtri(u53(b0, b1)), u53(b2, b3)


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def shared_total(group_share, first: int, last: int, h: int) -> float:
    """Share of a sector's failures of threat ``h`` that strike one of its groups
    ``first .. last - 1`` (summed in the order :func:`shared_group` does)."""
    total = 0.0
    for g in range(first, last):
        total += group_share[g, h]
    return total


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def shared_group(k0, k1, label, c_shared, k: int, group_share, first: int, last: int, h: int) -> int:
    """The group of ``first .. last - 1`` that single failure ``k`` strikes, or -1 for none:
    a uniform of its own counter kind (so that switching groups on moves no other draw)
    against the groups' cumulative shares of threat ``h``."""
    w0, w1, _, _ = philox4x32(label, c_shared, np.uint64(k), ZERO, k0, k1)
    u = u53(w0, w1)
    cumulative = 0.0
    for g in range(first, last):
        cumulative += group_share[g, h]
        if u < cumulative:
            return g
    return -1


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def record_hit(
    n, o, h, s, z, depth_draw, u_loss, op_int, op_float, op_threat, sector_float, threat_float, hit_ops, nodes, shocks,
    durations, hit_vals,
):  # fmt: skip
    """Operator ``o``'s outcome as hit ``n`` of a joint event (a disaster's, a shared
    group's): its node, shock and duration for the cascade, its depth, persons, users loss
    and direct loss for the event's sums."""
    duration, depth, shock, persons, users, direct = hit_outcome(
        o, h, z, depth_draw, u_loss, op_float, op_threat, sector_float, threat_float, s
    )
    hit_ops[n] = o
    nodes[n], shocks[n], durations[n] = op_int[o, OP_NODE], shock, duration
    hit_vals[n, 0], hit_vals[n, 1] = depth, persons
    hit_vals[n, 2], hit_vals[n, 3] = users, direct


@njit(cache=True, nogil=True, error_model="numpy")
def shared_others(nodes, shocks, durations, n_hits, casc, others):
    """Value added others lose through the cascade from each member of a shared group's
    failure, into ``others[:n_hits]``: ``v' (S - I) c* d`` per member where the clip cannot
    bind (``sum c* max_m S[m, n] <= 1``), else the clipped cascade's total shared out in
    proportion to the members' linear contributions, as for a single failure."""
    node_weight = casc[7]
    bound = 0.0
    for e in range(n_hits):
        others[e] = node_weight[nodes[e], NODE_OTHERS] * shocks[e] * durations[e]
        bound += shocks[e] * node_weight[nodes[e], NODE_CLIP]
    if bound <= 1.0:
        return
    by_sector = np.zeros(casc[0].shape[0])
    event_economy(nodes, shocks, durations, n_hits, casc, by_sector)
    linear = 0.0
    for e in range(n_hits):
        linear += node_weight[nodes[e], NODE_VA] * shocks[e] * durations[e]
    if linear > 0.0:
        scale = by_sector.sum() / linear
        for e in range(n_hits):
            others[e] *= scale


@njit(cache=True, nogil=True, error_model="numpy", inline="always")
def hit_uniform(k0, k1, label, c1, k: int, j: int, words):
    """The uniform deciding whether disaster ``k`` hits the region's ``j``-th operator: word
    ``j % 4`` of call ``1 + j // 4`` (``words`` caches the call, refilled when ``j % 4 == 0``)."""
    lane = j % 4
    if lane == 0:
        words[0], words[1], words[2], words[3] = philox4x32(label, c1, np.uint64(k), np.uint64(1 + j // 4), k0, k1)
    return u32(words[lane])


@njit(cache=True, nogil=True, error_model="numpy")
def simulate_periods(
    key, period, n_periods, first_label, ops, sect, thr, casc, year_loss, year_max, year_events, fn_counts, elt_i, elt_f
):
    """Simulate ``n_periods`` consecutive periods into rows ``0 .. n_periods - 1``.

    A period is a year (``period = 1``) for the Monte Carlo engine and a day
    (``1/365``) for the agent model; rows are labelled ``first_label + row`` in the event
    table, and the label is the period's counter in every keyed draw (``key``: two 32-bit
    words as ``uint32``). Returns the number of event-loss-table rows written, or -1 if the
    ELT buffers (``elt_i``, ``elt_f``; zero rows for none) overflowed.
    """
    op_int, op_float, op_threat, sector_first, op_cum, region_ops, region_first = ops[:7]
    group_first, group_share, member_first, member_ops = ops[7:]
    sector_rate, sector_float = sect
    threat_float, regional_rate, depth_table = thr
    node_weight = casc[7]
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    sector_mean, sector_p0, region_mean, region_p0 = count_setup(sector_rate, regional_rate, threat_float, period)
    n_sectors, n_threats = sector_rate.shape
    n_regions = regional_rate.shape[1]
    n_ops = op_int.shape[0]
    total = n_sectors
    elt_capacity = elt_i.shape[0]
    n_elt = 0
    by_sector = np.zeros(n_sectors)  # value added lost by affected sector
    nodes = np.zeros(n_ops, dtype=np.int64)  # nodes an event hits, their shocks and durations
    shocks = np.zeros(n_ops)
    durations = np.zeros(n_ops)
    hit_ops = np.zeros(n_ops, dtype=np.int64)  # operators a disaster hits
    hit_vals = np.zeros((n_ops, 4))  # and their depth, persons, users loss, direct loss
    hit_others = np.zeros(n_ops)  # a shared group's failure's members' loss to others
    sector_loss = np.zeros(n_sectors)  # a disaster's loss and persons by sector
    sector_persons = np.zeros(n_sectors)
    words = np.zeros(4, dtype=np.uint64)  # one call's words of disaster hit uniforms
    for y in range(n_periods):
        year_label = first_label + y
        label = np.uint64(year_label)
        event = 0

        # failures of single operators: attacks and unintentional causes
        max_total = year_max[y, total]
        for s in range(n_sectors):
            first, last = sector_first[s], sector_first[s + 1]
            if last == first:
                continue
            sum_own = sum_users = sum_others = max_loss = 0.0
            failures = 0
            g_first, g_last = group_first[s], group_first[s + 1]
            for h in range(n_threats):
                if threat_float[h, TH_KIND] == DISASTER:
                    continue
                count = keyed_count(
                    k0, k1, label, KEY_SECTOR_COUNT, h, s, sector_mean[s, h], threat_float[h, TH_DISPERSION],
                    sector_p0[s, h],
                )  # fmt: skip
                c1 = counter_word(KEY_FAILURE, h, s)
                c_shared = counter_word(KEY_SHARED, h, s)
                p_shared = shared_total(group_share, g_first, g_last, h)
                for k in range(count):
                    a0, a1, a2, a3, b0, b1, b2, b3 = failure_words(k0, k1, label, c1, k)
                    g = -1
                    if p_shared > 0.0:
                        g = shared_group(k0, k1, label, c_shared, k, group_share, g_first, g_last, h)
                    if g >= 0:
                        # a shared system or contractor fails: every member down with one outage
                        z, depth_draw, u_loss = ndtri(u53(b0, b1)), table_quantile(depth_table, h, u32(a2)), u53(b2, b3)
                        n_hits = 0
                        for idx in range(member_first[g], member_first[g + 1]):
                            o = member_ops[idx]
                            if u32(a1) >= op_threat[o, h, OT_SURVIVE]:
                                continue
                            record_hit(
                                n_hits, o, h, s, z, depth_draw, u_loss, op_int, op_float, op_threat, sector_float,
                                threat_float, hit_ops, nodes, shocks, durations, hit_vals,
                            )  # fmt: skip
                            n_hits += 1
                        if n_hits == 0:
                            continue
                        shared_others(nodes, shocks, durations, n_hits, casc, hit_others)
                        event_loss = event_persons = 0.0
                        for e in range(n_hits):
                            o = hit_ops[e]
                            own, users, others = hit_vals[e, 3], hit_vals[e, 2], hit_others[e]
                            sum_own += own
                            sum_users += users
                            sum_others += others
                            event_loss += own + users + others
                            event_persons += hit_vals[e, 1]
                            failures += 1
                            if elt_capacity > 0:
                                if n_elt >= elt_capacity:
                                    return -1
                                write_elt_row(
                                    elt_i, elt_f, n_elt, year_label, event, int(u32(a3) * 365.0 * period), s,
                                    op_int[o, OP_REGION], o, h, durations[e], hit_vals[e, 0], hit_vals[e, 1], own,
                                    users, others,
                                )  # fmt: skip
                                n_elt += 1
                        max_loss = max(max_loss, event_loss)
                        b = fn_bin(event_persons)
                        if b >= 0:
                            fn_counts[s, b] += 1
                            fn_counts[total, b] += 1
                        event += 1
                        continue
                    o = pick_operator(op_cum, first, last, u32(a0))
                    if u32(a1) >= op_threat[o, h, OT_SURVIVE]:
                        continue
                    u_day = u32(a3)
                    duration, depth, shock, persons, users, direct = hit_outcome(
                        o, h, ndtri(u53(b0, b1)), table_quantile(depth_table, h, u32(a2)), u53(b2, b3), op_float,
                        op_threat, sector_float, threat_float, s,
                    )  # fmt: skip
                    node = op_int[o, OP_NODE]
                    dose = shock * duration
                    others = node_weight[node, NODE_OTHERS] * dose
                    if shock * node_weight[node, NODE_CLIP] > 1.0:
                        # the clip binds: the cascade's value added falls short of the linear
                        # one; others bear their linear share of what is lost
                        nodes[0], shocks[0], durations[0] = node, shock, duration
                        event_economy(nodes, shocks, durations, 1, casc, by_sector)
                        linear = node_weight[node, NODE_VA] * dose
                        if linear > 0.0:
                            others *= by_sector.sum() / linear
                    own = direct
                    loss = own + users + others
                    sum_own += own
                    sum_users += users
                    sum_others += others
                    max_loss = max(max_loss, loss)
                    failures += 1
                    b = fn_bin(persons)
                    if b >= 0:
                        fn_counts[s, b] += 1
                        fn_counts[total, b] += 1
                    if elt_capacity > 0:
                        if n_elt >= elt_capacity:
                            return -1
                        write_elt_row(
                            elt_i, elt_f, n_elt, year_label, event, int(u_day * 365.0 * period), s,
                            op_int[o, OP_REGION], o, h, duration, depth, persons, own, users, others,
                        )  # fmt: skip
                        n_elt += 1
                    event += 1
            year_loss[y, s, 0] += sum_own
            year_loss[y, s, 1] += sum_users
            year_loss[y, s, 2] += sum_others
            year_max[y, s] = max(year_max[y, s], max_loss)
            year_events[y, s] += failures
            max_total = max(max_total, max_loss)
        year_max[y, total] = max_total

        # regional disasters: one common shock hits many operators of a region at once
        for h in range(n_threats):
            if threat_float[h, TH_KIND] != DISASTER:
                continue
            for r in range(n_regions):
                count = keyed_count(
                    k0, k1, label, KEY_REGION_COUNT, h, r, region_mean[h, r], threat_float[h, TH_DISPERSION],
                    region_p0[h, r],
                )  # fmt: skip
                c_event = counter_word(KEY_DISASTER, h, r)
                c_hit = counter_word(KEY_HIT, h, r)
                for k in range(count):
                    d0, _, _, _ = philox4x32(label, c_event, np.uint64(k), ZERO, k0, k1)
                    u_day = u32(d0)
                    n_hits = 0
                    for idx in range(region_first[r], region_first[r + 1]):
                        j = idx - region_first[r]
                        o = region_ops[idx]
                        s = op_int[o, OP_SECTOR]
                        u_hit = hit_uniform(k0, k1, label, c_event, k, j, words)
                        if u_hit >= threat_float[h, TH_HIT] * sector_float[s, SEC_DISASTER]:
                            continue
                        a0, a1, _, _ = philox4x32(label, c_hit, np.uint64(k), np.uint64(2 * j), k0, k1)
                        if u32(a0) >= op_threat[o, h, OT_SURVIVE]:
                            continue
                        z, u_loss = severity_draws(k0, k1, label, c_hit, k, 2 * j + 1)
                        record_hit(
                            n_hits, o, h, s, z, table_quantile(depth_table, h, u32(a1)), u_loss, op_int, op_float,
                            op_threat, sector_float, threat_float, hit_ops, nodes, shocks, durations, hit_vals,
                        )  # fmt: skip
                        n_hits += 1
                    if n_hits == 0:
                        continue
                    event_economy(nodes, shocks, durations, n_hits, casc, by_sector)
                    # attribute the event's lost value added to the hit operators by their
                    # linear (unclipped) contributions, scaled to the event's total
                    linear = 0.0
                    for e in range(n_hits):
                        linear += node_weight[nodes[e], NODE_VA] * shocks[e] * durations[e]
                    scale = by_sector.sum() / linear if linear > 0.0 else 0.0
                    sector_loss[:] = 0.0
                    sector_persons[:] = 0.0
                    event_loss = 0.0
                    event_persons = 0.0
                    for e in range(n_hits):
                        o = hit_ops[e]
                        s = op_int[o, OP_SECTOR]
                        dose = shocks[e] * durations[e] * scale
                        others = node_weight[nodes[e], NODE_OTHERS] * dose
                        depth, persons, users, own = hit_vals[e, 0], hit_vals[e, 1], hit_vals[e, 2], hit_vals[e, 3]
                        loss = own + users + others
                        year_loss[y, s, 0] += own
                        year_loss[y, s, 1] += users
                        year_loss[y, s, 2] += others
                        year_events[y, s] += 1
                        sector_loss[s] += loss
                        sector_persons[s] += persons
                        event_loss += loss
                        event_persons += persons
                        if elt_capacity > 0:
                            if n_elt >= elt_capacity:
                                return -1
                            write_elt_row(
                                elt_i, elt_f, n_elt, year_label, event, int(u_day * 365.0 * period), s, r, o, h,
                                durations[e], depth, persons, own, users, others,
                            )  # fmt: skip
                            n_elt += 1
                    for s in range(n_sectors):
                        if sector_loss[s] > 0.0 or sector_persons[s] > 0.0:
                            year_max[y, s] = max(year_max[y, s], sector_loss[s])
                            b = fn_bin(sector_persons[s])
                            if b >= 0:
                                fn_counts[s, b] += 1
                    year_max[y, total] = max(year_max[y, total], event_loss)
                    b = fn_bin(event_persons)
                    if b >= 0:
                        fn_counts[total, b] += 1
                    event += 1
    return n_elt


@njit(cache=True, nogil=True, error_model="numpy")
def draw_only_years(key, n_years, first_label, ops, sect, thr):
    """The RNG-bound floor: draws exactly the engine's keyed random numbers and nothing else.

    The same counts, the same Philox calls (a kept event's severity call included) and the
    same transforms to the distributions the engine uses (count quantiles, the operator's
    inverse CDF, normal quantiles, Beta-table depths), for ``n_years`` years labelled from
    ``first_label``; the ratio of the engine's speed to this loop's is the share of the
    engine's time that goes to anything but random numbers. Returns a checksum of the
    draws and the number of events drawn that the engine keeps (a test compares it with
    the engine's event table).
    """
    op_int, _op_float, op_threat, sector_first, op_cum, region_ops, region_first = ops[:7]
    group_first, group_share, member_first, member_ops = ops[7:]
    sector_rate, sector_float = sect
    threat_float, regional_rate, depth_table = thr
    k0, k1 = np.uint64(key[0]), np.uint64(key[1])
    sector_mean, sector_p0, region_mean, region_p0 = count_setup(sector_rate, regional_rate, threat_float, 1.0)
    n_sectors, n_threats = sector_rate.shape
    words = np.zeros(4, dtype=np.uint64)
    checksum = 0.0
    kept = 0
    for y in range(n_years):
        label = np.uint64(first_label + y)
        for s in range(n_sectors):
            first, last = sector_first[s], sector_first[s + 1]
            if last == first:
                continue
            g_first, g_last = group_first[s], group_first[s + 1]
            for h in range(n_threats):
                if threat_float[h, TH_KIND] == DISASTER:
                    continue
                count = keyed_count(
                    k0, k1, label, KEY_SECTOR_COUNT, h, s, sector_mean[s, h], threat_float[h, TH_DISPERSION],
                    sector_p0[s, h],
                )  # fmt: skip
                c1 = counter_word(KEY_FAILURE, h, s)
                c_shared = counter_word(KEY_SHARED, h, s)
                p_shared = shared_total(group_share, g_first, g_last, h)
                for k in range(count):
                    a0, a1, a2, a3, b0, b1, b2, b3 = failure_words(k0, k1, label, c1, k)
                    g = -1
                    if p_shared > 0.0:
                        g = shared_group(k0, k1, label, c_shared, k, group_share, g_first, g_last, h)
                    if g >= 0:
                        z, u_loss = ndtri(u53(b0, b1)), u53(b2, b3)
                        checksum += z + table_quantile(depth_table, h, u32(a2)) + ndtri(u_loss) + u32(a3)
                        for idx in range(member_first[g], member_first[g + 1]):
                            if u32(a1) < op_threat[member_ops[idx], h, OT_SURVIVE]:
                                kept += 1
                        continue
                    o = pick_operator(op_cum, first, last, u32(a0))
                    if u32(a1) >= op_threat[o, h, OT_SURVIVE]:
                        continue
                    z, u_loss = ndtri(u53(b0, b1)), u53(b2, b3)
                    checksum += o + z + table_quantile(depth_table, h, u32(a2)) + ndtri(u_loss) + u32(a3)
                    kept += 1
        for h in range(n_threats):
            if threat_float[h, TH_KIND] != DISASTER:
                continue
            for r in range(regional_rate.shape[1]):
                count = keyed_count(
                    k0, k1, label, KEY_REGION_COUNT, h, r, region_mean[h, r], threat_float[h, TH_DISPERSION],
                    region_p0[h, r],
                )  # fmt: skip
                c_event = counter_word(KEY_DISASTER, h, r)
                c_hit = counter_word(KEY_HIT, h, r)
                for k in range(count):
                    d0, _, _, _ = philox4x32(label, c_event, np.uint64(k), ZERO, k0, k1)
                    checksum += u32(d0)
                    for idx in range(region_first[r], region_first[r + 1]):
                        j = idx - region_first[r]
                        o = region_ops[idx]
                        s = op_int[o, OP_SECTOR]
                        u_hit = hit_uniform(k0, k1, label, c_event, k, j, words)
                        if u_hit >= threat_float[h, TH_HIT] * sector_float[s, SEC_DISASTER]:
                            continue
                        a0, a1, _, _ = philox4x32(label, c_hit, np.uint64(k), np.uint64(2 * j), k0, k1)
                        if u32(a0) >= op_threat[o, h, OT_SURVIVE]:
                            continue
                        z, u_loss = severity_draws(k0, k1, label, c_hit, k, 2 * j + 1)
                        checksum += z + table_quantile(depth_table, h, u32(a1)) + ndtri(u_loss)
                        kept += 1
    return checksum, kept
