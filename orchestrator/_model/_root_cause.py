"""Turning the end state of an aborted boot into one `Diagnostic`."""

from __future__ import annotations

import signal
from typing import Any

from ._analyzers import analyze
from ._describe import describe_exception
from ._diagnostic import Diagnostic, exit_code_for, failure_kind
from ._errors import GateFailed, PhaseTimeout
from ._frames import Frame, location_of, raised_frames, user_frames
from ._phase import PhaseSpec
from ._report import PhaseRecord
from ._snapshot import RunSnapshot
from ._status import PhaseStatus


def diagnose(snapshot: RunSnapshot) -> Diagnostic:
    """The diagnostic of an aborted boot: its root cause, what it blocked, cancelled, tore down.

    A pure function of the snapshot: the same run always gives the same diagnostic.
    """
    plan = snapshot.plan
    cancelled = snapshot.named(PhaseStatus.CANCELLED)
    common: dict[str, Any] = {
        "boot": plan.boot,
        "fingerprint": plan.fingerprint,
        "blocked": snapshot.named(PhaseStatus.BLOCKED),
        "cancelled": cancelled,
        "teardown": snapshot.teardown_order,
    }
    engine = snapshot
    if engine.internal_error is not None:
        return Diagnostic(
            kind="internal_error",
            phase=None,
            summary="smd itself failed while running the boot",
            details=_exception_lines(engine.internal_error),
            action="This is a bug in smd: please report it with this diagnostic and the report.",
            cause=describe_exception(engine.internal_error),
            **common,
        )
    if engine.failures:
        return _diagnose_phase(snapshot, snapshot.records[engine.failures[0]], common)
    if engine.interrupted_by is not None:
        name = signal.Signals(engine.interrupted_by).name
        running = cancelled
        return Diagnostic(
            kind="interrupted",
            phase=None,
            summary=f"the boot was interrupted by {name} before it was ready"
            + (
                f", while {_listed(running)} {'was' if len(running) == 1 else 'were'} running"
                if running
                else ", while no phase was running"
            ),
            details=tuple(f"'{n}' was running and was cancelled" for n in running),
            action="Nothing to fix if the interruption was intended; otherwise find who sent "
            f"{name} (a supervisor's start timeout is a common cause).",
            cause=name,
            exit_code=exit_code_for("interrupted", signal_number=engine.interrupted_by),
            **common,
        )
    deadline = engine.deadline or 0.0
    return Diagnostic(
        kind="timed_out",
        phase=cancelled[0] if cancelled else None,
        summary=f"the boot did not finish within its {deadline:g}s deadline",
        details=tuple(f"'{name}' was still running" for name in cancelled),
        action="Raise the boot's deadline (boot.start(deadline=...)), or make the phases "
        "still running faster; `smd analyze REPORT critical-chain` shows where time went.",
        cause=describe_exception(PhaseTimeout(None, deadline, "boot")),
        **common,
    )


def _listed(names: tuple[str, ...]) -> str:
    quoted = [f"'{name}'" for name in names]
    if len(quoted) > 3:
        quoted = [*quoted[:3], f"{len(quoted) - 3} more"]
    return ", ".join(quoted[:-1]) + " and " + quoted[-1] if len(quoted) > 1 else quoted[0]


def _diagnose_phase(snapshot: RunSnapshot, root: PhaseRecord, common: dict[str, Any]) -> Diagnostic:
    plan = snapshot.plan
    spec = plan[root.name]
    error = snapshot.exceptions[root.name]
    kind = failure_kind(
        timed_out=root.status is PhaseStatus.TIMED_OUT, refused=isinstance(error, GateFailed)
    )
    attempts = f" after {root.attempts} attempts" if root.attempts > 1 else ""
    if kind == "gate_failed":
        assert isinstance(error, GateFailed)
        action = error.action or (
            f"Make the system satisfy gate '{spec.name}' (declared at {spec.source}), "
            "then boot again; a gate is never skipped."
        )
        return Diagnostic(
            kind="gate_failed",
            phase=spec.name,
            summary=error.summary,
            details=error.violations,
            action=action,
            cause=describe_exception(error),
            **_where(raised_frames(error)),
            **common,
        )
    if kind == "timed_out":
        details = [f"each attempt may take {spec.timeout:g}s (timeout={spec.timeout:g})"]
        stuck = user_frames(snapshot.stuck.get(spec.name, ()))
        if stuck:
            details.append(f"it was waiting at {stuck[-1]} when it was cancelled")
        if isinstance(error, PhaseTimeout) and error.blocked_loop:
            details.append(
                "it did not yield to the event loop before its deadline, so it could not be "
                "cancelled: a blocking call (time.sleep, sync I/O) in an async phase"
            )
        return Diagnostic(
            kind="timed_out",
            phase=spec.name,
            summary=f"phase '{spec.name}' timed out{attempts}",
            details=tuple(details),
            action=f"Find why '{spec.name}' is slow, or raise its timeout= (declared at "
            f"{spec.source}); if the slowness is transient, {_retry_advice(spec, error)}.",
            cause=describe_exception(error),
            **_where(stuck),
            **common,
        )
    analysis, notes = analyze(error, snapshot.analyzers)
    lines = _exception_lines(error) + notes
    action = (
        f"Fix the cause in '{spec.name}' (declared at {spec.source}); if the service "
        "can run without it, declare it critical=False; if the failure is transient, "
        f"{_retry_advice(spec, error)}."
    )
    if analysis is not None:
        lines = (analysis.description, *lines)
        action = f"{analysis.action}\n(phase '{spec.name}' is declared at {spec.source})"
    return Diagnostic(
        kind="phase_failed",
        phase=spec.name,
        summary=f"phase '{spec.name}' failed{attempts}",
        details=lines,
        action=action,
        cause=describe_exception(error),
        **_where(raised_frames(error)),
        **common,
    )


def _retry_advice(spec: PhaseSpec, error: BaseException) -> str:
    """What to do about a transient failure, given the retry the phase already has."""
    retry = spec.retry
    if retry is None:
        return "add retry=Retry(...)"
    if not retry.retries(error):
        return f"add {type(error).__qualname__} to its retry's on= (it is not retried now)"
    return f"give its retry= more than {retry.attempts} attempts or a longer delay"


def _where(frames: tuple[Frame, ...]) -> dict[str, Any]:
    return {"location": location_of(frames), "traceback": frames}


def _exception_lines(error: BaseException) -> tuple[str, ...]:
    """One line per exception in the chain (masked), outermost first."""
    lines: list[str] = []
    seen: set[int] = set()
    current: BaseException | None = error
    while current is not None and id(current) not in seen and len(lines) < 5:
        seen.add(id(current))
        lines.append(describe_exception(current))
        if isinstance(current, BaseExceptionGroup):
            lines += [f"  in group: {describe_exception(inner)}" for inner in current.exceptions]
        current = current.__cause__ or current.__context__
    return tuple(lines)
