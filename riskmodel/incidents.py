"""The incident data format: one row per reported failure, read and checked.

One reader for every incident table: the scenario's own (``[incidents]``, checked when a
world is built so a broken file is not carried along) and the data a calibration fits.

Columns (a CSV with a header row; other columns are kept as further magnitudes, e.g.
``flights_cancelled``):

* ``date``: ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD``, from 1950 to this year;
* ``sector``: a critical sector of the scenario;
* ``event`` (optional): what failed, in words;
* ``threat_kind``: ``cyber``, ``unintentional`` or ``disaster``;
* ``duration_hours_low``, ``duration_hours_high``: the outage's length as reported, a
  range (equal for an exact figure; empty when unknown);
* ``persons_affected``: empty when unknown (never read an empty cell as zero);
* ``persons_measure`` (optional): what ``persons_affected`` counts. ``reach`` (the
  default, also for an empty cell): the persons whose service the failure stopped or
  delayed, what the model's persons count. ``consequence``: persons who suffered a further
  consequence of it, a magnitude of another nature (the 2004 organ-transplant program
  error: 6 patients missed transplants; a data error, not an outage of a service to its
  users, so no count of the persons an outage reaches can be compared with it). Such a
  figure stays in the data and is not compared with the model's persons;
* ``source``: where the figures come from;
* ``observation`` (optional): the id of the reporting filter the row passed (see
  :mod:`riskmodel.calibration.observation`); without it, the data set's first filter.

A bad file raises :class:`~riskmodel.errors.InputError` naming the file, the line and
column, the value and what was expected: the command line prints it as one line and
exits with status 2.
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from pathlib import Path

import pandas as pd

from riskmodel.errors import InputError
from riskmodel.schema import HOURS_PER_YEAR as MAX_HOURS
from riskmodel.schema import MAX_PERSONS, THREAT_KINDS

REQUIRED = ("date", "sector", "threat_kind", "duration_hours_low", "duration_hours_high", "persons_affected", "source")
PERSONS_MEASURES = ("reach", "consequence")  # what persons_affected counts: see the module's docstring
NUMBERS = ("duration_hours_low", "duration_hours_high", "persons_affected")
FIRST_YEAR = 1950
MAX_ROWS = 100_000


def _year(text: str) -> int | None:
    """The year of a ``YYYY``, ``YYYY-MM`` or ``YYYY-MM-DD`` date, or None if it is not one."""
    for form, length in (("%Y-%m-%d", 10), ("%Y-%m", 7), ("%Y", 4)):
        if len(text) != length:
            continue
        try:
            return dt.datetime.strptime(text, form).year
        except ValueError:
            return None
    return None


def read_incident_data(path: str | Path, sectors: list[str], filters: list[str] | None = None) -> pd.DataFrame:
    """The incidents of ``path`` as a DataFrame, every row checked.

    ``sectors``: the scenario's critical sectors; ``filters``: the ids of the data set's
    reporting filters (the first is the default; ``None`` leaves ``observation`` as the
    file gives it, for a table read before any filters are known). Adds ``year`` (int)
    and ``persons_measure`` (``reach`` where the file leaves it out or empty); numbers are
    floats with NaN where the file leaves them empty.
    """
    path = Path(path)
    header, rows = _read_rows(path)
    this_year = dt.date.today().year
    years, measures, numbers = [], [], {c: [] for c in NUMBERS}
    for number, row in rows:
        where = f"line {number}"
        year = _year(row["date"].strip())
        if year is None:
            raise InputError(path, f"{where}, date", row["date"], "a date YYYY, YYYY-MM or YYYY-MM-DD")
        if not FIRST_YEAR <= year <= this_year:
            raise InputError(path, f"{where}, date", row["date"], f"a date from {FIRST_YEAR} to {this_year}")
        years.append(year)
        if row["sector"] not in sectors:
            raise InputError(path, f"{where}, sector", row["sector"] or "(empty)",
                             f"the sector of the incident, a critical sector: one of {', '.join(sectors)}")  # fmt: skip
        if row["threat_kind"] not in THREAT_KINDS:
            raise InputError(path, f"{where}, threat_kind", row["threat_kind"], f"one of {', '.join(THREAT_KINDS)}")
        if filters is not None:
            observation = row.get("observation", "").strip() or filters[0]
            if observation not in filters:
                raise InputError(
                    path, f"{where}, observation", observation, f"a reporting filter: {', '.join(filters)}"
                )
            row["observation"] = observation
        for column in NUMBERS:
            numbers[column].append(_number(path, where, column, row[column]))
        measure = row.get("persons_measure", "").strip() or PERSONS_MEASURES[0]
        if measure not in PERSONS_MEASURES:
            expected = f"empty or what persons_affected counts: one of {', '.join(PERSONS_MEASURES)}"
            raise InputError(path, f"{where}, persons_measure", measure, expected)
        measures.append(measure)
        low, high = numbers["duration_hours_low"][-1], numbers["duration_hours_high"][-1]
        if math.isnan(low) != math.isnan(high):
            raise InputError(path, f"{where}, duration_hours_low", row["duration_hours_low"] or "(empty)",
                             "both duration columns given (equal for an exact figure) or both empty")  # fmt: skip
        if low > high:
            raise InputError(path, f"{where}, duration_hours_low", row["duration_hours_low"],
                             f"at most duration_hours_high ({row['duration_hours_high']})")  # fmt: skip
    frame = pd.DataFrame([row for _, row in rows], columns=header)
    if filters is not None and "observation" not in frame.columns:
        frame["observation"] = [row["observation"] for _, row in rows]
    frame["year"] = years
    frame["persons_measure"] = measures
    for column, values in numbers.items():
        frame[column] = pd.Series(values, dtype=float)
    return frame


def _read_rows(path: Path) -> tuple[list[str], list[tuple[int, dict[str, str]]]]:
    """The header and the non-blank rows (with their line numbers) of a CSV file, each row
    as many cells as the header, at least one row and at most ``MAX_ROWS``."""
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            reader = csv.reader(handle, strict=True)
            header = next(reader, None)
            if header is None:
                raise InputError(path, "columns", "(empty file)", f"a header row with {', '.join(REQUIRED)}")
            missing = [c for c in REQUIRED if c not in header]
            if missing:
                raise InputError(path, "columns", missing[0], f"the columns {', '.join(REQUIRED)}")
            rows = []
            for number, cells in enumerate(reader, start=2):
                if not any(cell.strip() for cell in cells):
                    continue
                if len(cells) != len(header):
                    raise InputError(path, f"line {number}", f"{len(cells)} cells", f"{len(header)} cells (the header)")
                if len(rows) >= MAX_ROWS:
                    raise InputError(path, f"line {number}", "(more rows)", f"at most {MAX_ROWS:,} incidents")
                rows.append((number, dict(zip(header, cells, strict=True))))
    except UnicodeDecodeError:
        raise InputError(path, "(encoding)", "undecodable bytes", "UTF-8 CSV text") from None
    except csv.Error as exc:
        raise InputError(path, "(syntax)", str(exc), "valid CSV") from None
    except OSError as exc:
        raise InputError(path, "", exc.strerror or str(exc), "a readable CSV file") from None
    if not rows:
        raise InputError(path, "rows", "(no incidents)", "at least one incident below the header")
    return header, rows


def _number(path: Path, where: str, column: str, text: str) -> float:
    """An optional non-negative number of hours or persons (NaN when the cell is empty)."""
    text = text.strip()
    if not text:
        return math.nan
    top, unit = (MAX_PERSONS, "persons") if column == "persons_affected" else (MAX_HOURS, "hours")
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and 0 <= value <= top):
        raise InputError(path, f"{where}, {column}", text, f"empty or a number of {unit} from 0 to {top:g}")
    if column != "persons_affected" and value == 0:
        raise InputError(path, f"{where}, {column}", text, "empty or a positive number of hours (an outage lasts)")
    return value
