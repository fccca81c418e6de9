"""What operators believe their failure rates to be: Gamma-Poisson learning.

An operator does not know its failure rates; it knows its sector's public incident level
(its *public rate* of each threat) and what happens to it and, through its CEPTOAR, to
the other members. It holds a Gamma belief about the multiplier ``theta`` of its public
rate, for each threat: failures are Poisson with mean ``theta * exposure``, so the Gamma
is conjugate and a year's evidence adds its count to the shape and its exposure to the
rate:

    alpha <- alpha0 + memory * (alpha - alpha0) + own + shared
    beta  <- beta0  + memory * (beta  - beta0)  + public * survive + reach * others

``public * survive`` is the operator's own exposure (its public rate times the share of
failures its measures let through: it knows what it has), ``others`` the expected
failures of the other members of its sector's CEPTOAR under their measures, of which it
expects to hear of ``reach``. ``memory`` below 1 forgets old evidence, so beliefs follow
attackers who re-aim. The rate it decides on is the posterior mean ``public * alpha /
beta``.
"""

from __future__ import annotations

import numpy as np

from riskmodel.schema import Beliefs as BeliefSettings


class Beliefs:
    """Every operator's Gamma belief about the multiplier of its public rate, per threat."""

    def __init__(self, settings: BeliefSettings, shape: tuple[int, int]):
        self.settings = settings
        self.alpha0 = settings.prior_shape
        self.alpha = np.full(shape, self.alpha0)
        self.beta = np.full(shape, self.alpha0)  # prior mean 1

    def observe(
        self, own: np.ndarray, own_exposure: np.ndarray, shared: np.ndarray, shared_exposure: np.ndarray
    ) -> None:
        """A fiscal year's evidence, all ``[operator, threat]``: counts of failures and the
        expected counts at ``theta = 1`` they come from."""
        m, a0 = self.settings.memory, self.alpha0
        self.alpha = a0 + m * (self.alpha - a0) + own + shared
        self.beta = a0 + m * (self.beta - a0) + own_exposure + self.settings.shared_reach * shared_exposure

    def multiplier(self) -> np.ndarray:
        """``[operator, threat]`` posterior mean of ``theta``."""
        return self.alpha / self.beta


def shared_evidence(
    sector: np.ndarray, member: np.ndarray, shared_counts: np.ndarray, expected: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """``(counts, exposure)`` per operator and threat from the incidents shared in each
    sector's CEPTOAR: a member hears ``shared_counts[sector]``; its exposure is the other
    members' ``expected`` failures (``[operator, threat]``, at their public rates under
    their measures). Non-members hear nothing."""
    n_sectors = shared_counts.shape[0]
    members = np.zeros((n_sectors, expected.shape[1]))
    np.add.at(members, sector[member], expected[member])
    others = members[sector] - expected
    counts = np.where(member[:, None], shared_counts[sector], 0.0)
    return counts, np.where(member[:, None], np.maximum(others, 0.0), 0.0)
