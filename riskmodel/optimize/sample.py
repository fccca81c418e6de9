"""Years drawn by the real engine with no measures in place: the data of the SAA.

With no measures every drawn event is kept, so the event loss table (ELT) holds every
event of every year with its unmitigated losses. The optimiser re-weights these events
by measure multipliers; it never draws hazards or computes losses itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from riskmodel.engine.simulate import simulate
from riskmodel.outputs import ELT_SCHEMA
from riskmodel.world import World


@dataclass(frozen=True)
class EventSample:
    """Every event of ``years`` engine years (no measures), one array entry per ELT row.

    Indices (``sector``, ``threat``, ``operator``) refer to the world's lists; money is
    in yen. A disaster's hits are separate rows sharing ``year`` and ``event``.
    """

    years: int
    seed: int
    year: np.ndarray
    event: np.ndarray
    sector: np.ndarray
    threat: np.ndarray
    operator: np.ndarray
    duration: np.ndarray  # hours
    depth: np.ndarray  # share of the operator's service lost
    persons: np.ndarray
    direct: np.ndarray
    users: np.ndarray
    economy: np.ndarray
    external: np.ndarray

    def __len__(self) -> int:
        return int(self.year.size)


def _index(column: pa.ChunkedArray, names: list[str]) -> np.ndarray:
    """Positions of a string column's values in ``names`` (every value is one of them)."""
    return pc.index_in(column, value_set=pa.array(names)).to_numpy().astype(np.int64)


def draw_events(
    world: World,
    years: int,
    seed: int,
    threads: int = 1,
    progress: Callable[[int, int], None] | None = None,
) -> EventSample:
    """Simulate ``years`` years with the engine, no measures in place, and keep every event.

    Why the engine: the SAA must see exactly the hazards, severities and cascades the
    engine produces, so that the portfolio it picks is judged on the same model the rest of
    riskmodel uses (``seed`` and ``threads`` as in :func:`riskmodel.engine.simulate.simulate`).
    """
    result = simulate(world, years=years, seed=seed, threads=threads, elt=True, progress=progress)
    source = result.elt_source
    assert isinstance(source, list)  # elt=True keeps the tables in memory
    table = pa.concat_tables(source) if source else ELT_SCHEMA.empty_table()
    number = {name: table.column(name).to_numpy() for name in ("duration_hours", "depth", "persons")}
    money = {name: table.column(name).to_numpy() for name in ("direct", "users", "economy", "economy_external")}
    return EventSample(
        years=years,
        seed=seed,
        year=table.column("year").to_numpy().astype(np.int64),
        event=table.column("event").to_numpy().astype(np.int64),
        sector=_index(table.column("sector"), world.sector_ids),
        threat=_index(table.column("threat"), world.threat_ids),
        operator=table.column("operator").to_numpy().astype(np.int64),
        duration=number["duration_hours"],
        depth=number["depth"],
        persons=number["persons"],
        direct=money["direct"],
        users=money["users"],
        economy=money["economy"],
        external=money["economy_external"],
    )
