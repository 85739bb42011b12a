"""The simulator is the engine's twin: the same boot gives the same result, phase by phase.

Each example declares a random boot (gates, `critical=False`, `after=`,
`when=False`, retries, timeouts, teardowns, teardown timeouts, a stop budget,
a deadline),
fails some of its phases with `inject_fault`, runs it on the engine and
simulates it, and holds the two to the same statuses, attempts and times, the
same blame, and the same teardowns. The engine runs on a virtual clock (trio's
`MockClock`, and an asyncio loop whose clock jumps to its next timer), so the
comparison is exact and the examples take no wall time. That is why these tests
call `anyio.run` themselves, on each backend the `anyio_backend` fixture names,
instead of being `anyio` tests: each example needs a fresh loop and clock.
"""

from __future__ import annotations

import asyncio
import inspect
import selectors
from collections import defaultdict
from collections.abc import Awaitable, Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, assume, event, given, settings
from hypothesis import strategies as st
from trio.testing import MockClock

from orchestrator import (
    Boot,
    BootAborted,
    BootReport,
    Diagnostic,
    GateFailed,
    GateResult,
    PhaseRecord,
    PhaseStatus,
    Retry,
    SimulatedBoot,
    SimulatedPhase,
    TeardownCompleted,
    TeardownFailed,
    TeardownOutcome,
    simulate,
)
from orchestrator._model._events import Event
from orchestrator.testing import capture_events, inject_fault

TICK = 1 / 16
"""Every time in an example is a whole number of ticks: binary fractions add up exactly,
so instants that coincide in the simulation coincide on the engine's clock too."""

LIMITS = [1, 2, 8, None]


# -- virtual clocks ---------------------------------------------------------------------


class VirtualClockLoop(asyncio.SelectorEventLoop):
    """An asyncio loop whose clock jumps to its next timer whenever nothing is ready.

    The engine reads only the event loop's clock, so it runs here as it would in
    real time, minus the waiting. Like trio's `MockClock(autojump_threshold=0)`.
    """

    def __init__(self) -> None:
        self._virtual_now = 0.0
        super().__init__(selectors.DefaultSelector())
        poll = self._selector.select  # type: ignore[attr-defined]

        def select(timeout: float | None = None) -> list[Any]:
            events = poll(0)
            if not events and timeout is None:
                return poll(None)  # no timer pending: only I/O can wake the loop
            if not events and timeout:
                self._virtual_now += timeout
            return events

        self._selector.select = select  # type: ignore[attr-defined]

    def time(self) -> float:
        return self._virtual_now


def run_on_virtual_clock(backend: str, function: Callable[[], Awaitable[Any]]) -> Any:
    """Run `function` in a fresh event loop of `backend` whose clock is virtual."""
    options: dict[str, Any]
    if backend == "trio":
        options = {"clock": MockClock(autojump_threshold=0)}
    else:
        options = {"loop_factory": VirtualClockLoop}
    return anyio.run(function, backend=backend, backend_options=options)


def test_virtual_asyncio_clock_jumps_to_the_next_timer() -> None:
    async def sleeps() -> tuple[float, bool]:
        begin = anyio.current_time()
        with anyio.move_on_after(3600) as scope:
            await anyio.sleep(7200)
        return anyio.current_time() - begin, scope.cancelled_caught

    assert run_on_virtual_clock("asyncio", sleeps) == (3600, True)


