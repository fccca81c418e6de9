"""Runs as data: ``RunSpec`` -> ``run()`` -> ``RunResult`` for simulate, abm and optimize alike.

>>> from riskmodel.runs import RunSpec, run
>>> result = run(RunSpec("simulate", size=2000, overrides={"threats[id=ddos].frequency.rate": {"scale": 2}}))
>>> result.outcomes["aal.total"]  # doctest: +SKIP
"""

from riskmodel.runs.result import Outcome, Progress, RunResult
from riskmodel.runs.run import run
from riskmodel.runs.spec import KINDS, OPTIONS, RunSpec

__all__ = ["KINDS", "OPTIONS", "Outcome", "Progress", "RunResult", "RunSpec", "run"]
