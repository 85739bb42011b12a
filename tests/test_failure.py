"""Rule 2, fail fast and roll back only what started; rule 3, deterministic blame."""

from __future__ import annotations

import json

import anyio
import anyio.lowlevel
import pytest

from orchestrator import (
    Boot,
    BootAborted,
    BootReport,
    PhaseStatus,
    TeardownCompleted,
    TeardownOutcome,
)
from orchestrator.testing import capture_events, inject_fault

pytestmark = pytest.mark.anyio


def service(log: list[str]) -> Boot:
    """settings -> database -> (cache | search) -> api, every phase with a teardown."""
    boot = Boot("service")

    def resource(name: str, *needs: str) -> None:
        async def phase(**_: object):  # type: ignore[no-untyped-def]
            log.append(f"start {name}")
            await anyio.lowlevel.checkpoint()
            yield name
            log.append(f"stop {name}")

        parameters = ", ".join(needs)
        namespace: dict[str, object] = {"inner": phase}
        exec(  # build a function whose parameters name its dependencies
            f"def make(inner):\n"
            f"    async def {name}({parameters}):\n"
            f"        async for value in inner():\n"
            f"            yield value\n"
            f"    return {name}\n",
            namespace,
        )
        boot.add(namespace["make"](phase))  # type: ignore[operator]

    resource("settings")
    resource("database", "settings")
    resource("cache", "database")
    resource("search", "database")
    resource("api", "cache", "search")
    return boot


async def test_critical_failure_starts_no_further_phase() -> None:
    log: list[str] = []
    with inject_fault("database", error=ConnectionError("refused")), pytest.raises(BootAborted):
        await service(log).run_once(sinks=[])
    assert "start cache" not in log
    assert "start api" not in log


async def test_never_started_phases_are_blocked() -> None:
    with (
        inject_fault("database", error=ConnectionError("refused")),
        pytest.raises(BootAborted) as caught,
    ):
        await service([]).run_once(sinks=[])
    report = caught.value.report
    assert report.by_status(PhaseStatus.BLOCKED) == ("cache", "search", "api")
    assert caught.value.diagnostic.blocked == ("cache", "search", "api")


async def test_phases_in_flight_are_cancelled_when_the_boot_aborts() -> None:
    boot = Boot("in-flight")
    cancelled = anyio.Event()

    @boot.phase()
    async def slow() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cancelled.set()

    @boot.phase()
    async def broken() -> None:
        await anyio.sleep(0.01)
        raise RuntimeError("boom")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert cancelled.is_set()
    assert caught.value.report["slow"].status is PhaseStatus.CANCELLED
    assert caught.value.diagnostic.cancelled == ("slow",)
    assert caught.value.diagnostic.phase == "broken"


async def test_completed_phases_are_torn_down_once_in_reverse_plan_order() -> None:
    log: list[str] = []
    with (
        inject_fault("api", error=RuntimeError("bad config")),
        capture_events() as events,
        pytest.raises(BootAborted) as caught,
    ):
        await service(log).run_once(sinks=[], max_concurrency=1)
    stops = [line for line in log if line.startswith("stop")]
    assert stops == ["stop search", "stop cache", "stop database", "stop settings"]
    torn = [e.phase for e in events if isinstance(e, TeardownCompleted)]
    assert torn == ["search", "cache", "database", "settings"]
    assert caught.value.diagnostic.teardown == tuple((n, "torn_down") for n in torn)
    assert caught.value.report["api"].teardown is TeardownOutcome.NOT_NEEDED


async def test_teardown_runs_in_reverse_plan_order_after_a_normal_stop() -> None:
    log: list[str] = []
    boot = service(log)
    async with boot.start(sinks=[], max_concurrency=1):
        pass
    stops = [line.split()[1] for line in log if line.startswith("stop")]
    assert stops == list(reversed(boot.plan().order))


async def test_a_failing_teardown_is_recorded_and_the_others_still_run() -> None:
    log: list[str] = []
    with inject_fault("cache", during="teardown", error=OSError("disk gone")):
        report = await service(log).run_once(sinks=[], max_concurrency=1)
    assert report["cache"].teardown is TeardownOutcome.TEARDOWN_FAILED
    assert report["cache"].teardown_error == {"type": "OSError", "message": "disk gone"}
    assert [line for line in log if line.startswith("stop")] == [
        "stop api",
        "stop search",
        "stop database",
        "stop settings",
    ]