# -- random boots -----------------------------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """One phase; every time is in ticks (even for durations, odd for limits).

    It completes after `duration` ticks, unless it fails `fail_at` ticks into each
    attempt or its `timeout` comes first; with a `teardown`, it is a generator (or
    a start/stop object) whose teardown takes that long.
    """

    duration: int
    needs: tuple[int, ...] = ()
    after: tuple[int, ...] = ()
    gate: bool = False
    critical: bool = True
    skip: bool = False
    fail_at: int | None = None
    timeout: int | None = None
    retry: Retry | None = None
    teardown: int | None = None
    teardown_timeout: int | None = None
    component: bool = False


@dataclass(frozen=True)
class Drawn:
    """A random boot: its phases, the stop's budget and the boot's deadline in ticks."""

    shapes: tuple[Shape, ...]
    stop_timeout: int | None
    deadline: int | None = None

    def seconds(self, ticks: int | None) -> float | None:
        return None if ticks is None else ticks * TICK

    @property
    def names(self) -> list[str]:
        return [f"p{i}" for i in range(len(self.shapes))]


even = st.integers(1, 24).map(lambda n: 2 * n)
odd = st.integers(0, 24).map(lambda n: 2 * n + 1)
# A retry's `on=` is either everything or the injected ConnectionError, never something
# that leaves the injected error out: the simulator does not know the error's type, so it
# assumes a phase's retry retries it (it does know that a gate's failure is GateFailed).
retries = st.none() | st.builds(
    Retry,
    attempts=st.integers(2, 3),
    delay=st.sampled_from([0.0, 2 * TICK, 6 * TICK]),
    backoff=st.sampled_from([1.0, 2.0]),
    on=st.sampled_from([(Exception,), (ConnectionError,)]),
)


@st.composite
def shapes(draw: st.DrawFn) -> Drawn:
    """Up to seven phases over earlier ones, some of them failing.

    A callable `when=` is never drawn: the engine calls it, the simulator cannot
    know what it would return and assumes true, so the two differ by design.
    """
    count = draw(st.integers(1, 7))
    found = []
    for i in range(count):
        earlier = list(range(i))
        needs = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=2)) if i else []
        rest = [j for j in earlier if j not in needs]
        after = draw(st.lists(st.sampled_from(rest), unique=True, max_size=1)) if rest else []
        gate = draw(st.integers(0, 4)) == 0
        teardown = draw(st.none() | even)
        found.append(
            Shape(
                needs=tuple(sorted(needs)),
                after=tuple(sorted(after)),
                gate=gate,
                critical=gate or draw(st.booleans()),
                skip=draw(st.integers(0, 7)) == 0,
                duration=draw(even),
                fail_at=draw(st.none() | st.none() | st.none() | st.sampled_from([2, 4]) | even),
                timeout=draw(st.none() | st.none() | odd),
                retry=draw(retries),
                teardown=teardown,
                teardown_timeout=draw(st.none() | odd) if teardown is not None else None,
                component=teardown is not None and draw(st.booleans()),
            )
        )
    stop_timeout = draw(st.none() | st.none() | odd)
    deadline = draw(st.none() | st.none() | st.integers(0, 60).map(lambda n: 2 * n + 1))
    return Drawn(tuple(found), stop_timeout, deadline)


def phase_function(name: str, shape: Shape, needs: Sequence[str]) -> Any:
    """A phase that takes its drawn duration (and its teardown's), through the event loop.

    Only async phases: a sync one runs in a thread, which a virtual clock would
    jump past (the loop looks idle while the thread works).
    """
    value: Any = GateResult(is_valid=True) if shape.gate else name
    start, stop = shape.duration * TICK, (shape.teardown or 0) * TICK
    parameters = [inspect.Parameter(need, inspect.Parameter.KEYWORD_ONLY) for need in needs]
    if shape.component:

        async def start_component(self: object, **_: Any) -> Any:
            await anyio.sleep(start)
            return value

        async def stop_component(self: object) -> None:
            await anyio.sleep(stop)

        itself = inspect.Parameter("self", inspect.Parameter.POSITIONAL_OR_KEYWORD)
        start_component.__signature__ = inspect.Signature([itself, *parameters])  # type: ignore[attr-defined]
        kind = type(f"Component{name}", (), {"start": start_component, "stop": stop_component})
        return kind()
    if shape.teardown is not None:

        async def run(**_: Any) -> Any:
            await anyio.sleep(start)
            yield value
            await anyio.sleep(stop)

    else:

        async def run(**_: Any) -> Any:  # type: ignore[misc]
            await anyio.sleep(start)
            return value

    run.__signature__ = inspect.Signature(parameters)  # type: ignore[attr-defined]
    return run


def build(drawn: Drawn) -> Boot:
    boot = Boot("twin")
    names = drawn.names
    for name, shape in zip(names, drawn.shapes, strict=True):
        boot.add(
            phase_function(name, shape, [names[j] for j in shape.needs]),
            kind="gate" if shape.gate else "phase",
            name=name,
            after=[names[j] for j in shape.after],
            critical=shape.critical,
            when=False if shape.skip else None,
            timeout=None if shape.timeout is None else shape.timeout * TICK,
            retry=shape.retry,
            teardown_timeout=(
                None if shape.teardown_timeout is None else shape.teardown_timeout * TICK
            ),
        )
    return boot


def predict(drawn: Drawn, limit: int | None) -> SimulatedBoot:
    names = drawn.names
    shapes_by_name = dict(zip(names, drawn.shapes, strict=True))
    return simulate(
        build(drawn).plan(),
        durations={name: shape.duration * TICK for name, shape in shapes_by_name.items()},
        fail={
            name: shape.fail_at * TICK
            for name, shape in shapes_by_name.items()
            if shape.fail_at is not None
        },
        teardown_durations={
            name: shape.teardown * TICK
            for name, shape in shapes_by_name.items()
            if shape.teardown is not None
        },
        max_concurrency=limit,
        stop=True,
        stop_timeout=drawn.seconds(drawn.stop_timeout),
        deadline=drawn.seconds(drawn.deadline),
    )


# -- ties ---------------------------------------------------------------------------------


def without_ties(drawn: Drawn, predicted: SimulatedBoot) -> bool:
    """Whether no two timers of the boot expire at the same instant, bar same-pass failures.

    When two timers expire together, the backend picks which task runs first (trio
    shuffles), and a scheduler that reacts to each completion in turn may then start
    different phases; the engine cannot be deterministic there, so neither can its twin.
    The one tie with a defined outcome is several critical phases failing in the same
    pass: all are recorded and the earliest in plan order is blamed (rule 4).
    """
    expiries: dict[float, list[bool]] = defaultdict(list)
    for shape, phase in zip(drawn.shapes, predicted.phases, strict=True):
        last = len(phase.attempt_log)
        failed = phase.status in (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT)
        for record in phase.attempt_log:
            if record.outcome != "cancelled" and record.end is not None:
                final_failure = failed and record.number == last and shape.critical
                expiries[record.end].append(final_failure)
        for pause in phase.retry_pauses:
            if pause.end is not None and pause.end > pause.start:
                expiries[pause.end].append(False)
    if drawn.deadline is not None and predicted.duration >= drawn.deadline * TICK:
        expiries[drawn.deadline * TICK].append(False)
    begin = predicted.duration
    budget_end = None if drawn.stop_timeout is None else begin + drawn.stop_timeout * TICK
    budget_reached = False
    for shape, phase in zip(drawn.shapes, predicted.phases, strict=True):
        if phase.teardown_start is None or shape.teardown is None:
            continue
        took = shape.teardown * TICK
        if shape.teardown_timeout is not None:
            took = min(took, shape.teardown_timeout * TICK)
        own_end = phase.teardown_start + took
        if budget_end is not None and own_end >= budget_end:
            budget_reached = True  # the budget's timer expires while this one runs
        if budget_end is None or own_end <= budget_end:
            expiries[own_end].append(False)
    if budget_end is not None and budget_reached:
        expiries[budget_end].append(False)
    return all(len(found) == 1 or all(found) for found in expiries.values())


# -- the engine ---------------------------------------------------------------------------


@dataclass
class Run:
    """What the engine did: its report, its diagnostic, its teardowns and its exit code."""

    report: BootReport
    diagnostic: Diagnostic | None
    teardowns: list[tuple[str, str]]
    exit_code: int


def run_engine(backend: str, drawn: Drawn, limit: int | None) -> Run:
    boot = build(drawn)

    async def run() -> Run:
        with ExitStack() as faults, capture_events() as events:
            for name, shape in zip(drawn.names, drawn.shapes, strict=True):
                if shape.fail_at is not None:
                    error = GateFailed("refused") if shape.gate else ConnectionError("down")
                    faults.enter_context(
                        inject_fault(name, error=error, delay=shape.fail_at * TICK)
                    )
            try:
                async with boot.start(
                    sinks=[],
                    max_concurrency=limit,
                    stop_timeout=drawn.seconds(drawn.stop_timeout),
                    deadline=drawn.seconds(drawn.deadline),
                ) as running:
                    pass
            except BootAborted as aborted:
                diagnostic = aborted.diagnostic
                return Run(aborted.report, diagnostic, teardowns(events), diagnostic.exit_code)
            exit_code = 1 if running.stop_failed else 0
            return Run(running.report, None, teardowns(events), exit_code)

    result: Run = run_on_virtual_clock(backend, run)
    return result


def teardowns(events: list[Event]) -> list[tuple[str, str]]:
    """Each teardown in the order it ended, with its outcome."""
    ended = []
    for happened in events:
        if isinstance(happened, TeardownCompleted):
            ended.append((happened.phase, TeardownOutcome.TORN_DOWN.value))
        elif isinstance(happened, TeardownFailed):
            ended.append((happened.phase, TeardownOutcome.TEARDOWN_FAILED.value))
    return ended


# -- the comparison ---------------------------------------------------------------------


def rounded(value: float | None) -> float | None:
    return None if value is None else round(value, 9)


def timeline(phases: Sequence[PhaseRecord] | Sequence[SimulatedPhase]) -> list[tuple[Any, ...]]:
    """Each phase's outcome, attempts, times and teardown, as comparable tuples.

    An attempt's `error` is left out: the engine records what the phase raised,
    which the twin cannot know (it predicts none, see the test below).
    """
    return [
        (
            p.name,
            p.status,
            p.attempts,
            rounded(p.start),
            rounded(p.end),
            p.teardown,
            rounded(p.teardown_start),
            rounded(p.teardown_end),
            [(a.number, rounded(a.start), rounded(a.end), a.outcome) for a in p.attempt_log],
            [(q.after_attempt, rounded(q.start), rounded(q.end)) for q in p.retry_pauses],
        )
        for p in phases
    ]


def note_coverage(predicted: SimulatedBoot) -> None:
    """Name what the example exercises (`--hypothesis-show-statistics` counts them)."""
    phases = predicted.phases
    failed = [p for p in phases if p.status in (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT)]
    facts = {
        "aborted": predicted.root_cause is not None,
        "several failures": len(failed) > 1,
        "same-pass failures": len({p.end for p in failed}) < len(failed),
        "cancelled": bool(predicted.cancelled),
        "blocked": bool(predicted.blocked),
        "degraded": predicted.outcome.value == "degraded",
        "timed out": any(p.status is PhaseStatus.TIMED_OUT for p in phases),
        "deadline passed": predicted.failure_kind == "timed_out"
        and not any(p.status is PhaseStatus.TIMED_OUT for p in phases),
        "retried": any(p.attempts > 1 for p in phases),
        "torn down concurrently": any(
            a.teardown_start is not None
            and b.teardown_start is not None
            and a.teardown_end is not None
            and a.teardown_start <= b.teardown_start < a.teardown_end
            for a in phases
            for b in phases
            if a is not b
        ),
        "teardown failed": any(p.teardown is TeardownOutcome.TEARDOWN_FAILED for p in phases),
    }
    for fact, holds in facts.items():
        if holds:
            event(fact)


SAME_PASS_FAILURES = Drawn(
    (
        Shape(2, teardown=4),
        Shape(2, needs=(0,), fail_at=2),
        Shape(2, needs=(0,), fail_at=2),
        Shape(8),
        Shape(2, needs=(1,)),
    ),
    stop_timeout=None,
)
"""With room for both, p1 and p2 fail at the same instant: both are recorded, p1 is blamed."""

STOP_BUDGET_SPENT = Drawn(
    (
        Shape(2, teardown=4),
        Shape(4, teardown=6, component=True),
        Shape(6, teardown=10),
        Shape(8, needs=(0, 1), teardown=2),
    ),
    stop_timeout=7,
)
"""Teardowns run side by side until the stop's budget cuts two short and one never begins."""


@pytest.mark.parametrize("limit", LIMITS, ids=lambda limit: f"max_concurrency={limit}")
@settings(
    max_examples=120,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.filter_too_much],
)
@given(drawn=shapes())
def test_simulation_and_engine_agree_phase_by_phase(
    anyio_backend: str, limit: int | None, drawn: Drawn
) -> None:
    predicted = predict(drawn, limit)
    assume(without_ties(drawn, predicted))
    note_coverage(predicted)
    assert_twins(anyio_backend, drawn, limit, predicted)


