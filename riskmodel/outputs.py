"""Declared schemas of the loss tables, and the writer that streams them to Parquet.

Like OasisLMF's output files, each table has a fixed, documented schema so that
downstream tools can rely on column names, types and units. Loss figures are in yen, in
the layers of :data:`riskmodel.engine.kernels.LAYERS` (who bears each yen: the failing
operator, its users, everyone else), which add up to society's loss.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def described(name: str, kind: pa.DataType, doc: str, nullable: bool = False) -> pa.Field:
    """A schema field with its description (units included) in the field's metadata."""
    return pa.field(name, kind, nullable=nullable, metadata={"description": doc})


YLT_SCHEMA = pa.schema(
    [
        described("year", pa.int64(), "simulated year, 0-based"),
        described("sector", pa.string(), "sector whose failures caused the loss"),
        described("events", pa.int32(), "IT failures of the sector's operators in the year"),
        described("own", pa.float64(), "borne by the failing operators: their costs and lost margin, yen"),
        described("users", pa.float64(), "borne by their users: lost time, gross of compensation, yen"),
        described("others", pa.float64(), "borne by everyone else: value added lost through the cascade, yen"),
        described("external", pa.float64(), "not borne by the failing operators: users + others, yen"),
        described("total", pa.float64(), "society's loss: own + users + others, yen"),
    ]
)

ELT_SCHEMA = pa.schema(
    [
        described("year", pa.int64(), "simulated year, 0-based"),
        described("event", pa.int32(), "event number within the year (a disaster's hits share one)"),
        described("day", pa.int32(), "day of the year the event starts, 0-based"),
        described("sector", pa.string(), "sector of the failing operator"),
        described("region", pa.string(), "power area of the failing operator"),
        described("operator", pa.int32(), "index of the failing operator"),
        described("threat", pa.string(), "threat that caused the failure"),
        described("duration_hours", pa.float64(), "outage duration after measures, hours"),
        described("depth", pa.float64(), "inoperability: share of the operator's service lost"),
        described("persons", pa.float64(), "persons affected"),
        described("own", pa.float64(), "borne by the failing operator: its costs and lost margin, yen"),
        described("users", pa.float64(), "borne by its users: lost time, gross of compensation, yen"),
        described("others", pa.float64(), "borne by everyone else: value added lost through the cascade, yen"),
    ]
)


def ylt_table(
    first_year: int, year_loss: np.ndarray, events: np.ndarray, sectors: list[int], names: list[str]
) -> pa.Table:
    """YLT rows (year-major, then sector) for a chunk of ``year_loss[year, sector, layer]``."""
    n_years = year_loss.shape[0]
    block = year_loss[:, sectors, :]
    own, users, others = (block[:, :, i].ravel() for i in range(3))
    columns = {
        "year": np.repeat(np.arange(first_year, first_year + n_years, dtype=np.int64), len(sectors)),
        "sector": np.tile(np.asarray(names, dtype=object), n_years),
        "events": events[:, sectors].ravel().astype(np.int32),
        "own": own,
        "users": users,
        "others": others,
        "external": users + others,
        "total": own + users + others,
    }
    return pa.Table.from_pydict(columns, schema=YLT_SCHEMA)


class ParquetSink:
    """Appends tables of one schema to a Parquet file, a row group per chunk."""

    def __init__(self, path: str | Path, schema: pa.Schema):
        self.path = Path(path)
        self.schema = schema
        self._writer: pq.ParquetWriter | None = None

    def write(self, table: pa.Table) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self._writer.write_table(table)

    def close(self) -> None:
        if self._writer is None:
            self._writer = pq.ParquetWriter(self.path, self.schema, compression="zstd")
        self._writer.close()
