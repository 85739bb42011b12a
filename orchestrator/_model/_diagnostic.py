"""The one structured explanation a user gets for every failure."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._frames import Frame
from ._masking import mask_text

SCHEMA = "smd.diagnostic/1"

DiagnosticKind = Literal[
    "invalid_graph",
    "invalid_target",
    "phase_failed",
    "gate_failed",
    "timed_out",
    "interrupted",
    "internal_error",
]


@dataclass(frozen=True, slots=True)
class KindInfo:
    """What a diagnostic kind means to the process: its exit code and its block's titles.

    `in_service_title` heads the block when the failure came after the boot was in
    service (READY or DEGRADED): "failed to start" would be wrong there.
    """

    exit_code: int
    title: str
    in_service_title: str = ""

    def title_for(self, *, in_service: bool) -> str:
        """The block's title, for a failure during the start or in service."""
        return (self.in_service_title or self.title) if in_service else self.title


KINDS: Mapping[str, KindInfo] = {
    # EX_USAGE: a TARGET, report or file smd cannot load, read or write; a bad value
    "invalid_target": KindInfo(64, "SMD COULD NOT LOAD ITS INPUT"),
    "invalid_graph": KindInfo(65, "BOOT GRAPH IS INVALID"),  # EX_DATAERR
    # EX_UNAVAILABLE
    "phase_failed": KindInfo(69, "BOOT FAILED TO START", "BOOT FAILED IN SERVICE"),
    "internal_error": KindInfo(70, "INTERNAL ERROR IN SMD"),  # EX_SOFTWARE
    # EX_TEMPFAIL
    "timed_out": KindInfo(75, "BOOT TIMED OUT", "PHASE TIMED OUT IN SERVICE"),
    # EX_CONFIG
    "gate_failed": KindInfo(78, "BOOT REFUSED BY A GATE", "GATE STOPPED THE BOOT IN SERVICE"),
    "interrupted": KindInfo(130, "BOOT INTERRUPTED"),  # 128 + SIGINT; SIGTERM gives 143
}
"""The one table of diagnostic kinds; a test holds it equal to `DiagnosticKind`."""

EXIT_CODES: Mapping[str, int] = {kind: info.exit_code for kind, info in KINDS.items()}


def exit_code_for(kind: str, *, signal_number: int | None = None) -> int:
    """The process exit code for a diagnostic kind (128 + signal for interruptions)."""
    if kind == "interrupted" and signal_number is not None:
        return 128 + signal_number
    return KINDS[kind].exit_code


def failure_kind(*, timed_out: bool, refused: bool) -> DiagnosticKind:
    """The kind of a phase's own failure, for the engine and the simulator alike."""
    if timed_out:
        return "timed_out"
    return "gate_failed" if refused else "phase_failed"


@dataclass(frozen=True, slots=True)
class Diagnostic:
    """What went wrong, where, and what to do about it.

    `str(diagnostic)` is the human block; `to_dict()` / `to_json()` is the
    schema `smd.diagnostic/1`. When the cause is an exception, `location` is
    the innermost frame of the user's own code that raised it (for a timeout,
    where the phase was waiting when cancelled) and `traceback` the user's
    frames, innermost last; None and empty otherwise, and in documents
    written before they existed. `in_service` says the failure came after the
    boot was READY or DEGRADED (a critical service spent its restarts, or a
    phase a recovery unblocked failed); it chooses the block's title.
    """

    boot: str
    fingerprint: str
    kind: DiagnosticKind
    phase: str | None
    summary: str
    details: tuple[str, ...] = ()
    action: str = ""
    cause: str | None = None
    blocked: tuple[str, ...] = ()
    cancelled: tuple[str, ...] = ()
    teardown: tuple[tuple[str, str], ...] = ()
    exit_code: int = field(default=-1)
    location: str | None = None
    traceback: tuple[Frame, ...] = ()
    in_service: bool = False

    def __post_init__(self) -> None:
        object.__setattr__(self, "summary", mask_text(self.summary))
        object.__setattr__(self, "details", tuple(mask_text(str(d)) for d in self.details))
        object.__setattr__(self, "action", mask_text(self.action))
        if self.cause is not None:
            object.__setattr__(self, "cause", mask_text(self.cause))
        if self.location is not None:
            object.__setattr__(self, "location", mask_text(self.location))
        if self.exit_code == -1:
            object.__setattr__(self, "exit_code", exit_code_for(self.kind))

    def to_dict(self) -> dict[str, Any]:
        """The diagnostic as plain data, schema `smd.diagnostic/1`."""
        return {
            "schema": SCHEMA,
            "boot": self.boot,
            "fingerprint": self.fingerprint,
            "kind": self.kind,
            "phase": self.phase,
            "summary": self.summary,
            "details": list(self.details),
            "action": self.action,
            "cause": self.cause,
            "blocked": list(self.blocked),
            "cancelled": list(self.cancelled),
            "teardown": [{"phase": name, "outcome": outcome} for name, outcome in self.teardown],
            "exit_code": self.exit_code,
            "location": self.location,
            "traceback": [frame.to_dict() for frame in self.traceback],
            "in_service": self.in_service,
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The diagnostic as JSON with sorted keys."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Diagnostic:
        """Read back what `to_dict` wrote."""
        if data.get("schema") != SCHEMA:
            raise ValueError(f"not a {SCHEMA} document (schema={data.get('schema')!r})")
        return cls(
            boot=data["boot"],
            fingerprint=data["fingerprint"],
            kind=data["kind"],
            phase=data["phase"],
            summary=data["summary"],
            details=tuple(data["details"]),
            action=data["action"],
            cause=data["cause"],
            blocked=tuple(data["blocked"]),
            cancelled=tuple(data["cancelled"]),
            teardown=tuple((item["phase"], item["outcome"]) for item in data["teardown"]),
            exit_code=data["exit_code"],
            location=data.get("location"),
            traceback=tuple(Frame.from_dict(item) for item in data.get("traceback") or ()),
            in_service=bool(data.get("in_service", False)),
        )

    def __str__(self) -> str:
        rule = "*" * 40
        lines = [
            rule,
            KINDS[self.kind].title_for(in_service=self.in_service),
            rule,
            "",
            f"Boot:        {self.boot} [{self.fingerprint}]",
        ]
        if self.phase:
            lines.append(f"Phase:       {self.phase}")
        lines.append(f"Description: {self.summary}")
        lines += [f"  - {detail}" for detail in self.details]
        if self.cause:
            lines.append(f"Cause:       {self.cause}")
        if self.location:
            label = "Waiting at:" if self.kind == "timed_out" else "Location:"
            lines.append(f"{label:<13}{self.location}")
        if self.location and len(self.traceback) > 1:
            lines += [f"  called from {frame}" for frame in reversed(self.traceback[:-1])]
        if self.blocked:
            lines.append(f"Blocked:     {', '.join(self.blocked)}")
        if self.cancelled:
            lines.append(f"Cancelled:   {', '.join(self.cancelled)}")
        if self.teardown:
            done = ", ".join(f"{name} ({outcome})" for name, outcome in self.teardown)
            lines.append(f"Torn down:   {done}")
        if self.action:
            lines += ["", "Action:"]
            lines += [f"  {line}" for line in self.action.splitlines()]
        lines += ["", f"Exit code:   {self.exit_code} ({self.kind})"]
        return "\n".join(lines)
