"""ABC-SMC with pyABC: priors, a scaled distance, a stopping rule from the data's noise, and a
checkpoint that resumes to the same result.

A calibration asks which parameter values make a simulator's summary statistics look like
the observed ones. Here the statistics are counts with standard errors ``se`` (the data's
own noise), and the distance is the root mean square of the z-scores,
``d = sqrt(mean_k ((s_k - o_k) / se_k)^2)``, so ``d = 1`` means "one standard error per
statistic". Each particle's statistics are the mean over the same ``R`` replication seeds
(common random numbers): two particles differ only by their parameters, never by their
luck, so the distance ranks parameters.

**Stopping rule from the method, not a guess.** At the true parameters, each z-score has
the data's noise (variance 1) plus what is left of the simulator's (variance ``1/R`` with
``R`` replications), so ``k d^2 / (1 + 1/R)`` is about chi-square with ``k`` degrees of
freedom. Tolerances fall by the ``alpha`` quantile of the last population's distances,
never below the floor ``sqrt((1 + 1/R) chi2_{k, 0.9} / k)``: the truth passes the final
tolerance with probability 0.9, so the final population is a 90% confidence region and its
marginal 5-95% quantiles are (conservative) 90% intervals. Tolerances start at infinity
(the first population is the prior). Poisson standard errors treat the counts as Poisson;
over-dispersed counts need their own ``se``.

**Checkpoint and resume.** pyABC's SQLite history holds every finished population. Each
generation is run by a fresh :class:`pyabc.ABCSMC` loaded from that file (transitions and
tolerance are computed from the stored population, never from state kept in memory),
with NumPy's global generator - the one pyABC draws from - seeded from ``(seed, t)`` (a
keyed stream) and the single-core sampler (pyABC's parallel samplers seed their workers
from the clock). A run killed inside generation ``t`` loses that generation only, and
resuming repeats it from the same seed: the history ends exactly where an uninterrupted
run's does. Parallel work goes into the simulator (its replications), which is
deterministic.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pyabc
from pyabc.weighted_statistics import weighted_quantile
from scipy import stats

from riskmodel.errors import InputError
from riskmodel.streams import CALIBRATION_STREAM, counter_rng

ABC_GENERATION, ABC_DRAWS = 3, 4  # purposes under CALIBRATION_STREAM (fit.py holds 0-2)
LEVEL = 0.90
ALPHA = 0.5  # each tolerance is the median of the last population's distances (pyABC's default quantile)
Statistics = dict[str, float]
Simulator = Callable[[Mapping[str, float]], Statistics]


@dataclass(frozen=True)
class Prior:
    """A uniform prior on ``[low, high]`` of a parameter, or of its log10 when ``log``.
    ``path`` is the override path the value is written to (the draws file's column)."""

    name: str
    path: str
    low: float
    high: float
    log: bool = False
    why: str = ""

    def value(self, sampled: float) -> float:
        """The parameter's value from what pyABC sampled (log10 for a log prior)."""
        return float(10.0**sampled) if self.log else float(sampled)

    @property
    def bounds(self) -> tuple[float, float]:
        """The prior's bounds on the sampled scale."""
        return (math.log10(self.low), math.log10(self.high)) if self.log else (self.low, self.high)


@dataclass(frozen=True)
class Observed:
    """Observed statistics with their standard errors (the same keys)."""

    values: dict[str, float]
    se: dict[str, float]

    def __post_init__(self) -> None:
        if not self.values:
            raise InputError("(observed statistics)", "", "(none)", "at least one statistic")
        for key, se in self.se.items():
            if not (math.isfinite(se) and se > 0 and math.isfinite(self.values[key])):
                raise InputError("(observed statistics)", key, se, "a finite value with a standard error above 0")


def poisson_se(count: float, coverage: float = 1.0) -> float:
    """The standard error of a count's estimate ``count / coverage`` (Poisson; at least that of one event)."""
    return math.sqrt(max(count, 1.0)) / coverage


def epsilon_floor(k: int, replications: int, level: float = LEVEL) -> float:
    """The smallest tolerance: the ``level`` quantile of the truth's distance (module docstring)."""
    return math.sqrt((1.0 + 1.0 / replications) * stats.chi2.ppf(level, k) / k)


class FloorQuantileEpsilon(pyabc.epsilon.Epsilon):
    """The ``alpha`` quantile of the previous population's weighted distances, never below
    ``floor``; infinite for the first population. Computed from the stored population on
    every initialisation, so a loaded run gets the tolerance an uninterrupted one had."""

    def __init__(self, alpha: float, floor: float):
        super().__init__()
        self.alpha, self.floor = alpha, floor
        self._look_up: dict[int, float] = {}

    def initialize(self, t, get_weighted_distances, get_all_records, max_nr_populations, acceptor_config):
        self._update(t, get_weighted_distances if t > 0 else None)

    def update(self, t, get_weighted_distances, get_all_records, acceptance_rate, acceptor_config):
        self._update(t, get_weighted_distances)

    def _update(self, t: int, get_weighted_distances) -> None:
        if get_weighted_distances is None:
            self._look_up[t] = math.inf
            return
        frame = get_weighted_distances()
        weights = frame["w"].to_numpy(float)
        quantile = weighted_quantile(frame["distance"].to_numpy(float), weights / weights.sum(), alpha=self.alpha)
        self._look_up[t] = max(float(quantile), self.floor)

    def __call__(self, t: int) -> float:
        return self._look_up[t]


def scaled_distance(observed: Observed) -> Callable[[Statistics, Statistics], float]:
    """Root mean square z-score over the observed statistics."""
    keys = sorted(observed.values)
    se = np.array([observed.se[k] for k in keys])

    def distance(x: Statistics, x0: Statistics) -> float:
        z = (np.array([x[k] for k in keys]) - np.array([x0[k] for k in keys])) / se
        return float(np.sqrt(np.mean(z**2)))

    return distance


@dataclass(frozen=True)
class Settings:
    populations: int = 4
    particles: int = 24
    seed: int = 0
    replications: int = 2


def _smc(priors: list[Prior], simulator: Simulator, observed: Observed, settings: Settings) -> pyabc.ABCSMC:
    prior = pyabc.Distribution(**{p.name: pyabc.RV("uniform", p.bounds[0], p.bounds[1] - p.bounds[0])
                                  for p in priors})  # fmt: skip

    def model(parameters: Mapping[str, float]) -> Statistics:
        return simulator({p.path: p.value(float(parameters[p.name])) for p in priors})

    floor = epsilon_floor(len(observed.values), settings.replications)
    return pyabc.ABCSMC(
        model,
        prior,
        scaled_distance(observed),
        population_size=settings.particles,
        eps=FloorQuantileEpsilon(ALPHA, floor),
        sampler=pyabc.sampler.SingleCoreSampler(check_max_eval=False),
    )


def database_url(path: Path) -> str:
    return f"sqlite:///{Path(path).resolve()}"


def finished_populations(path: Path) -> int:
    """Populations stored in the history at ``path`` (0 when there is none)."""
    try:
        return int(pyabc.History(database_url(path), create=False).max_t + 1)
    except ValueError:  # pyABC's word for "no such file"
        return 0


def run_abc(
    priors: list[Prior],
    simulator: Simulator,
    observed: Observed,
    history_path: Path,
    settings: Settings,
    progress: Callable[[str, int, int], None] | None = None,
) -> pyabc.History:
    """Run ABC-SMC until the history at ``history_path`` holds ``settings.populations``
    populations, continuing the one it holds (module docstring: same seed, same result)."""
    history_path = Path(history_path)
    url = database_url(history_path)
    done = finished_populations(history_path)
    if done == 0:
        history_path.unlink(missing_ok=True)  # a first population that never finished: nothing to keep
    saved = np.random.get_state()
    try:
        for t in range(done, settings.populations):
            if progress:
                progress("ABC-SMC populations", t, settings.populations)
            abc = _smc(priors, simulator, observed, settings)
            if t == 0:
                abc.new(url, dict(observed.values))
            else:
                abc.load(url, 1)
            np.random.seed(int(counter_rng(settings.seed, CALIBRATION_STREAM, ABC_GENERATION, t).integers(2**32)))
            abc.run(max_nr_populations=1)
    finally:
        np.random.set_state(saved)
    if progress:
        progress("ABC-SMC populations", settings.populations, settings.populations)
    return pyabc.History(url, create=False)


def population_table(history: pyabc.History, priors: list[Prior], t: int | None = None) -> pd.DataFrame:
    """Population ``t`` (default the last): one row per particle, each parameter on its own
    scale (``name`` columns) and its weight ``w`` (summing to 1)."""
    frame, weights = history.get_distribution(m=0, t=t)
    table = pd.DataFrame({p.name: [p.value(v) for v in frame[p.name].to_numpy(float)] for p in priors})
    table["w"] = np.asarray(weights, float) / np.sum(weights)
    return table


def posterior_summary(history: pyabc.History, priors: list[Prior]) -> pd.DataFrame:
    """Per parameter: the prior's range, the posterior's weighted mean and 90% interval, and
    the interval's width as a share of the prior's (on the sampled scale: 1 = the data said
    nothing); a parameter counts as identified when that share is below one half."""
    table = population_table(history, priors)
    rows = []
    for p in priors:
        values, w = table[p.name].to_numpy(float), table["w"].to_numpy(float)
        scale = np.log10(values) if p.log else values
        low, high = (weighted_quantile(scale, w, alpha=a) for a in ((1 - LEVEL) / 2, (1 + LEVEL) / 2))
        share = (high - low) / (p.bounds[1] - p.bounds[0])
        mean = float(10 ** np.sum(w * scale)) if p.log else float(np.sum(w * values))
        rows.append({"parameter": p.name, "path": p.path, "prior_low": p.low, "prior_high": p.high,
                     "scale": "log10" if p.log else "linear", "estimate": mean, "low": p.value(low),
                     "high": p.value(high), "width_share": float(share), "identified": bool(share < 0.5)})  # fmt: skip
    return pd.DataFrame(rows)


def posterior_draws(history: pyabc.History, priors: list[Prior], count: int, seed: int) -> pd.DataFrame:
    """``count`` equally weighted draws from the last population (systematic resampling on a
    keyed stream, then shuffled): a ``draw`` column and one column per override path, the draws-file format
    of :mod:`riskmodel.calibration.posterior`."""
    table = population_table(history, priors)
    cumulative = np.cumsum(table["w"].to_numpy(float))
    rng = counter_rng(seed, CALIBRATION_STREAM, ABC_DRAWS)
    picks = np.minimum(np.searchsorted(cumulative, (rng.random() + np.arange(count)) / count), len(table) - 1)
    picks = rng.permutation(picks)  # in random order: a run that uses the first few draws gets a fair sample
    draws = pd.DataFrame({"draw": np.arange(count, dtype=np.int64)})
    for p in priors:
        draws[p.path] = table[p.name].to_numpy(float)[picks]
    return draws
