"""A Numba kernel that lets a day's failures reach the counters the agents read.

One pass over the day's failures: counts by sector and threat (true and reported), losses
by sector and layer, each operator's failures and losses this fiscal year, and the
outage person-hours and leaked persons by power area that the individuals suffer. Which
failures are hidden is decided here from the operators' hiding probabilities (their
behaviour, set by the agents) and a uniform draw per failure; a disaster, or a failure
that reaches ``public_persons`` persons, is public and always reported.
"""

from __future__ import annotations

from numba import njit


@njit(cache=True)
def tally_day(
    sector, threat, operator, region, persons, person_hours, own, users, others,
    hide_draw, hide_probability, public_persons, concealment, public_threat,
    leaking, leak_share, day_true, day_reported, day_loss, op_failures, op_loss, outage_hours, leaks, reported,
):  # fmt: skip
    """Fill the day's counters (zeroed here) and ``reported[i]`` for each failure ``i``."""
    day_true[:] = 0
    day_reported[:] = 0
    day_loss[:] = 0.0
    outage_hours[:] = 0.0
    leaks[:] = 0.0
    for i in range(sector.size):
        s, h, o, r = sector[i], threat[i], operator[i], region[i]
        day_true[s, h] += 1
        day_loss[s, 0] += own[i]
        day_loss[s, 1] += users[i]
        day_loss[s, 2] += others[i]
        op_failures[o, 0] += 1
        op_loss[o] += own[i] + users[i] + others[i]
        public = public_threat[h] or persons[i] >= public_persons
        hidden = concealment and not public and hide_draw[i] < hide_probability[o]
        reported[i] = not hidden
        if not hidden:
            day_reported[s, h] += 1
            op_failures[o, 1] += 1
        outage_hours[r] += person_hours[i]
        if leaking[h]:
            leaks[r] += persons[i] * leak_share
