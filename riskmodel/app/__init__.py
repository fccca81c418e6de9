"""``riskmodel dashboard``: Mesa's SolaraViz page of the agent model.

The page builds :class:`~riskmodel.abm.model.CriticalInfrastructureModel` from scalar
parameters (its levers, :mod:`riskmodel.app.levers`), steps it day by day with Mesa's own
controls, and draws live panels (:mod:`riskmodel.app.panels`) with the package's one
plotting module; nothing of the model is re-implemented here.
"""
