"""Faults that tests inject into named phases, and extra sinks they attach (context-local)."""

from __future__ import annotations

import contextvars
from dataclasses import dataclass
from typing import Literal

import anyio

from .._model._events import EventSink

FaultMoment = Literal["start", "teardown"]


@dataclass(frozen=True, slots=True)
class Fault:
    """What happens to a phase instead of (or before) its own code.

    Exactly one of `error`, `delay` or `hang` applies; `delay` runs the phase
    after sleeping, `hang` never returns (until cancelled or timed out).
    `attempts` limits the fault to the first N attempts (None: every attempt).
    """

    phase: str
    during: FaultMoment = "start"
    error: BaseException | None = None
    delay: float | None = None
    hang: bool = False
    attempts: int | None = None


ACTIVE_FAULTS: contextvars.ContextVar[tuple[Fault, ...]] = contextvars.ContextVar(
    "smd_faults", default=()
)
EXTRA_SINKS: contextvars.ContextVar[tuple[EventSink, ...]] = contextvars.ContextVar(
    "smd_extra_sinks", default=()
)


async def apply_fault(fault: Fault) -> None:
    """Make an injected fault happen."""
    if fault.delay is not None:
        await anyio.sleep(fault.delay)
    if fault.hang:
        await anyio.sleep_forever()
    if fault.error is not None:
        raise fault.error
