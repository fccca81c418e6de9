"""The numpy evaluator: every figure of a portfolio from its binaries alone.

It is the one judge of a portfolio: the solver's answer is re-verified with it (no LP
values used), the brute-force tests enumerate every portfolio with it, and the reports
take their figures from it. Chains are plain products, year losses plain sums, the CVaR
the sorted Rockafellar-Uryasev value with the conventions of
:meth:`riskmodel.metrics.LossSketch.tvar`, and the F-N rule the grid check of
:func:`riskmodel.metrics.fn_exceeds`.

Portfolios come as ``x[..., sector, option]`` (bool); every result keeps the leading
axes, so a batch of portfolios is evaluated at once.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from riskmodel.optimize.instance import Instance

BUDGET_TOLERANCE = 1e-9  # relative: the MILP's budget rows are scaled by the budget (milp.py)
TOLERANCE = 1e-5  # relative slack on the risk bounds (CVaR, F-N): HiGHS keeps rows within 1e-6


@dataclass(frozen=True)
class Evaluation:
    """Figures of portfolios (leading axes as in the input), money in yen a year."""

    cost: np.ndarray  # [..., sector]
    layers: np.ndarray  # [..., layer, sector] expected residual loss per layer (instance.LAYERS)
    counted: np.ndarray  # [..., sector] expected counted loss
    objective: np.ndarray  # [...] cost + counted loss
    cvar: np.ndarray  # [..., bar]
    fn_ratio: np.ndarray  # [..., sector] largest ratio of the F-N curve to its line (0: no events judged)
    rules_ok: np.ndarray  # [..., sector] one level per measure, prerequisites, exclusions, mandatory
    budget_ok: np.ndarray  # [...]
    bars_ok: np.ndarray  # [..., bar]
    fn_ok: np.ndarray  # [..., sector] (True where the lines are not imposed)

    @property
    def feasible(self) -> np.ndarray:
        """Every rule, budget and risk bar met."""
        return self.rules_ok.all(axis=-1) & self.budget_ok & self.bars_ok.all(axis=-1) & self.fn_ok.all(axis=-1)


def money_scale(instance: Instance) -> float:
    """The instance's natural money unit: its mean unmitigated loss, all layers (yen a year)."""
    scale = float(instance.layer_mean.sum())
    return scale if scale > 0 else 1.0


def within(value: np.ndarray | float, bound: float, scale: float) -> np.ndarray:
    """``value <= bound`` up to TOLERANCE relative to the bound (or to ``scale`` for small bounds)."""
    return np.asarray(value) <= bound + TOLERANCE * max(abs(bound), scale)


def chain_values(instance: Instance, x: np.ndarray) -> np.ndarray:
    """``w_c(x) = prod_j (1 - e_cj x_j)`` for every chain, as plain products: ``[..., chain]``."""
    x = np.asarray(x, dtype=float)
    # factor values [..., sector, factor], with a trailing column of ones for the -1 padding
    factor = np.prod(1.0 - instance.factors * x[..., :, None, :], axis=-1)
    factor = np.concatenate([factor, np.ones((*factor.shape[:-1], 1))], axis=-1)
    picked = factor[..., instance.chain_sector[:, None], instance.chain_factors]
    return np.prod(picked, axis=-1)


def lower_quantile(losses: np.ndarray, level: float) -> np.ndarray:
    """The lower empirical ``level``-quantile ``L_(ceil(level n))`` along the last axis (the
    VaR of LossSketch)."""
    n = losses.shape[-1]
    k = min(n, max(1, math.ceil(level * n - 1e-9)))
    return np.partition(losses, k - 1, axis=-1)[..., k - 1]


def cvar(losses: np.ndarray, level: float) -> np.ndarray:
    """Rockafellar-Uryasev ``CVaR_level`` of the empirical distribution along the last axis:
    ``VaR + E[(L - VaR)+] / (1 - level)`` with ``VaR = L_(ceil(level n))``, as LossSketch.tvar."""
    var = lower_quantile(losses, level)
    excess = np.maximum(losses - var[..., None], 0.0).sum(axis=-1)
    return var + excess / ((1.0 - level) * losses.shape[-1])


