"""The ``abm`` kind: the agent model through its fiscal years, its outcomes, tables and files."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from riskmodel.abm.daily_engine import DAYS_PER_YEAR
from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.abm.outputs import agents_table, summary, timeseries_table, write_outputs, yearly_table
from riskmodel.engine.kernels import LAYERS
from riskmodel.runs.result import TOTAL, LazyTables, Outcome, Progress, expand
from riskmodel.runs.spec import RunSpec
from riskmodel.world import World

OUTCOMES = (
    Outcome("true_failures", "events a year", "IT failures a year, mean over the fiscal years", ("sector",)),
    Outcome("reported_failures", "events a year", "IT failures reported to the ministries a year, mean over the "
            "fiscal years", ("sector",)),
    Outcome("reported_share", "share", "reported failures over true failures, all years and sectors"),
    Outcome("loss", "yen a year", "loss of one layer a year, mean over the fiscal years", ("sector", "layer")),
    Outcome("security_spend", "yen a year", "operators' spending on measures, mean over the fiscal years"),
    Outcome("targets_missed", "sector-years", "sector-years that missed the Basic Plan's failure target"),
    Outcome("mandatory_measures", "measures", "measures mandatory in the sectors' standards in the last year, "
            "summed over sectors"),
    Outcome("compliance", "share", "operators' mean compliance with the mandatory measures, last year"),
    Outcome("ceptoar_share", "share", "share of operators in a working CEPTOAR, last year"),
    Outcome("anxious_share", "share", "share of individuals anxious about using IT, mean over the last year"),
    Outcome("anxious_target", "share", "the Basic Plan's target for the anxious share in the last year (NaN: none)"),
    Outcome("botnet_size", "bots", "bots available to attackers at the last year's end"),
)


def execute(spec: RunSpec, world: World, in_place: np.ndarray | None, progress: Progress,
            stream_to: Path | None) -> CriticalInfrastructureModel:  # fmt: skip
    """Run the agent model day by day through ``spec.size`` fiscal years."""
    model = CriticalInfrastructureModel(world, in_place, fiscal_years=spec.size, seed=spec.seed)
    while model.running:
        model.step()
        if model.day % DAYS_PER_YEAR == 0:
            progress("agent model", model.day, model.total_days)
    return model


def outcomes(model: CriticalInfrastructureModel) -> dict[str, float]:
    world = model.world
    frame = model.yearly.get_model_vars_dataframe()
    n_years = max(len(frame), 1)
    last = frame.iloc[-1] if len(frame) else None

    def summed(name: str) -> np.ndarray:
        return np.sum(np.stack(frame[name].to_numpy()), axis=0) if len(frame) else np.zeros(0)

    true, reported, loss = summed("true_failures"), summed("reported_failures"), summed("loss")

    def by_sector(values: np.ndarray, sector: str | None) -> float:
        if values.size == 0:
            return np.nan
        rows = values[world.critical_sectors] if sector == TOTAL else values[world.sector_ids.index(sector)]
        return float(np.sum(rows)) / n_years

    def value(name: str, sector: str | None, layer: str | None) -> float:
        if name in ("true_failures", "reported_failures"):
            return by_sector(true if name == "true_failures" else reported, sector)
        if name == "loss":
            return by_sector(loss[:, LAYERS.index(layer)] if loss.size else loss, sector)  # type: ignore[arg-type]
        if name == "reported_share":
            total = true[world.critical_sectors].sum() if true.size else 0
            return reported[world.critical_sectors].sum() / total if total else np.nan
        if name == "security_spend":
            return float(frame["security_spend"].mean()) if len(frame) else np.nan
        if name == "targets_missed":
            return float(sum(np.sum(m) for m in frame["target_missed"])) if len(frame) else np.nan
        if last is None:
            return np.nan
        if name == "mandatory_measures":
            return float(np.sum(last["mandatory_measures"]))
        return float(last[name])

    return expand(OUTCOMES, world.critical_ids, LAYERS, value)


def tables(model: CriticalInfrastructureModel) -> LazyTables:
    return LazyTables({
        "yearly": lambda: yearly_table(model),
        "daily": lambda: timeseries_table(model).to_pandas(),
        "agents": lambda: agents_table(model).to_pandas(),
    })  # fmt: skip


def write(model: CriticalInfrastructureModel, folder: Path, document: dict) -> list[str]:
    return write_outputs(model, folder, document)


__all__ = ["OUTCOMES", "execute", "outcomes", "summary", "tables", "write"]
