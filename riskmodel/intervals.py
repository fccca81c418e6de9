"""Student-t intervals of means: the one way a run, a comparison or an experiment states
how sure it is of an average over replications.

A mean over ``n`` independent replications has standard error ``s / sqrt(n)``; its
two-sided interval at ``level`` is ``mean +- t_{(1 + level) / 2, n - 1} * se``. With a
single replication (or none) the standard error and the interval are undefined (NaN),
never zero: one run says nothing about its own noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

LEVEL = 0.95
INTERVAL_COLUMNS = ("n", "mean", "se", "ci_low", "ci_high")


def mean_interval(values: np.ndarray | pd.Series, level: float = LEVEL) -> pd.Series:
    """n, mean, standard error and the t interval at ``level`` of a sample (NaNs dropped)."""
    sample = np.asarray(values, dtype=float)
    sample = sample[~np.isnan(sample)]
    n = sample.size
    mean = float(sample.mean()) if n else np.nan
    se = float(sample.std(ddof=1) / np.sqrt(n)) if n > 1 else np.nan
    half = float(stats.t.ppf(0.5 + level / 2, n - 1)) * se if n > 1 else np.nan
    return pd.Series(dict(zip(INTERVAL_COLUMNS, (n, mean, se, mean - half, mean + half), strict=True)))


def grouped_intervals(frame: pd.DataFrame, keys: list[str], value: str = "value",
                      level: float = LEVEL) -> pd.DataFrame:  # fmt: skip
    """:func:`mean_interval` of ``value`` per group of ``keys`` (missing keys form groups
    too), one row per group in first-seen order: the keys, then n, mean, se, ci_low, ci_high."""
    table = (
        frame.groupby(keys, sort=False, dropna=False)[value]
        .apply(lambda values: mean_interval(values, level))
        .unstack()
        .reset_index()
    )
    table["n"] = table["n"].astype(int)
    return table
