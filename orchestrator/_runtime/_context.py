"""What a phase may ask about itself while it runs: the `ctx` parameter."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import anyio
import structlog

from .._model._masking import MaskingLogger


@dataclass(frozen=True, slots=True)
class PhaseContext:
    """Passed to a phase that declares a `ctx` parameter.

    Attributes:
        boot: the boot's name.
        phase: this phase's name.
        attempt: 1 for the first attempt, 2 for the first retry, ...
        deadline: the anyio clock time at which this attempt is cancelled, or None.
        log: a structlog logger bound to `boot` and `phase`.
    """

    boot: str
    phase: str
    attempt: int
    deadline: float | None
    log: Any
    _on_started: Callable[[Any], None] | None = field(default=None, repr=False, compare=False)

    @classmethod
    def create(cls, boot: str, phase: str, attempt: int, deadline: float | None) -> PhaseContext:
        """A context with a logger bound to this boot and phase (lazily configured)."""
        log = structlog.get_logger("smd.phase").bind(boot=boot, phase=phase, attempt=attempt)
        return cls(boot, phase, attempt, deadline, MaskingLogger(log))

    def started(self, value: Any = None) -> None:
        """A service says it is serving: `value` is what its dependents receive.

        Called once per run of the service; after a restart it is called again
        (dependents keep the value of the first start).

        Raises:
            RuntimeError: this phase is not a service (a phase returns or yields its value).
        """
        if self._on_started is None:
            raise RuntimeError(
                f"ctx.started() is for services; phase '{self.phase}' returns or yields "
                "its value instead (declare it with @boot.service to supervise it)"
            )
        self._on_started(value)

    def remaining(self) -> float:
        """Seconds until this attempt's deadline (infinity when there is none)."""
        if self.deadline is None:
            return math.inf
        return max(0.0, self.deadline - anyio.current_time())
