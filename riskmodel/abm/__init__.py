"""The agent-based model: operators, ministries, attackers and individuals (Mesa).

``CriticalInfrastructureModel`` steps Japan's critical infrastructure a day at a time
through the Basic Plans' fiscal years, on the Monte Carlo engine's own hazard and cascade
kernels; :mod:`riskmodel.abm.outputs` writes what it collected.
"""

from riskmodel.abm.model import CriticalInfrastructureModel

__all__ = ["CriticalInfrastructureModel"]
