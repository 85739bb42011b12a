"""The default event sink: every event becomes one structlog log line."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any, assert_never

import structlog

from .._model._events import (
    AnyEvent,
    BootFailed,
    BootReady,
    BootStarted,
    BootStateChanged,
    BootStopped,
    BootStopping,
    BudgetExceeded,
    Event,
    PhaseBlocked,
    PhaseCancelled,
    PhaseCompleted,
    PhaseFailed,
    PhaseRecovered,
    PhaseRestarting,
    PhaseRetrying,
    PhaseSkipped,
    PhaseStarted,
    SignalReceived,
    SinkFailed,
    TeardownCompleted,
    TeardownFailed,
    TeardownStarted,
    narrow,
)
from .._model._status import BootState
from ._tracebacks import logged_exception

_LEVEL_OF_TYPE: dict[type[Event], str] = {}
"""The level of each event type whose level does not depend on its fields, once matched."""


def log_level(event: AnyEvent) -> str:
    """The structlog level of an event: errors for failures, warnings for what degrades or stops."""
    level = _LEVEL_OF_TYPE.get(type(event))
    if level is None:
        level = _matched_level(event)
        if not isinstance(event, BootStateChanged | BootReady):  # these depend on the state
            _LEVEL_OF_TYPE[type(event)] = level
    return level


def _matched_level(event: AnyEvent) -> str:
    match event:
        case PhaseFailed() | TeardownFailed() | BootFailed() | SinkFailed():
            return "error"
        case (
            PhaseRetrying()
            | PhaseRestarting()
            | PhaseBlocked()
            | PhaseCancelled()
            | SignalReceived()
            | BudgetExceeded()
        ):
            return "warning"
        case BootStateChanged(state=state) | BootReady(state=state):
            return "warning" if state is BootState.DEGRADED else "info"
        case (
            BootStarted()
            | PhaseStarted()
            | PhaseCompleted()
            | PhaseRecovered()
            | PhaseSkipped()
            | TeardownStarted()
            | TeardownCompleted()
            | BootStopping()
            | BootStopped()
        ):
            return "info"
        case _:
            assert_never(event)


_LEVELS = {"error": 40, "warning": 30, "info": 20}  # the numbers of the `logging` module

_FIELD_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _field_names(event_type: type[Event]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(event_type)
    if names is None:
        names = _FIELD_NAMES[event_type] = tuple(f.name for f in dataclasses.fields(event_type))
    return names


def event_fields(event: Event) -> dict[str, Any]:
    """An event's fields as plain log values (`at` and durations as milliseconds).

    A failed boot's diagnostic is there whole (`diagnostic=`, schema
    `smd.diagnostic/1`), so a log pipeline alone says what failed, where and
    what to do; a failed phase's exception is its masked traceback, without
    local variables.
    """
    values: dict[str, Any] = {}
    for name in _field_names(type(event)):
        value = getattr(event, name)
        if value is None:
            continue
        if name in ("at", "duration", "delay"):
            values[f"{name}_ms"] = round(value * 1000, 3)
        elif isinstance(value, enum.Enum):
            values[name] = value.value
        elif isinstance(event, BootFailed) and name == "diagnostic":
            # Told by the event, not by the value's class: the diagnostics load only on a failure.
            diagnostic = event.diagnostic
            values.update(
                kind=diagnostic.kind, summary=diagnostic.summary, exit_code=diagnostic.exit_code
            )
            values[name] = diagnostic.to_dict()
        elif isinstance(value, BaseException):
            values[name] = logged_exception(value)
        else:
            values[name] = value
    return values


class StructlogSink:
    """Writes each event through structlog as `phase.started`, `phase.completed duration_ms=...`.

    The library never configures structlog; the application (or the `smd`
    command) does. Credentials are already masked in every event field.

    Failures (a phase, a teardown, the boot, a sink) are errors; retries,
    restarts of a service, blocked or cancelled phases, a DEGRADED boot and a received signal (with
    what it does: `effect=`) are warnings; the rest is info.

    Args:
        logger: a structlog logger; by default `structlog.get_logger("smd")`.
    """

    def __init__(self, logger: Any | None = None) -> None:
        self._logger = logger

    def __repr__(self) -> str:
        return "<StructlogSink>"

    def __call__(self, event: Event) -> None:
        if self._logger is None:
            self._logger = structlog.get_logger("smd")
        level = log_level(narrow(event))
        enabled = getattr(self._logger, "is_enabled_for", None)
        if enabled is not None and not enabled(_LEVELS[level]):
            return  # filtered out: not worth turning into fields
        getattr(self._logger, level)(event.name, **event_fields(event))