@pytest.mark.parametrize("limit", LIMITS, ids=lambda limit: f"max_concurrency={limit}")
def test_failures_of_the_same_pass_are_all_recorded_and_blamed_alike(
    anyio_backend: str, limit: int | None
) -> None:
    predicted = predict(SAME_PASS_FAILURES, limit)
    assert predicted.root_cause == "p1"
    assert_twins(anyio_backend, SAME_PASS_FAILURES, limit, predicted)


@pytest.mark.parametrize("limit", LIMITS, ids=lambda limit: f"max_concurrency={limit}")
def test_a_spent_stop_budget_cuts_the_same_teardowns_short(
    anyio_backend: str, limit: int | None
) -> None:
    predicted = predict(STOP_BUDGET_SPENT, limit)
    assert predicted.exit_code == 1
    assert_twins(anyio_backend, STOP_BUDGET_SPENT, limit, predicted)


def test_the_twin_predicts_no_error_text_for_a_failed_attempt() -> None:
    boot = Boot("errors")

    @boot.phase(retry=Retry(attempts=2, delay=0.1), timeout=1)
    async def database() -> None: ...

    predicted = simulate(boot.plan(), fail={"database"})
    attempts = predicted.phases[0].attempt_log
    assert [(a.outcome, a.error) for a in attempts] == [("failed", None), ("failed", None)]


