"""The start of a simulated boot: the engine's `StartQueue` driven by a heap of expiries.

Each started phase's attempts (and the retry pauses between them) are worked out
when it starts, from its duration, its injected failure, `timeout` and `retry`;
the heap settles them in time order as the engine settles a phase whose start
ended, so the ready queue, `max_concurrency`, fail fast, blocked and skipped
dependents and the boot's deadline follow the engine's own rules.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Mapping
from dataclasses import dataclass

from .._model._errors import GateFailed, PhaseTimeout
from .._model._phase import PhaseSpec
from .._model._plan import BootPlan
from .._model._report import AttemptRecord, RetryPause
from .._model._schedule import StartQueue
from .._model._status import PhaseStatus


@dataclass(frozen=True, slots=True)
class Attempts:
    """When each attempt of a started phase would run, and how the last one ends."""

    status: PhaseStatus
    log: tuple[AttemptRecord, ...]
    pauses: tuple[RetryPause, ...]

    @property
    def end(self) -> float:
        return self.log[-1].end or 0.0

    def cancelled_at(self, at: float) -> Attempts:
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
        return Attempts(PhaseStatus.CANCELLED, tuple(log), pauses)


def attempts_of(spec: PhaseSpec, begin: float, duration: float, fails_at: float | None) -> Attempts:
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
        return Attempts(PhaseStatus.COMPLETED, (only,), ())
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
    return Attempts(status, tuple(log), tuple(pauses))


class StartDriver:
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
        self.attempts: list[Attempts | None] = [None] * count
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
        self.dispatch()
        # Every expiry due at the failure moment still settles: the engine records all
        # failures of the same scheduler pass before its abort cancels the rest.
        while self.expiries and not (self.failures and self.expiries[0][0] > self.now):
            if self.expiries[0][0] > self.deadline:
                self.now, self.timed_out = self.deadline, True
                break
            self.expire()
        self.cancel_in_flight()

    def expire(self) -> None:
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
        self.release(index)
        if not self.failures:
            self.dispatch()

    def cancel_in_flight(self) -> None:
        for _, _, index in self.expiries:
            attempts = self.attempts[index]
            assert attempts is not None
            self.attempts[index] = attempts.cancelled_at(self.now)
            self.status[index] = PhaseStatus.CANCELLED
            self.end[index] = self.now
        for index, status in enumerate(self.status):
            if status is PhaseStatus.PENDING:
                self.status[index] = PhaseStatus.BLOCKED

    def dispatch(self) -> None:
        while self.queue and self.in_flight < self.limit:
            index = self.queue.pop()
            spec = self.specs[index]
            if spec.when is False:
                self.status[index] = PhaseStatus.SKIPPED
                self.release(index)
                continue
            self.in_flight += 1
            self.status[index] = PhaseStatus.RUNNING
            self.start[index] = self.now
            duration = self.durations.get(spec.name, spec.expected_duration or 0.0)
            attempts = attempts_of(spec, self.now, duration, self.fail.get(spec.name))
            self.attempts[index] = attempts
            heapq.heappush(self.expiries, (attempts.end, self.sequence, index))
            self.sequence += 1

    def release(self, settled: int) -> None:
        for index, status, _ in self.queue.settle(settled, self.status[settled]):
            self.status[index] = status
            if status is PhaseStatus.BLOCKED:
                self.degraded = True
