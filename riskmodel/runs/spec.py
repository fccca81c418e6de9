"""``RunSpec``: what to run, as plain data that can travel and be stored beside its results.

A spec names the kind of run (``simulate``, ``abm`` or ``optimize``), the scenario (a file
or a packaged name; ``None`` for the packaged default), overrides of any scenario field
(:mod:`riskmodel.overrides`), a portfolio file, the root seed, the size (simulated years,
fiscal years or SAA years) and the kind's own options. It is frozen and picklable, and
``to_dict`` / ``from_dict`` give a stable JSON-safe form, so a spec can be sent to another
process or machine and reproduce the same bytes there.

Options are checked here, before any work starts; a bad one raises
:class:`~riskmodel.errors.InputError` with the file ``(run spec)`` and the field path
(``options.budget``), never a command-line flag: the command line maps its flags onto
these fields.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from riskmodel.errors import InputError
from riskmodel.overrides import Override, overrides_from
from riskmodel.schema import MAX_FISCAL_YEARS

WHERE = "(run spec)"
KINDS = ("simulate", "abm", "optimize")
MAX_YEARS = 10_000_000  # simulated years in one run (streamed: memory does not grow with them)
# MAX_FISCAL_YEARS (200): fiscal years of an agent-model run, and of a scenario's horizon
MAX_REPLICATIONS = 100  # replications of an agent-model run; batches of the optimality-gap estimate
MAX_FRONTIER_POINTS = 100  # points of the cost-risk frontier (a solve each)
MAX_THREADS = 64
MAX_SAA_YEARS = 100_000  # SAA years of an optimisation (the instance is held in memory)
DEFAULT_SIZE = {"simulate": 10_000, "abm": None, "optimize": 1000}  # abm: the scenario's horizon
SIZE_LIMIT = {"simulate": MAX_YEARS, "abm": MAX_FISCAL_YEARS, "optimize": MAX_SAA_YEARS}

EXECUTION_OPTIONS = ("threads",)  # options that decide how a run is computed, never what it gives

# Each kind's options: name -> (default, check). A check returns what was expected, or None.
Check = Any


def _whole(low: int, high: int | None = None):
    def check(value: Any) -> str | None:
        ok = isinstance(value, int) and not isinstance(value, bool) and value >= low and (high is None or value <= high)
        return None if ok else f"a whole number of at least {low}" + (f" and at most {high:,}" if high else "")

    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else "true or false"


def _number(optional: bool):
    def check(value: Any) -> str | None:
        if optional and value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int | float):
            return "a number" + (" or none" if optional else "")
        return None

    return check


def _integer(value: Any) -> str | None:
    return None if isinstance(value, int) and not isinstance(value, bool) else "a whole number"


def _one_of(*choices: Any):
    def check(value: Any) -> str | None:
        return None if value in choices else f"one of {', '.join(str(c) for c in choices)}"

    return check


def _optional_text(value: Any) -> str | None:
    return None if value is None or (isinstance(value, str) and value) else "a name, or none"


OPTIONS: dict[str, dict[str, tuple[Any, Check]]] = {
    "simulate": {
        "threads": (1, _whole(1, MAX_THREADS)),
        "elt": (False, _boolean),
        "posterior": (None, _optional_text),  # a posterior draws file: each block of years takes one draw
    },
    "abm": {
        "replications": (1, _whole(1, MAX_REPLICATIONS)),
        "posterior": (None, _optional_text),  # a posterior draws file: replication r takes draw r mod D
    },
    # the optimiser checks its own ranges (riskmodel.optimize.settings); here only the types
    "optimize": {
        "mode": ("society", _one_of("sector", "partial", "society")),
        "sector": (None, _optional_text),
        "budget": (None, _number(optional=True)),
        "cvar_level": (None, _number(optional=True)),
        "cvar_max": (None, _number(optional=True)),
        "fn": (True, _boolean),
        "solver": ("highs", _one_of("highs", "cbc")),
        "gap": (1e-4, _number(optional=False)),
        "time_limit": (None, _number(optional=True)),
        "eval_years": (10_000, _integer),
        "replications": (5, _integer),
        "frontier_points": (8, _integer),
        "threads": (1, _integer),
        "instruments": (False, _boolean),
        "posterior": (None, _optional_text),  # a posterior draws file: the SAA's blocks of years take its draws
    },
}


@dataclass(frozen=True)
class RunSpec:
    """One run. ``size``: simulated years (simulate), fiscal years (abm; ``None``: the
    scenario's horizon) or SAA years (optimize); ``None`` takes the kind's default.
    ``options`` holds the kind's own options (see :data:`OPTIONS`), defaults filled in."""

    kind: str
    scenario: str | None = None
    overrides: tuple[Override, ...] = ()
    portfolio: str | None = None
    seed: int = 0
    size: int | None = None
    options: tuple[tuple[str, Any], ...] = field(default=())

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise InputError(WHERE, "kind", self.kind, f"one of {', '.join(KINDS)}")
        for name, value in (("scenario", self.scenario), ("portfolio", self.portfolio)):
            if value is not None and (not isinstance(value, str) or not value):
                raise InputError(WHERE, name, value, "a file path or name (text), or none")
        if isinstance(self.seed, bool) or not isinstance(self.seed, int) or not 0 <= self.seed < 2**63:
            raise InputError(WHERE, "seed", self.seed, "a whole number from 0 to 2**63 - 1")
        size = self.size if self.size is not None else DEFAULT_SIZE[self.kind]
        if size is not None:
            expected = _whole(1, SIZE_LIMIT[self.kind])(size)
            if expected:
                raise InputError(WHERE, "size", size, expected)
        object.__setattr__(self, "size", size)
        object.__setattr__(self, "overrides", tuple(overrides_from(self.overrides)))
        declared = OPTIONS[self.kind]
        given = dict(self.options)
        for name, value in given.items():
            if name not in declared:
                known = ", ".join(declared) or "none"
                raise InputError(WHERE, f"options.{name}", value, f"an option of {self.kind} ({known})")
            expected = declared[name][1](value)
            if expected:
                raise InputError(WHERE, f"options.{name}", value, expected)
        filled = {name: given.get(name, default) for name, (default, _) in declared.items()}
        object.__setattr__(self, "options", tuple(filled.items()))

    def option(self, name: str) -> Any:
        """The value of one of the kind's options."""
        return dict(self.options)[name]

    def to_dict(self, results_only: bool = False) -> dict[str, Any]:
        """The JSON-safe form; ``RunSpec.from_dict(spec.to_dict()) == spec``. With
        ``results_only`` the options that do not change results (threads) are left out."""
        options = {k: v for k, v in self.options if not (results_only and k in EXECUTION_OPTIONS)}
        return {
            "kind": self.kind,
            "scenario": self.scenario,
            "overrides": {o.path: o.to_json() for o in self.overrides},
            "portfolio": self.portfolio,
            "seed": self.seed,
            "size": self.size,
            "options": options,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSpec:
        """A spec from its JSON-safe form (unknown keys are errors)."""
        if not isinstance(data, Mapping):
            raise InputError(WHERE, "", type(data).__name__, "a table of kind, scenario, overrides, ...")
        known = {"kind", "scenario", "overrides", "portfolio", "seed", "size", "options"}
        for key in data:
            if key not in known:
                raise InputError(WHERE, key, key, f"one of {', '.join(sorted(known))}")
        if "kind" not in data:
            raise InputError(WHERE, "kind", "(missing)", f"one of {', '.join(KINDS)}")
        for key in ("overrides", "options"):
            if not isinstance(data.get(key, {}), Mapping):
                raise InputError(WHERE, key, data[key], "a table")
        return cls(
            kind=data["kind"],
            scenario=data.get("scenario"),
            overrides=tuple(overrides_from(data.get("overrides", {}))),
            portfolio=data.get("portfolio"),
            seed=data.get("seed", 0),
            size=data.get("size"),
            options=tuple(dict(data.get("options", {})).items()),
        )
