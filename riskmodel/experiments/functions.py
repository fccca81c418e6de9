"""Plain Python functions as models, for the ``function`` run kind.

A spec with ``kind = "function"`` and ``function = "module:name"`` runs
``name(params, seed) -> {outcome: float}`` at every design point, where ``params`` maps
each varied path to its value; everything else (designs, seeds, store, analysis) is as
for the model's own kinds. That lets the runner be checked against functions with known
answers (the Ishigami function's Sobol indices), and lets anyone batch a model of their
own. The two below are that check and a small noisy model used by the tests.
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np


def ishigami(params: dict[str, Any], seed: int) -> dict[str, float]:
    """The Ishigami function of ``x1``, ``x2``, ``x3`` (SALib's, a = 7, b = 0.1): ``y``; and
    ``y_noisy``, the same plus standard normal noise drawn from ``seed``."""
    from SALib.test_functions import Ishigami

    y = float(Ishigami.evaluate(np.array([[params["x1"], params["x2"], params["x3"]]]))[0])
    return {"y": y, "y_noisy": y + float(np.random.default_rng(seed).standard_normal())}


def noisy_line(params: dict[str, Any], seed: int) -> dict[str, float]:
    """``y = slope * x + noise`` with the noise drawn from ``seed``. It raises for a
    negative ``x`` (a design point that fails) and sleeps ``sleep`` seconds first (a run
    that takes time, to kill a batch in the middle of)."""
    x = float(params.get("x", 0.0))
    if x < 0:
        raise ValueError(f"x must not be negative, got {x}")
    time.sleep(float(params.get("sleep", 0.0)))
    noise = float(np.random.default_rng(seed).standard_normal())
    return {"y": float(params.get("slope", 1.0)) * x + noise, "noise": noise}
