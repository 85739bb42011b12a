"""`orchestrator.testing.booted` and `verify_gates`: a boot in a test, from start to stop."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from orchestrator import Boot, BootState, GateResult
from orchestrator.testing import BootTestFailure, Fault, booted, inject_fault, verify_gates


def small(torn: list[str]) -> Boot:
    boot = Boot("small")

    @boot.phase()
    async def database() -> AsyncIterator[str]:
        yield "db"
        torn.append("database")

    @boot.gate()
    def ready(database: str) -> GateResult:
        return GateResult(True)

    return boot


@pytest.mark.anyio
async def test_booted_hands_over_a_ready_boot_and_stops_it_on_leaving() -> None:
    torn: list[str] = []
    async with booted(small(torn)) as running:
        assert running.state is BootState.READY
        assert torn == []
    assert torn == ["database"]


@pytest.mark.anyio
async def test_a_boot_that_does_not_start_raises_its_diagnostic_as_the_message() -> None:
    boot = small([])
    with pytest.raises(BootTestFailure, match="did not start") as failure:
        async with booted(boot, faults=[Fault("database", error=ConnectionError("down"))]):
            pass
    assert failure.value.diagnostic is not None
    assert str(failure.value.diagnostic) in str(failure.value)
    assert failure.value.__cause__ is None


@pytest.mark.anyio
async def test_the_faults_given_to_one_boot_do_not_reach_the_next() -> None:
    boot = small([])
    with pytest.raises(BootTestFailure):
        async with booted(boot, faults=[Fault("database", error=ConnectionError("down"))]):
            pass
    async with booted(boot) as running:
        assert running.state is BootState.READY


@pytest.mark.anyio
async def test_a_teardown_that_fails_raises_on_leaving() -> None:
    with (
        inject_fault("database", error=RuntimeError("stuck"), during="teardown"),
        pytest.raises(BootTestFailure, match="did not stop cleanly") as failure,
    ):
        async with booted(small([])):
            pass
    assert "database: RuntimeError: stuck" in str(failure.value)


@pytest.mark.anyio
async def test_the_tests_own_error_passes_through_after_the_stop() -> None:
    torn: list[str] = []
    with pytest.raises(KeyError):
        async with booted(small(torn)):
            raise KeyError("the test's own")
    assert torn == ["database"]


@pytest.mark.anyio
async def test_verify_gates_judges_a_boot_as_smd_verify_does() -> None:
    verification = await verify_gates(small([]))
    assert [(v.gate, v.verdict) for v in verification.verdicts] == [("ready", "passed")]
    assert verification.exit_code == 0
