"""The engine's scheduling replayed on a virtual clock: predict a boot without running it.

The simulation drives the engine's own scheduler core (`StartQueue` for the
start, `StopQueue` for the teardown graph) with a heap of timer expiries
instead of tasks, so it applies the engine's rules by construction: the ready
queue in plan order, `max_concurrency`, fail fast, blocked and skipped
dependents, retries, timeouts and the boot's deadline, then the rollback or
the orderly stop with independent teardowns at once, `teardown_timeout` and
`stop_timeout`. A DEGRADED boot's recoveries (`recover=`) are replayed once
it is in service, one at a time as the engine applies them, what they unblock
starting in plan order through the same `StartQueue.reopen`. An aborted
prediction is diagnosed by the engine's own `diagnose`. Durations come from a
past report or from each phase's `expected_duration`; no phase code runs and
nothing sleeps, so 10,000 phases take milliseconds. `tests/test_twin.py` holds
it to the engine, phase by phase.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, replace

from .._model._checks import is_finite, is_number, shown
from .._model._diagnostic import Diagnostic
from .._model._errors import GateFailed, PhaseTimeout
from .._model._phase import PhaseSpec, PhaseStyle
from .._model._plan import BootPlan
from .._model._report import AttemptRecord, BootReport, RetryPause
from .._model._retry import Retry
from .._model._root_cause import diagnose
from .._model._schedule import StartQueue, StopQueue
from .._model._snapshot import RunSnapshot
from .._model._status import BootState, PhaseStatus, TeardownOutcome
from .._model._validate import check_run_arguments
from ._prediction import SimulatedBoot, SimulatedPhase

_TEARS_DOWN = (PhaseStyle.GENERATOR, PhaseStyle.ASYNC_GENERATOR)


def has_teardown(spec: PhaseSpec) -> bool:
    """Whether a completed start of `spec` leaves something to tear down."""
    if spec.style in _TEARS_DOWN:
        return True
    return spec.style is PhaseStyle.COMPONENT and callable(getattr(spec.target, "stop", None))


@dataclass(frozen=True, slots=True)
class _Attempts:
    """When each attempt of a started phase would run, and how the last one ends."""

    status: PhaseStatus
    log: tuple[AttemptRecord, ...]
    pauses: tuple[RetryPause, ...]

    @property
    def end(self) -> float:
        return self.log[-1].end or 0.0

    def cancelled_at(self, at: float) -> _Attempts:
        """The attempts and pauses as they stand when the abort cancels the phase at `at`.

        Like the engine: what is due at that moment still happens (an attempt due
        then begins); the attempt in progress ends "cancelled"; a retry pause in
        progress is recorded up to the cut (the attempt after it never began).
        """
        log: list[AttemptRecord] = []
        for record in self.log:
            if record.start > at:
                break
            if record.end is not None and record.end > at:
                log.append(AttemptRecord(record.number, record.start, at, "cancelled"))
                break
            log.append(record)
        pauses = tuple(
            pause
            if pause.end is None or pause.end <= at
            else RetryPause(pause.after_attempt, pause.start, at)
            for pause in self.pauses
            if pause.start <= at
        )
        return _Attempts(PhaseStatus.CANCELLED, tuple(log), pauses)


def _attempts(spec: PhaseSpec, begin: float, duration: float, fails_at: float | None) -> _Attempts:
    """Every attempt of `spec` started at `begin`, with the retry pauses between them."""
    timeout = spec.timeout
    error: BaseException | None
    if fails_at is not None and (timeout is None or fails_at < timeout):
        each, status, word = fails_at, PhaseStatus.FAILED, "failed"
        # The injected error is unknown here: a phase's retry is assumed to retry it; a
        # gate's failure is a refusal, which its retry retries only if `on=` covers it.
        error = GateFailed("simulated refusal") if spec.kind == "gate" else None
    elif timeout is not None and (fails_at is not None or duration > timeout):
        each, status, word = timeout, PhaseStatus.TIMED_OUT, "timed_out"
        error = PhaseTimeout(spec.name, timeout)
    else:
        only = AttemptRecord(1, begin, begin + duration, "completed")
        return _Attempts(PhaseStatus.COMPLETED, (only,), ())
    retry = spec.retry
    count = 1
    if retry is not None and (error is None or retry.retries(error)):
        count = retry.attempts
    log: list[AttemptRecord] = []
    pauses: list[RetryPause] = []
    clock = begin
    for number in range(1, count + 1):
        if number > 1:
            assert retry is not None
            pause = retry.delay_before(number)
            pauses.append(RetryPause(number - 1, clock, clock + pause))
            clock += pause
        log.append(AttemptRecord(number, clock, clock + each, word))
        clock += each
    return _Attempts(status, tuple(log), tuple(pauses))


class _Start:
    """The start of one simulated boot: the scheduler core driven by a heap of expiries."""

    def __init__(
        self,
        plan: BootPlan,
        durations: Mapping[str, float],
        limit: float,
        fail: Mapping[str, float],
        deadline: float | None,
    ) -> None:
        self.specs = plan.phases
        self.durations = durations
        self.limit = limit
        self.fail = fail
        self.deadline = math.inf if deadline is None else deadline
        self.queue = StartQueue(self.specs)
        count = len(self.specs)
        self.status = [PhaseStatus.PENDING] * count
        self.start: list[float | None] = [None] * count
        self.end: list[float | None] = [None] * count
        self.attempts: list[_Attempts | None] = [None] * count
        self.expiries: list[tuple[float, int, int]] = []
        self.sequence = 0
        self.in_flight = 0
        self.now = 0.0
        self.failures: list[int] = []
        self.degraded = False
        self.timed_out = False
        self.recovered_at: list[float | None] = [None] * count
        self.healed_at: float | None = None

    def run(self) -> None:
        """Start every phase; stop when a critical phase fails or the deadline passes."""
        self._dispatch()
        # Every expiry due at the failure moment still settles: the engine records all
        # failures of the same scheduler pass before its abort cancels the rest.
        while self.expiries and not (self.failures and self.expiries[0][0] > self.now):
            if self.expiries[0][0] > self.deadline:
                self.now, self.timed_out = self.deadline, True
                break
            self._expire()
        self._cancel_in_flight()

    def _expire(self) -> None:
        """Settle the next attempt due, as the engine settles a phase whose start ended."""
        self.now, _, index = heapq.heappop(self.expiries)
        self.in_flight -= 1
        attempts = self.attempts[index]
        assert attempts is not None
        self.status[index] = attempts.status
        self.end[index] = self.now
        if attempts.status is not PhaseStatus.COMPLETED:
            if self.specs[index].critical:
                self.failures.append(index)
                return
            self.degraded = True
        self._release(index)
        if not self.failures:
            self._dispatch()

    def _cancel_in_flight(self) -> None:
        for _, _, index in self.expiries:
            attempts = self.attempts[index]
            assert attempts is not None
            self.attempts[index] = attempts.cancelled_at(self.now)
            self.status[index] = PhaseStatus.CANCELLED
            self.end[index] = self.now
        for index, status in enumerate(self.status):
            if status is PhaseStatus.PENDING:
                self.status[index] = PhaseStatus.BLOCKED

    def heal(self, recover: Mapping[str, int]) -> None:
        """Replay, once in service, the recoveries of the failed `recover=` phases.

        Like the engine's `Recovery`: each failed phase with `recover=Retry(...)`
        waits the policy's pause, then takes the one recovery lock for its attempt
        (and, when it succeeds, for the start of what it unblocked), so recoveries
        wait for each other, first come first served (plan order on a tie). A
        phase named in `recover` succeeds on that recovery attempt (its earlier
        ones fail as its start did); any other recovery fails every attempt, which
        still holds the lock, and is left out of the phase's attempts. What a
        recovery unblocks starts in plan order; the boot is healed (READY again)
        once nothing failed or blocked is left.
        """
        due: list[tuple[float, int, int]] = []  # (ready at, plan position, attempt number)
        recovering: set[int] = set()
        added: dict[int, list[AttemptRecord]] = {}
        healed_any = False

        def recover_failed() -> None:
            for index, spec in enumerate(self.specs):
                if (
                    spec.recover is not None
                    and index not in recovering
                    and self.status[index] in (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT)
                ):
                    recovering.add(index)
                    heapq.heappush(due, (self.now + spec.recover.delay_before(2), index, 1))

        recover_failed()
        lock_free = self.now
        while due and not self.failures:
            ready, index, number = heapq.heappop(due)
            spec = self.specs[index]
            policy = spec.recover
            attempts = self.attempts[index]
            assert policy is not None
            assert attempts is not None
            failed = attempts.log[-1]
            begin = max(ready, lock_free)
            succeeds_on = recover.get(spec.name)
            if number != succeeds_on:
                lock_free = begin + ((failed.end or failed.start) - failed.start)
                if spec.name in recover:
                    record = AttemptRecord(0, begin, lock_free, failed.outcome)
                    added.setdefault(index, []).append(record)
                if number < policy.attempts and self._retried(index, policy):
                    heapq.heappush(
                        due, (lock_free + policy.delay_before(number + 2), index, number + 1)
                    )
                else:
                    recovering.discard(index)
                continue
            at = begin + self.durations.get(spec.name, spec.expected_duration or 0.0)
            log = [*attempts.log, *added.pop(index, []), AttemptRecord(0, begin, at, "completed")]
            numbered = tuple(replace(record, number=n) for n, record in enumerate(log, 1))
            self.now = at
            self.attempts[index] = _Attempts(PhaseStatus.COMPLETED, numbered, attempts.pauses)
            self.status[index] = PhaseStatus.COMPLETED
            self.end[index] = self.recovered_at[index] = at
            recovering.discard(index)
            healed_any = True
            for position in self.queue.reopen(index):
                self.status[position] = PhaseStatus.PENDING
            self._release(index)
            self._dispatch()
            # The lock is held until everything the recovery started has settled.
            while self.expiries and not (self.failures and self.expiries[0][0] > self.now):
                self._expire()
            lock_free = self.now
            recover_failed()
        self._cancel_in_flight()
        degrading = (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT, PhaseStatus.BLOCKED)
        if healed_any and not self.failures and not any(s in degrading for s in self.status):
            self.healed_at = self.now

    def _retried(self, index: int, policy: Retry) -> bool:
        """Whether a failed recovery attempt of phase `index` is followed by another."""
        spec = self.specs[index]
        if self.status[index] is PhaseStatus.TIMED_OUT:
            return policy.retries(PhaseTimeout(spec.name, spec.timeout or 0.0))
        if spec.kind == "gate":
            return policy.retries(GateFailed("simulated refusal"))
        return True  # the injected error is unknown: assumed retried, as for `retry=`

    def _dispatch(self) -> None:
        while self.queue and self.in_flight < self.limit:
            index = self.queue.pop()
            spec = self.specs[index]
            if spec.when is False:
                self.status[index] = PhaseStatus.SKIPPED
                self._release(index)
                continue
            self.in_flight += 1
            self.status[index] = PhaseStatus.RUNNING
            self.start[index] = self.now
            duration = self.durations.get(spec.name, spec.expected_duration or 0.0)
            attempts = _attempts(spec, self.now, duration, self.fail.get(spec.name))
            self.attempts[index] = attempts
            heapq.heappush(self.expiries, (attempts.end, self.sequence, index))
            self.sequence += 1

    def _release(self, settled: int) -> None:
        for index, status, _ in self.queue.settle(settled, self.status[settled]):
            self.status[index] = status
            if status is PhaseStatus.BLOCKED:
                self.degraded = True


class _Stop:
    """The teardown graph of one simulated boot on the virtual clock.

    Like the engine: a teardown begins once every phase that depends on it is done,
    at most `limit` at once; one that outlasts its `teardown_timeout` fails at it;
    when `stop_timeout` runs out, the teardowns in flight and those not begun fail.
    """

    def __init__(
        self,
        specs: Sequence[PhaseSpec],
        took: Sequence[float | None],
        limit: float,
        begin: float,
        stop_timeout: float | None,
    ) -> None:
        self.specs = specs
        self.took = took
        self.limit = limit
        self.now = begin
        self.budget_end = math.inf if stop_timeout is None else begin + stop_timeout
        self.queue = StopQueue(specs)
        count = len(specs)
        self.start: list[float | None] = [None] * count
        self.end: list[float | None] = [None] * count
        self.outcome = [TeardownOutcome.NOT_NEEDED] * count
        self.order: list[int] = []
        self.expiries: list[tuple[float, int, int, TeardownOutcome]] = []
        self.sequence = 0

    def run(self) -> None:
        """Tear down every phase due, in the graph's order; end when done or out of budget."""
        self._dispatch()
        while self.expiries and self.expiries[0][0] <= self.budget_end:
            self.now, _, index, outcome = heapq.heappop(self.expiries)
            self._settle(index, outcome)
            self.queue.done(index)
            self._dispatch()
        if not self.expiries:
            return
        self.now = self.budget_end
        for _, _, index, _ in sorted(self.expiries, key=lambda expiry: expiry[1]):
            self._settle(index, TeardownOutcome.TEARDOWN_FAILED)
        for index in reversed(range(len(self.specs))):
            if self.took[index] is not None and self.start[index] is None:
                self.start[index] = self.now
                self._settle(index, TeardownOutcome.TEARDOWN_FAILED)

    def _dispatch(self) -> None:
        while self.queue and len(self.expiries) < self.limit:
            index = self.queue.pop()
            took = self.took[index]
            if took is None:
                self.queue.done(index)
                continue
            self.start[index] = self.now
            limit = self.specs[index].teardown_timeout
            outcome = TeardownOutcome.TORN_DOWN
            if limit is not None and took > limit:
                took, outcome = limit, TeardownOutcome.TEARDOWN_FAILED
            heapq.heappush(self.expiries, (self.now + took, self.sequence, index, outcome))
            self.sequence += 1

    def _settle(self, index: int, outcome: TeardownOutcome) -> None:
        self.end[index] = self.now
        self.outcome[index] = outcome
        self.order.append(index)


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
    start = _Start(plan, _durations_from(durations), limit, failures, deadline)
    start.run()
    ready_at = start.now
    degraded_reason = ", ".join(
        f"'{spec.name}' {status.value}"
        for spec, status in zip(plan.phases, start.status, strict=True)
        if status in (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT, PhaseStatus.BLOCKED)
    )
    healing = _normalise_recoveries(plan, recover)
    if healing and not start.failures and not start.timed_out and start.degraded:
        start.heal(healing)
    root = min(start.failures, default=None)
    teardown: _Stop | None = None
    if root is not None or start.timed_out or stop:
        took = [
            spent.get(spec.name, 0.0)
            if start.status[index] is PhaseStatus.COMPLETED and has_teardown(spec)
            else None
            for index, spec in enumerate(plan.phases)
        ]
        teardown = _Stop(plan.phases, took, limit, start.now, stop_timeout)
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
    start: _Start,
    *,
    ready_at: float,
    degraded_reason: str,
    teardown: _Stop | None,
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


def _diagnose(prediction: SimulatedBoot, start: _Start, root: int | None) -> Diagnostic:
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
            exceptions[spec.name] = SimulatedFailure("the simulation was asked to fail it")
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
