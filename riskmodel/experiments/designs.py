"""Design points: the levers' values and the uncertainties' samples, one row per point.

Every sampled factor is first drawn in the unit hypercube, by SALib for Latin hypercube,
Sobol (Saltelli's scheme) and Morris designs, by NumPy for plain Monte Carlo, or on a
grid for a full factorial; then each unit value is mapped through its distribution's
quantile function (a posterior's through the rank of its draws). The unit matrix is kept
in the design (columns ``u.<factor>``) because SALib's analysers read it in the order
its samplers wrote it.

``combine = "factorial"`` crosses every combination of the levers' values with one
shared sample of the uncertainties (the same uncertain futures for every policy, so
policies are compared on the same points); ``"joint"`` samples levers and uncertainties
together, each lever as a discrete factor whose unit value picks one of its values.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

from riskmodel.experiments.seeds import design_seed
from riskmodel.experiments.spec import ExperimentSpec, Lever, Uncertainty, plain

EDGE = 1e-12  # unit values are kept this far inside (0, 1) so unbounded quantiles stay finite


@dataclass(frozen=True)
class Factor:
    """One sampled dimension: an uncertainty, a posterior file, or (joint designs) a lever."""

    name: str
    source: Lever | Uncertainty
    draws: pd.DataFrame | None = None  # a posterior's draws

    def values(self, unit: float) -> dict[str, tuple[Any, bool]]:
        """path -> (value, scale) at a unit value."""
        source = self.source
        if isinstance(source, Lever):
            index = min(int(unit * len(source.values)), len(source.values) - 1)
            return {source.path: (source.values[index], source.scale)}
        if self.draws is not None:
            row = self.draws.iloc[min(int(unit * len(self.draws)), len(self.draws) - 1)]
            return {str(column): (plain(row[column]), source.scale) for column in self.draws.columns}
        return {source.path: (float(quantile(source, unit)), source.scale)}  # type: ignore[dict-item]


def quantile(u: Uncertainty, unit: float) -> float:
    """The distribution's quantile at ``unit``."""
    unit = min(max(unit, EDGE), 1 - EDGE)
    if u.distribution == "uniform":
        return u.low + unit * (u.high - u.low)  # type: ignore[operator]
    if u.distribution == "loguniform":
        return float(np.exp(np.log(u.low) + unit * (np.log(u.high) - np.log(u.low))))  # type: ignore[arg-type]
    from scipy import stats

    if u.distribution == "triangular":
        width = u.high - u.low  # type: ignore[operator]
        return float(stats.triang.ppf(unit, (u.mode - u.low) / width, loc=u.low, scale=width))  # type: ignore[operator]
    return float(stats.norm.ppf(unit, loc=u.mean, scale=u.sd))


@dataclass(frozen=True)
class Design:
    """The design points (``points``: point_id, lever_set, sample, one column per varied
    path, one ``u.<factor>`` column per sampled factor), the SALib problem of the sampled
    factors, and each point's values as the runner applies them."""

    points: pd.DataFrame
    problem: dict[str, Any]
    values: list[dict[str, tuple[Any, bool]]]


def factors(spec: ExperimentSpec, with_levers: bool) -> list[Factor]:
    """The sampled factors: the uncertainties (and the levers, for a joint design)."""
    found = [Factor(lever.path, lever) for lever in spec.file.levers] if with_levers else []
    for i, u in enumerate(spec.file.uncertainties):
        name = f"posterior:{u.file}" if u.distribution == "posterior" else u.path
        found.append(Factor(name, u, spec.posteriors.get(i)))  # type: ignore[arg-type]
    return found


def unit_sample(spec: ExperimentSpec, problem: dict[str, Any]) -> np.ndarray:
    """Points in the unit hypercube, one row per point, one column per factor."""
    from SALib.sample import latin, morris, sobol

    design = spec.file.design
    dims = problem["num_vars"]
    if dims == 0:
        return np.zeros((1, 0))
    seed = design_seed(spec.file.experiment.seed)
    if design.uncertainties == "factorial":
        grid = (np.arange(design.levels) + 0.5) / design.levels
        return np.array(list(itertools.product(grid, repeat=dims)))
    if design.uncertainties == "monte_carlo":
        return np.random.default_rng(seed).random((design.samples, dims))
    if design.uncertainties == "lhs":
        return latin.sample(problem, design.samples, seed=seed)
    if design.uncertainties == "sobol":
        return sobol.sample(problem, design.samples, calc_second_order=design.second_order, seed=seed)
    return morris.sample(problem, design.samples, num_levels=design.levels, seed=seed)


def build_design(spec: ExperimentSpec) -> Design:
    """Every design point of ``spec``, in a fixed order (the run ids follow it)."""
    joint = spec.file.design.combine == "joint"
    sampled = factors(spec, with_levers=joint)
    problem = {"num_vars": len(sampled), "names": [f.name for f in sampled], "bounds": [[0.0, 1.0]] * len(sampled)}
    units = unit_sample(spec, problem)
    lever_sets: list[tuple[tuple[Lever, Any], ...]] = [()]
    if not joint:
        levers = spec.file.levers
        combos = itertools.product(*(lever.values for lever in levers))
        lever_sets = [tuple(zip(levers, combo, strict=True)) for combo in combos]
    rows, values = [], []
    for lever_set, chosen in enumerate(lever_sets):
        for sample, unit in enumerate(units):
            point: dict[str, tuple[Any, bool]] = {lever.path: (value, lever.scale) for lever, value in chosen}
            for factor, u in zip(sampled, unit, strict=True):
                point.update(factor.values(float(u)))
            row = {"point_id": len(rows), "lever_set": lever_set, "sample": sample}
            row |= {path: value for path, (value, _) in point.items()}
            row |= {f"u.{factor.name}": float(u) for factor, u in zip(sampled, unit, strict=True)}
            rows.append(row)
            values.append(point)
    points = pd.DataFrame(rows)
    for column in points.columns:
        if points[column].map(type).nunique() > 1 and not pd.api.types.is_numeric_dtype(points[column]):
            points[column] = points[column].astype(str)  # mixed types: kept as text
    return Design(points, problem, values)
