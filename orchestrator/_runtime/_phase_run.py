"""The mutable state of one phase during one boot, and how its errors are recorded."""

from __future__ import annotations

import threading
import traceback
from typing import TYPE_CHECKING

import anyio

from .._model._describe import describe_exception
from .._model._phase import PhaseSpec
from .._model._report import (
    AttemptOutcome,
    AttemptRecord,
    PhaseRecord,
    RetryPause,
    new_attempt_record,
    new_phase_record,
)
from .._model._status import PhaseStatus, TeardownOutcome

if TYPE_CHECKING:
    from ._invoke import Teardown


class PhaseRun:
    """The mutable state of one phase during one boot."""

    __slots__ = (
        "abandoned",
        "attempt_log",
        "attempts",
        "end",
        "error",
        "exception",
        "pauses",
        "position",
        "spec",
        "start",
        "status",
        "stuck",
        "teardown",
        "teardown_end",
        "teardown_error",
        "teardown_exception",
        "teardown_outcome",
        "teardown_start",
    )

    def __init__(self, spec: PhaseSpec, position: int) -> None:
        self.spec = spec
        self.position = position
        self.status = PhaseStatus.PENDING
        self.attempts = 0
        self.start: float | None = None
        self.end: float | None = None
        self.error: dict[str, str] | None = None
        self.exception: BaseException | None = None
        self.teardown: Teardown | None = None
        self.teardown_outcome = TeardownOutcome.NOT_NEEDED
        self.teardown_start: float | None = None
        self.teardown_end: float | None = None
        self.teardown_error: dict[str, str] | None = None
        self.teardown_exception: BaseException | None = None
        # Tuples, grown by concatenation: a phase has few attempts, and most phases one.
        self.attempt_log: tuple[AttemptRecord, ...] = ()
        self.pauses: tuple[RetryPause, ...] = ()
        self.stuck: traceback.StackSummary | None = None
        self.abandoned: tuple[threading.Thread, ...] = ()

    def log_attempt(
        self,
        start: float,
        end: float,
        outcome: AttemptOutcome,
        error: BaseException | None = None,
    ) -> None:
        """Record how the current attempt ended ("completed", "failed", "timed_out"...).

        A failed or timed-out attempt keeps its error, masked, so each retry's cause is told.
        """
        text = None if error is None else describe_exception(error)
        attempt = new_attempt_record(
            number=self.attempts, start=start, end=end, outcome=outcome, error=text
        )
        self.attempt_log += (attempt,)

    def log_pause(self, after_attempt: int, start: float, end: float) -> None:
        """Record the retry pause that followed `after_attempt`."""
        self.pauses += (RetryPause(after_attempt, start, end),)

    def record(self) -> PhaseRecord:
        """A frozen snapshot for the report."""
        spec = self.spec
        return new_phase_record(
            name=spec.name,
            kind=spec.kind,
            status=self.status,
            attempts=self.attempts,
            start=self.start,
            end=self.end,
            error=self.error,
            teardown=self.teardown_outcome,
            depends_on=spec.waits_for,
            critical=spec.critical,
            teardown_start=self.teardown_start,
            teardown_end=self.teardown_end,
            teardown_error=self.teardown_error,
            attempt_log=self.attempt_log,
            retry_pauses=self.pauses,
            restarts=(),
            recovered_at=None,
            budget=spec.budget,
        )


def error_info(exc: BaseException) -> dict[str, str]:
    """The `error` field of a record: exception type and masked message."""
    text = describe_exception(exc)
    name = type(exc).__qualname__
    message = text[len(name) + 2 :] if text.startswith(name + ": ") else ""
    return {"type": name, "message": message}


def caused_by_cancellation(error: BaseException) -> bool:
    """Whether `error` was raised while handling a cancellation (not a failure of its own)."""
    cancelled = anyio.get_cancelled_exc_class()
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen:
        if isinstance(current, cancelled):
            return True
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return False
