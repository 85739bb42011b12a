"""Rule 4, timeouts everywhere: per attempt, per teardown, whole boot; stuck threads abandoned."""

from __future__ import annotations

import threading

import anyio
import pytest

from orchestrator import Boot, BootAborted, PhaseStatus, PhaseTimeout, Retry, TeardownOutcome
from orchestrator._runtime._invoke import abandoned_threads
from orchestrator.testing import inject_fault

pytestmark = pytest.mark.anyio


async def test_attempt_past_its_timeout_is_cancelled_and_reported_timed_out() -> None:
    boot = Boot("slow-attempt")
    cancelled = False

    @boot.phase(timeout=0.05)
    async def slow() -> None:
        nonlocal cancelled
        try:
            await anyio.sleep(10)
        finally:
            cancelled = True

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert cancelled
    assert caught.value.report["slow"].status is PhaseStatus.TIMED_OUT
    diagnostic = caught.value.diagnostic
    assert (diagnostic.kind, diagnostic.phase, diagnostic.exit_code) == ("timed_out", "slow", 75)
    assert "timeout=0.05" in diagnostic.details[0]


async def test_timeout_applies_to_each_attempt_and_retries_follow() -> None:
    boot = Boot("retry-timeouts")

    @boot.phase(timeout=0.05, retry=Retry(attempts=3, on=(TimeoutError,)))
    async def flaky() -> str:
        return "ok"

    with inject_fault("flaky", hang=True, attempts=2):
        report = await boot.run_once(sinks=[])
    assert report["flaky"].status is PhaseStatus.COMPLETED
    assert report["flaky"].attempts == 3


async def test_user_timeout_error_is_a_failure_not_a_phase_timeout() -> None:
    boot = Boot("own-timeout")

    @boot.phase(timeout=5)
    async def connect() -> None:
        raise TimeoutError("upstream did not answer")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.report["connect"].status is PhaseStatus.FAILED
    assert caught.value.diagnostic.kind == "phase_failed"


async def test_stuck_sync_phase_is_abandoned_at_its_deadline() -> None:
    boot = Boot("stuck-thread")
    release = threading.Event()
    workers: list[threading.Thread] = []

    @boot.phase(timeout=0.1)
    def stuck() -> None:
        workers.append(threading.current_thread())
        release.wait(30)

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    try:
        assert caught.value.report["stuck"].status is PhaseStatus.TIMED_OUT
        assert workers[0].is_alive(), "the boot waited for the thread instead of abandoning it"
        assert workers[0] in abandoned_threads()
    finally:
        release.set()


async def test_teardown_past_its_timeout_is_reported_and_the_rest_still_run() -> None:
    boot = Boot("slow-teardown")
    stopped: list[str] = []

    @boot.phase()
    async def first():  # type: ignore[no-untyped-def]
        yield 1
        stopped.append("first")

    @boot.phase(teardown_timeout=0.05)
    async def second(first: int):  # type: ignore[no-untyped-def]
        yield 2
        await anyio.sleep(10)

    report = await boot.run_once(sinks=[])
    assert report["second"].teardown is TeardownOutcome.TEARDOWN_FAILED
    assert report["second"].teardown_error is not None
    assert report["second"].teardown_error["type"] == "PhaseTimeout"
    assert stopped == ["first"]


async def test_whole_boot_deadline_aborts_and_tears_down() -> None:
    boot = Boot("deadline")
    stopped = False

    @boot.phase()
    async def quick():  # type: ignore[no-untyped-def]
        nonlocal stopped
        yield None
        stopped = True

    @boot.phase()
    async def endless(quick: None) -> None:
        await anyio.sleep_forever()

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(deadline=0.05, sinks=[])
    diagnostic = caught.value.diagnostic
    assert diagnostic.kind == "timed_out"
    assert diagnostic.exit_code == 75
    assert diagnostic.cancelled == ("endless",)
    assert "0.05s deadline" in diagnostic.summary
    assert stopped


async def test_phase_timeout_is_a_timeout_error() -> None:
    assert issubclass(PhaseTimeout, TimeoutError)
    assert "exceeded its 2s deadline" in str(PhaseTimeout("db", 2))
