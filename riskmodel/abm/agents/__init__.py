"""The agent kinds of the agent-based model (Mesa agents; see riskmodel.abm.model)."""

from riskmodel.abm.agents.attacker import Attacker
from riskmodel.abm.agents.individual import Individual
from riskmodel.abm.agents.ministry import CabinetCentre, Ministry
from riskmodel.abm.agents.operator import Operator

__all__ = ["Attacker", "CabinetCentre", "Individual", "Ministry", "Operator"]
