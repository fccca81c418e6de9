"""Parameter recovery: synthetic incident data from known parameters, fitted as real data are.

Each synthetic data set: the world with the true parameters set by override (durations of
one kind shifted by ``delta`` and spread by ``kappa``; every sector's exposure factor to
each reported kind drawn anew from the pooled model's population, Gamma with mean ``mu``
and shape ``alpha``), its years simulated by the engine (no measures), and the event table
put through the same reporting filter the fit assumes: kind, duration threshold, major
operator and a coverage coin per event (a keyed stream). A filter with a coverage range
draws each data set's true coverage from its prior (log-uniform on the range), as the fit
assumes it was drawn, so the coverage is integrated out of the fit as it was of the data.
The fit sees only the rows that passed, with exact durations, and gives its nominal 90%
intervals: profile likelihood for ``delta`` and ``kappa``, posterior for ``mu``, for each
sector's factor and for the coverage (prior-driven: near the prior's). Coverage is the
share of data sets whose interval holds the truth; with ``n`` data sets its binomial
standard error at the nominal 0.9 is ``sqrt(0.9 * 0.1 / n)``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from riskmodel.calibration.check import reported_events
from riskmodel.calibration.fit import (
    LEVEL,
    SYNTHETIC_DATA,
    SYNTHETIC_TRUTH,
    fit_durations,
    fit_rates,
    kind_durations,
    reported_counts,
)
from riskmodel.calibration.model import CalibrationModel, prior_world
from riskmodel.calibration.observation import Targets, count_targets
from riskmodel.calibration.outputs import RECOVERY_SCHEMA, conform
from riskmodel.overrides import Override
from riskmodel.schema import THREAT_KINDS
from riskmodel.streams import CALIBRATION_STREAM, SYNTHETIC_SEED, counter_rng, derived_seed
from riskmodel.world import World, with_overrides


@dataclass(frozen=True)
class Truth:
    """The parameters synthetic data are drawn with."""

    kind: str = "unintentional"  # the kind whose durations are shifted
    delta: float = 0.3
    kappa: float = 1.2
    mu: float = 0.1  # every reported kind's population mean exposure factor
    alpha: float = 5.0  # and its shape (sectors alike within about a factor 2 at 90%)


def synthetic_data(world: World, targets: Targets, years: int, seed: int, coverage: float) -> pd.DataFrame:
    """One synthetic incident table: the failures of ``years`` simulated years that pass
    the (single) filter of ``targets``, each reported with probability ``coverage``, in the
    incident data format."""
    (f,) = targets.filters
    events = reported_events(world, f, years, seed)
    coin = counter_rng(seed, CALIBRATION_STREAM, SYNTHETIC_DATA).random(len(events))
    events = events[coin < coverage]
    kind = dict(zip(world.threat_ids, world.threats.kind, strict=True))
    year = f.first_year + events["year"].to_numpy()
    return pd.DataFrame(
        {
            "date": year.astype(str),
            "year": year,
            "sector": events["sector"].to_numpy(),
            "threat_kind": [THREAT_KINDS[kind[t]] for t in events["threat"]],
            "duration_hours_low": events["duration_hours"].to_numpy(),
            "duration_hours_high": events["duration_hours"].to_numpy(),
            "persons_affected": events["persons"].to_numpy(),
            "source": "synthetic",
            "observation": f.id,
        }
    )


def true_world(world: World, model: CalibrationModel, truth: Truth, kinds: tuple[str, ...],
               rng: np.random.Generator) -> tuple[World, dict[str, np.ndarray]]:  # fmt: skip
    """The world of one synthetic data set, and its sector factors per kind (drawn from
    ``rng`` before the coverage, which :func:`recovery_runs` draws next)."""
    overrides = [Override(p, v) for p, v in model.duration_overrides(truth.kind, truth.delta, truth.kappa).items()]
    factors = {}
    for kind in kinds:
        factors[kind] = rng.gamma(truth.alpha, truth.mu / truth.alpha, size=len(model.sectors))
        for s, sector in enumerate(model.sectors):
            overrides.append(
                Override(model.exposure_path(sector, kind), model.exposure_value(sector, kind, factors[kind][s]))
            )
    return with_overrides(world, overrides), factors


def recovery_runs(world: World, targets: Targets, data_sets: int = 50, years: int = 20, seed: int = 0,
                  truth: Truth = Truth(),
                  progress: Callable[[str, int, int], None] | None = None) -> pd.DataFrame:  # fmt: skip
    """Fit ``data_sets`` synthetic data sets of ``years`` years each: one row per data set
    and parameter with the truth, the estimate and the interval. The truths are factors on
    the rates and durations of the world's prior (before any calibration), as the fit's are."""
    world = prior_world(world)
    (f,) = targets.filters
    f = replace(f, first_year=2000, last_year=2000 + years - 1)
    targets = replace(targets, filters=(f,), counts=targets.counts.iloc[0:0])
    model = CalibrationModel.of(world)
    rows = []
    for i in range(data_sets):
        data_seed = derived_seed(seed, SYNTHETIC_SEED, i)
        rng = counter_rng(data_seed, CALIBRATION_STREAM, SYNTHETIC_TRUTH)
        drawn, factors = true_world(world, model, truth, f.kinds, rng)
        coverage = float(np.exp(rng.uniform(*np.log(f.coverage)))) if f.uncertain else f.coverage[0]
        data = synthetic_data(drawn, targets, years, data_seed, coverage)
        d = kind_durations(data, targets, model)[truth.kind]
        fit = fit_durations(d, model, LEVEL)
        for name, value, estimate, (low, high) in (
            ("duration_shift", truth.delta, fit.delta, fit.delta_interval),
            ("duration_spread", truth.kappa, fit.kappa, fit.kappa_interval),
        ):
            rows.append((i, name, truth.kind, "", value, estimate, low, high))
        n = reported_counts(count_targets(data, targets, model.sectors), model)
        rates = fit_rates(n, model, targets, {truth.kind: (fit.delta, fit.kappa)})
        if f.uncertain:
            rows.append((i, "coverage", "", "", coverage, *next(iter(rates.values())).coverage_summary(LEVEL)))
        for kind, post in rates.items():
            mean, low, high = post.common(LEVEL)
            rows.append((i, "common_factor", kind, "", truth.mu, mean, low, high))
            lows, highs = post.interval(LEVEL)
            means = post.mean()
            for s, sector in enumerate(model.sectors):
                rows.append((i, "exposure_factor", kind, sector, factors[kind][s], means[s], lows[s], highs[s]))
        if progress is not None:
            progress("fitting synthetic data sets", i + 1, data_sets)
    return pd.DataFrame(rows, columns=["data_set", "parameter", "kind", "sector", "truth", "estimate", "low", "high"])


def coverage_table(runs: pd.DataFrame) -> pd.DataFrame:
    """Coverage of the nominal 90% intervals per parameter (and for every sector factor of a
    kind together, sector ``all``), with its binomial standard error."""
    runs = runs.assign(covered=(runs["low"] <= runs["truth"]) & (runs["truth"] <= runs["high"]),
                       width=runs["high"] - runs["low"])  # fmt: skip
    pooled = runs[runs["parameter"] == "exposure_factor"].assign(sector="all")
    rows = []
    for (parameter, kind, sector), group in pd.concat([runs, pooled]).groupby(["parameter", "kind", "sector"],
                                                                             sort=False):  # fmt: skip
        n = len(group)
        rows.append({"parameter": parameter, "kind": kind, "sector": sector, "truth": group["truth"].mean(),
                     "data_sets": n, "coverage": group["covered"].mean(), "coverage_se": np.sqrt(0.09 / n),
                     "median_width": group["width"].median(),
                     "median_estimate": group["estimate"].median()})  # fmt: skip
    return conform(pd.DataFrame(rows), RECOVERY_SCHEMA)
