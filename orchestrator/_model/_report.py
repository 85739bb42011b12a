"""What happened in one boot, phase by phase, in plan order."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from ._overrides import Override
from ._slots import slot_constructor
from ._status import BootState, PhaseStatus, TeardownOutcome

SCHEMA = "smd.report/1"
AttemptOutcome = Literal["completed", "failed", "timed_out", "cancelled"]
ATTEMPT_OUTCOMES: frozenset[str] = frozenset(get_args(AttemptOutcome))
"""How one attempt of a phase can end."""


@dataclass(frozen=True, slots=True)
class AttemptRecord:
    """One attempt of a phase, so a timeline can draw each try apart.

    Attributes:
        number: 1 for the first attempt, then 2, 3...
        start: seconds since the boot started.
        end: seconds since the boot started, None if the attempt never ended
            (a thread abandoned at its deadline is recorded at its deadline).
        outcome: "completed", "failed", "timed_out" or "cancelled".
        error: why it failed or timed out (`Type: message`, masked); None when it
            completed or was cancelled, and in reports written before it existed.
    """

    number: int
    start: float
    end: float | None
    outcome: str
    error: str | None = None

    def __post_init__(self) -> None:
        if self.outcome not in ATTEMPT_OUTCOMES:
            known = ", ".join(sorted(ATTEMPT_OUTCOMES))
            raise ValueError(f"attempt outcome {self.outcome!r} is not one of {known}")

    @property
    def duration(self) -> float | None:
        """Seconds the attempt took, or None if it never ended."""
        return None if self.end is None else self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """The attempt as plain data."""
        return {
            "end": self.end,
            "error": self.error,
            "number": self.number,
            "outcome": self.outcome,
            "start": self.start,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AttemptRecord:
        """Read back what `to_dict` wrote."""
        return cls(
            number=data["number"],
            start=data["start"],
            end=data["end"],
            outcome=data["outcome"],
            error=data.get("error"),
        )


@dataclass(frozen=True, slots=True)
class RetryPause:
    """The delay a `Retry` waited between attempt `after_attempt` and the next one.

    Attributes:
        after_attempt: the number of the attempt that failed before the pause.
        start: seconds since the boot started.
        end: seconds since the boot started, None if the pause was cut short
            and never recorded an end.
    """

    after_attempt: int
    start: float
    end: float | None

    @property
    def duration(self) -> float | None:
        """Seconds the pause lasted, or None if it never ended."""
        return None if self.end is None else self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """The pause as plain data."""
        return {"after_attempt": self.after_attempt, "end": self.end, "start": self.start}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RetryPause:
        """Read back what `to_dict` wrote."""
        return cls(after_attempt=data["after_attempt"], start=data["start"], end=data["end"])


@dataclass(frozen=True, slots=True)
class RestartRecord:
    """One restart of a service in service: when it stopped, why, and the pause before it ran.

    Attributes:
        number: the restart's number since the service's budget was last whole (1, 2...).
        at: seconds since the boot started, when it stopped.
        delay: seconds it waited before running again.
        error: why it stopped (`Type: message`, masked), or that it returned.
    """

    number: int
    at: float
    delay: float
    error: str

    def to_dict(self) -> dict[str, Any]:
        """The restart as plain data."""
        return {"at": self.at, "delay": self.delay, "error": self.error, "number": self.number}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RestartRecord:
        """Read back what `to_dict` wrote."""
        return cls(number=data["number"], at=data["at"], delay=data["delay"], error=data["error"])


@dataclass(frozen=True, slots=True)
class DegradedInterval:
    """A span of time in which the boot was DEGRADED.

    Attributes:
        start: seconds since the boot started, when it became DEGRADED.
        end: when it left DEGRADED (READY again, or the stop began); None while it lasts.
        reason: what degraded it.
    """

    start: float
    end: float | None
    reason: str

    @property
    def duration(self) -> float | None:
        """Seconds it lasted, or None while it lasts."""
        return None if self.end is None else self.end - self.start

    def to_dict(self) -> dict[str, Any]:
        """The interval as plain data."""
        return {"end": self.end, "reason": self.reason, "start": self.start}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> DegradedInterval:
        """Read back what `to_dict` wrote."""
        return cls(start=data["start"], end=data["end"], reason=data["reason"])


@dataclass(frozen=True, slots=True)
class PhaseRecord:
    """One phase's outcome.

    `start`, `end` and the teardown times are seconds since the boot started,
    None when that part never ran. `depends_on` names every phase this one
    waited for (its dependencies and its `after=` phases), so a report alone is
    enough to compute the critical chain. `attempt_log` lists every attempt and
    `retry_pauses` every delay between two of them (both empty in reports
    written before they existed). A service lists its `restarts`; a phase that
    failed and was recovered in service says when (`recovered_at`). `budget`
    is the seconds its declaration allowed it (`budget=`), None when none.
    """

    name: str
    kind: str
    status: PhaseStatus
    attempts: int = 0
    start: float | None = None
    end: float | None = None
    error: dict[str, str] | None = None
    teardown: TeardownOutcome = TeardownOutcome.NOT_NEEDED
    depends_on: tuple[str, ...] = ()
    critical: bool = True
    teardown_start: float | None = None
    teardown_end: float | None = None
    teardown_error: dict[str, str] | None = None
    attempt_log: tuple[AttemptRecord, ...] = ()
    retry_pauses: tuple[RetryPause, ...] = ()
    restarts: tuple[RestartRecord, ...] = ()
    recovered_at: float | None = None
    budget: float | None = None

    @property
    def duration(self) -> float | None:
        """Seconds from the first attempt's start to the end, or None if it never ran."""
        if self.start is None or self.end is None:
            return None
        return self.end - self.start

    @property
    def teardown_duration(self) -> float | None:
        """Seconds its teardown took, or None if none ran."""
        if self.teardown_start is None or self.teardown_end is None:
            return None
        return self.teardown_end - self.teardown_start

    def to_dict(self) -> dict[str, Any]:
        """The record as plain data."""
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "attempts": self.attempts,
            "start": self.start,
            "end": self.end,
            "duration": self.duration,
            "error": self.error,
            "teardown": self.teardown.value,
            "depends_on": list(self.depends_on),
            "critical": self.critical,
            "teardown_start": self.teardown_start,
            "teardown_end": self.teardown_end,
            "teardown_duration": self.teardown_duration,
            "teardown_error": self.teardown_error,
            "attempt_log": [attempt.to_dict() for attempt in self.attempt_log],
            "retry_pauses": [pause.to_dict() for pause in self.retry_pauses],
            "restarts": [restart.to_dict() for restart in self.restarts],
            "recovered_at": self.recovered_at,
            "budget": self.budget,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhaseRecord:
        """Read back what `to_dict` wrote."""
        return cls(
            name=data["name"],
            kind=data["kind"],
            status=PhaseStatus(data["status"]),
            attempts=data["attempts"],
            start=data["start"],
            end=data["end"],
            error=data["error"],
            teardown=TeardownOutcome(data["teardown"]),
            depends_on=tuple(data.get("depends_on", ())),
            critical=data.get("critical", True),
            teardown_start=data.get("teardown_start"),
            teardown_end=data.get("teardown_end"),
            teardown_error=data.get("teardown_error"),
            attempt_log=tuple(
                AttemptRecord.from_dict(item) for item in data.get("attempt_log") or ()
            ),
            retry_pauses=tuple(
                RetryPause.from_dict(item) for item in data.get("retry_pauses") or ()
            ),
            restarts=tuple(RestartRecord.from_dict(item) for item in data.get("restarts") or ()),
            recovered_at=data.get("recovered_at"),
            budget=data.get("budget"),
        )


