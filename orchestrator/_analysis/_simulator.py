"""The engine's scheduling replayed on a virtual clock: predict a boot without running it.

The simulation drives the engine's own scheduler core (`StartQueue` for the
start, `StopQueue` for the teardown graph) with a heap of timer expiries
instead of tasks, so it applies the engine's rules by construction: the ready
queue in plan order, `max_concurrency`, fail fast, blocked and skipped
dependents, retries, timeouts and the boot's deadline (`_simulated_start`),
then the rollback or the orderly stop with independent teardowns at once,
`teardown_timeout` and `stop_timeout` (`_simulated_stop`). A DEGRADED boot's
recoveries (`recover=`) are replayed once it is in service, one at a time as
the engine applies them, what they unblock starting in plan order through the
same `StartQueue.reopen` (`_simulated_recovery`). This module checks the
inputs, runs the drivers and makes the prediction; an aborted one is diagnosed
by the engine's own `diagnose`. Durations come from a past report or from each
phase's `expected_duration`; no phase code runs and nothing sleeps, so 10,000
phases take milliseconds. `tests/test_twin.py` holds it to the engine, phase
by phase.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import replace

from .._model._checks import is_finite, is_number, shown
from .._model._diagnostic import Diagnostic
from .._model._errors import GateFailed, PhaseTimeout
from .._model._phase import PhaseSpec
from .._model._plan import BootPlan
from .._model._report import BootReport
from .._model._root_cause import diagnose
from .._model._snapshot import RunSnapshot
from .._model._status import BootState, PhaseStatus, TeardownOutcome
from .._model._validate import check_run_arguments
from ._prediction import SimulatedBoot, SimulatedPhase
from ._simulated_recovery import heal
from ._simulated_start import StartDriver
from ._simulated_stop import StopDriver, has_teardown


def _durations_from(source: BootReport | Mapping[str, float] | None) -> dict[str, float]:
    if source is None:
        return {}
    if isinstance(source, BootReport):
        # Only a completed start says how long the phase takes; a failed or cancelled one
        # stopped early, so those phases fall back to their expected_duration.
        return {
            r.name: r.duration
            for r in source.phases
            if r.status is PhaseStatus.COMPLETED and r.duration is not None
        }
    return _checked_seconds("durations", source)


def _teardown_durations(
    source: BootReport | Mapping[str, float] | None, given: Mapping[str, float] | None
) -> dict[str, float]:
    found: dict[str, float] = {}
    if isinstance(source, BootReport):
        for record in source.phases:
            if record.teardown_duration is not None:
                found[record.name] = record.teardown_duration
    if given is not None:
        found.update(_checked_seconds("teardown_durations", given))
    return found


def _checked_seconds(argument: str, seconds: Mapping[str, float]) -> dict[str, float]:
    """`seconds` by phase name, refused when a value is not a finite number >= 0."""
    for name, value in seconds.items():
        if not is_number(value) or not is_finite(value) or value < 0:
            raise ValueError(
                f"{argument}[{name!r}] must be a finite number of seconds >= 0, got {shown(value)}"
            )
    return dict(seconds)


def _normalise_failures(
    plan: BootPlan, fail: Iterable[str] | Mapping[str, float]
) -> dict[str, float]:
    if isinstance(fail, Mapping):
        failures = _checked_seconds("fail", fail)
    else:
        failures = dict.fromkeys(fail, 0.0)
    known = set(plan.order)
    unknown = sorted(name for name in failures if name not in known)
    if unknown:
        raise ValueError(
            f"unknown phase(s) to fail: {', '.join(unknown)}; "
            f"boot '{plan.boot}' has: {', '.join(plan.order[:20])}"
            + (" ..." if len(plan) > 20 else "")
        )
    return failures


def simulate(
    plan: BootPlan,
    *,
    durations: BootReport | Mapping[str, float] | None = None,
    max_concurrency: int | None = None,
    fail: Iterable[str] | Mapping[str, float] = (),
    teardown_durations: Mapping[str, float] | None = None,
    stop: bool = False,
    stop_timeout: float | None = None,
    deadline: float | None = None,
    recover: Iterable[str] | Mapping[str, int] = (),
) -> SimulatedBoot:
    """Predict a boot of `plan` on a virtual clock, with the engine's scheduling rules.

    Each phase takes its measured duration from `durations` (a past report's
    completed phases, or seconds by name), else its `expected_duration`, else
    0. A `when=False` phase is skipped; a callable `when=` is assumed true. A
    phase whose duration exceeds its `timeout` is predicted to time out, on
    every attempt if its `retry` retries timeouts. An aborted boot is rolled
    back as the engine does: its teardown graph, independent teardowns at once.

    Args:
        plan: the boot's plan (`boot.plan()`).
        durations: a `BootReport` or a mapping of seconds by phase name.
        max_concurrency: at most this many phases in flight, starting or
            tearing down (None: no limit).
        fail: phases to fail; a mapping gives the seconds into each attempt at
            which it fails, a plain collection fails them as they start (like
            `orchestrator.testing.inject_fault(name, error=...)`). Every
            attempt of a retried phase fails, after its retry delays; one
            set to fail later than its `timeout` times out instead.
        teardown_durations: seconds each teardown takes, by phase name; they
            add to (and override) the teardown durations of a report given as
            `durations`. A teardown not timed anywhere takes 0.
        stop: also predict the orderly stop of a boot that becomes READY or
            DEGRADED, begun as soon as it is ready (what `run_once` does).
        stop_timeout: seconds for the whole stop (and for the rollback of an
            aborted boot); teardowns not finished by then fail, as in the engine.
        deadline: seconds for the whole boot; when it passes first, what is in
            flight is cancelled, the rest blocked, and the boot times out.
        recover: phases set to fail whose `recover=Retry(...)` heals them once
            the boot is in service; a mapping gives the recovery attempt that
            succeeds (1 by default). What they blocked then starts in plan order,
            and the prediction says when the boot is READY again (`healed_at`);
            recoveries wait for each other, as in the engine; a stop simulated
            with `stop=True` begins after the healing.

    Returns:
        The `SimulatedBoot`.

    Raises:
        ValueError: `fail` names a phase the plan does not have, a number of
            seconds is negative, NaN or infinite, `max_concurrency` is below 1
            or `stop_timeout` or `deadline` is not a number of seconds > 0.
        TypeError: `max_concurrency`, `stop_timeout` or `deadline` has the wrong type.
    """
    check_run_arguments(
        max_concurrency=max_concurrency, deadline=deadline, stop_timeout=stop_timeout
    )
    failures = _normalise_failures(plan, fail)
    spent = _teardown_durations(durations, teardown_durations)
    limit = math.inf if max_concurrency is None else max_concurrency
    start = StartDriver(plan, _durations_from(durations), limit, failures, deadline)
    start.run()
    ready_at = start.now
    degraded_reason = ", ".join(
        f"'{spec.name}' {status.value}"
        for spec, status in zip(plan.phases, start.status, strict=True)
        if status in (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT, PhaseStatus.BLOCKED)
    )
    healing = _normalise_recoveries(plan, recover)
    if healing and not start.failures and not start.timed_out and start.degraded:
        heal(start, healing)
    root = min(start.failures, default=None)
    teardown: StopDriver | None = None
    if root is not None or start.timed_out or stop:
        took = [
            spent.get(spec.name, 0.0)
            if start.status[index] is PhaseStatus.COMPLETED and has_teardown(spec)
            else None
            for index, spec in enumerate(plan.phases)
        ]
        teardown = StopDriver(plan.phases, took, limit, start.now, stop_timeout)
        teardown.run()
    return _prediction(
        plan,
        start,
        ready_at=ready_at,
        degraded_reason=degraded_reason,
        teardown=teardown,
        root=root,
        max_concurrency=max_concurrency,
        stop_timeout=stop_timeout,
        deadline=deadline,
    )


def _normalise_recoveries(
    plan: BootPlan, recover: Iterable[str] | Mapping[str, int]
) -> dict[str, int]:
    found = dict(recover) if isinstance(recover, Mapping) else dict.fromkeys(recover, 1)
    for name, attempt in found.items():
        if name not in plan.order:
            raise ValueError(f"unknown phase to recover: {name!r}")
        if not isinstance(attempt, int) or isinstance(attempt, bool) or attempt < 1:
            raise ValueError(f"recover[{name!r}] must be an attempt number >= 1, got {attempt!r}")
    return found


def _prediction(
    plan: BootPlan,
    start: StartDriver,
    *,
    ready_at: float,
    degraded_reason: str,
    teardown: StopDriver | None,
    root: int | None,
    max_concurrency: int | None,
    stop_timeout: float | None,
    deadline: float | None,
) -> SimulatedBoot:
    phases = []
    for index, spec in enumerate(plan.phases):
        attempts = start.attempts[index]
        phases.append(
            SimulatedPhase(
                name=spec.name,
                kind=spec.kind,
                status=start.status[index],
                start=start.start[index],
                end=start.end[index],
                attempts=len(attempts.log) if attempts is not None else 0,
                teardown_start=teardown.start[index] if teardown is not None else None,
                teardown_end=teardown.end[index] if teardown is not None else None,
                teardown=(
                    teardown.outcome[index] if teardown is not None else TeardownOutcome.NOT_NEEDED
                ),
                attempt_log=attempts.log if attempts is not None else (),
                retry_pauses=attempts.pauses if attempts is not None else (),
                recovered_at=start.recovered_at[index],
            )
        )
    order = (
        tuple((plan.phases[i].name, teardown.outcome[i]) for i in teardown.order)
        if teardown is not None
        else ()
    )
    aborted = root is not None or start.timed_out
    stop_failed = any(outcome is TeardownOutcome.TEARDOWN_FAILED for _, outcome in order)
    prediction = SimulatedBoot(
        plan=plan,
        phases=tuple(phases),
        duration=ready_at,
        outcome=(
            BootState.FAILED
            if aborted
            else BootState.DEGRADED
            if start.degraded
            else BootState.READY
        ),
        root_cause=None,
        failure_kind=None,
        exit_code=1 if stop_failed and not aborted else 0,
        max_concurrency=max_concurrency,
        torn_down=tuple(name for name, _ in order) if aborted else (),
        stopped_at=start.now if teardown is not None and not aborted else None,
        stop_duration=teardown.now - start.now if teardown is not None else None,
        teardown_order=order,
        stop_timeout=stop_timeout,
        deadline=deadline,
        ready_at=ready_at,
        healed_at=start.healed_at,
        degraded_reason=degraded_reason,
    )
    if not aborted:
        return prediction
    diagnostic = _diagnose(prediction, start, root)
    return replace(
        prediction,
        root_cause=diagnostic.phase,
        failure_kind=diagnostic.kind,
        exit_code=diagnostic.exit_code,
        diagnostic=diagnostic,
    )


class SimulatedFailure(Exception):
    """The error a phase set to fail in a simulation stands for (its real one is unknown)."""


def _stand_in(spec: PhaseSpec) -> BaseException:
    """The error standing for an injected failure of `spec`, retried as the prediction assumed.

    Every attempt was predicted on the assumption that the phase's `retry=` retries
    the unknown error, so the stand-in is of a type its `on=` covers: the diagnosis
    then advises what the engine's would for a retried error.
    """
    message = "the simulation was asked to fail it"
    failure: BaseException = SimulatedFailure(message)
    retry = spec.retry
    if retry is None or retry.retries(failure):
        return failure
    kind = retry.on[0]
    failure = kind.__new__(kind)  # no __init__: its arguments are the unknown error's
    failure.args = (message,)
    return failure


def _diagnose(prediction: SimulatedBoot, start: StartDriver, root: int | None) -> Diagnostic:
    """The engine's own diagnosis of the predicted run: the same blame, kind and exit code."""
    plan = prediction.plan
    exceptions: dict[str, BaseException] = {}
    if root is not None:
        spec = plan.phases[root]
        if start.status[root] is PhaseStatus.TIMED_OUT:
            exceptions[spec.name] = PhaseTimeout(spec.name, spec.timeout or 0.0)
        elif spec.kind == "gate":
            exceptions[spec.name] = GateFailed(
                f"gate '{spec.name}' refused the boot (a simulated failure)",
                ("the simulation was asked to fail it",),
            )
        else:
            exceptions[spec.name] = _stand_in(spec)
    snapshot = RunSnapshot(
        plan=plan,
        records=prediction.to_report().phases,
        exceptions=exceptions,
        stuck={},
        failures=tuple(sorted(start.failures)),
        interrupted_by=None,
        boot_timed_out=root is None and start.timed_out,
        deadline=prediction.deadline,
        internal_error=None,
        teardown_order=tuple((name, outcome.value) for name, outcome in prediction.teardown_order),
    )
    return diagnose(snapshot)
