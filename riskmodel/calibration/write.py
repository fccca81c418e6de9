"""The calibration's files: fitted values, posterior draws, count targets and a calibrated
scenario that runs as it is (its data files beside it)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import tomli_w

from riskmodel.calibration.check import predictive_check, predictive_events
from riskmodel.calibration.fit import Calibration, calibrate
from riskmodel.calibration.model import prior_world
from riskmodel.calibration.outputs import CHECK_SCHEMA, FITTED_SCHEMA, draws_schema
from riskmodel.calibration.severity import PRIOR_SD
from riskmodel.interdependency import resolve_data_file
from riskmodel.overrides import Override, apply_to_data, parse_path, render_path
from riskmodel.scenario import check_references, validate_model
from riskmodel.schema import Scenario
from riskmodel.streams import PREDICTIVE_SEED, derived_seed
from riskmodel.world import World

DRAWS_FILE = "posterior_draws.parquet"
BEFORE = "; before calibration: "


def _methods(cal: Calibration) -> dict[str, str]:
    """The method text of each kind of calibrated number."""
    filters = ", ".join(f"{f.id}, coverage {f.coverage_text()}" for f in cal.targets.filters)
    uncertain = any(f.uncertain for f in cal.targets.filters)
    return {
        "exposure": f"Gamma-Poisson posterior mean, partial pooling across sectors (log mu ~ N(0, 2), log alpha "
        f"uniform on [log 0.5, log 50]), counts corrected for the reporting filter ({filters}: "
        f"{cal.targets.path.name}{'; the uncertain coverage integrated out' if uncertain else ''})",
        "duration": f"lognormal likelihood truncated at the reporting threshold, posterior mean (delta ~ N(0, "
        f"{PRIOR_SD['delta']:g}), log kappa ~ N(0, {PRIOR_SD['log_kappa']:g}))",
    }


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def calibrated_scenario(world: World, cal: Calibration, date: str) -> tuple[Scenario, str]:
    """The world's scenario with every calibrated number at its posterior mean, each
    changed table's ``source`` starting ``calibrated: <data, method, date>`` and its
    ``prior`` keeping the values before calibration (those of an earlier calibration's
    prior, if any), a ``[calibration]`` table naming the draws; and its TOML."""
    values = cal.posterior_mean_overrides()
    data = prior_world(world).scenario.model_dump(mode="json")
    scenario = data["scenario"]
    if not scenario["name"].endswith("_calibrated"):
        scenario["name"] = f"{scenario['name']}_calibrated"[:64]
        scenario["title"] = f"{scenario['title']} (calibrated)"
    tables: dict[str, list[str]] = {}
    for path in values:
        steps = parse_path(path)
        tables.setdefault(render_path(steps[:-1]), []).append(str(steps[-1]))
    methods = _methods(cal)
    for table, fields in tables.items():
        node: Any = data
        for step in parse_path(table):
            node = node[step] if not isinstance(step, tuple) else next(i for i in node if i.get("id") == step[1])
        node["prior"] = {name: node[name] for name in fields} | (node.get("prior") or {})
        method = methods["exposure" if table.endswith("exposure") else "duration"]
        note = f"calibrated: {', '.join(fields)} from {cal.source}, {method}, {date}"
        previous = node.get("source") or ""
        if previous.startswith("calibrated: "):  # an earlier calibration's note: keep what stood before it
            previous = previous.partition(BEFORE)[2]
        node["source"] = f"{note}{BEFORE}{previous}" if previous else note
    data = apply_to_data(data, [Override(path, value) for path, value in values.items()])
    data["calibration"] = {
        "draws": DRAWS_FILE, "data": cal.source, "targets": cal.targets.path.name, "date": date,
        "source": f"riskmodel calibrate fit on {cal.source} with the reporting filters of {cal.targets.path.name} "
                  f"({len(tables)} tables calibrated; {len(cal.draws):,} posterior draws)",
    }  # fmt: skip
    changed = validate_model(Scenario, data, "(calibrated scenario)")
    check_references(changed, "(calibrated scenario)")
    header = (f"# {changed.scenario.title}\n# Written by `riskmodel calibrate fit`: the calibrated tables "
              f"({len(tables)}) say so in their source and keep their prior; posterior draws in {DRAWS_FILE} "
              f"(`riskmodel simulate --posterior {DRAWS_FILE}`).\n\n")  # fmt: skip
    return changed, header + tomli_w.dumps(_without_none(changed.model_dump(mode="json")))


def fit_and_check(
    world: World,
    data: str | None,
    targets: str | None,
    n_draws: int,
    seed: int,
    check_draws: int,
    check_years: int,
    progress: Callable[[str, int, int], None] | None = None,
) -> tuple[Calibration, pd.DataFrame]:
    """Calibrate, then check every incident against the first ``check_draws`` posterior
    draws' simulated reported failures (``check_years`` years each; 0 skips the check)."""
    world = prior_world(world)
    cal = calibrate(world, data, targets, n_draws, seed, progress)
    if check_years <= 0 or check_draws <= 0:
        return cal, pd.DataFrame(columns=CHECK_SCHEMA.names)
    predicted = predictive_events(world, cal.draws.iloc[:check_draws], cal.targets, check_years,
                                  derived_seed(seed, PREDICTIVE_SEED), progress)  # fmt: skip
    return cal, predictive_check(cal.data, predicted)


def write_draws(draws: pd.DataFrame, path: Path) -> None:
    """A posterior draws file: the ``draw`` column and one column per override path."""
    paths = [c for c in draws.columns if c != "draw"]
    pq.write_table(pa.Table.from_pandas(draws, schema=draws_schema(paths), preserve_index=False), path)


def write_calibration(cal: Calibration, check: pd.DataFrame, world: World, folder: Path, date: str,
                      summary: dict) -> list[str]:  # fmt: skip
    """Write every file of a calibration into ``folder``; returns their names."""
    folder.mkdir(parents=True, exist_ok=True)
    check.to_csv(folder / "predictive_check.csv", index=False)
    written = ["predictive_check.csv"]
    table = pa.Table.from_pandas(cal.fitted, schema=FITTED_SCHEMA, preserve_index=False)
    pq.write_table(table, folder / "fitted.parquet")
    cal.fitted.to_csv(folder / "fitted.csv", index=False)
    written += ["fitted.parquet", "fitted.csv"]
    write_draws(cal.draws, folder / DRAWS_FILE)
    cal.counts.to_csv(folder / "count_targets.csv", index=False)
    written += [DRAWS_FILE, "count_targets.csv"]
    scenario, text = calibrated_scenario(world, cal, date)
    name = f"{scenario.scenario.name}.toml"
    (folder / name).write_text(text, encoding="utf-8")
    written.append(name)
    for field, data_name in scenario.data_files():
        if field == "calibration.draws":
            continue  # written above
        (folder / data_name).write_bytes(resolve_data_file(data_name, world.path).read_bytes())
        written.append(data_name)
    (folder / "calibration.json").write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    written.append("calibration.json")
    return written
