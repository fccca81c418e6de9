"""The agent kinds of the agent-based model (Mesa agents; see riskmodel.abm.model)."""

from riskmodel.agents.attacker import Attacker
from riskmodel.agents.individual import Individual
from riskmodel.agents.ministry import CabinetCentre, Ministry
from riskmodel.agents.operator import Operator

__all__ = ["Attacker", "CabinetCentre", "Individual", "Ministry", "Operator"]
