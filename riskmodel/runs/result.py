"""``RunResult``: what a run gives back, the same shape for every kind.

* ``outcomes``: named scalars (``aal.total``, ``loss.finance.own``, ``anxious_share``),
  each declared once per kind as an :class:`Outcome` with its unit and description, and
  expanded over sectors and loss layers where it has them;
* ``tables``: tidy pandas DataFrames (one value per cell), built when first asked for;
* ``provenance``: the spec, the scenario's name and content hash, the package version,
  when the run started and how long it took;
* ``detail``: the kind's own result object (``SimulationResult``, the Mesa model,
  ``OptimizationResult``) for whoever needs more than the tables.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import pandas as pd

from riskmodel.runs.spec import RunSpec

Progress = Callable[[str, int, int], None]
"""The one progress protocol: ``progress(stage, done, total)``, called as work advances."""

TOTAL = "total"


@dataclass(frozen=True)
class Outcome:
    """A declared scalar outcome. ``by`` names its dimensions: ``sector`` (each critical
    sector, and ``total``) and ``layer`` (the loss layers); its values are named
    ``name``, ``name.<sector>`` or ``name.<sector>.<layer>``."""

    name: str
    unit: str
    description: str
    by: tuple[str, ...] = ()

    def keys(self, sectors: list[str], layers: tuple[str, ...]) -> list[tuple[str, str | None, str | None]]:
        """``(key, sector, layer)`` of every value of this outcome."""
        if not self.by:
            return [(self.name, None, None)]
        rows = []
        for sector in [*sectors, TOTAL] if "sector" in self.by else [None]:
            for layer in layers if "layer" in self.by else (None,):
                key = ".".join(part for part in (self.name, sector, layer) if part is not None)
                rows.append((key, sector, layer))
        return rows


class LazyTables(Mapping[str, pd.DataFrame]):
    """Named tables, each built by its function the first time it is read."""

    def __init__(self, makers: Mapping[str, Callable[[], pd.DataFrame]]):
        self._makers = dict(makers)
        self._built: dict[str, pd.DataFrame] = {}

    def __getitem__(self, name: str) -> pd.DataFrame:
        if name not in self._built:
            self._built[name] = self._makers[name]()
        return self._built[name]

    def __iter__(self) -> Iterator[str]:
        return iter(self._makers)

    def __len__(self) -> int:
        return len(self._makers)


@dataclass
class RunResult:
    """A finished run: declared outcomes, tidy tables, provenance and the kind's own result."""

    spec: RunSpec
    outcomes: dict[str, float]
    tables: Mapping[str, pd.DataFrame]
    provenance: dict[str, Any]
    declared: tuple[Outcome, ...] = field(repr=False, default=())
    detail: Any = field(repr=False, default=None)

    @property
    def kind(self) -> str:
        return self.spec.kind

    def outcome_frame(self) -> pd.DataFrame:
        """The outcomes as a tidy table: key, outcome, sector, layer, value, unit."""
        declared = {outcome.name: outcome for outcome in self.declared}
        rows = []
        for key, value in self.outcomes.items():
            name, *parts = key.split(".")
            outcome = declared[name]
            labels = dict(zip(outcome.by, parts, strict=True))
            rows.append((key, name, labels.get("sector"), labels.get("layer"), value, outcome.unit))
        return pd.DataFrame(rows, columns=["key", "outcome", "sector", "layer", "value", "unit"])


def expand(declared: tuple[Outcome, ...], sectors: list[str], layers: tuple[str, ...],
           value: Callable[[str, str | None, str | None], float]) -> dict[str, float]:  # fmt: skip
    """Every value of the declared outcomes: ``value(name, sector, layer)`` for each key."""
    return {
        key: float(value(outcome.name, sector, layer))
        for outcome in declared
        for key, sector, layer in outcome.keys(sectors, layers)
    }
