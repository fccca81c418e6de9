"""Recalibrate the packaged default scenario on the default incident data, in place.

Runs what ``riskmodel calibrate fit`` runs on the default (from the scenario's kept priors,
so the result does not depend on an earlier calibration), then writes the posterior means
into ``riskmodel/data/japan.toml`` line by line, keeping its comments and layout: each
calibrated table gets its new values, a ``source`` that starts ``calibrated: ...`` and a
``prior`` line with the values before calibration; the ``[calibration]`` table names the
draws file shipped beside it (``japan_posterior_draws.parquet``). A test keeps the two in
step (tests/test_calibrated_scenario.py). Usage::

    python tools/recalibrate_default.py
"""

from __future__ import annotations

import datetime as dt
import re

import tomli_w

from riskmodel.calibration.fit import DRAWS
from riskmodel.calibration.write import calibrated_scenario, fit_and_check, write_draws
from riskmodel.scenario import default_scenario_path
from riskmodel.world import load_world

SHIPPED_DRAWS = "japan_posterior_draws.parquet"
SIGNIFICANT = 4  # digits of a calibrated value in the file (the draws keep full precision)


def _table_span(lines: list[str], owner: str, owner_id: str, table: str) -> tuple[int, int]:
    """First and one-past-last line of ``[<owner>.<table>]`` inside the ``[[<owner>]]``
    entry whose ``id`` is ``owner_id``."""
    start = next(i for i, line in enumerate(lines) if line == f'id = "{owner_id}"'
                 and any(lines[j] == f"[[{owner}]]" for j in range(max(i - 3, 0), i)))  # fmt: skip
    head = next(i for i in range(start, len(lines)) if lines[i] == f"[{owner}.{table}]")
    end = next((i for i in range(head + 1, len(lines)) if lines[i].startswith("[") or not lines[i].strip()), len(lines))
    return head, end


def _value(x: float) -> str:
    return f"{float(f'{x:.{SIGNIFICANT}g}')!r}"


def main() -> None:
    path = default_scenario_path()
    world = load_world()
    date = dt.date.today().isoformat()
    cal, _ = fit_and_check(world, None, None, DRAWS, 0, 0, 0)
    calibrated, _ = calibrated_scenario(world, cal, date)
    write_draws(cal.draws, path.parent / SHIPPED_DRAWS)
    lines = path.read_text(encoding="utf-8").splitlines()
    for owner, entries in (("sectors", calibrated.sectors), ("threats", calibrated.threats)):
        for entry in entries:
            table = entry.exposure if owner == "sectors" else entry.duration
            if table is None or not table.prior:
                continue
            name = "exposure" if owner == "sectors" else "duration"
            head, end = _table_span(lines, owner, entry.id, name)
            body = [line for line in lines[head + 1 : end] if not re.match(r"(source|prior) = ", line)]
            for field in table.prior:
                body = [f"{field} = {_value(getattr(table, field))}" if line.startswith(f"{field} = ") else line
                        for line in body]  # fmt: skip
            prior = ", ".join(f"{k} = {v!r}" for k, v in table.prior.items())
            at = next((i for i, line in enumerate(body) if line.startswith("assumption = ")), len(body))
            body[at:at] = [f"source = {tomli_w.dumps({'s': table.source})[4:].strip()}"]
            lines[head + 1 : end] = [*body, f"prior = {{ {prior} }}"]
    record = calibrated.calibration.model_dump(exclude_none=True) | {"draws": SHIPPED_DRAWS}
    start = next((i for i, line in enumerate(lines) if line == "[calibration]"), None)
    if start is not None:
        end = next((i for i in range(start + 1, len(lines)) if not lines[i].strip()), len(lines))
        del lines[start - 1 : end]
    at = next(i for i, line in enumerate(lines) if line == "[incidents]")
    at = next(i for i in range(at, len(lines)) if not lines[i].strip())
    lines[at:at] = ["", "[calibration]", *tomli_w.dumps(record).strip().splitlines()]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"wrote {path} and {path.parent / SHIPPED_DRAWS}")


if __name__ == "__main__":
    main()
