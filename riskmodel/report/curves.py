"""Exceedance curves with Monte Carlo bands, from a loss sketch, for the figures.

Points follow OasisLMF's ORD convention (:meth:`~riskmodel.metrics.LossSketch.return_period_loss`).
The band at period ``T`` is the distribution-free 95% interval of the true loss at ``T``:
the number of simulated years above it is Binomial(``P``, ``1/T``), so the loss lies
between the order statistics at that count's 2.5% and 97.5% quantiles. It says how far
``P`` years pin the curve down; it is open above where the count can be zero.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from riskmodel.metrics import LossSketch

COLUMNS = ["sector", "kind", "return_period", "loss", "low", "high"]


def periods(years: int, per_decade: int = 12) -> np.ndarray:
    """Return periods from 1 year to the number of simulated years, evenly on a log scale."""
    if years < 1:
        return np.zeros(0)
    return np.unique(np.append(np.logspace(0, np.log10(years), max(2, int(per_decade * np.log10(years)) + 1)), years))


def exceedance(sketch: LossSketch, series: list[tuple[str, int]], kind: str, band: bool = True) -> pd.DataFrame:
    """One row per series and return period: the ORD loss and (``band``) its 95% interval, yen."""
    n = sketch.n
    rows = []
    for name, j in series:
        for period in periods(n):
            low = high = np.nan
            if band:
                few, many = stats.binom.ppf([0.025, 0.975], n, 1.0 / period).astype(int)
                low = sketch.largest(min(many + 1, n), j)
                high = sketch.largest(few, j) if few >= 1 else np.nan
            rows.append((name, kind, period, sketch.return_period_loss(period, j), low, high))
    return pd.DataFrame(rows, columns=COLUMNS)


def from_ylt(ylt: pd.DataFrame) -> pd.DataFrame:
    """The aggregate (AEP) curves of each sector and the total from a year loss table."""
    wide = ylt.pivot_table(index="year", columns="sector", values="total", aggfunc="sum", sort=False).fillna(0.0)
    names = list(wide.columns)
    values = np.column_stack([wide.to_numpy(), wide.to_numpy().sum(axis=1)])
    sketch = LossSketch.from_losses(values)
    return exceedance(sketch, [*((name, j) for j, name in enumerate(names)), ("total", len(names))], "AEP")
