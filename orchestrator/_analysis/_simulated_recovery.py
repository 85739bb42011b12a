"""The recoveries of a simulated DEGRADED boot once it is in service, as the engine runs them."""

from __future__ import annotations

import heapq
from collections.abc import Mapping
from dataclasses import replace

from .._model._errors import GateFailed, PhaseTimeout
from .._model._report import AttemptRecord
from .._model._retry import Retry
from .._model._status import PhaseStatus
from ._simulated_start import Attempts, StartDriver


def heal(start: StartDriver, recover: Mapping[str, int]) -> None:
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
        for index, spec in enumerate(start.specs):
            if (
                spec.recover is not None
                and index not in recovering
                and start.status[index] in (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT)
            ):
                recovering.add(index)
                heapq.heappush(due, (start.now + spec.recover.delay_before(2), index, 1))

    recover_failed()
    lock_free = start.now
    while due and not start.failures:
        ready, index, number = heapq.heappop(due)
        spec = start.specs[index]
        policy = spec.recover
        attempts = start.attempts[index]
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
            if number < policy.attempts and _retried(start, index, policy):
                heapq.heappush(
                    due, (lock_free + policy.delay_before(number + 2), index, number + 1)
                )
            else:
                recovering.discard(index)
            continue
        at = begin + start.durations.get(spec.name, spec.expected_duration or 0.0)
        log = [*attempts.log, *added.pop(index, []), AttemptRecord(0, begin, at, "completed")]
        _recovered(start, index, at, log)
        recovering.discard(index)
        healed_any = True
        lock_free = start.now  # the lock is held until what the recovery started settled
        recover_failed()
    start.cancel_in_flight()
    degrading = (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT, PhaseStatus.BLOCKED)
    if healed_any and not start.failures and not any(s in degrading for s in start.status):
        start.healed_at = start.now


def _recovered(start: StartDriver, index: int, at: float, log: list[AttemptRecord]) -> None:
    """Phase `index` recovered at `at`: start what it blocked, in plan order, until all settle."""
    previous = start.attempts[index]
    assert previous is not None
    numbered = tuple(replace(record, number=n) for n, record in enumerate(log, 1))
    start.now = at
    start.attempts[index] = Attempts(PhaseStatus.COMPLETED, numbered, previous.pauses)
    start.status[index] = PhaseStatus.COMPLETED
    start.end[index] = start.recovered_at[index] = at
    for position in start.queue.reopen(index):
        start.status[position] = PhaseStatus.PENDING
    start.release(index)
    start.dispatch()
    while start.expiries and not (start.failures and start.expiries[0][0] > start.now):
        start.expire()


def _retried(start: StartDriver, index: int, policy: Retry) -> bool:
    """Whether a failed recovery attempt of phase `index` is followed by another."""
    spec = start.specs[index]
    if start.status[index] is PhaseStatus.TIMED_OUT:
        return policy.retries(PhaseTimeout(spec.name, spec.timeout or 0.0))
    if spec.kind == "gate":
        return policy.retries(GateFailed("simulated refusal"))
    return True  # the injected error is unknown: assumed retried, as for `retry=`
