"""Scenario discovery: which parameter ranges lead to an outcome of interest.

The cases are the design points (each outcome averaged over its replications, so the
Monte Carlo noise of single runs does not blur the boxes) and the inputs are the varied
paths. A case is of interest when its outcome is above (or below) a threshold. PRIM boxes
come from EMA Workbench (``ema_workbench.analysis.prim``): the peeling trajectory gives
the trade-off between coverage (the share of the cases of interest inside the box) and
density (the share of the box's cases that are of interest); the box reported is the
widest one whose density reaches ``min_density``. A CART tree (scikit-learn) gives the
same answer as rules, for comparison.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.errors import InputError
from riskmodel.experiments.results import ExperimentData


@dataclass
class Discovery:
    """PRIM's trade-off curve, its chosen box, and a CART tree's rules."""

    outcome: str
    threshold: float
    cases: int
    of_interest: int
    tradeoff: pd.DataFrame  # coverage, density, mass, res_dim per peeling step
    chosen: int  # the step of the box reported
    box: pd.DataFrame  # restricted dimensions: min and max (or the values kept)
    tree_rules: str
    tree_accuracy: float
    prim_box: object  # EMA Workbench's PrimBox, for its own plots
    tree: object  # the fitted DecisionTreeClassifier
    features: list[str]


def cases(data: ExperimentData, outcome: str) -> tuple[pd.DataFrame, pd.Series]:
    """The inputs of each design point and its outcome's mean over replications."""
    if outcome not in data.outcome_names:
        raise InputError(data.path, "outcome", outcome, f"a kept outcome: {', '.join(data.outcome_names[:6])} ...")
    wide = data.wide()
    means = wide.groupby("point_id")[outcome].mean()
    x = data.points.set_index("point_id").loc[means.index, data.parameter_paths].reset_index(drop=True)
    for column in x.columns:
        if not pd.api.types.is_numeric_dtype(x[column]) or pd.api.types.is_bool_dtype(x[column]):
            x[column] = x[column].astype(str).astype("category")
    return x, means.reset_index(drop=True)


def discover(data: ExperimentData, outcome: str, threshold: float, below: bool = False,
             min_density: float = 0.8, max_depth: int = 3) -> Discovery:  # fmt: skip
    """PRIM and CART on the design points whose ``outcome`` is above ``threshold`` (below,
    with ``below``)."""
    from sklearn.tree import DecisionTreeClassifier, export_text

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # EMA Workbench warns at import about evaluators this does not use
        from ema_workbench.analysis import prim

    x, y = cases(data, outcome)
    interest = (y < threshold) if below else (y > threshold)
    if not x.shape[1]:
        raise InputError(data.path, "levers", "(none)", "an experiment that varies something to discover")
    if interest.sum() in (0, len(interest)):
        raise InputError(data.path, "threshold", threshold, f"a threshold that some but not all of the {len(y)} "
                         f"design points pass ({outcome} from {y.min():.4g} to {y.max():.4g})")  # fmt: skip
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        box = prim.Prim(x, interest.to_numpy(), threshold=min_density).find_box()
    trajectory = box.peeling_trajectory[["coverage", "density", "mass", "res_dim"]].copy()
    reached = np.flatnonzero(trajectory["density"].to_numpy() >= min_density)
    chosen = int(reached[0]) if len(reached) else len(trajectory) - 1
    limits = box.box_lims[chosen]
    initial = box.box_lims[0]
    restricted = [c for c in limits.columns if not limits[c].equals(initial[c])]
    encoded = pd.get_dummies(x, prefix_sep="=") if any(x.dtypes == "category") else x
    tree = DecisionTreeClassifier(max_depth=max_depth, min_samples_leaf=max(2, len(x) // 20), random_state=0)
    tree.fit(encoded, interest)
    return Discovery(outcome, threshold, len(x), int(interest.sum()), trajectory, chosen,
                     limits[restricted].T.rename(columns={0: "min", 1: "max"}),
                     export_text(tree, feature_names=list(encoded.columns)), float(tree.score(encoded, interest)),
                     box, tree, list(encoded.columns))  # fmt: skip


def figures(found: Discovery, folder: Path) -> list[Path]:
    """PRIM's coverage-density trade-off (EMA Workbench's plot) and the CART tree."""
    import matplotlib

    matplotlib.use("Agg")  # EMA Workbench draws its trade-off with pyplot
    import matplotlib.pyplot as plt

    from riskmodel.report.figures import decision_tree, save

    folder.mkdir(parents=True, exist_ok=True)
    tradeoff = folder / f"discover_{found.outcome}_tradeoff.png"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fig = found.prim_box.show_tradeoff()  # type: ignore[attr-defined]
    fig.savefig(tradeoff, dpi=100)
    plt.close(fig)
    tree = folder / f"discover_{found.outcome}_tree.png"
    save(decision_tree(found.tree, found.features), tree, dpi=100)
    return [tradeoff, tree]
