"""The root cause's action speaks of the retry the phase already has, not of one to add."""

from __future__ import annotations

import anyio
import pytest

from orchestrator import Boot, BootAborted, Diagnostic, Retry

pytestmark = pytest.mark.anyio


class Flaky(Exception):
    pass


async def diagnose(boot: Boot) -> Diagnostic:
    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    return caught.value.diagnostic


def failing(retry: Retry | None) -> Boot:
    boot = Boot("failing")

    @boot.phase(retry=retry)
    async def database() -> None:
        raise Flaky("down")

    return boot


def hanging(retry: Retry | None) -> Boot:
    boot = Boot("hanging")
    never = anyio.Event()

    @boot.phase(timeout=0.01, retry=retry)
    async def database() -> None:
        await never.wait()

    return boot


async def test_a_failed_phase_without_a_retry_is_told_to_add_one() -> None:
    diagnostic = await diagnose(failing(None))
    assert diagnostic.action.endswith("if the failure is transient, add retry=Retry(...).")


async def test_a_failed_phase_with_a_spent_retry_is_told_to_widen_it_not_to_add_one() -> None:
    diagnostic = await diagnose(failing(Retry(attempts=3, delay=0)))
    assert "add retry=Retry" not in diagnostic.action
    assert diagnostic.action.endswith("give its retry= more than 3 attempts or a longer delay.")


async def test_a_failure_its_retry_does_not_cover_is_told_to_add_the_type_to_on() -> None:
    diagnostic = await diagnose(failing(Retry(attempts=3, delay=0, on=(OSError,))))
    assert diagnostic.action.endswith("add Flaky to its retry's on= (it is not retried now).")


async def test_a_timed_out_phase_without_a_retry_is_told_to_add_one() -> None:
    diagnostic = await diagnose(hanging(None))
    assert diagnostic.action.endswith("if the slowness is transient, add retry=Retry(...).")


async def test_a_timed_out_phase_with_a_spent_retry_is_told_to_widen_it_not_to_add_one() -> None:
    diagnostic = await diagnose(hanging(Retry(attempts=2, delay=0)))
    assert diagnostic.summary == "phase 'database' timed out after 2 attempts"
    assert "add retry=Retry" not in diagnostic.action
    assert diagnostic.action.endswith("give its retry= more than 2 attempts or a longer delay.")
