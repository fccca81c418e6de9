"""What every suite shares: interleaved best-of-N timing, figures with goals, the table, JSON."""

from __future__ import annotations

import json
import os
import platform
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any


def log(message: str) -> None:
    """A progress line (flushed at once, so a run piped to a file can be followed)."""
    print(f"... {message}", flush=True)


@dataclass
class Timings:
    """Best (minimum) wall time of each case over the rounds, every round's time, last results."""

    best: dict[str, float]
    rounds: dict[str, list[float]]
    results: dict[str, Any] = field(repr=False)


def interleaved_best(cases: dict[str, Callable[[], Any]], repeats: int) -> Timings:
    """Time the cases round-robin, ``repeats`` rounds; keep each case's best time and last result.

    Interleaving spreads a slow spell of a shared machine over all cases rather than one, and
    the minimum over rounds is the run least disturbed by other load.
    """
    rounds: dict[str, list[float]] = {name: [] for name in cases}
    results: dict[str, Any] = {}
    for _ in range(repeats):
        for name, case in cases.items():
            start = time.perf_counter()
            results[name] = case()
            rounds[name].append(time.perf_counter() - start)
    return Timings({name: min(times) for name, times in rounds.items()}, rounds, results)


@dataclass
class Figure:
    """One line of the results table: a value, and its goal when it has one."""

    name: str
    value: float | None
    unit: str = ""
    goal: str = ""  # e.g. ">= 0.5"; empty: informational
    passed: bool | None = None  # None: informational or not measured
    note: str = ""

    @property
    def status(self) -> str:
        if self.passed is None:
            return "info" if self.value is not None else "skipped"
        return "PASS" if self.passed else "FAIL"


def info(name: str, value: float | None, unit: str = "", note: str = "") -> Figure:
    """A figure reported without a goal."""
    return Figure(name, value, unit, note=note)


def check(name: str, value: float | None, unit: str, op: str, target: float, note: str = "") -> Figure:
    """A figure with a goal ``value op target`` (``op`` is ``>=`` or ``<=``)."""
    if op not in (">=", "<="):
        raise ValueError(f"unknown comparison {op!r}")
    passed = None if value is None else (value >= target if op == ">=" else value <= target)
    return Figure(name, value, unit, f"{op} {format_value(target, unit)}", passed, note)


def format_value(value: float | None, unit: str) -> str:
    """A value with its unit, at a precision that suits the unit."""
    if value is None:
        return "-"
    if unit == "x":
        return f"{value:.2f}x"
    if unit in ("years/s", "agent-steps/s"):
        return f"{value:,.0f} {unit}"
    if unit in ("s", "GiB", "SE"):
        return f"{value:.2f} {unit}"
    return f"{value:.4g} {unit}".rstrip()


def print_table(title: str, figures: list[Figure]) -> None:
    """The results table: figure, value, goal, PASS/FAIL/info, and a note."""
    rows = [(f.name, format_value(f.value, f.unit), f.goal or "-", f.status, f.note) for f in figures]
    header = ("figure", "value", "goal", "result", "note")
    widths = [max(len(str(row[i])) for row in [header, *rows]) for i in range(4)]
    line = "  ".join("-" * w for w in widths)
    print(f"\n{title}\n{line}")
    for row in [header, None, *rows]:
        if row is None:
            print(line)
            continue
        cells = [str(cell).ljust(widths[i]) for i, cell in enumerate(row[:4])]
        print(("  ".join(cells) + f"  {row[4]}").rstrip())
    print(line)
    failed = [f.name for f in figures if f.passed is False]
    print(
        f"{sum(f.passed is True for f in figures)} passed, {len(failed)} failed"
        + (f": {', '.join(failed)}" if failed else "")
    )


def load_average() -> str:
    """The 1, 5 and 15 minute load averages (runnable processes; the machine has ``os.cpu_count()`` CPUs)."""
    try:
        return ", ".join(f"{x:.2f}" for x in os.getloadavg())
    except OSError:
        return "unknown"


def environment() -> dict[str, Any]:
    """Where the run happened: versions and CPUs, for the JSON record."""
    import numba
    import numpy

    return {
        "python": sys.version.split()[0],
        "numpy": numpy.__version__,
        "numba": numba.__version__,
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "load_average": load_average(),
        "time": time.strftime("%Y-%m-%dT%H:%M:%S%z"),
    }


def write_json(path: Path, suite: str, settings: dict[str, Any], figures: list[Figure], raw: dict[str, Any]) -> None:
    """Write a run's settings, figures and raw timings as a JSON document."""
    document = {
        "suite": suite,
        "environment": environment(),
        "settings": settings,
        "figures": [asdict(f) | {"status": f.status} for f in figures],
        "raw": raw,
    }
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2, default=float) + "\n", encoding="utf-8")
