"""Gates: refuse the boot with every violation and what to do; always critical."""

from __future__ import annotations

from dataclasses import dataclass
from unittest.mock import Mock

import pytest

from orchestrator import Boot, BootAborted, GateFailed, GateResult, GraphError, PhaseStatus

pytestmark = pytest.mark.anyio


def gated(result: object) -> Boot:
    boot = Boot("gated")

    @boot.phase()
    async def database():  # type: ignore[no-untyped-def]
        yield "db"

    @boot.gate()
    async def schema_is_current(database: str) -> object:
        if isinstance(result, BaseException):
            raise result
        return result

    @boot.phase()
    async def api(schema_is_current: object) -> None:
        return None

    return boot


async def test_invalid_gate_result_aborts_with_every_violation_and_action() -> None:
    result = GateResult(
        False,
        ("migration 0042 not applied", "table users missing"),
        ("run `migrate up`", "restore the users table"),
    )
    with pytest.raises(BootAborted) as caught:
        await gated(result).run_once(sinks=[])
    diagnostic = caught.value.diagnostic
    assert (diagnostic.kind, diagnostic.exit_code) == ("gate_failed", 78)
    assert diagnostic.phase == "schema_is_current"
    assert diagnostic.details == ("migration 0042 not applied", "table users missing")
    assert diagnostic.action == "run `migrate up`\nrestore the users table"
    assert diagnostic.blocked == ("api",)
    assert diagnostic.teardown == (("database", "torn_down"),)


async def test_gate_raising_gate_failed_is_a_gate_failure() -> None:
    error = GateFailed("schema too old", ["needs 42, has 41"], action="run migrations")
    with pytest.raises(BootAborted) as caught:
        await gated(error).run_once(sinks=[])
    diagnostic = caught.value.diagnostic
    assert diagnostic.kind == "gate_failed"
    assert diagnostic.summary == "schema too old"
    assert diagnostic.details == ("needs 42, has 41",)
    assert diagnostic.action == "run migrations"


async def test_gate_raising_another_error_is_a_phase_failure() -> None:
    with pytest.raises(BootAborted) as caught:
        await gated(ConnectionError("db gone")).run_once(sinks=[])
    assert caught.value.diagnostic.kind == "phase_failed"


async def test_any_object_with_is_valid_and_validation_errors_is_a_gate_result() -> None:
    @dataclass
    class Verdict:
        is_valid: bool
        validation_errors: list[str]

    async with gated(Verdict(True, [])).start(sinks=[]) as running:
        assert running.resources["api"] is None
    with pytest.raises(BootAborted) as caught:
        await gated(Verdict(False, ["nope"])).run_once(sinks=[])
    assert caught.value.diagnostic.details == ("nope",)


async def test_a_mock_is_not_a_gate_result() -> None:
    with pytest.raises(BootAborted) as caught:
        await gated(Mock()).run_once(sinks=[])
    assert caught.value.diagnostic.kind == "gate_failed"
    assert "not a gate result" in caught.value.diagnostic.summary


async def test_what_a_gate_returns_is_what_its_dependents_receive() -> None:
    result = GateResult(True)
    boot = gated(result)

    @boot.phase()
    async def inspect_gate(schema_is_current: GateResult) -> GateResult:
        return schema_is_current

    async with boot.start(sinks=[]) as running:
        assert running.resources["inspect_gate"] is result
        assert running.report["schema_is_current"].status is PhaseStatus.COMPLETED


def test_a_gate_cannot_be_declared_non_critical() -> None:
    boot = Boot("lenient")

    @boot.gate(critical=False)
    def check() -> GateResult:
        return GateResult(True)

    with pytest.raises(GraphError) as caught:
        boot.validate()
    assert "a gate is always critical" in caught.value.diagnostics[0].details[0]
