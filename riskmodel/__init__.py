"""riskmodel: IT-failure risk in critical infrastructure, from incidents to policy.

Monte Carlo losses with cascading failures between sectors (DIIM), acceptable-risk
classes, and the countermeasure portfolios that meet them at least cost.
"""

__version__ = "0.1.0"
