"""Small synthetic scenarios with answers known in closed form.

They go through the same validation as any scenario file, so tests and benchmarks
exercise the real engine: ``compound_poisson`` has one operator per sector, one
unintentional threat with Poisson (or negative binomial) counts and lognormal direct
losses, no users' loss and no cascade, so each sector's annual loss is a compound
Poisson-lognormal sum with mean ``lambda E[X]`` and variance ``lambda E[X^2]``.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import Any

import tomli_w

from riskmodel.schema import Scenario

TOY = "synthetic: a test scenario with a closed-form answer"


def compound_poisson_document(
    n_sectors: int = 10,
    rate: float = 2.0,
    median_share: float = 1e-3,
    sigma: float = 1.0,
    output: float = 1e12,
    dispersion: float = 0.0,
    tail_probability: float = 0.0,
    tail_shape: float = 0.0,
    value_of_time: float = 0.0,
    cascade_share: float = 0.0,
    depth: tuple[float, float] = (1.0, 1.0),
    matrix: list[list[float]] | None = None,
    outputs: list[float] | None = None,
    value_added: list[float] | None = None,
) -> dict[str, Any]:
    """The TOML document (as a dict) of a compound Poisson-lognormal scenario.

    Each sector has one operator with annual revenue ``output``, ``rate`` failures a
    year, and direct losses ``output * R`` with ``R`` lognormal (median
    ``median_share``, log-sd ``sigma``), optionally spliced with a GPD tail. Users' loss
    (``value_of_time`` per user-hour, 1,000 users) and the cascade (``cascade_share`` of a
    Beta(``depth``) inoperability into ``matrix``, zero by default) can be switched on;
    ``outputs`` and ``value_added`` (yen a year, the rest of the economy last) set the
    sectors' outputs (all ``output`` by default) and value added (the outputs by default).
    """
    provenance = {"assumption": TOY}
    sectors = [
        {
            "id": f"sector_{i}",
            "name": f"Sector {i}",
            "local_supply": {"share": 1.0, **provenance},
            "recovery": {"hours": 24.0, **provenance},
            "operators": {"count": 1, **provenance},
            "users": {"total": 1000.0, "service": "continuous", "value_of_time": value_of_time, **provenance},
            "exposure": {"cyber": 1.0, "unintentional": 1.0, "disaster": 0.0, **provenance},
            "it_dependence": {"share": 1.0, **provenance},
            "outage": {"duration": 1.0, **provenance},
            "cascade": {"share": cascade_share, **provenance},
            "acceptability": {
                "fn_constant": 1e6,
                "fn_exponent": 1.0,
                "cvar_level": 0.99,
                "cvar_max": output,
                **provenance,
            },
        }
        for i in range(n_sectors)
    ]
    sectors.append(
        {
            "id": "rest",
            "name": "Rest of the economy",
            "critical": False,
            "io_remainder": True,
            "local_supply": {"share": 1.0, **provenance},
            "recovery": {"hours": 24.0, **provenance},
        }
    )
    n = n_sectors + 1
    return {
        "scenario": {"name": "toy", "title": "Compound Poisson-lognormal test scenario"},
        "horizon": {"start_fiscal_year": 2006, "end_fiscal_year": 2008, "plan_cycle_years": 3, **provenance},
        "regions": [{"id": "only", "name": "Only region", "population": 1e6, **provenance}],
        "sectors": sectors,
        "threats": [
            {
                "id": "fault",
                "name": "Fault",
                "kind": "unintentional",
                "frequency": {"rate": rate, "dispersion": dispersion, **provenance},
                "duration": {"median_hours": 1.0, "sigma": 1.0, **provenance},
                "depth": {"alpha": depth[0], "beta": depth[1], **provenance},
                "direct_loss": {
                    "median_revenue_share": median_share,
                    "sigma": sigma,
                    "tail_probability": tail_probability,
                    "tail_shape": tail_shape,
                    **provenance,
                },
            }
        ],
        "interdependency": {
            "matrix": matrix if matrix is not None else [[0.0] * n for _ in range(n)],
            "output": outputs if outputs is not None else [output] * n,
            **({"value_added": value_added} if value_added is not None else {}),
            **provenance,
        },
    }


def compound_poisson(**kwargs: Any) -> Scenario:
    """The validated :class:`Scenario` of :func:`compound_poisson_document`."""
    return Scenario.model_validate(compound_poisson_document(**kwargs))


def lognormal_moments(median: float, sigma: float) -> tuple[float, float]:
    """E[X] and E[X^2] of a lognormal with the given median and log-sd."""
    mu = math.log(median)
    return math.exp(mu + sigma**2 / 2), math.exp(2 * mu + 2 * sigma**2)


def write_toml(document: dict[str, Any], path: str | Path) -> Path:
    """Write a scenario or portfolio document as a TOML file."""
    path = Path(path)
    path.write_text(tomli_w.dumps(document), encoding="utf-8")
    return path
