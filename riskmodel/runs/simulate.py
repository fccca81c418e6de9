"""The ``simulate`` kind: Monte Carlo years through the engine, its outcomes, tables and files."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from pathlib import Path

import numpy as np
import pandas as pd

from riskmodel.calibration.posterior import PosteriorDraws, variance_split
from riskmodel.engine.kernels import LAYERS
from riskmodel.engine.simulate import BLOCK_YEARS, SimulationResult, simulate
from riskmodel.metrics import ACCEPTABILITY_CLASSES
from riskmodel.runs.result import TOTAL, LazyTables, Outcome, Progress, expand
from riskmodel.runs.spec import RunSpec
from riskmodel.world import World

OUTCOMES = (
    Outcome("aal", "yen a year", "average annual loss, all layers (own + users + others)", ("sector",)),
    Outcome("aal_se", "yen a year", "Monte Carlo standard error of the average annual loss", ("sector",)),
    Outcome("loss", "yen a year", "average annual loss of one layer: own (borne by the failing operators), "
            "users (their users), others (everyone else, through the cascade)", ("sector", "layer")),
    Outcome("var99", "yen", "value at risk of the annual loss at 99%", ("sector",)),
    Outcome("tvar99", "yen", "tail value at risk (CVaR) of the annual loss at 99%", ("sector",)),
    Outcome("failures", "events a year", "IT failures a year (disaster hits count per operator)", ("sector",)),
    Outcome(
        "acceptability",
        "class",
        "acceptability class: 0 unacceptable, 1 tolerable, 2 broadly acceptable (total: the worst sector's)",
        ("sector",),
    ),
)


@dataclass
class PosteriorSimulation(SimulationResult):
    """A run whose blocks of years took posterior draws: which draw each block took."""

    draws_file: str = ""
    block_draw: np.ndarray | None = None  # [block] the draw's row in the file
    split: dict | None = None  # posterior_summary(), computed while the year loss table is at hand


def execute(spec: RunSpec, world: World, in_place: np.ndarray | None, progress: Progress,
            stream_to: Path | None) -> SimulationResult:  # fmt: skip
    """Simulate ``spec.size`` years; the loss tables go to ``stream_to`` when given. With
    the ``posterior`` option each block of years takes one draw of the draws file."""
    elt = spec.option("elt")
    draws_file = spec.option("posterior")
    posterior = PosteriorDraws.read(world, draws_file) if draws_file else None
    block_inputs = posterior.block_inputs(in_place) if posterior is not None else None
    n_draws = posterior.n_draws if posterior is not None else 0
    result = simulate(
        world,
        in_place,
        years=spec.size,  # type: ignore[arg-type]
        seed=spec.seed,
        threads=spec.option("threads"),
        ylt=stream_to / "ylt.parquet" if stream_to is not None else True,
        elt=(stream_to / "elt.parquet" if stream_to is not None else True) if elt else False,
        progress=lambda done, total: progress("simulating", done, total),
        block_inputs=block_inputs,
    )
    if not draws_file:
        return result
    blocks = -(-result.years // BLOCK_YEARS)
    posterior = PosteriorSimulation(**{f.name: getattr(result, f.name) for f in fields(SimulationResult)},
                                    draws_file=draws_file, block_draw=np.arange(blocks) % n_draws)  # fmt: skip
    posterior.split = posterior_summary(posterior)
    return posterior


def posterior_summary(result: PosteriorSimulation) -> dict:
    """The AAL of each critical sector and in total, its Monte Carlo error and its
    parameter uncertainty (see :mod:`riskmodel.calibration.posterior`)."""
    ylt = result.ylt
    block = ylt["year"].to_numpy() // BLOCK_YEARS
    frame = ylt.assign(block=block)
    per_year = {name: frame[frame["sector"] == name] for name in result.world.critical_ids}
    per_year["total"] = frame.groupby(["block", "year"], as_index=False)["total"].sum()
    out = {}
    for name, rows in per_year.items():
        stats = rows.groupby("block")["total"].agg(["mean", "var", "size"])
        out[name] = variance_split(stats["mean"].to_numpy(), stats["var"].fillna(0.0).to_numpy(),
                                   stats["size"].to_numpy())  # fmt: skip
    return {
        "draws_file": result.draws_file,
        "draws_used": int(np.unique(result.block_draw).size),  # type: ignore[arg-type]
        "block_years": BLOCK_YEARS,
        "aal": out,
    }


def outcomes(result: SimulationResult) -> dict[str, float]:
    table = result.sector_table().set_index("sector")
    world = result.world
    layer_sums = {name: result.layer_sums[:, i] for i, name in enumerate(LAYERS)}
    columns = {"aal": "aal", "aal_se": "aal_se", "var99": "var_0.99", "tvar99": "tvar_0.99",
               "failures": "failures_per_year"}  # fmt: skip

    def value(name: str, sector: str | None, layer: str | None) -> float:
        if name == "loss":
            sums = layer_sums[layer]  # type: ignore[index]
            return (sums.sum() if sector == TOTAL else sums[world.sector_ids.index(sector)]) / result.years
        if name == "acceptability":
            classes = table["acceptability"].drop(TOTAL)
            codes = [ACCEPTABILITY_CLASSES.index(c) for c in (classes if sector == TOTAL else [classes[sector]])]
            return min(codes)
        return table.loc[sector, columns[name]]

    return expand(OUTCOMES, world.critical_ids, LAYERS, value)


def tables(result: SimulationResult) -> LazyTables:
    makers = {
        "sectors": result.sector_table,
        "ep_curves": result.ep_table,
        "fn_curves": result.fn_table,
        "convergence": lambda: result.convergence,
    }
    if result.ylt_source is not None:
        makers["ylt"] = lambda: result.ylt
    if result.elt_source is not None:
        makers["elt"] = lambda: result.elt
    return LazyTables(makers)


def summary(result: SimulationResult) -> dict:
    document = result.summary()
    if isinstance(result, PosteriorSimulation):
        document["posterior"] = result.split
    return document


def write(result: SimulationResult, folder: Path, document: dict) -> list[str]:
    """``summary.json``, the CSV tables and the figures (the loss tables were streamed)."""
    from riskmodel.report.curves import exceedance
    from riskmodel.report.figures import ep_curves, fn_curves, save

    (folder / "summary.json").write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    result.convergence.to_csv(folder / "convergence.csv", index=False)
    result.ep_table().to_csv(folder / "ep_curves.csv", index=False)
    result.fn_table().to_csv(folder / "fn_curve.csv", index=False)
    total = [("total", result.total)]
    curves = pd.concat([exceedance(result.aggregate, result.series(), "AEP"),
                        exceedance(result.occurrence, total, "OEP")])  # fmt: skip
    save(ep_curves(curves, result.years), folder / "ep_curves.png")
    world = result.world
    rules = {world.sector_ids[s]: world.scenario.sectors[s].acceptability for s in result.critical}
    classes = {world.sector_ids[s]: result.sector_acceptability(s) for s in result.critical}
    save(fn_curves(result.fn_table(), rules, classes, result.years), folder / "fn_curve.png")
    streamed = [name for name in ("ylt.parquet", "elt.parquet") if (folder / name).exists()]
    return ["summary.json", *streamed, "convergence.csv", "ep_curves.csv", "ep_curves.png", "fn_curve.csv",
            "fn_curve.png"]  # fmt: skip
