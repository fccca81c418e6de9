"""Serving the dashboard: Solara's own server in this process, bound to localhost unless
told otherwise, so that stopping the command stops the server; no telemetry and no
version check (the dashboard makes no network request of its own)."""

from __future__ import annotations

import contextlib
import os
import signal
import warnings
from types import FrameType


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(scenario: str | None, host: str, port: int) -> None:
    """Run the dashboard until Ctrl-C or SIGTERM. Uvicorn shuts the server down gracefully
    on either and then raises the signal again for the handler it found; the handlers
    here turn that into a normal exit (status 0), not a death by signal or a traceback."""
    # Solara's check of the rules of hooks flags a line of Mesa's SolaraViz, not of this package
    warnings.filterwarnings("ignore", message=r"(?s).*found despite early return", category=UserWarning)
    os.environ.setdefault("SOLARA_TELEMETRY_MIXPANEL_ENABLE", "False")  # a local dashboard reports to no one
    from solara.__main__ import cli

    from riskmodel.app.levers import SCENARIO_VARIABLE

    if scenario is not None:
        os.environ[SCENARIO_VARIABLE] = scenario
    signal.signal(signal.SIGTERM, _stopped)
    with contextlib.suppress(KeyboardInterrupt):
        cli(["run", "riskmodel.app.page", "--host", host, "--port", str(port), "--production", "--no-open",
             "--no-check-version", "--log-level", "warning"], standalone_mode=False)  # fmt: skip
