"""The ``abm`` kind: the agent model through its fiscal years, its outcomes, tables and files.

One seed of an agent model is one story, not an answer: ``replications`` runs the model
``R`` times on independent streams (replication 0 on the spec's own seed, replication
``r > 0`` on :func:`~riskmodel.streams.replication_seed`), and every outcome and fiscal-year
figure is then the mean over the replications with its 95% t interval
(:mod:`riskmodel.intervals`). Replication 0's own files (summary, daily series, agents)
are written as a single run's are, so one replication writes exactly what it always did.

With a posterior draws file (``riskmodel calibrate fit``), replication ``r`` runs on draw
``r mod D`` of its ``D`` draws (applying a draw is applying its overrides to the scenario),
so the replications' spread carries parameter as well as Monte Carlo uncertainty. When
every draw used has two or more replications, the variance of each headline outcome over
the replications splits by the law of total variance into the part within a draw (the
model's own randomness) and the part across draws (the parameters'), as the Monte Carlo
estimate's does (:func:`~riskmodel.calibration.posterior.variance_split`). Without the
file nothing changes: the streams and files are the same.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from riskmodel.abm import outputs
from riskmodel.abm.daily_engine import DAYS_PER_YEAR
from riskmodel.abm.model import CriticalInfrastructureModel
from riskmodel.calibration.posterior import PosteriorDraws, variance_split
from riskmodel.engine.kernels import LAYERS
from riskmodel.intervals import LEVEL, grouped_intervals, mean_interval
from riskmodel.outputs import described
from riskmodel.runs.result import TOTAL, LazyTables, Outcome, Progress, expand
from riskmodel.runs.spec import RunSpec
from riskmodel.streams import replication_seed
from riskmodel.world import World

FIGURE_KEYS = ["fiscal_year", "variable", "sector", "threat", "layer", "measure"]
REPLICATIONS_FILE = "abm_replications.parquet"
REPLICATIONS_SCHEMA = pa.schema(
    [
        *(outputs.YEARLY_SCHEMA.field(name) for name in FIGURE_KEYS),
        described("n", pa.int32(), "replications with a value"),
        described("mean", pa.float64(), "mean over the replications (the figure's unit; NaN: undefined)",
                  nullable=True),
        described("se", pa.float64(), "standard error of the mean (NaN with one replication)", nullable=True),
        described("ci_low", pa.float64(), f"lower end of the {LEVEL:.0%} t interval of the mean", nullable=True),
        described("ci_high", pa.float64(), f"upper end of the {LEVEL:.0%} t interval of the mean", nullable=True),
    ]
)


@dataclass
class Replications:
    """The agent models of one run: replication ``r`` ran on ``seeds[r]`` and, with a
    posterior draws file, on the draw in row ``draws[r]`` of it (``n_draws`` rows)."""

    seeds: list[int]
    models: list[CriticalInfrastructureModel]
    draws_file: str | None = None
    draws: list[int] | None = None
    n_draws: int = 0

    @cached_property
    def each(self) -> list[dict[str, float]]:
        """Each replication's declared outcomes (computed once, read by every output)."""
        return [model_outcomes(model) for model in self.models]

    @cached_property
    def yearly(self) -> pd.DataFrame:
        """The tidy ``yearly`` tables of the replications, stacked."""
        return _stacked(self, outputs.yearly_table)

    @cached_property
    def figure_intervals(self) -> pd.DataFrame:
        """Every fiscal-year figure (the ``yearly`` table's rows) as its mean over the
        replications with its t interval, in :data:`REPLICATIONS_SCHEMA`'s columns."""
        return grouped_intervals(self.yearly, FIGURE_KEYS)


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
            stream_to: Path | None) -> Replications:  # fmt: skip
    """Run the agent model day by day through ``spec.size`` fiscal years, once per
    replication; with the ``posterior`` option replication ``r`` runs on draw ``r mod D``."""
    count = spec.option("replications")
    seeds = [replication_seed(spec.seed, r) for r in range(count)]
    draws_file = spec.option("posterior")
    posterior = PosteriorDraws.read(world, draws_file) if draws_file else None
    n_draws = posterior.n_draws if posterior is not None else 0
    draws = [posterior.draw_of_block(r) for r in range(count)] if posterior is not None else None
    models = []
    for r, seed in enumerate(seeds):
        model = CriticalInfrastructureModel(world if posterior is None else posterior.world_of(draws[r]), in_place,  # type: ignore[index]
                                            fiscal_years=spec.size, seed=seed)  # fmt: skip
        while model.running:
            model.step()
            if model.day % DAYS_PER_YEAR == 0:
                progress("agent model", r * model.total_days + model.day, count * model.total_days)
        models.append(model)
    return Replications(seeds, models, draws_file, draws, n_draws)


def outcomes(detail: Replications) -> dict[str, float]:
    """Each declared outcome's mean over the replications."""
    each = detail.each
    return {key: float(np.mean([values[key] for values in each])) for key in each[0]}


def outcome_intervals(detail: Replications) -> pd.DataFrame:
    """Each outcome's mean over the replications with its t interval: key, n, mean, se, ci_low, ci_high."""
    long = pd.DataFrame([(key, value) for values in detail.each for key, value in values.items()],
                        columns=["key", "value"])  # fmt: skip
    return grouped_intervals(long, ["key"])


