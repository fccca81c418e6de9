"""The event record, declared once: one row per IT failure as the kernel writes it.

The kernel fills two arrays per period, integer columns (:data:`ELT_INT_COLUMNS`) and
float columns (:data:`ELT_FLOAT_COLUMNS`); :class:`Events` names those columns and is what
every reader takes: the agent model's day, the optimiser's sample of years and the event
loss table (whose file schema, with units, is :data:`riskmodel.outputs.ELT_SCHEMA`).
Sectors, regions, threats and operators stay indices into the world's lists; names appear
only in the table written for people (:meth:`Events.table`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import make_dataclass

import numpy as np
import pyarrow as pa

from riskmodel.engine.kernels import ELT_FLOAT_COLUMNS, ELT_INT_COLUMNS
from riskmodel.outputs import ELT_SCHEMA
from riskmodel.world import World

EVENT_COLUMNS = (*ELT_INT_COLUMNS, *ELT_FLOAT_COLUMNS)


def _of(cls, ints: np.ndarray, floats: np.ndarray):
    """Events from the kernel's integer and float rows (columns are views)."""
    columns = [ints[:, k] for k in range(len(ELT_INT_COLUMNS))] + [floats[:, k] for k in range(len(ELT_FLOAT_COLUMNS))]
    return cls(*columns)


def _concat(cls, parts: Sequence):
    """The events of several periods or blocks, in order."""
    if not parts:
        return cls.of(np.zeros((0, len(ELT_INT_COLUMNS)), dtype=np.int64), np.zeros((0, len(ELT_FLOAT_COLUMNS))))
    return cls(*(np.concatenate([getattr(p, name) for p in parts]) for name in EVENT_COLUMNS))


def _len(self) -> int:
    return int(self.operator.size)


def _table(self, world: World) -> pa.Table:
    """The event loss table for people and files: ids as names, the declared schema."""
    names = {"sector": world.sector_ids, "region": world.region_ids, "threat": world.threat_ids}
    columns = {
        name: np.asarray(names[name], dtype=object)[getattr(self, name)] if name in names else getattr(self, name)
        for name in EVENT_COLUMNS
    }
    for name in ("event", "day", "operator"):
        columns[name] = columns[name].astype(np.int32)
    return pa.Table.from_pydict(columns, schema=ELT_SCHEMA)


Events = make_dataclass(
    "Events",
    [(name, np.ndarray) for name in EVENT_COLUMNS],
    frozen=True,
    namespace={"of": classmethod(_of), "concat": classmethod(_concat), "__len__": _len, "table": _table},
)
Events.__doc__ = (
    "IT failures, one entry per failing operator, column by column as the kernel writes "
    "them (a disaster's hits share one ``event`` number; money in yen, durations in hours)."
)
Events.__module__ = __name__
