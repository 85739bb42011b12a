"""Turning the end state of an aborted boot into one `Diagnostic`."""

from __future__ import annotations

import signal
from typing import Any

from ._diagnostic import Diagnostic, describe_exception, exit_code_for
from ._engine import Engine
from ._errors import GateFailed, PhaseTimeout
from ._phase_run import PhaseRun
from ._status import PhaseStatus


def diagnose(engine: Engine) -> Diagnostic:
    """The diagnostic of an aborted boot: its root cause, what it blocked, cancelled, tore down."""
    plan = engine.plan
    cancelled = tuple(r.spec.name for r in engine.runs if r.status is PhaseStatus.CANCELLED)
    common: dict[str, Any] = {
        "boot": plan.boot,
        "fingerprint": plan.fingerprint,
        "blocked": tuple(r.spec.name for r in engine.runs if r.status is PhaseStatus.BLOCKED),
        "cancelled": cancelled,
        "teardown": tuple(engine.teardown_order),
    }
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
        root = min(engine.failures, key=lambda run: run.position)
        return _diagnose_phase(root, common)
    if engine.interrupted_by is not None:
        name = signal.Signals(engine.interrupted_by).name
        running = tuple(r.spec.name for r in engine.runs if r.status is PhaseStatus.CANCELLED)
        return Diagnostic(
            kind="interrupted",
            phase=running[0] if running else None,
            summary=f"the boot was interrupted by {name} before it was ready",
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


def _diagnose_phase(root: PhaseRun, common: dict[str, Any]) -> Diagnostic:
    spec = root.spec
    error = root.exception
    assert error is not None
    attempts = f" after {root.attempts} attempts" if root.attempts > 1 else ""
    if isinstance(error, GateFailed):
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
            **common,
        )
    if root.status is PhaseStatus.TIMED_OUT:
        return Diagnostic(
            kind="timed_out",
            phase=spec.name,
            summary=f"phase '{spec.name}' timed out{attempts}",
            details=(f"each attempt may take {spec.timeout:g}s (timeout={spec.timeout:g})",),
            action=f"Find why '{spec.name}' is slow, or raise its timeout= (declared at "
            f"{spec.source}); add retry=Retry(...) if the slowness is transient.",
            cause=describe_exception(error),
            **common,
        )
    return Diagnostic(
        kind="phase_failed",
        phase=spec.name,
        summary=f"phase '{spec.name}' failed{attempts}",
        details=_exception_lines(error),
        action=f"Fix the cause in '{spec.name}' (declared at {spec.source}); if the service "
        "can run without it, declare it critical=False; if the failure is transient, add "
        "retry=Retry(...).",
        cause=describe_exception(error),
        **common,
    )


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
