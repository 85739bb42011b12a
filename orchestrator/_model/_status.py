"""The closed sets of states a phase, its teardown and a boot can be in."""

from __future__ import annotations

import enum


class PhaseStatus(enum.StrEnum):
    """Where one phase's start ended (or stands, while the boot runs)."""

    PENDING = "pending"
    RUNNING = "running"
    COMPLETED = "completed"
    FAILED = "failed"
    TIMED_OUT = "timed_out"
    CANCELLED = "cancelled"
    SKIPPED = "skipped"
    BLOCKED = "blocked"

    @property
    def is_failure(self) -> bool:
        """True for the statuses that mean the phase itself did not succeed."""
        return self in (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT)


class TeardownOutcome(enum.StrEnum):
    """What happened to a phase's teardown."""

    NOT_NEEDED = "not_needed"
    TORN_DOWN = "torn_down"
    TEARDOWN_FAILED = "teardown_failed"


class BootState(enum.StrEnum):
    """A boot's lifecycle: STARTING, then READY/DEGRADED or FAILED, then STOPPING, STOPPED."""

    STARTING = "starting"
    READY = "ready"
    DEGRADED = "degraded"
    FAILED = "failed"
    STOPPING = "stopping"
    STOPPED = "stopped"
