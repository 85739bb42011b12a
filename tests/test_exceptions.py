"""Rule 7: every exception is a failure, whatever its class, from a phase or a teardown."""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import anyio
import pytest

from orchestrator import Boot, BootAborted, BootState, PhaseStatus, TeardownOutcome

pytestmark = pytest.mark.anyio


class Unprintable(Exception):
    """An exception whose `str()` raises."""

    def __str__(self) -> str:
        raise RuntimeError("no text for you")


ODD_EXCEPTIONS: dict[str, Callable[[], BaseException]] = {
    "KeyboardInterrupt": KeyboardInterrupt,
    "SystemExit": lambda: SystemExit(3),
    "GeneratorExit": GeneratorExit,
    "BaseExceptionGroup": lambda: BaseExceptionGroup("many", [KeyboardInterrupt(), ValueError()]),
    "ExceptionGroup": lambda: ExceptionGroup("many", [ValueError("a"), OSError("b")]),
    "Unprintable": Unprintable,
}


def boot_raising(error: BaseException, torn: list[str]) -> Boot:
    """settings (with teardown) -> broken (raises `error`) ; `other` independent with teardown."""
    boot = Boot("odd")

    @boot.phase()
    async def settings():  # type: ignore[no-untyped-def]
        yield "s"
        torn.append("settings")

    @boot.phase()
    async def other():  # type: ignore[no-untyped-def]
        yield "o"
        torn.append("other")

    @boot.phase()
    async def broken(settings: str, other: str) -> None:
        raise error

    return boot


@pytest.mark.parametrize("name", sorted(ODD_EXCEPTIONS))
async def test_a_phase_raising_any_exception_class_fails_the_boot_with_a_diagnostic(
    name: str,
) -> None:
    torn: list[str] = []
    with pytest.raises(BootAborted) as caught:
        await boot_raising(ODD_EXCEPTIONS[name](), torn).run_once(sinks=[])
    diagnostic = caught.value.diagnostic
    assert diagnostic.kind == "phase_failed"
    assert diagnostic.phase == "broken"
    assert diagnostic.exit_code == 69
    assert caught.value.report["broken"].status is PhaseStatus.FAILED
    assert caught.value.report.state is BootState.FAILED
    assert sorted(torn) == ["other", "settings"]
    assert diagnostic.cause is not None
    assert type(ODD_EXCEPTIONS[name]()).__name__ in diagnostic.cause


async def test_an_exception_whose_str_raises_is_described_by_its_type() -> None:
    with pytest.raises(BootAborted) as caught:
        await boot_raising(Unprintable(), []).run_once(sinks=[])
    assert caught.value.diagnostic.cause == "Unprintable: <str() raised RuntimeError>"
    assert caught.value.report["broken"].error == {
        "type": "Unprintable",
        "message": "<str() raised RuntimeError>",
    }


@pytest.mark.parametrize("name", sorted(ODD_EXCEPTIONS))
async def test_a_teardown_raising_any_exception_class_is_recorded_and_the_others_still_run(
    name: str,
) -> None:
    boot = Boot("odd-teardown")
    torn: list[str] = []

    @boot.phase()
    async def first():  # type: ignore[no-untyped-def]
        yield 1
        torn.append("first")

    @boot.phase()
    async def second(first: int):  # type: ignore[no-untyped-def]
        yield 2
        raise ODD_EXCEPTIONS[name]()

    @boot.phase()
    async def third(second: int):  # type: ignore[no-untyped-def]
        yield 3
        torn.append("third")

    report = await boot.run_once(sinks=[])
    assert torn == ["third", "first"]
    assert report["second"].teardown is TeardownOutcome.TEARDOWN_FAILED
    assert report["second"].teardown_error is not None
    assert report["second"].teardown_error["type"] == type(ODD_EXCEPTIONS[name]()).__name__
    assert report.state is BootState.STOPPED


async def test_a_cancellation_the_engine_did_not_request_is_a_failure(
    anyio_backend: str,
) -> None:
    boot = Boot("foreign-cancel")

    if anyio_backend == "asyncio":

        @boot.phase()
        async def waits_for_a_cancelled_task() -> None:
            task = asyncio.get_running_loop().create_task(asyncio.sleep(10))
            await asyncio.sleep(0)
            task.cancel()
            await task  # raises CancelledError into the phase: nobody cancelled the phase

    else:

        @boot.phase()
        async def reraises_a_caught_cancel() -> None:
            caught: BaseException | None = None
            with anyio.CancelScope() as scope:
                scope.cancel()
                try:
                    await anyio.sleep(10)
                except anyio.get_cancelled_exc_class() as exc:
                    caught = exc
            assert caught is not None
            raise caught

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.diagnostic.kind == "phase_failed"
    assert caught.value.report.phases[0].status is PhaseStatus.FAILED
    assert caught.value.report.state is BootState.FAILED


async def test_a_non_critical_phase_raising_keyboard_interrupt_degrades_the_boot() -> None:
    boot = Boot("odd-optional")

    @boot.phase(critical=False)
    async def optional() -> None:
        raise KeyboardInterrupt

    report = await boot.run_once(sinks=[])
    assert report.outcome is BootState.DEGRADED
    assert report["optional"].status is PhaseStatus.FAILED


async def test_a_sync_phase_raising_system_exit_in_its_thread_fails_the_boot() -> None:
    boot = Boot("odd-sync")

    @boot.phase()
    def exits() -> None:
        raise SystemExit(2)

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.diagnostic.cause == "SystemExit: 2"


async def test_a_when_condition_raising_keyboard_interrupt_fails_the_phase() -> None:
    boot = Boot("odd-when")

    def interrupted() -> bool:
        raise KeyboardInterrupt

    boot.add(lambda: 1, name="guarded", when=interrupted)
    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.diagnostic.phase == "guarded"


async def test_a_sync_generator_that_never_yields_says_so() -> None:
    boot = Boot("never-yields")

    @boot.phase()
    def empty():  # type: ignore[no-untyped-def]
        return
        yield  # a generator that ends at once

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.diagnostic.cause == (
        "NothingYielded: phase 'empty' finished without yielding a value"
    )


async def test_a_gate_result_whose_attributes_raise_is_a_refusal() -> None:
    class Hostile:
        is_valid = False

        @property
        def validation_errors(self) -> list[object]:
            return [Unprintable()]

    boot = Boot("hostile-gate")
    boot.add(Hostile, kind="gate", name="check")
    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.diagnostic.kind == "gate_failed"
    assert caught.value.diagnostic.details == ("<str() raised RuntimeError>",)