def assert_twins(backend: str, drawn: Drawn, limit: int | None, predicted: SimulatedBoot) -> None:
    """Run `drawn` on the engine and hold it to the prediction, phase by phase."""
    real = run_engine(backend, drawn, limit)
    assert timeline(real.report.phases) == timeline(predicted.phases)
    assert (real.report.outcome, rounded(real.report.duration)) == (
        predicted.outcome,
        rounded(predicted.duration),
    )
    assert real.exit_code == predicted.exit_code
    simulated_teardowns = [(name, outcome.value) for name, outcome in predicted.teardown_order]
    if limit == 1:
        assert real.teardowns == simulated_teardowns
    else:
        # Teardowns the stop budget cuts short all end at the same instant, in the order
        # the backend resumes them; every other teardown's end is compared above.
        assert sorted(real.teardowns) == sorted(simulated_teardowns)
    if real.diagnostic is None:
        assert (predicted.root_cause, predicted.diagnostic) == (None, None)
        assert rounded(real.report.stop_duration) == rounded(predicted.stop_duration)
        return
    diagnostic, twin = real.diagnostic, predicted.diagnostic
    assert twin is not None
    assert (diagnostic.phase, diagnostic.kind, diagnostic.exit_code) == (
        predicted.root_cause,
        predicted.failure_kind,
        predicted.exit_code,
    )
    assert (diagnostic.phase, diagnostic.kind, diagnostic.exit_code, diagnostic.action) == (
        twin.phase,
        twin.kind,
        twin.exit_code,
        twin.action,
    )
    assert (diagnostic.blocked, diagnostic.cancelled) == (twin.blocked, twin.cancelled)
    if diagnostic.kind != "gate_failed":  # a refusal's summary is the gate's own words
        assert diagnostic.summary == twin.summary
    assert list(diagnostic.teardown) == real.teardowns
    assert sorted(twin.teardown) == sorted(real.teardowns)
    assert {name for name, _ in diagnostic.teardown} == set(predicted.torn_down)