new_phase_record = slot_constructor(PhaseRecord)
"""`PhaseRecord(...)` with every field given by name, at a fraction of its cost."""

new_attempt_record = slot_constructor(AttemptRecord)
"""`AttemptRecord(...)` with every field given by name, for an outcome the engine knows."""


@dataclass(frozen=True, slots=True)
class BootReport:
    """The outcome of one boot: its state and one `PhaseRecord` per phase, in plan order."""

    boot: str
    fingerprint: str
    state: BootState
    started_at: str
    duration: float
    phases: tuple[PhaseRecord, ...] = field(default=())
    diagnostic: dict[str, Any] | None = None
    outcome: BootState | None = None
    """What the boot reached (READY, DEGRADED or FAILED), kept after `state` moves on to STOPPED."""
    stopped_at: float | None = None
    """When the stop began, seconds since the boot started (None: not stopped, or not recorded)."""
    stop_duration: float | None = None
    """Seconds the stop took, from its beginning to its last teardown's end (None: unknown)."""
    degraded: tuple[DegradedInterval, ...] = ()
    """Every span in which the boot was DEGRADED, in order (empty: never, or not recorded)."""
    overrides: tuple[Override, ...] = ()
    """Phases overridden for a test or a local run: this was not the real boot."""
    left_out: tuple[str, ...] = ()
    """Declared phases not started because only overridden phases waited for them."""
    import_duration: float | None = None
    """Seconds from the process start to the target imported, before the boot started
    (`systemd-analyze time`'s first line; None when smd did not import the target)."""
    budget: float | None = None
    """Seconds the boot's declaration allowed it (`Boot(name, budget=...)`), None when none."""

    def __getitem__(self, name: str) -> PhaseRecord:
        for record in self.phases:
            if record.name == name:
                return record
        raise KeyError(name)

    def by_status(self, *statuses: PhaseStatus) -> tuple[str, ...]:
        """Names of the phases in any of `statuses`, in plan order."""
        return tuple(record.name for record in self.phases if record.status in statuses)

    def to_dict(self) -> dict[str, Any]:
        """The report as plain data, schema `smd.report/1`."""
        return {
            "schema": SCHEMA,
            "boot": self.boot,
            "fingerprint": self.fingerprint,
            "state": self.state.value,
            "started_at": self.started_at,
            "duration": self.duration,
            "phases": [record.to_dict() for record in self.phases],
            "diagnostic": self.diagnostic,
            "outcome": (self.outcome or self.state).value,
            "stopped_at": self.stopped_at,
            "stop_duration": self.stop_duration,
            "degraded": [interval.to_dict() for interval in self.degraded],
            "overrides": [override.to_dict() for override in self.overrides],
            "left_out": list(self.left_out),
            "import_duration": self.import_duration,
            "budget": self.budget,
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The report as JSON with sorted keys."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BootReport:
        """Read back what `to_dict` wrote.

        Raises:
            ValueError: the data is not an `smd.report/1` document.
        """
        if not isinstance(data, Mapping) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, Mapping) else type(data).__name__
            raise ValueError(f"not a {SCHEMA} document (schema={found!r})")
        try:
            return cls(
                boot=data["boot"],
                fingerprint=data["fingerprint"],
                state=BootState(data["state"]),
                started_at=data["started_at"],
                duration=data["duration"],
                phases=tuple(PhaseRecord.from_dict(item) for item in data["phases"]),
                diagnostic=data.get("diagnostic"),
                outcome=BootState(data.get("outcome", data["state"])),
                stopped_at=data.get("stopped_at"),
                stop_duration=data.get("stop_duration"),
                degraded=tuple(
                    DegradedInterval.from_dict(item) for item in data.get("degraded") or ()
                ),
                overrides=tuple(Override.from_dict(item) for item in data.get("overrides") or ()),
                left_out=tuple(data.get("left_out") or ()),
                import_duration=data.get("import_duration"),
                budget=data.get("budget"),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"malformed {SCHEMA} document: {exc!r}") from exc

    @classmethod
    def from_json(cls, text: str) -> BootReport:
        """Read back what `to_json` wrote."""
        return cls.from_dict(json.loads(text))
