"""The agent model's main levers as scalar parameters, for Mesa's tools.

``mesa.batch_run`` and SolaraViz build a model from keyword parameters with plain values;
each name here stands for one scenario field, set through the same overrides as every
other run (:mod:`riskmodel.overrides`). Any other field is reached by its override path.
"""

from __future__ import annotations

from collections.abc import Mapping

from riskmodel.errors import InputError
from riskmodel.overrides import Override

WHERE = "(model parameters)"
LEVERS: dict[str, str] = {
    "operators": "abm.operators.enabled",
    "liability_share": "abm.operators.liability_share",
    "adoption_ratio": "abm.operators.adoption_ratio",
    "adoption_rate": "abm.operators.adoption_rate",
    "reputation": "abm.operators.reputation_revenue_share",
    "penalty": "abm.operators.penalty_revenue_share",
    "risk_aversion": "abm.operators.risk_aversion",
    "beliefs": "abm.operators.beliefs.enabled",
    "insurance": "abm.operators.insurance.enabled",
    "insurance_rated": "abm.operators.insurance.rated",
    "spin_up": "abm.operators.start.enabled",
    "outside_option": "abm.attackers.outside_option",
    "fatigue": "abm.fatigue.enabled",
    "fatigue_half_life_years": "abm.fatigue.half_life_years",
    "concealment": "abm.concealment.enabled",
    "blame": "abm.concealment.blame",
    "immunity_from_fiscal_year": "abm.concealment.immunity_from_fiscal_year",
    "detection_probability": "abm.concealment.detection_probability",
    "investigation": "abm.investigation.enabled",
    "pdca": "abm.pdca.enabled",
    "information_sharing": "abm.information_sharing.enabled",
    "attackers": "abm.attackers.enabled",
    "awareness": "abm.awareness.enabled",
    "exercises": "abm.exercises.enabled",
    "outsourcing": "abm.outsourcing.enabled",
}


def lever_overrides(levers: Mapping[str, object]) -> list[Override]:
    """The overrides that scalar lever parameters stand for."""
    overrides = []
    for name, value in levers.items():
        if name not in LEVERS:
            raise InputError(WHERE, name, value, f"a lever of the agent model ({', '.join(LEVERS)})")
        overrides.append(Override(LEVERS[name], value))
    return overrides
