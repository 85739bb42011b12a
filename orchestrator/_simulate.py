"""The engine's scheduler replayed on a virtual clock: predict a boot without running it.

The simulation applies the same rules as the engine (ready queue in plan
order, `max_concurrency`, fail fast, blocked and skipped dependents, teardown
in reverse plan order) to durations taken from a past report or from each
phase's `expected_duration`. No phase code runs and nothing sleeps: a heap of
completion events drives the clock, so 10,000 phases take milliseconds.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping

from ._diagnostic import EXIT_CODES
from ._errors import PhaseTimeout
from ._phase import PhaseSpec, PhaseStyle
from ._plan import BootPlan
from ._report import BootReport
from ._simulated import SimulatedBoot, SimulatedPhase
from ._status import BootState, PhaseStatus

_TEARS_DOWN = (PhaseStyle.GENERATOR, PhaseStyle.ASYNC_GENERATOR)


def has_teardown(spec: PhaseSpec) -> bool:
    """Whether a completed start of `spec` leaves something to tear down."""
    if spec.style in _TEARS_DOWN:
        return True
    return spec.style is PhaseStyle.COMPONENT and callable(getattr(spec.target, "stop", None))


class _Simulator:
    """The mutable state of one simulated boot (the virtual twin of the engine's `Engine`)."""

    def __init__(
        self,
        plan: BootPlan,
        durations: Mapping[str, float],
        limit: float,
        fail: Mapping[str, float],
    ) -> None:
        self.plan = plan
        self.specs = plan.phases
        self.durations = durations
        self.limit = limit
        self.fail = fail
        count = len(self.specs)
        self.status = [PhaseStatus.PENDING] * count
        self.start: list[float | None] = [None] * count
        self.end: list[float | None] = [None] * count
        self.attempts = [0] * count
        self.block: list[PhaseStatus | None] = [None] * count
        self.waiting = [len(spec.waits_for) for spec in self.specs]
        self.dependents: list[list[tuple[int, bool]]] = [[] for _ in range(count)]
        for index, spec in enumerate(self.specs):
            for name in spec.waits_for:
                self.dependents[plan.position(name)].append((index, name in spec.requires))
        self.ready = [i for i in range(count) if self.waiting[i] == 0]
        heapq.heapify(self.ready)
        self.events: list[tuple[float, int, int, PhaseStatus]] = []
        self.sequence = 0
        self.in_flight = 0
        self.now = 0.0
        self.failures: list[int] = []
        self.degraded = False

    def run(self) -> None:
        self._dispatch()
        while self.events:
            when, _, index, outcome = heapq.heappop(self.events)
            if self.failures and when > self.now:
                break
            self.now = when
            self.in_flight -= 1
            self.status[index] = outcome
            self.end[index] = when
            if outcome is PhaseStatus.COMPLETED:
                self._release(index)
            elif self.specs[index].critical:
                self.failures.append(index)
                continue
            else:
                self.degraded = True
                self._release(index)
            if not self.failures:
                self._dispatch()
        for index, status in enumerate(self.status):
            if status is PhaseStatus.RUNNING:
                self.status[index] = PhaseStatus.CANCELLED
                self.end[index] = self.now
            elif status is PhaseStatus.PENDING:
                self.status[index] = PhaseStatus.BLOCKED

    def _dispatch(self) -> None:
        while self.ready and self.in_flight < self.limit:
            index = heapq.heappop(self.ready)
            if self.specs[index].when is False:
                self.status[index] = PhaseStatus.SKIPPED
                self._release(index)
                continue
            self.in_flight += 1
            self.status[index] = PhaseStatus.RUNNING
            self.start[index] = self.now
            ends_at, outcome = self._predict(index)
            heapq.heappush(self.events, (ends_at, self.sequence, index, outcome))
            self.sequence += 1

    def _predict(self, index: int) -> tuple[float, PhaseStatus]:
        """When the started phase `index` settles, and how (its attempts recorded)."""
        spec = self.specs[index]
        duration = self.durations.get(spec.name, spec.expected_duration or 0.0)
        fails_at = self.fail.get(spec.name)
        timeout = spec.timeout
        if fails_at is not None and (timeout is None or fails_at < timeout):
            # The injected error is unknown here: a retried phase is assumed to retry it.
            return self._settle_after(index, fails_at, PhaseStatus.FAILED, retried=True)
        if timeout is not None and (fails_at is not None or duration > timeout):
            retry = spec.retry
            retried = retry is not None and retry.retries(PhaseTimeout(spec.name, timeout))
            return self._settle_after(index, timeout, PhaseStatus.TIMED_OUT, retried=retried)
        self.attempts[index] = 1
        return self.now + duration, PhaseStatus.COMPLETED

    def _settle_after(
        self, index: int, each: float, status: PhaseStatus, *, retried: bool
    ) -> tuple[float, PhaseStatus]:
        """Every attempt ends after `each` seconds, with the retry delays in between."""
        retry = self.specs[index].retry
        attempts = retry.attempts if retry is not None and retried else 1
        delays = sum(retry.delay_before(n) for n in range(2, attempts + 1)) if retry else 0.0
        self.attempts[index] = attempts
        return self.now + attempts * each + delays, status

    def _release(self, settled: int) -> None:
        work = [settled]
        while work:
            index = work.pop()
            ok = self.status[index] is PhaseStatus.COMPLETED
            skipped = self.status[index] is PhaseStatus.SKIPPED
            for dependent, needs_value in self.dependents[index]:
                if needs_value and not ok:
                    worse = PhaseStatus.SKIPPED if skipped else PhaseStatus.BLOCKED
                    if self.block[dependent] in (None, PhaseStatus.SKIPPED):
                        self.block[dependent] = worse
                self.waiting[dependent] -= 1
                if self.waiting[dependent]:
                    continue
                block = self.block[dependent]
                if block is None:
                    heapq.heappush(self.ready, dependent)
                    continue
                self.status[dependent] = block
                if block is PhaseStatus.BLOCKED:
                    self.degraded = True
                work.append(dependent)


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
    return dict(source)


def _teardown_durations(source: BootReport | Mapping[str, float] | None) -> dict[str, float]:
    if not isinstance(source, BootReport):
        return {}
    found = {}
    for record in source.phases:
        if record.teardown_duration is not None:
            found[record.name] = record.teardown_duration
    return found


def _normalise_failures(
    plan: BootPlan, fail: Iterable[str] | Mapping[str, float]
) -> dict[str, float]:
    failures = dict(fail) if isinstance(fail, Mapping) else dict.fromkeys(fail, 0.0)
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
) -> SimulatedBoot:
    """Predict a boot of `plan` on a virtual clock, with the engine's scheduling rules.

    Each phase takes its measured duration from `durations` (a past report's
    completed phases, or seconds by name), else its `expected_duration`, else
    0. A `when=False` phase is skipped; a callable `when=` is assumed true. A
    phase whose duration exceeds its `timeout` is predicted to time out, on
    every attempt if its `retry` retries timeouts.

    Args:
        plan: the boot's plan (`boot.plan()`).
        durations: a `BootReport` or a mapping of seconds by phase name.
        max_concurrency: at most this many phases in flight (None: no limit).
        fail: phases to fail; a mapping gives the seconds into each attempt at
            which it fails, a plain collection fails them as they start (like
            `orchestrator.testing.inject_fault(name, error=...)`). Every
            attempt of a retried phase fails, after its retry delays; one
            set to fail later than its `timeout` times out instead.

    Returns:
        The `SimulatedBoot`.

    Raises:
        ValueError: `fail` names a phase the plan does not have, or
            `max_concurrency` is below 1.
    """
    if max_concurrency is not None and max_concurrency < 1:
        raise ValueError(f"max_concurrency must be >= 1 or None, got {max_concurrency}")
    failures = _normalise_failures(plan, fail)
    limit = math.inf if max_concurrency is None else max_concurrency
    simulator = _Simulator(plan, _durations_from(durations), limit, failures)
    simulator.run()
    root = min(simulator.failures, default=None)
    teardown: dict[int, tuple[float, float]] = {}
    if root is not None:
        spent = _teardown_durations(durations)
        clock = simulator.now
        for index in reversed(range(len(plan))):
            spec = plan.phases[index]
            if simulator.status[index] is PhaseStatus.COMPLETED and has_teardown(spec):
                took = spent.get(spec.name, 0.0)
                teardown[index] = (clock, clock + took)
                clock += took
    kind = None
    if root is not None:
        spec = plan.phases[root]
        if simulator.status[root] is PhaseStatus.TIMED_OUT:
            kind = "timed_out"
        else:
            kind = "gate_failed" if spec.kind == "gate" else "phase_failed"
    phases = tuple(
        SimulatedPhase(
            name=spec.name,
            kind=spec.kind,
            status=simulator.status[i],
            start=simulator.start[i],
            end=simulator.end[i],
            attempts=simulator.attempts[i],
            teardown_start=teardown[i][0] if i in teardown else None,
            teardown_end=teardown[i][1] if i in teardown else None,
        )
        for i, spec in enumerate(plan.phases)
    )
    if root is not None:
        outcome = BootState.FAILED
    else:
        outcome = BootState.DEGRADED if simulator.degraded else BootState.READY
    return SimulatedBoot(
        plan=plan,
        phases=phases,
        duration=simulator.now,
        outcome=outcome,
        root_cause=plan.phases[root].name if root is not None else None,
        failure_kind=kind,
        exit_code=EXIT_CODES[kind] if kind is not None else 0,
        max_concurrency=max_concurrency,
        torn_down=tuple(plan.phases[i].name for i in sorted(teardown, reverse=True)),
    )
