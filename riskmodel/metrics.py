"""Risk measures from streamed year losses: AAL, EP curves, VaR/TVaR, F-N, acceptability.

Year losses are never all held in memory. Each series (a sector's or the total annual
loss, aggregate or occurrence) goes into a :class:`LossSketch`: a histogram on
logarithmic bins of relative width ``GROWTH - 1`` (0.1%) that keeps, per bin, the count
*and the sum* of the losses in it. A quantile is the mean of the bin holding the wanted
order statistic, so it is exact whenever that bin holds one loss and within 0.1%
otherwise; tail means use the exact bin sums. Memory is fixed (about 0.7 MB a series) whatever the number of years.

Conventions: ``VaR_p`` is the lower empirical quantile ``L_(ceil(p N))``; ``TVaR_p`` is
the Rockafellar-Uryasev CVaR ``VaR_p + E[(L - VaR_p)+] / (1 - p)``, the same quantity
the optimiser's CVaR constraint bounds. Return-period losses (``return_period_loss``,
``ep_curves.csv``, the reports) follow OasisLMF's ORD convention, so that they can be set
beside Oasis output: of ``P`` simulated years the ``k``-th largest loss has return period
``P / k``, and a period between two ranks is interpolated linearly in the period (as
ktools' ``leccalc`` does). That loss is one rank higher than ``VaR_{1 - 1/T}`` where
``P / T`` is whole.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
from numba import njit

from riskmodel.schema import Acceptability

FN_BINS_PER_DECADE = 100  # the F-N grid: log-spaced bins of persons affected
FN_BINS = 10 * FN_BINS_PER_DECADE  # persons from 1 to 1e10


@njit(cache=True, nogil=True, error_model="numpy")
def fn_bin(persons: float) -> int:
    """F-N histogram bin of an event (-1 when it affects fewer than one person)."""
    if not persons >= 1.0:  # also NaN
        return -1
    if persons >= 1e10:
        return FN_BINS - 1
    return min(math.floor(math.log10(persons) * FN_BINS_PER_DECADE), FN_BINS - 1)

GROWTH = 1.001
LOG_GROWTH = math.log(GROWTH)
X_MIN = 1.0  # yen; smaller losses share bin 0 with zero
N_BINS = math.ceil(math.log(1e20 / X_MIN) / LOG_GROWTH) + 2
LEVELS = (0.9, 0.99, 0.995, 0.999)
RETURN_PERIODS = (10, 50, 100, 250, 1000)  # in summary.json
EP_RETURN_PERIODS = (2, 5, 10, 20, 50, 100, 200, 250, 500, 1000, 5000, 10000)  # in ep_curves.csv


@njit(cache=True, nogil=True, inline="always")
def _record(counts, sums, moments, j, v):
    """Put loss ``v`` into series ``j``: its bin's count and sum, and Welford's running
    count, mean and sum of squared deviations (``moments[j] = n, mean, M2``)."""
    top = counts.shape[1] - 1
    b = 0 if v < X_MIN else min(top, 1 + int(math.log(v / X_MIN) / LOG_GROWTH))
    counts[j, b] += 1
    sums[j, b] += v
    n = moments[j, 0] + 1.0
    delta = v - moments[j, 1]
    moments[j, 0] = n
    moments[j, 1] += delta / n
    moments[j, 2] += delta * (v - moments[j, 1])


@njit(cache=True, nogil=True)
def _add(values, counts, sums, moments):
    for i in range(values.shape[0]):
        for j in range(values.shape[1]):
            _record(counts, sums, moments, j, values[i, j])


@njit(cache=True, nogil=True)
def _fold(year_loss, year_max, agg_counts, agg_sums, agg_moments, occ_counts, occ_sums, occ_moments, layer_sums):
    n_sectors = year_loss.shape[1]
    for y in range(year_loss.shape[0]):
        total = 0.0
        for s in range(n_sectors):
            loss = 0.0
            for layer in range(year_loss.shape[2]):  # the layers partition the loss: their sum
                loss += year_loss[y, s, layer]
                layer_sums[s, layer] += year_loss[y, s, layer]
            _record(agg_counts, agg_sums, agg_moments, s, loss)
            total += loss
        _record(agg_counts, agg_sums, agg_moments, n_sectors, total)
        for j in range(n_sectors + 1):
            _record(occ_counts, occ_sums, occ_moments, j, year_max[y, j])


class LossSketch:
    """Streaming histogram of ``n_series`` loss series; see the module docstring.

    Values are added one year at a time in year order, so every figure is the same
    however the years were batched.
    """

    def __init__(self, n_series: int):
        self.counts = np.zeros((n_series, N_BINS), dtype=np.int64)
        self.sums = np.zeros((n_series, N_BINS))
        self.moments = np.zeros((n_series, 3))  # count, mean, sum of squared deviations

    @classmethod
    def from_losses(cls, losses: np.ndarray) -> LossSketch:
        """A sketch of one series (1-D) or of the columns of a 2-D array."""
        values = np.asarray(losses, dtype=float)
        values = values[:, None] if values.ndim == 1 else values
        sketch = cls(values.shape[1])
        sketch.add(values)
        return sketch

    def add(self, values: np.ndarray) -> None:
        """Add rows of ``values[year, series]`` (non-negative, in year order)."""
        _add(np.ascontiguousarray(values, dtype=float), self.counts, self.sums, self.moments)

    @property
    def n(self) -> int:
        return int(self.moments[0, 0])

    def mean(self, j: int = 0) -> float:
        return float(self.moments[j, 1])

    def standard_error(self, j: int = 0) -> float:
        """Standard error of the mean, ``s / sqrt(n)`` (undefined below two years)."""
        n = self.n
        return math.sqrt(self.moments[j, 2] / (n - 1) / n) if n >= 2 else math.nan

    def _locate(self, j: int, p: float) -> tuple[int, float]:
        """Bin of the order statistic L_(ceil(p n)) and its value (the bin's mean)."""
        if self.n == 0:
            return 0, math.nan
        rank = min(self.n, max(1, math.ceil(p * self.n - 1e-9)))
        cumulative = np.cumsum(self.counts[j])
        b = int(np.searchsorted(cumulative, rank))
        return b, float(self.sums[j, b] / self.counts[j, b])

    def largest(self, k: int, j: int = 0) -> float:
        """The ``k``-th largest loss (``k = 1``: the largest); exact when its bin holds one
        loss, within the bin width (0.1%) otherwise."""
        rank = self.n - k + 1
        if not 1 <= rank <= self.n:
            return math.nan
        b = int(np.searchsorted(np.cumsum(self.counts[j]), rank))
        return float(self.sums[j, b] / self.counts[j, b])

    def return_period_loss(self, period: float, j: int = 0) -> float:
        """The loss at return period ``period`` years by OasisLMF's ORD convention: the
        ``k``-th largest of ``P`` years has period ``P / k``; between two ranks the loss is
        linear in the period; beyond ``P`` years, the largest loss."""
        if self.n == 0:
            return math.nan
        k = self.n / period
        if k <= 1:
            return self.largest(1, j)
        low_rank = math.floor(k + 1e-9)  # the k-th largest at period P / k >= period
        if abs(k - low_rank) < 1e-9:
            return self.largest(low_rank, j)
        long, short = self.n / low_rank, self.n / (low_rank + 1)
        high, low = self.largest(low_rank, j), self.largest(low_rank + 1, j)
        return low + (high - low) * (period - short) / (long - short)

    def quantile(self, p: float, j: int = 0) -> float:
        """``VaR_p``: the lower empirical p-quantile."""
        return self._locate(j, p)[1]

    def tvar(self, p: float, j: int = 0) -> float:
        """``TVaR_p = VaR_p + E[(L - VaR_p)+] / (1 - p)`` (Rockafellar-Uryasev CVaR)."""
        b, var = self._locate(j, p)
        if self.n == 0:
            return math.nan
        above = self.sums[j, b + 1 :].sum() - var * self.counts[j, b + 1 :].sum()
        return var + max(above, 0.0) / ((1.0 - p) * self.n)

    def exceedance(self, j: int = 0) -> tuple[np.ndarray, np.ndarray]:
        """Points of the exceedance curve: loss and the probability of reaching it."""
        counts = self.counts[j]
        nonempty = np.flatnonzero(counts)
        at_least = np.cumsum(counts[::-1])[::-1][nonempty]
        losses = self.sums[j, nonempty] / counts[nonempty]
        return losses, at_least / max(self.n, 1)


def fold_year_losses(
    year_loss: np.ndarray, year_max: np.ndarray, aggregate: LossSketch, occurrence: LossSketch, layer_sums: np.ndarray
) -> None:
    """Fold years of engine output into the streaming metrics, in year order.

    ``year_loss[year, sector, layer]`` feeds each sector's aggregate loss (the sum of its
    layers, own + users + others, which partition society's loss) and the total;
    ``year_max[year, sector or total]`` the occurrence series;
    ``layer_sums[sector, layer]`` accumulates every layer.
    """
    _fold(
        year_loss, year_max, aggregate.counts, aggregate.sums, aggregate.moments,
        occurrence.counts, occurrence.sums, occurrence.moments, layer_sums,
    )  # fmt: skip


def fn_curve(counts: np.ndarray, years: int) -> tuple[np.ndarray, np.ndarray]:
    """F-N points: persons N at each bin's lower edge and the annual frequency of events
    affecting at least N persons (exact at the bin edges)."""
    persons = 10.0 ** (np.arange(FN_BINS) / FN_BINS_PER_DECADE)
    frequency = np.cumsum(counts[::-1])[::-1] / max(years, 1)
    return persons, frequency


def fn_exceeds(counts: np.ndarray, years: int, rule: Acceptability, factor: float = 1.0) -> bool:
    """Whether the F-N curve crosses ``factor * constant / N**exponent`` for N >= min_persons.

    The curve is known exactly only at bin edges; between them it is bounded by its value
    at the lower edge, so the check compares that with the line at the *upper* edge (a
    conservative check to within one bin, 2.3% in N).
    """
    persons, frequency = fn_curve(counts, years)
    upper = persons * 10.0 ** (1.0 / FN_BINS_PER_DECADE)
    limit = factor * rule.fn_constant / upper**rule.fn_exponent
    judged = (upper > rule.fn_min_persons) & (frequency > 0)
    return bool(np.any(frequency[judged] > limit[judged]))


ACCEPTABILITY_CLASSES = ("unacceptable", "tolerable", "broadly_acceptable")  # worst first


def acceptability(sketch: LossSketch, j: int, counts: np.ndarray, rule: Acceptability) -> str:
    """``unacceptable``, ``tolerable`` or ``broadly_acceptable`` against a sector's bars."""
    cvar = sketch.tvar(rule.cvar_level, j)
    if cvar > rule.cvar_max or fn_exceeds(counts, sketch.n, rule):
        return "unacceptable"
    if cvar <= rule.broadly_factor * rule.cvar_max and not fn_exceeds(counts, sketch.n, rule, rule.broadly_factor):
        return "broadly_acceptable"
    return "tolerable"


def risk_measures(sketch: LossSketch, j: int) -> dict[str, object]:
    """The summary measures of one series."""
    return {
        "aal": sketch.mean(j),
        "aal_se": sketch.standard_error(j),
        "var": {str(p): sketch.quantile(p, j) for p in LEVELS},
        "tvar": {str(p): sketch.tvar(p, j) for p in LEVELS},
        "return_period_loss": {str(t): sketch.return_period_loss(t, j) for t in RETURN_PERIODS},
    }


def convergence_row(sketch: LossSketch, j: int) -> dict[str, float]:
    return {
        "years": sketch.n,
        "aal": sketch.mean(j),
        "aal_se": sketch.standard_error(j),
        "var_0.99": sketch.quantile(0.99, j),
        "tvar_0.99": sketch.tvar(0.99, j),
    }


def checkpoints(years: int) -> list[int]:
    """Subsample sizes of the convergence table: 1, 2, 4, ... and the full run."""
    points = [2**i for i in range(int(math.log2(years)) + 1)] if years >= 1 else []
    if not points or points[-1] != years:
        points.append(years)
    return points


def convergence_frame(rows: list[dict[str, float]]) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=["years", "aal", "aal_se", "var_0.99", "tvar_0.99"])
