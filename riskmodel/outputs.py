"""Declared schemas of the loss tables, and the writer that streams them to Parquet.

Like OasisLMF's output files, each table has a fixed, documented schema so that
downstream tools can rely on column names, types and units. Loss figures are in yen.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq


def _field(name: str, kind: pa.DataType, doc: str) -> pa.Field:
    return pa.field(name, kind, nullable=False, metadata={"description": doc})


YLT_SCHEMA = pa.schema(
    [
        _field("year", pa.int64(), "simulated year, 0-based"),
        _field("sector", pa.string(), "sector whose failures caused the loss"),
        _field("events", pa.int32(), "IT failures of the sector's operators in the year"),
        _field("direct", pa.float64(), "operators' own direct loss, yen"),
        _field("users", pa.float64(), "users' lost time and service, yen"),
        _field("economy", pa.float64(), "production loss in the whole economy (DIIM), yen"),
        _field("economy_external", pa.float64(), "of which on other sectors' production, yen"),
        _field("total", pa.float64(), "direct + users + economy, yen"),
    ]
)

ELT_SCHEMA = pa.schema(
    [
        _field("year", pa.int64(), "simulated year, 0-based"),
        _field("event", pa.int32(), "event number within the year (a disaster's hits share one)"),
        _field("day", pa.int32(), "day of the year the event starts, 0-based"),
        _field("sector", pa.string(), "sector of the failing operator"),
        _field("region", pa.string(), "power area of the failing operator"),
        _field("operator", pa.int32(), "index of the failing operator"),
        _field("threat", pa.string(), "threat that caused the failure"),
        _field("duration_hours", pa.float64(), "outage duration after measures, hours"),
        _field("depth", pa.float64(), "inoperability: share of the operator's service lost"),
        _field("persons", pa.float64(), "persons affected"),
        _field("direct", pa.float64(), "operator's direct loss, yen"),
        _field("users", pa.float64(), "users' loss, yen"),
        _field("economy", pa.float64(), "production loss in the economy (DIIM), yen"),
        _field("economy_external", pa.float64(), "of which on other sectors, yen"),
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
