"""Countermeasure portfolios: a sample-average-approximation MILP over engine years.

``optimize(world, mode=..., ...)`` returns an :class:`OptimizationResult`; the modules,
in the order the work flows: ``settings`` (what a run is asked, checked), ``sample``
(engine years with no measures), ``instance`` (the SAA data as arrays), ``build`` (that
data from the engine years), ``milp`` (the PuLP model), ``result`` (what a solve
returns), ``decompose`` (society problems coupled by a total budget or a shared bar, by
column generation), ``solve`` (HiGHS or CBC, statuses, verification), ``evaluate`` (the
numpy judge of any portfolio), ``diagnose`` (infeasible bars), ``analysis`` (out of
sample, gap, frontier, per measure, comparison), ``posterior`` (a posterior's draws per
block of years), ``robust`` (the robust portfolio against the one at the posterior means,
per draw), ``run`` (the stages of a run), ``report`` (files).
"""

from riskmodel.optimize.run import OptimizationResult, optimize
from riskmodel.optimize.settings import MODES, Settings
from riskmodel.optimize.solve import SolverOptions

__all__ = ["MODES", "OptimizationResult", "Settings", "SolverOptions", "optimize"]
