"""Declared schemas of the loss tables, and the writer that streams them to Parquet.

Like OasisLMF's output files, each table has a fixed, documented schema so that
downstream tools can rely on column names, types and units. Loss figures are in yen.
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
        described("direct", pa.float64(), "operators' own direct loss, yen"),
        described("users", pa.float64(), "users' lost time and service, yen"),
        described("economy", pa.float64(), "production loss in the whole economy (DIIM), yen"),
        described("economy_external", pa.float64(), "of which on other sectors' production, yen"),
        described("total", pa.float64(), "direct + users + economy, yen"),
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
        described("direct", pa.float64(), "operator's direct loss, yen"),
        described("users", pa.float64(), "users' loss, yen"),
        described("economy", pa.float64(), "production loss in the economy (DIIM), yen"),
        described("economy_external", pa.float64(), "of which on other sectors, yen"),
    ]
)


def ylt_table(
    first_year: int, year_loss: np.ndarray, events: np.ndarray, sectors: list[int], names: list[str]
) -> pa.Table:
    """YLT rows (year-major, then sector) for a chunk of ``year_loss[year, sector, layer]``."""
    n_years = year_loss.shape[0]
    block = year_loss[:, sectors, :]
    direct, users, economy, external = (block[:, :, i].ravel() for i in range(4))
    columns = {
        "year": np.repeat(np.arange(first_year, first_year + n_years, dtype=np.int64), len(sectors)),
        "sector": np.tile(np.asarray(names, dtype=object), n_years),
        "events": events[:, sectors].ravel().astype(np.int32),
        "direct": direct,
        "users": users,
        "economy": economy,
        "economy_external": external,
        "total": direct + users + economy,
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
