"""Shared pieces of the agent-model tests: running arms of an experiment over seeds, and
confidence intervals of paired differences."""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np
from scipy import stats

from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.overrides import overrides_from
from riskmodel.world import World, with_overrides

MECHANISMS = (
    "operators",
    "concealment",
    "pdca",
    "information_sharing",
    "attackers",
    "awareness",
    "exercises",
    "outsourcing",
)
# every mechanism off, the operators' spin-up too (a mechanism's test starts from the
# measures it is given), and anxiety's feedback on online use (the individuals have no switch)
ALL_OFF = {**{f"{name}.enabled": False for name in MECHANISMS}, "operators.start.enabled": False,
           "individuals.use_elasticity": 0.0}  # fmt: skip


def with_abm(world: World, levers: Mapping[str, Any]) -> World:
    """``world`` with ``levers`` (paths under ``[abm]``, such as ``concealment.blame``) set."""
    return with_overrides(world, overrides_from({f"abm.{path}": value for path, value in levers.items()}))


def only(*mechanisms: str, **levers: Any) -> dict[str, Any]:
    """Levers with every mechanism off but ``mechanisms``, plus ``levers`` (``a__b`` for ``a.b``)."""
    chosen = {**ALL_OFF, **{f"{name}.enabled": True for name in mechanisms}}
    chosen.update({key.replace("__", "."): value for key, value in levers.items()})
    return chosen


def run(
    world: World, levers: Mapping[str, Any], seed: int, years: int, in_place: np.ndarray | None = None
) -> CriticalInfrastructureModel:
    model = CriticalInfrastructureModel(with_abm(world, levers), in_place, fiscal_years=years, seed=seed)
    model.run_model()
    return model


def over_seeds(
    world: World,
    levers: Mapping[str, Any],
    statistic: Callable[[CriticalInfrastructureModel], float],
    seeds: range,
    years: int,
    in_place: np.ndarray | None = None,
) -> np.ndarray:
    return np.array([statistic(run(world, levers, seed, years, in_place)) for seed in seeds])


def paired_interval(a: np.ndarray, b: np.ndarray, confidence: float = 0.95) -> tuple[float, float]:
    """Two-sided ``confidence`` interval of the mean of ``a - b`` (paired by seed), from its
    standard error and Student's t."""
    d = np.asarray(a, dtype=float) - np.asarray(b, dtype=float)
    half = stats.t.ppf(0.5 + confidence / 2, d.size - 1) * d.std(ddof=1) / math.sqrt(d.size)
    return float(d.mean() - half), float(d.mean() + half)


def yearly(model: CriticalInfrastructureModel, name: str) -> list:
    """A fiscal-year series of the yearly DataCollector."""
    return list(model.yearly.get_model_vars_dataframe()[name])
