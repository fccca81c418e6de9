"""Years drawn by the real engine with no measures in place: the data of the SAA.

With no measures every drawn event is kept, so the event loss table (ELT) holds every
event of every year with its unmitigated losses. The optimiser re-weights these events
by measure multipliers; it never draws hazards or computes losses itself.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from riskmodel.engine.events import Events
from riskmodel.engine.inputs import KernelInputs
from riskmodel.engine.simulate import simulate
from riskmodel.world import World


@dataclass(frozen=True)
class EventSample:
    """Every event of ``years`` engine years (no measures in place), as the engine's event
    record: indices into the world's lists, money in yen, durations in hours."""

    years: int
    seed: int
    events: Events

    def __len__(self) -> int:
        return len(self.events)


def draw_events(
    world: World,
    years: int,
    seed: int,
    threads: int = 1,
    progress: Callable[[int, int], None] | None = None,
    block_inputs: Callable[[int], KernelInputs] | None = None,
) -> EventSample:
    """Simulate ``years`` years with the engine, no measures in place, and keep every event.

    Why the engine: the SAA must see exactly the hazards, severities and cascades the
    engine produces, so that the portfolio it picks is judged on the same model the rest of
    riskmodel uses (``seed``, ``threads`` and ``block_inputs``, a posterior's parameters
    per block of years, as in :func:`riskmodel.engine.simulate.simulate`).
    """
    result = simulate(world, years=years, seed=seed, threads=threads, elt=True, progress=progress,
                      block_inputs=block_inputs)  # fmt: skip
    return EventSample(years=years, seed=seed, events=result.event_record())
