"""Posterior draws through an estimate: the draws file, and the AAL's two uncertainties.

A draws file (Parquet, written by ``riskmodel calibrate fit``) has a ``draw`` column and
one column per override path; applying a draw is applying its overrides. A run with
``--posterior FILE`` gives block ``b`` of ``BLOCK_YEARS`` years draw ``b mod D`` (``D``
draws, in file order), so the estimate averages over parameter uncertainty while every
year keeps the keyed random numbers it has without the file.

The AAL's uncertainty then has two parts (law of total variance over the draws): the
Monte Carlo error of the years simulated, and the spread of the AAL itself across the
posterior (parameter uncertainty). With blocks ``b`` of ``n_b`` years, means ``m_b`` and
within-block variances ``s2_b``:

* Monte Carlo standard error of the AAL: ``sqrt(sum n_b s2_b) / N``;
* parameter variance of the AAL: the variance of the block means less what Monte Carlo
  noise puts into it, ``var_b(m_b) - mean_b(s2_b / n_b)`` (at least 0);
* the AAL's 90% interval: the 5% and 95% quantiles of the block means, weighted by
  their years: each block mean is the AAL under one draw (plus its block's Monte Carlo
  noise), so these estimate the posterior's quantiles of the AAL, however skewed (a few
  draws with long outages and frequent attacks give the AAL a long right tail, and a
  normal interval would reach below zero); crude with few draws. With one block it is
  the Monte Carlo interval ``AAL +- 1.645 SE``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq

from riskmodel.engine.inputs import KernelInputs
from riskmodel.engine.simulate import BLOCK_YEARS
from riskmodel.errors import InputError
from riskmodel.measures import no_measures, protection
from riskmodel.overrides import Override, parse_path
from riskmodel.world import World, with_overrides

BlockInputs = Callable[[int], KernelInputs]

Z90 = 1.6448536269514722
MAX_DRAWS = 1_000_000


def read_draws(path: str | Path) -> pd.DataFrame:
    """A posterior draws file, checked: a ``draw`` column, at least one override path
    column, finite numbers in every cell."""
    path = Path(path)
    try:
        frame = pq.read_table(path).to_pandas()
    except OSError as exc:
        raise InputError(path, "", str(exc).splitlines()[0] if str(exc) else "(unreadable)",
                         "a Parquet file of posterior draws (riskmodel calibrate fit)") from None  # fmt: skip
    except Exception as exc:  # pyarrow raises its own error types for files that are not Parquet
        raise InputError(path, "", type(exc).__name__, "a Parquet file of posterior draws") from None
    if "draw" not in frame.columns:
        raise InputError(path, "columns", list(frame.columns)[:3], "a 'draw' column and one column per override path")
    paths = [c for c in frame.columns if c != "draw"]
    if not paths:
        raise InputError(path, "columns", "(only draw)", "one or more override path columns")
    if not 1 <= len(frame) <= MAX_DRAWS:
        raise InputError(path, "rows", len(frame), f"from 1 to {MAX_DRAWS:,} draws")
    for column in paths:
        try:
            parse_path(column)
        except InputError:
            raise InputError(
                path, "columns", column, "override paths such as threats[id=ddos].frequency.rate"
            ) from None
        values = pd.to_numeric(frame[column], errors="coerce").to_numpy(float)
        bad = np.flatnonzero(~np.isfinite(values))
        if bad.size:
            raise InputError(path, f"row {bad[0]}, {column}", frame[column].iloc[bad[0]], "a finite number")
        frame[column] = values
    return frame.reset_index(drop=True)


def draw_overrides(draws: pd.DataFrame, index: int) -> list[Override]:
    """The overrides of draw ``index`` (a row position)."""
    row = draws.iloc[index]
    return [Override(path, float(row[path])) for path in draws.columns if path != "draw"]


@dataclass
class PosteriorDraws:
    """A checked draws file over a world: draw ``d``'s world (built once), the world at
    the draws' means, and the kernel inputs each block of years takes (block ``b``: draw
    ``b mod D``), for every estimate that runs over the posterior."""

    world: World
    path: str
    draws: pd.DataFrame
    _worlds: dict[int, World] = field(default_factory=dict, repr=False)

    @classmethod
    def read(cls, world: World, path: str | Path) -> PosteriorDraws:
        posterior = cls(world, str(path), read_draws(path))
        posterior.world_of(0)  # a bad file is reported before any year is simulated
        return posterior

    @property
    def n_draws(self) -> int:
        return len(self.draws)

    def world_of(self, draw: int) -> World:
        if draw not in self._worlds:
            drawn = with_overrides(self.world, draw_overrides(self.draws, draw))
            if len(drawn.operators) != len(self.world.operators):
                raise InputError(self.path, "columns", "(operators change)", "draws that keep the scenario's operators")
            self._worlds[draw] = drawn
        return self._worlds[draw]

    def mean_world(self) -> World:
        """The scenario with every override path at the mean of its draws."""
        paths = [c for c in self.draws.columns if c != "draw"]
        return with_overrides(self.world, [Override(p, float(self.draws[p].mean())) for p in paths])

    def draw_of_block(self, block: int) -> int:
        return block % self.n_draws

    def draw_of_year(self, years: np.ndarray) -> np.ndarray:
        """The draw (row position in the file) each year takes."""
        return (np.asarray(years) // BLOCK_YEARS) % self.n_draws

    def block_inputs(self, in_place: np.ndarray | None) -> BlockInputs:
        """Block ``b``'s kernel inputs with the measures ``in_place`` (``None``: none):
        those of draw ``b mod D``, each built once."""
        matrix = no_measures(self.world) if in_place is None else in_place
        built: dict[int, KernelInputs] = {}

        def inputs(block: int) -> KernelInputs:
            draw = self.draw_of_block(block)
            if draw not in built:
                drawn = self.world_of(draw)
                built[draw] = KernelInputs.build(drawn, protection(drawn, matrix))
            return built[draw]

        return inputs


def variance_split(block_means: np.ndarray, block_vars: np.ndarray, block_years: np.ndarray) -> dict[str, float]:
    """The AAL and its uncertainty split into Monte Carlo error and parameter uncertainty
    (see the module's docstring); ``block_vars`` are the within-block sample variances."""
    n = np.asarray(block_years, dtype=float)
    means, variances = np.asarray(block_means, dtype=float), np.asarray(block_vars, dtype=float)
    total = n.sum()
    aal = float((n * means).sum() / total)
    mc_var = float((n * variances).sum() / total**2)
    noise = float((variances / n).mean())
    between = float(means.var(ddof=1)) if means.size > 1 else float("nan")
    parameter_var = max(0.0, between - noise) if means.size > 1 else float("nan")
    spread = float(np.sqrt(parameter_var + mc_var))
    if means.size > 1:
        low, high = np.quantile(means, [0.05, 0.95], weights=n, method="inverted_cdf")
    else:
        low, high = aal - Z90 * spread, aal + Z90 * spread
    return {
        "aal": aal,
        "interval_90": [float(low), float(high)],
        "monte_carlo_se": float(np.sqrt(mc_var)),
        "parameter_sd": float(np.sqrt(parameter_var)),
        "parameter_share_of_variance": parameter_var / (parameter_var + mc_var) if spread > 0 else float("nan"),
        "within_draw_variance": float((n * variances).sum() / total),
        "between_draw_variance": parameter_var,
    }
