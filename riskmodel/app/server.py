"""Serving the dashboard: Solara's own server in this process, bound to localhost unless
told otherwise, so that stopping the command stops the server."""

from __future__ import annotations

import contextlib
import os
import signal
from types import FrameType

from riskmodel.app.levers import SCENARIO_VARIABLE


def _stopped(signum: int, frame: FrameType | None) -> None:
    raise SystemExit(0)


def serve(scenario: str | None, host: str, port: int) -> None:
    """Run the dashboard until Ctrl-C or SIGTERM. Uvicorn shuts the server down gracefully
    on either and then raises the signal again for the handler it found; the handlers
    here turn that into a normal exit (status 0), not a death by signal or a traceback."""
    from solara.__main__ import cli

    if scenario is not None:
        os.environ[SCENARIO_VARIABLE] = scenario
    signal.signal(signal.SIGTERM, _stopped)
    with contextlib.suppress(KeyboardInterrupt):
        cli(["run", "riskmodel.app.page", "--host", host, "--port", str(port), "--production", "--no-open",
             "--log-level", "warning"], standalone_mode=False)  # fmt: skip