HEADLINE_KEYS = [key for outcome in OUTCOMES for key, _, _ in outcome.keys([], LAYERS)]  # the totals


def draw_split(each: list[dict[str, float]], draws: list[int], keys: list[str] = HEADLINE_KEYS) -> dict | None:
    """Each outcome's variance over replications split by the law of total variance into
    the part within a draw (``within_draw_variance``: the model's randomness, pooled over
    the draws) and the part across draws (``between_draw_variance``: the variance of the
    outcome's mean under a draw, less the Monte Carlo noise in the draws' means), with the
    mean, its standard errors and its 90% interval as :func:`variance_split` gives them.
    ``None`` unless every draw used has two or more replications; an outcome that is
    undefined (NaN) in some replication maps to ``None``."""
    draw = np.asarray(draws)
    used, size = np.unique(draw, return_counts=True)
    if used.size < 2 or size.min() < 2:
        return None
    split: dict[str, dict | None] = {}
    for key in keys:
        values = pd.Series([values[key] for values in each], dtype=float)
        if values.isna().any():
            split[key] = None
            continue
        stats = values.groupby(draw).agg(["mean", "var", "size"])
        parts = variance_split(stats["mean"].to_numpy(), stats["var"].to_numpy(), stats["size"].to_numpy())
        within, between = parts["within_draw_variance"], parts["between_draw_variance"]
        total = within + between
        split[key] = {
            "mean": parts["aal"],
            "within_draw_variance": within,
            "between_draw_variance": between,
            "parameter_share": between / total if total > 0 else None,
            "monte_carlo_se": parts["monte_carlo_se"],
            "parameter_sd": parts["parameter_sd"],
            "interval_90": parts["interval_90"],
        }
    return split


def model_outcomes(model: CriticalInfrastructureModel) -> dict[str, float]:
    """The declared outcomes of one agent-model run."""
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


def _stacked(detail: Replications, table) -> pd.DataFrame:
    """One table per replication, stacked, with the replication's number first."""
    frames = [table(model).assign(replication=r) for r, model in enumerate(detail.models)]
    frame = pd.concat(frames, ignore_index=True)
    frame["replication"] = frame["replication"].astype("int32")
    return frame[["replication", *frame.columns[:-1]]]


def tables(detail: Replications) -> LazyTables:
    return LazyTables({
        "yearly": lambda: detail.yearly,
        "yearly_intervals": lambda: detail.figure_intervals,
        "outcome_intervals": lambda: outcome_intervals(detail),
        "daily": lambda: _stacked(detail, lambda model: outputs.timeseries_table(model).to_pandas()),
        "agents": lambda: _stacked(detail, lambda model: outputs.agents_table(model).to_pandas()),
    })  # fmt: skip


def _interval_tree(documents: list[Any]) -> Any:
    """The numbers of summary documents of the same shape as {mean, ci_low, ci_high} each,
    in the same nesting (texts and lists, which have no mean, left out)."""
    first = documents[0]
    if isinstance(first, dict):
        tree = {key: _interval_tree([document[key] for document in documents]) for key in first}
        return {key: value for key, value in tree.items() if value is not None}
    if isinstance(first, int | float) or first is None:
        values = [np.nan if value is None else float(value) for value in documents]
        if all(math.isnan(value) for value in values):
            return None
        stats = mean_interval(np.array(values))
        return {name: (float(stats[name]) if math.isfinite(stats[name]) else None)
                for name in ("mean", "ci_low", "ci_high")}  # fmt: skip
    return None


def summary(detail: Replications) -> dict:
    """Replication 0's ``abm_summary.json`` document, with the replications' seeds and,
    for more than one, every fiscal-year figure's mean and t interval over them."""
    documents = [outputs.summary(model) for model in detail.models]
    record: dict[str, Any] = {"count": len(detail.models), "seeds": detail.seeds, "level": LEVEL}
    if detail.draws is not None:
        record["posterior"] = {
            "draws_file": detail.draws_file,
            "draws": detail.n_draws,
            "draws_used": len(set(detail.draws)),
            "replication_draws": detail.draws,
            "note": "replication r ran on draw r mod D of the file: the spread over the replications carries "
            "parameter as well as Monte Carlo uncertainty",
            "variance_split": draw_split(detail.each, detail.draws),
        }
    if len(documents) > 1:
        record["fiscal_years"] = _interval_tree([document["fiscal_years"] for document in documents])
    return {**documents[0], "replications": record}


def write(detail: Replications, folder: Path, document: dict) -> list[str]:
    """Replication 0's files, and every figure's interval over the replications."""
    written = outputs.write_outputs(detail.models[0], folder, document)
    table = pa.Table.from_pandas(detail.figure_intervals, schema=REPLICATIONS_SCHEMA, preserve_index=False)
    pq.write_table(table.replace_schema_metadata(), folder / REPLICATIONS_FILE, compression="zstd")
    return [*written, REPLICATIONS_FILE]


__all__ = ["OUTCOMES", "Replications", "draw_split", "execute", "outcomes", "summary", "tables", "write"]
