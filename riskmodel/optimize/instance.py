"""The SAA data: measure options, rules, costs, chains, base losses per year, bars.

A portfolio puts the same measure options in place at every operator of a sector (as a
portfolio file does), so per sector the decision is a binary ``x_j`` per option (a
measure at a level). Every engine multiplier is a product ``prod_j (1 - e_j x_j)`` over
the options in place; an event's residual loss is its unmitigated (base) loss times such
products. Grouping each event's losses by the product that scales them, a year's loss
becomes linear in a few product values, the *chains*::

    L_y(x) = sum_c B[y, c] w_c(x),    w_c(x) = prod_j (1 - e_cj x_j).

A chain is a product of *factors* (one per kind of effect: the survival of one threat's
events, duration, detection, depth, cascade, direct loss, depth to the F-N exponent),
stored as an ordered tuple of factor ids; chains that share a prefix share its
linearisation in the MILP.

Thinning, two ways. The mean (the objective) and the F-N frequencies are expectations,
linear in each event's chance of getting through: there an event of threat h counts with
weight ``survive_h(x)``, a chain factor, which is exact in expectation and keeps the model
small. A tail measure is not linear: the CVaR of expected-thinned years is lower than
the CVaR of the years the engine draws (Jensen), so for the CVaR each event gets through
or not. Every event carries *blocking coins*, one per option that could block it
(``True`` with the option's frequency effect on its threat); under a portfolio it gets
through iff no option in place has its coin up, so it gets through with probability
``prod_j (1 - f_jh x_j)``, as in the engine. Events no coin blocks stay in ``year_loss``
(chains without the survival factor); the others are *groups* (events of one year and
sector with the same coins, added up) that count in a year's loss only while none of
their blocking options is in place.

How the builder (:mod:`riskmodel.optimize.build`) groups an event's losses into chains,
and treats the engine effects that are not linear in the multipliers, is told there.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np
from scipy import sparse

from riskmodel.engine.kernels import LAYERS

OWN, USERS, OTHERS = (LAYERS.index(name) for name in ("own", "users", "others"))
OWN_LAYERS = (OWN,)  # what the failing operators bear: a sector's own optimum counts these
ALL_LAYERS = (OWN, USERS, OTHERS)  # society's loss: society's optimum counts every layer


def best_product(reduction: np.ndarray, option_measure: np.ndarray) -> np.ndarray:
    """The smallest reachable ``prod (1 - e)`` of ``reduction[option, ...]``: at most one
    level per measure, so the strongest level of each (the rules otherwise ignored)."""
    result = np.ones(reduction.shape[1:])
    for measure in np.unique(option_measure):
        result = result * np.min(1.0 - reduction[option_measure == measure], axis=0)
    return result


@dataclass(frozen=True)
class Bar:
    """A CVaR bar: ``CVaR_level`` of the annual loss (all layers) of ``sectors``' failures
    must not exceed ``cvar_max`` yen."""

    label: str
    sectors: tuple[int, ...]  # positions in Instance.sector_ids
    level: float
    cvar_max: float


@dataclass(frozen=True)
class Instance:
    """One SAA problem as plain arrays (yen, yen a year, events a year).

    Built from the engine's years by :func:`build_instance`, or directly from arrays for
    random test instances. Sector positions index ``sector_ids``; the catalogue (options,
    measures, rules) is the same in every sector.
    """

    sector_ids: tuple[str, ...]
    option_labels: tuple[str, ...]  # portfolio-file entries, "measure" or "measure:level"
    option_measure: np.ndarray  # [option] measure index
    measure_ids: tuple[str, ...]
    requires: np.ndarray  # [k, 2] (measure, its prerequisite measure)
    excludes: np.ndarray  # [k, 2] measures that may not be in place together
    mandatory: np.ndarray  # [sector, measure] bool: at least level 1 in place
    cost: np.ndarray  # [sector, option] yen a year
    factors: np.ndarray  # [factor, option] reductions e in [0, 1]
    factor_names: tuple[str, ...]  # what each factor multiplies (duplicates merged with "|")
    chain_sector: np.ndarray  # [chain] sector position
    chain_factors: np.ndarray  # [chain, depth] factor ids in linearisation order, -1 pads
    year_loss: np.ndarray  # [year, chain] base loss, all layers, of events no coin blocks, yen
    layer_mean: np.ndarray  # [layer, chain] mean base loss per layer (LAYERS), yen a year (expected thinning)
    counted_layers: tuple[int, ...]  # layers the objective counts in full
    bars: tuple[Bar, ...]
    fn_rows: sparse.csr_matrix  # [row, chain] annual frequencies G_h(M) / S of the F-N grid
    fn_limit: np.ndarray  # [row] the tolerability line at the row's grid point
    fn_sector: np.ndarray  # [row] sector position
    budget: np.ndarray  # [sector] yen a year, inf for none
    budget_total: float  # yen a year, inf for none
    bounded_share: np.ndarray  # [sector] share of base loss bounded rather than reproduced
    group_year: np.ndarray  # [group] year of a group of blockable events
    group_sector: np.ndarray  # [group] sector position
    group_block: np.ndarray  # [group, option] bool: the options whose coin blocks the group
    group_loss: sparse.csr_matrix  # [group, chain] base loss, all layers, yen
    fn_imposed: bool = True  # False: the F-N lines are reported, not imposed
    liability: float = 0.0  # share of the uncounted layers the objective counts too (a liability rule)

    def __post_init__(self) -> None:
        n_sectors, n_options = self.cost.shape
        n_chains = self.chain_sector.size
        checks = {
            "sector_ids": len(self.sector_ids) == n_sectors,
            "option_labels": len(self.option_labels) == n_options == self.option_measure.size,
            "mandatory": self.mandatory.shape == (n_sectors, len(self.measure_ids)),
            "factors": self.factors.shape[1] == n_options
            and len(self.factor_names) == self.factors.shape[0]
            and np.all((self.factors >= 0) & (self.factors <= 1)),
            "chain_factors": self.chain_factors.shape[0] == n_chains
            and np.all(self.chain_factors < self.factors.shape[0]),
            "year_loss": self.year_loss.ndim == 2 and self.year_loss.shape[1] == n_chains,
            "layer_mean": self.layer_mean.shape == (len(LAYERS), n_chains),
            "fn_rows": self.fn_rows.shape == (self.fn_limit.size, n_chains) == (self.fn_sector.size, n_chains),
            "budget": self.budget.shape == (n_sectors,),
            "groups": self.group_sector.size
            == self.group_year.size
            == self.group_loss.shape[0]
            == self.group_block.shape[0]
            and self.group_block.shape[1] == n_options
            and self.group_loss.shape[1] == n_chains
            and np.all(self.group_year < self.year_loss.shape[0]),
            "losses": bool(np.all(self.year_loss >= 0) and np.all(self.layer_mean >= 0))
            and bool(np.all(self.group_loss.data >= 0)),
            "liability": 0.0 <= self.liability <= 1.0,
        }
        bad = [name for name, ok in checks.items() if not ok]
        if bad:
            raise ValueError(f"inconsistent SAA instance: {', '.join(bad)}")

    @property
    def n_sectors(self) -> int:
        return len(self.sector_ids)

    @property
    def n_options(self) -> int:
        return len(self.option_labels)

    @property
    def years(self) -> int:
        return int(self.year_loss.shape[0])

    @staticmethod
    def no_groups(n_options: int, n_chains: int) -> dict[str, object]:
        """The group fields of an instance whose events no coin can block."""
        return {
            "group_year": np.zeros(0, dtype=np.int64),
            "group_sector": np.zeros(0, dtype=np.int64),
            "group_block": np.zeros((0, n_options), dtype=bool),
            "group_loss": sparse.csr_matrix((0, n_chains)),
        }

    def unmitigated_losses(self, sectors: tuple[int, ...]) -> np.ndarray:
        """[year] annual loss (all layers) of ``sectors``' failures with no measures in place:
        every event gets through. Any portfolio's year losses are at most these."""
        chains = np.isin(self.chain_sector, sectors)
        groups = np.isin(self.group_sector, sectors)
        total = self.year_loss[:, chains].sum(axis=1)
        np.add.at(total, self.group_year[groups], np.asarray(self.group_loss[groups].sum(axis=1)).ravel())
        return total

    def layer_weights(self) -> np.ndarray:
        """[layer] the weight of each layer in the objective: 1 for the counted layers, the
        liability share for the others. A sector's own optimum counts what its operators
        bear: their own layer, and the share of the loss they cause others that a liability
        rule makes them pay; society counts every layer."""
        weights = np.full(len(LAYERS), self.liability)
        weights[list(self.counted_layers)] = 1.0
        return weights

    def counted_mean(self) -> np.ndarray:
        """[chain] mean base loss of the counted layers: the objective's loss coefficients."""
        return self.layer_weights() @ self.layer_mean

    def options_of(self, measure: int) -> np.ndarray:
        return np.flatnonzero(self.option_measure == measure)

    def replace(self, **changes: object) -> Instance:
        """A copy with some fields changed (budgets, bars, counted layers, liability)."""
        return dataclasses.replace(self, **changes)

    def restrict(self, sectors: list[int]) -> Instance:
        """The sub-problem of some sectors: their chains, bars, F-N rows and budgets
        (bars spanning other sectors are dropped)."""
        keep = np.isin(self.chain_sector, sectors)
        new_position = {s: i for i, s in enumerate(sectors)}
        remap = np.vectorize(new_position.get, otypes=[np.int64])
        rows = np.isin(self.fn_sector, sectors)
        groups = np.isin(self.group_sector, sectors)
        bars = tuple(
            Bar(bar.label, tuple(new_position[s] for s in bar.sectors), bar.level, bar.cvar_max)
            for bar in self.bars
            if set(bar.sectors) <= set(sectors)
        )
        return self.replace(
            sector_ids=tuple(self.sector_ids[s] for s in sectors),
            mandatory=self.mandatory[sectors],
            cost=self.cost[sectors],
            chain_sector=remap(self.chain_sector[keep]) if keep.any() else np.zeros(0, dtype=np.int64),
            chain_factors=self.chain_factors[keep],
            year_loss=self.year_loss[:, keep],
            layer_mean=self.layer_mean[:, keep],
            bars=bars,
            fn_rows=self.fn_rows[rows][:, keep],
            fn_limit=self.fn_limit[rows],
            fn_sector=remap(self.fn_sector[rows]) if rows.any() else np.zeros(0, dtype=np.int64),
            budget=self.budget[sectors],
            bounded_share=self.bounded_share[sectors],
            group_year=self.group_year[groups],
            group_sector=remap(self.group_sector[groups]) if groups.any() else np.zeros(0, dtype=np.int64),
            group_block=self.group_block[groups],
            group_loss=self.group_loss[groups][:, keep].tocsr(),
        )


@dataclass(frozen=True)
class EventLosses:
    """Per-event base losses by chain (all layers) and blocking coins, for the naive
    formulation: every event on its own, in every year."""

    year: np.ndarray  # [event]
    sector: np.ndarray  # [event] sector position
    block: np.ndarray  # [event, option] bool
    matrix: sparse.csr_matrix  # [event, chain]