@pytest.mark.parametrize(
    ("position", "phase", "blocked", "torn_down"),
    [
        ("first", "settings", ("database", "cache", "search", "api"), ()),
        ("middle", "database", ("cache", "search", "api"), ("settings",)),
        ("last", "api", (), ("search", "cache", "database", "settings")),
        ("parallel branch", "search", ("api",), ("cache", "database", "settings")),
    ],
)
async def test_fault_in_every_position_rolls_back_exactly_what_started(
    position: str, phase: str, blocked: tuple[str, ...], torn_down: tuple[str, ...]
) -> None:
    del position
    with (
        inject_fault(phase, error=RuntimeError(f"{phase} broke")),
        pytest.raises(BootAborted) as caught,
    ):
        await service([]).run_once(max_concurrency=1, sinks=[])
    diagnostic = caught.value.diagnostic
    assert diagnostic.phase == phase
    assert diagnostic.kind == "phase_failed"
    assert diagnostic.exit_code == 69
    assert diagnostic.blocked == blocked
    assert tuple(name for name, _ in diagnostic.teardown) == torn_down


async def test_fault_during_teardown_after_an_abort_still_tears_down_the_rest() -> None:
    log: list[str] = []
    with (
        inject_fault("api", error=RuntimeError("late")),
        inject_fault("database", during="teardown", error=RuntimeError("stuck connection")),
        pytest.raises(BootAborted) as caught,
    ):
        await service(log).run_once(sinks=[], max_concurrency=1)
    assert caught.value.diagnostic.teardown == (
        ("search", "torn_down"),
        ("cache", "torn_down"),
        ("database", "teardown_failed"),
        ("settings", "torn_down"),
    )


async def test_blame_goes_to_the_earliest_failure_in_plan_order() -> None:
    boot = Boot("two-failures")
    release = anyio.Event()

    @boot.phase()
    async def first() -> None:
        await release.wait()
        raise RuntimeError("first")

    @boot.phase()
    async def second() -> None:
        await release.wait()
        raise RuntimeError("second")

    @boot.phase()
    async def trigger() -> None:
        await anyio.sleep(0.001)
        release.set()

    for _ in range(10):  # trio resumes the two waiters in random order; blame must not care
        release = anyio.Event()
        with pytest.raises(BootAborted) as caught:
            await boot.run_once(sinks=[])
        assert caught.value.report.by_status(PhaseStatus.FAILED) == ("first", "second")
        assert caught.value.diagnostic.phase == "first"


async def test_a_phase_that_fails_because_it_was_cancelled_is_not_blamed() -> None:
    boot = Boot("cancel-induced")

    @boot.phase()
    async def early() -> None:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            raise RuntimeError("connection closed while starting") from None

    @boot.phase()
    async def late() -> None:
        await anyio.sleep(0.01)
        raise ValueError("the real cause")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.diagnostic.phase == "late"


async def test_report_lists_phases_in_plan_order() -> None:
    boot = service([])
    report = await boot.run_once(sinks=[])
    assert tuple(record.name for record in report.phases) == boot.plan().order


async def test_identical_boots_differ_only_in_timing_fields() -> None:
    timing = {"start", "end", "duration", "started_at", "teardown_start", "teardown_end"}
    timing |= {"teardown_duration", "stopped_at", "stop_duration"}

    def strip(value: object) -> object:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items() if k not in timing}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    first = await service([]).run_once(sinks=[])
    second = await service([]).run_once(sinks=[])
    assert strip(json.loads(first.to_json())) == strip(json.loads(second.to_json()))
    text = first.to_json()
    assert text == json.dumps(json.loads(text), indent=2, sort_keys=True)


async def test_report_round_trips_through_json() -> None:
    with inject_fault("search", error=RuntimeError("x")), pytest.raises(BootAborted) as caught:
        await service([]).run_once(sinks=[])
    report = caught.value.report
    assert BootReport.from_json(report.to_json()) == report