def bar_losses(instance: Instance, x: np.ndarray, w: np.ndarray, sectors: tuple[int, ...]) -> np.ndarray:
    """Annual losses (all layers) of ``sectors``' failures in each year under the portfolios
    ``x`` (with chain values ``w``): ``[..., year]``. The events no coin blocks count at
    their chains' values; a group of blockable events counts only while none of its
    blocking options is in place (the thinning of the CVaR, see :mod:`~.instance`). Sums
    run in a fixed order (einsum and sparse products, not a threaded BLAS)."""
    x = np.asarray(x, dtype=bool)
    chains = np.isin(instance.chain_sector, sectors)
    losses = np.einsum("...c,yc->...y", w[..., chains], instance.year_loss[:, chains])
    groups = np.flatnonzero(np.isin(instance.group_sector, sectors))
    if groups.size:
        flat_w = w.reshape(-1, w.shape[-1])
        value = (instance.group_loss[groups] @ flat_w.T).T  # [portfolio, group]
        flat_x = x.reshape(-1, *x.shape[-2:])
        blocked = (flat_x[:, instance.group_sector[groups], :] & instance.group_block[groups]).any(axis=-1)
        kept = np.where(blocked, 0.0, value)
        in_year = sparse.csr_matrix(
            (np.ones(groups.size), (np.arange(groups.size), instance.group_year[groups])),
            shape=(groups.size, instance.years),
        )
        losses = losses + (in_year.T @ kept.T).T.reshape(*w.shape[:-1], instance.years)
    return losses


def by_sector(instance: Instance, per_chain: np.ndarray) -> np.ndarray:
    """Sum ``[..., chain]`` values into ``[..., sector]`` (in chain order)."""
    onehot = (instance.chain_sector[:, None] == np.arange(instance.n_sectors)[None, :]).astype(float)
    return np.einsum("...c,cs->...s", per_chain, onehot)


def rules_met(instance: Instance, x: np.ndarray) -> np.ndarray:
    """[..., sector]: at most one level per measure, prerequisites in place, no excluded
    pair together, mandatory measures in place (at any level)."""
    x = np.asarray(x, dtype=bool)
    n_measures = len(instance.measure_ids)
    levels = np.stack([x[..., instance.options_of(m)].sum(axis=-1) for m in range(n_measures)], axis=-1)
    on = levels > 0
    ok = (levels <= 1).all(axis=-1)
    for measure, prerequisite in instance.requires:
        ok &= ~on[..., measure] | on[..., prerequisite]
    for a, b in instance.excludes:
        ok &= ~(on[..., a] & on[..., b])
    return ok & (on | ~instance.mandatory).all(axis=-1)


def evaluate(instance: Instance, x: np.ndarray) -> Evaluation:
    """All figures of the portfolios ``x[..., sector, option]`` (see :class:`Evaluation`)."""
    x = np.asarray(x, dtype=bool)
    scale = money_scale(instance)
    w = chain_values(instance, x)
    cost = (instance.cost * x).sum(axis=-1)
    layers = np.stack([by_sector(instance, w * mean) for mean in instance.layer_mean], axis=-2)
    counted = np.einsum("l,...ls->...s", instance.layer_weights(), layers)
    budget_ok = cost.sum(axis=-1) <= instance.budget_total * (1.0 + BUDGET_TOLERANCE)
    for s in range(instance.n_sectors):
        budget_ok &= cost[..., s] <= float(instance.budget[s]) * (1.0 + BUDGET_TOLERANCE)
    cvars = [cvar(bar_losses(instance, x, w, bar.sectors), bar.level) for bar in instance.bars]
    cvars_array = np.stack(cvars, axis=-1) if cvars else np.zeros((*x.shape[:-2], 0))
    bars_ok = (
        np.stack([within(c, bar.cvar_max, scale) for c, bar in zip(cvars, instance.bars, strict=True)], axis=-1)
        if cvars
        else np.ones((*x.shape[:-2], 0), dtype=bool)
    )
    fn_ratio = fn_ratios(instance, w)
    return Evaluation(
        cost=cost,
        layers=layers,
        counted=counted,
        objective=cost.sum(axis=-1) + counted.sum(axis=-1),
        cvar=cvars_array,
        fn_ratio=fn_ratio,
        rules_ok=rules_met(instance, x),
        budget_ok=budget_ok,
        bars_ok=bars_ok,
        fn_ok=(fn_ratio <= 1.0 + TOLERANCE) | (not instance.fn_imposed),
    )


def fn_ratios(instance: Instance, w: np.ndarray) -> np.ndarray:
    """[..., sector] the largest ratio of the F-N curve to its line over the sector's grid rows."""
    if instance.fn_limit.size == 0:
        return np.zeros((*w.shape[:-1], instance.n_sectors))
    flat = w.reshape(-1, w.shape[-1])
    ratio = (instance.fn_rows @ flat.T).T / instance.fn_limit  # [portfolio, row]
    out = np.zeros((flat.shape[0], instance.n_sectors))
    for s in range(instance.n_sectors):
        rows = instance.fn_sector == s
        if rows.any():
            out[:, s] = ratio[:, rows].max(axis=1)
    return out.reshape(*w.shape[:-1], instance.n_sectors)
