"""Recovery: a DEGRADED boot retries its recover= phases in service and heals itself."""

from __future__ import annotations

from collections.abc import AsyncIterator

import anyio
import pytest

from orchestrator import Boot, BootState, GraphError, PhaseStatus, Retry, TeardownOutcome
from orchestrator._model._events import Event, PhaseRecovered
from orchestrator._model._phase import build_spec
from orchestrator._model._schedule import StartQueue


class Waiter:
    """A sink that keeps every event and wakes whoever waits for one of a given name."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._wanted: dict[str, anyio.Event] = {}

    def __call__(self, event: Event) -> None:
        self.events.append(event)
        if event.name in self._wanted:
            self._wanted.pop(event.name).set()

    async def wait_for(self, name: str) -> Event:
        if not any(event.name == name for event in self.events):
            self._wanted[name] = anyio.Event()
            await self._wanted[name].wait()
        return next(event for event in self.events if event.name == name)


def flaky_cache(failures: int, *, attempts: int = 3) -> Boot:
    """`cache` fails its first `failures` attempts; `search` and `feed` need it, `api` not."""
    boot = Boot("recovery")
    calls: list[int] = []

    @boot.phase()
    async def api() -> str:
        return "api"

    @boot.phase(critical=False, recover=Retry(attempts=attempts, delay=0))
    async def cache() -> AsyncIterator[str]:
        calls.append(1)
        if len(calls) <= failures:
            raise ConnectionError("cache down")
        yield "cache"

    @boot.phase()
    async def search(cache: str) -> str:
        return f"search on {cache}"

    @boot.phase()
    async def feed(cache: str, search: str) -> str:
        return f"feed on {search}"

    return boot


@pytest.mark.anyio
async def test_a_recovery_heals_a_degraded_boot() -> None:
    waiter = Waiter()
    async with flaky_cache(2).start(sinks=[waiter]) as running:
        await waiter.wait_for("boot.state_changed")
        assert running.state is BootState.READY
        assert running.resources["feed"] == "feed on search on cache"
    recovered = next(e for e in waiter.events if isinstance(e, PhaseRecovered))
    assert (recovered.phase, recovered.attempts) == ("cache", 3)


@pytest.mark.anyio
async def test_the_phases_a_recovery_unblocks_start_in_plan_order() -> None:
    waiter = Waiter()
    async with flaky_cache(1).start(sinks=[waiter], max_concurrency=1):
        await waiter.wait_for("boot.state_changed")
    after = waiter.events[[e.name for e in waiter.events].index("phase.recovered") :]
    started = [e.phase for e in after if e.name == "phase.completed"]
    assert started == ["cache", "search", "feed"]


@pytest.mark.anyio
async def test_the_report_shows_the_degraded_interval_and_the_recovery() -> None:
    waiter = Waiter()
    async with flaky_cache(1).start(sinks=[waiter]) as running:
        await waiter.wait_for("boot.state_changed")
    report = running.report
    (interval,) = report.degraded
    assert interval.reason == "'cache' failed, 'search' blocked, 'feed' blocked"
    recovered_at = report["cache"].recovered_at
    assert recovered_at is not None
    assert interval.end is not None
    assert interval.start < recovered_at <= interval.end  # READY once what it blocked is up
    assert report["search"].status is PhaseStatus.COMPLETED
    assert report["cache"].teardown is TeardownOutcome.TORN_DOWN
    assert type(report).from_json(report.to_json()).degraded == report.degraded


@pytest.mark.anyio
async def test_a_spent_recovery_leaves_the_boot_degraded() -> None:
    waiter = Waiter()
    async with flaky_cache(10, attempts=2).start(sinks=[waiter]) as running:
        while running.report["cache"].attempts < 3:
            await waiter.wait_for("phase.started")
            waiter.events.clear()
        await anyio.lowlevel.checkpoint()
        assert running.state is BootState.DEGRADED
    assert running.report["search"].status is PhaseStatus.BLOCKED
    assert running.report.degraded[0].end == running.report.stopped_at


@pytest.mark.anyio
async def test_the_stop_ends_a_recovery_in_progress() -> None:
    boot = Boot("recovery")
    attempting = anyio.Event()

    @boot.phase(critical=False, recover=Retry(attempts=5))
    async def cache() -> None:
        if attempting.is_set():
            await anyio.sleep_forever()
        attempting.set()
        raise ConnectionError("cache down")

    async with boot.start(sinks=[]) as running:
        await attempting.wait()
    assert running.report.state is BootState.STOPPED
    assert running.report["cache"].attempt_log[-1].outcome in ("cancelled", "failed")


@pytest.mark.anyio
async def test_a_critical_phase_a_recovery_unblocks_that_fails_stops_the_boot() -> None:
    from orchestrator import BootAborted

    boot = Boot("recovery")
    calls: list[int] = []

    @boot.phase(critical=False, recover=Retry(attempts=2))
    async def cache() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("cache down")
        return "cache"

    @boot.phase()
    async def search(cache: str) -> str:
        raise RuntimeError("index corrupt")

    with pytest.raises(BootAborted) as caught:
        async with boot.start(sinks=[]):
            await anyio.sleep_forever()
    assert (caught.value.diagnostic.kind, caught.value.diagnostic.phase) == (
        "phase_failed",
        "search",
    )


def test_recover_on_a_critical_phase_is_refused() -> None:
    boot = Boot("recovery")
    boot.add(lambda: None, name="cache", recover=Retry())
    with pytest.raises(GraphError) as caught:
        boot.validate()
    assert "recover= retries a non-critical phase in service: add critical=False" in str(
        caught.value
    )


def test_reopen_requeues_only_what_the_recovered_phase_blocked() -> None:
    def spec(name: str, *requires: str) -> object:
        def target() -> None: ...

        target.__name__ = name
        made = build_spec(target, kind="phase")
        return type(made)(**{**_fields(made), "name": name, "requires": requires})

    phases = [spec("a"), spec("b"), spec("c", "a"), spec("d", "b"), spec("e", "c", "d")]
    queue = StartQueue(phases)  # type: ignore[arg-type]
    assert [queue.pop(), queue.pop()] == [0, 1]
    blocked = queue.settle(0, PhaseStatus.FAILED)
    assert [position for position, *_ in blocked] == [2]
    assert queue.settle(1, PhaseStatus.COMPLETED) == []
    assert [queue.pop()] == [3]
    assert [position for position, *_ in queue.settle(3, PhaseStatus.COMPLETED)] == [4]
    assert queue.reopen(0) == [2, 4]
    assert not queue
    assert queue.settle(0, PhaseStatus.COMPLETED) == []
    assert queue.pop() == 2
    assert queue.settle(2, PhaseStatus.COMPLETED) == []
    assert queue.pop() == 4


def _fields(spec: object) -> dict[str, object]:
    import dataclasses

    return {
        field.name: getattr(spec, field.name)
        for field in dataclasses.fields(spec)  # type: ignore[arg-type]
        if field.init
    }


def test_the_simulator_predicts_a_recovery_and_what_it_unblocks() -> None:
    from orchestrator._analysis._simulator import simulate

    boot = Boot("recovery")
    boot.add(lambda: None, name="api", expected_duration=1.0)
    boot.add(
        lambda: None,
        name="cache",
        critical=False,
        recover=Retry(attempts=3, delay=2.0),
        expected_duration=0.5,
    )

    def search(cache: None) -> None: ...

    boot.add(search, expected_duration=0.25)
    predicted = simulate(boot.plan(), fail={"cache": 0.5}, recover={"cache": 2})
    assert predicted.outcome is BootState.DEGRADED
    assert predicted.ready_at == 1.0
    # Two recovery attempts from 1.0: a pause of 2 and a failing 0.5, a pause of 2 and 0.5.
    assert predicted["cache"].recovered_at == 6.0
    assert [r.outcome for r in predicted["cache"].attempt_log] == ["failed", "failed", "completed"]
    assert (predicted["search"].status, predicted["search"].start) == (PhaseStatus.COMPLETED, 6.0)
    assert predicted.healed_at == 6.25
    (interval,) = predicted.to_report().degraded
    assert (interval.start, interval.end, interval.reason) == (
        1.0,
        6.25,
        "'cache' failed, 'search' blocked",
    )


@pytest.mark.anyio
async def test_the_simulator_and_the_engine_recover_the_same_phases_in_the_same_order() -> None:
    from orchestrator._analysis._simulator import simulate

    waiter = Waiter()
    boot = flaky_cache(1)
    async with boot.start(sinks=[waiter], max_concurrency=1) as running:
        await waiter.wait_for("boot.state_changed")
    report = running.report
    predicted = simulate(boot.plan(), fail=["cache"], recover=["cache"], max_concurrency=1)
    assert [p.status for p in predicted.phases] == [r.status for r in report.phases]
    engine_order = [r.name for r in sorted(report.phases, key=lambda r: r.start or 0.0)]
    assert list(predicted.order) == engine_order
    assert predicted.healed_at is not None


def _waiting_recoveries() -> Boot:
    """`slow` and `quick` fail as they start; `slow`'s recovery takes 2 s, `quick`'s none."""
    boot = Boot("recovery")
    calls: dict[str, int] = {"slow": 0, "quick": 0}

    @boot.phase(critical=False, recover=Retry(attempts=2, delay=1.0))
    async def slow() -> str:
        calls["slow"] += 1
        if calls["slow"] == 1:
            raise ConnectionError("slow down")
        await anyio.sleep(2.0)
        return "slow"

    @boot.phase(critical=False, recover=Retry(attempts=2, delay=1.5))
    async def quick() -> str:
        calls["quick"] += 1
        if calls["quick"] == 1:
            raise ConnectionError("quick down")
        return "quick"

    @boot.phase()
    async def feed(slow: str, quick: str) -> str:
        return f"{slow} and {quick}"

    return boot


def test_the_simulator_and_the_engine_agree_that_recoveries_wait_for_each_other(
    anyio_backend: str,
) -> None:
    from test_twin import run_on_virtual_clock

    from orchestrator._analysis._simulator import simulate

    async def recover() -> dict[str, float]:
        waiter = Waiter()
        async with _waiting_recoveries().start(sinks=[waiter]):
            await waiter.wait_for("boot.state_changed")
        return {e.phase: e.at for e in waiter.events if isinstance(e, PhaseRecovered)}

    recovered = run_on_virtual_clock(anyio_backend, recover)
    # `slow`'s recovery holds the engine's one-at-a-time recovery from 1 s to 3 s, so
    # `quick`, due at 1.5 s, recovers at 3 s, not 1.5 s.
    assert recovered == {"slow": pytest.approx(3.0), "quick": pytest.approx(3.0)}
    predicted = simulate(
        _waiting_recoveries().plan(),
        durations={"slow": 2.0, "quick": 0.0},
        fail=["slow", "quick"],
        recover=["slow", "quick"],
    )
    assert {p.name: p.recovered_at for p in predicted.phases if p.recovered_at is not None} == (
        recovered
    )
    assert predicted.healed_at == pytest.approx(3.0)
