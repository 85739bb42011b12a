"""The default event sink: every event becomes one structlog log line."""

from __future__ import annotations

import dataclasses
import enum
from typing import Any

import structlog

from ._diagnostic import Diagnostic
from ._events import (
    BootFailed,
    Event,
    PhaseBlocked,
    PhaseCancelled,
    PhaseFailed,
    PhaseRetrying,
    TeardownFailed,
)

_LEVELS: dict[type[Event], str] = {
    PhaseRetrying: "warning",
    PhaseBlocked: "warning",
    PhaseCancelled: "warning",
    PhaseFailed: "error",
    TeardownFailed: "error",
    BootFailed: "error",
}


_FIELD_NAMES: dict[type[Event], tuple[str, ...]] = {}


def _field_names(event_type: type[Event]) -> tuple[str, ...]:
    names = _FIELD_NAMES.get(event_type)
    if names is None:
        names = _FIELD_NAMES[event_type] = tuple(f.name for f in dataclasses.fields(event_type))
    return names


def event_fields(event: Event) -> dict[str, Any]:
    """An event's fields as plain log values (`at` and durations as milliseconds)."""
    values: dict[str, Any] = {}
    for name in _field_names(type(event)):
        value = getattr(event, name)
        if value is None:
            continue
        if name in ("at", "duration", "delay"):
            values[f"{name}_ms"] = round(value * 1000, 3)
        elif isinstance(value, enum.Enum):
            values[name] = value.value
        elif isinstance(value, Diagnostic):
            values.update(kind=value.kind, summary=value.summary, exit_code=value.exit_code)
        else:
            values[name] = value
    return values


class StructlogSink:
    """Writes each event through structlog as `phase.started`, `phase.completed duration_ms=...`.

    The library never configures structlog; the application (or the `smd`
    command) does. Credentials are already masked in every event field.

    Args:
        logger: a structlog logger; by default `structlog.get_logger("smd")`.
    """

    def __init__(self, logger: Any | None = None) -> None:
        self._logger = logger

    def __call__(self, event: Event) -> None:
        if self._logger is None:
            self._logger = structlog.get_logger("smd")
        level = _LEVELS.get(type(event), "info")
        getattr(self._logger, level)(event.name, **event_fields(event))
