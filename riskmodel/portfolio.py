"""Portfolio files: which measures are in place, sector by sector.

A portfolio names, for each sector, measures as ``"id"`` (its first level) or
``"id:level"``; every operator of the sector then has them. ``riskmodel simulate
--portfolio`` reads them; :func:`write_portfolio` writes one (the optimiser's are written
that way).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import tomli_w

from riskmodel.errors import InputError
from riskmodel.measures import no_measures
from riskmodel.scenario import read_toml, validate_model
from riskmodel.schema import Portfolio
from riskmodel.world import World


def _option_index(world: World, entry: str, path: Path, field: str) -> int:
    cat = world.catalogue
    name, _, level_text = entry.partition(":")
    if name not in cat.measure_ids:
        raise InputError(path, field, entry, f"a measure of the catalogue ({', '.join(cat.measure_ids)})")
    measure = cat.measure_ids.index(name)
    options = np.flatnonzero(cat.option_measure == measure)
    try:
        level = int(level_text) if level_text else 1
    except ValueError:
        level = -1
    if not 1 <= level <= options.size:
        raise InputError(path, field, entry, f"a level of {name} from 1 to {options.size}")
    return int(options[level - 1])


def sector_options(world: World, portfolio: Portfolio, path: Path) -> dict[int, list[int]]:
    """Sector index -> chosen option indices, with every rule of the catalogue checked."""
    chosen: dict[int, list[int]] = {}
    for sector_id, spec in portfolio.sectors.items():
        if sector_id not in world.sector_ids or not world.critical[world.sector_ids.index(sector_id)]:
            raise InputError(
                path, f"sectors.{sector_id}", sector_id, f"a critical sector ({', '.join(world.critical_ids)})"
            )
        options = []
        for i, entry in enumerate(spec.measures):
            options.append(_option_index(world, entry, path, f"sectors.{sector_id}.measures[{i}]"))
        cat = world.catalogue
        measures = [int(cat.option_measure[o]) for o in options]
        held = np.zeros(len(cat.measure_ids), dtype=bool)
        held[measures] = True
        for i, m in enumerate(measures):
            field = f"sectors.{sector_id}.measures[{i}]"
            if measures.count(m) > 1:
                raise InputError(path, field, spec.measures[i], "each measure at most once (one level)")
            missing = np.flatnonzero(cat.requires[m] & ~held)
            if missing.size:
                need = cat.measure_ids[missing[0]]
                raise InputError(path, field, spec.measures[i], f"its prerequisite {need!r} in the same sector")
            clashes = np.flatnonzero(cat.excludes[m] & held)
            if clashes.size:
                raise InputError(path, field, spec.measures[i], f"not together with {cat.measure_ids[clashes[0]]!r}")
        chosen[world.sector_ids.index(sector_id)] = options
    return chosen


def in_place_matrix(world: World, chosen: dict[int, list[int]]) -> np.ndarray:
    """Expand per-sector choices to the ``in_place[operator, option]`` matrix."""
    in_place = no_measures(world)
    for sector, options in chosen.items():
        rows = world.operators.sector == sector
        for option in options:
            in_place[rows, option] = True
    return in_place


def load_portfolio(path: str | Path, world: World) -> np.ndarray:
    """Read a portfolio file and return ``in_place[operator, option]`` for ``world``."""
    path = Path(path)
    portfolio = validate_model(Portfolio, read_toml(path), path)
    return in_place_matrix(world, sector_options(world, portfolio, path))


def write_portfolio(path: str | Path, portfolio: dict[str, list[str]], name: str = "portfolio",
                    description: str = "") -> None:  # fmt: skip
    """Write a portfolio file: ``portfolio`` maps a sector id to its entries (``"id"`` or
    ``"id:level"``, as :data:`~riskmodel.world.Catalogue.option_labels` names them)."""
    document = {
        "name": name,
        "description": description,
        "sectors": {sector: {"measures": list(measures)} for sector, measures in portfolio.items()},
    }
    Path(path).write_text(tomli_w.dumps(document), encoding="utf-8")
