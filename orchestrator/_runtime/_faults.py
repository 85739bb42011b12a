"""Faults that tests inject into named phases: what each one does, and making it happen.

The faults attached to the boots of a context are in `_attached`.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import anyio

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


async def apply_fault(fault: Fault) -> None:
    """Make an injected fault happen."""
    if fault.delay is not None:
        await anyio.sleep(fault.delay)
    if fault.hang:
        await anyio.sleep_forever()
    if fault.error is not None:
        raise fault.error
