"""`Retry`: deterministic delays, jitter only with a seed, retried exception types."""

from __future__ import annotations

import pytest

from orchestrator import Boot, BootAborted, PhaseRetrying, PhaseStatus, Retry
from orchestrator.testing import capture_events, inject_fault


def test_delays_grow_by_backoff_and_are_capped() -> None:
    retry = Retry(attempts=5, delay=0.1, backoff=2.0, max_delay=0.5)
    assert [retry.delay_before(n) for n in range(1, 6)] == [0.0, 0.1, 0.2, 0.4, 0.5]


def test_jitter_with_the_same_seed_gives_the_same_delays() -> None:
    first = Retry(attempts=6, delay=1.0, backoff=1.5, jitter=7)
    second = Retry(attempts=6, delay=1.0, backoff=1.5, jitter=7)
    delays = [first.delay_before(n) for n in range(2, 7)]
    assert delays == [second.delay_before(n) for n in range(2, 7)]
    assert delays != [
        Retry(attempts=6, delay=1.0, backoff=1.5).delay_before(n) for n in range(2, 7)
    ]
    assert all(
        0.5 * 1.5 ** (n - 2) <= d <= 1.5 ** (n - 2)
        for n, d in zip(range(2, 7), delays, strict=True)
    )


def test_invalid_policy_lists_every_problem() -> None:
    problems = Retry(attempts=0, delay=-1, backoff=0.5, max_delay=-2, on=()).problems()
    assert len(problems) == 5


@pytest.mark.anyio
async def test_only_listed_exception_types_are_retried() -> None:
    boot = Boot("retry-types")

    @boot.phase(retry=Retry(attempts=3, on=(ConnectionError,)))
    async def database() -> None:
        return None

    with (
        inject_fault("database", error=ValueError("bad dsn")),
        pytest.raises(BootAborted) as caught,
    ):
        await boot.run_once(sinks=[])
    assert caught.value.report["database"].attempts == 1


@pytest.mark.anyio
async def test_a_phase_that_succeeds_on_a_retry_completes_with_its_attempt_count() -> None:
    boot = Boot("retry-success")

    @boot.phase(retry=Retry(attempts=4, delay=0.001, backoff=2))
    async def database() -> str:
        return "db"

    with (
        capture_events() as events,
        inject_fault("database", error=ConnectionError("x"), attempts=2),
    ):
        report = await boot.run_once(sinks=[])
    assert report["database"].status is PhaseStatus.COMPLETED
    assert report["database"].attempts == 3
    assert [e.delay for e in events if isinstance(e, PhaseRetrying)] == [0.001, 0.002]


@pytest.mark.anyio
async def test_retries_exhausted_report_the_attempt_count() -> None:
    boot = Boot("retry-exhausted")

    @boot.phase(retry=Retry(attempts=3))
    async def database() -> None:
        raise ConnectionError("refused")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.diagnostic.summary == "phase 'database' failed after 3 attempts"
