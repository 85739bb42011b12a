"""websocket_phases: the factory gate refuses a non-compliant factory; the bridge phase
hands out an AgentWebSocketBridge over the validated factory and closes its managers."""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any
from unittest.mock import Mock

import pytest
import websocket_fakes as fakes

from orchestrator import Boot, BootAborted, PhaseStatus, TeardownOutcome
from phases import websocket_phases as exported_from_phases
from phases.websocket import (
    AgentWebSocketBridge,
    FactoryValidationResult,
    IsolatedWebSocketManager,
    StandardizedWebSocketManagerFactory,
    ValidatedFactory,
    WebSocketConnection,
    WebSocketManagerFactoryValidator,
    get_standardized_websocket_manager_factory,
    websocket_phases,
)

GATE = "websocket_factory_validation"
BRIDGE = "agent_websocket_bridge"
ALICE = fakes.make_context("alice")
BOB = fakes.make_context("bob")


def boot_with(factory: object, **options: Any) -> Boot:
    boot = Boot("websocket-test")
    boot.include(websocket_phases(factory, **options))
    return boot


async def refusal(factory: object) -> BootAborted:
    with pytest.raises(BootAborted) as caught:
        await boot_with(factory).run_once(sinks=[])
    return caught.value


def test_the_gate_comes_first_and_the_bridge_depends_on_it() -> None:
    plan = websocket_phases(StandardizedWebSocketManagerFactory()).plan()
    assert [(spec.name, spec.kind, spec.requires) for spec in plan.phases] == [
        (GATE, "gate", ()),
        (BRIDGE, "phase", (GATE,)),
    ]
    assert all(spec.description for spec in plan.phases)


def test_websocket_phases_is_also_exported_from_phases() -> None:
    assert exported_from_phases is websocket_phases


def test_after_makes_the_gate_wait_for_phases_of_the_including_boot() -> None:
    boot = Boot("ordered")

    @boot.phase()
    def services() -> str:
        return "services"

    boot.include(websocket_phases(StandardizedWebSocketManagerFactory(), after="services"))
    assert [spec.name for spec in boot.plan().phases] == ["services", GATE, BRIDGE]


@pytest.mark.anyio
async def test_the_gate_hands_its_dependents_the_validated_factory() -> None:
    factory = StandardizedWebSocketManagerFactory()
    boot = boot_with(factory)
    received: list[ValidatedFactory] = []

    @boot.phase()
    def consumer(websocket_factory_validation: ValidatedFactory) -> None:
        received.append(websocket_factory_validation)

    await boot.run_once(sinks=[])
    assert len(received) == 1
    assert received[0].factory is factory
    assert received[0].result.is_production_ready


@pytest.mark.anyio
async def test_a_third_party_factory_passes_the_gate() -> None:
    report = await boot_with(fakes.ThirdPartyFactory()).run_once(sinks=[])
    assert [record.status for record in report.phases] == [PhaseStatus.COMPLETED] * 2


@pytest.mark.anyio
async def test_the_bridge_phase_delivers_through_the_validated_factory() -> None:
    async with boot_with(StandardizedWebSocketManagerFactory()).start(sinks=[]) as running:
        bridge = running.resources[BRIDGE]
        assert isinstance(bridge, AgentWebSocketBridge)
        inbox = fakes.RecordingWebSocket()
        await bridge.manager_for(ALICE).add_connection(
            WebSocketConnection("alice-1", ALICE.user_id, inbox)
        )
        await bridge.notify_agent_started(ALICE, "planner")
    assert [message["type"] for message in inbox.received] == ["agent_started"]


@pytest.mark.anyio
async def test_bridge_teardown_closes_every_manager_it_created() -> None:
    async with boot_with(StandardizedWebSocketManagerFactory()).start(sinks=[]) as running:
        bridge = running.resources[BRIDGE]
        managers = [bridge.manager_for(ALICE), bridge.manager_for(BOB)]
        assert not any(manager.closed for manager in managers)
    assert all(isinstance(m, IsolatedWebSocketManager) and m.closed for m in managers)
    assert running.report.phases[1].teardown is TeardownOutcome.TORN_DOWN
    with pytest.raises(RuntimeError, match="closed"):
        bridge.manager_for(ALICE)


class UnclosableManager(fakes.ThirdPartyManager):
    async def close(self) -> None:
        raise OSError("socket already gone")


class UnclosableFactory(fakes.ThirdPartyFactory):
    manager_class = UnclosableManager


@pytest.mark.anyio
async def test_a_manager_that_fails_to_close_is_a_teardown_failure() -> None:
    async with boot_with(UnclosableFactory()).start(sinks=[]) as running:
        running.resources[BRIDGE].manager_for(ALICE)
    assert running.report.phases[1].teardown is TeardownOutcome.TEARDOWN_FAILED


@pytest.mark.anyio
async def test_a_shared_registry_factory_is_refused_with_exit_78() -> None:
    aborted = await refusal(fakes.SharedRegistryFactory())
    diagnostic = aborted.diagnostic
    assert (diagnostic.kind, diagnostic.exit_code, diagnostic.phase) == ("gate_failed", 78, GATE)
    assert len(diagnostic.details) == 1
    assert diagnostic.details[0].startswith("isolation: user B's manager delivered to user A")
    assert "registry" in diagnostic.action
    assert diagnostic.blocked == (BRIDGE,)


@pytest.mark.anyio
async def test_a_mock_factory_gets_one_detail_and_one_action_per_violation() -> None:
    expected = await WebSocketManagerFactoryValidator.validate_factory(Mock())
    diagnostic = (await refusal(Mock())).diagnostic
    assert len(expected.validation_errors) > 1
    assert diagnostic.details == expected.validation_errors
    assert diagnostic.action.splitlines() == list(expected.actions)
    assert f"({len(expected.validation_errors)} violations)" in diagnostic.summary


@pytest.mark.anyio
async def test_a_refused_factory_never_gets_a_bridge() -> None:
    aborted = await refusal(fakes.SharedRegistryFactory())
    statuses = {record.name: record.status for record in aborted.report.phases}
    assert statuses == {GATE: PhaseStatus.FAILED, BRIDGE: PhaseStatus.BLOCKED}


@pytest.mark.anyio
async def test_a_refusal_tears_down_the_phases_that_started_before_the_gate() -> None:
    closed: list[str] = []
    boot = Boot("rolled-back")

    @boot.phase()
    async def database() -> AsyncIterator[str]:
        yield "db"
        closed.append("database")

    boot.include(websocket_phases(fakes.SharedRegistryFactory(), after="database"))
    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert closed == ["database"]
    assert caught.value.diagnostic.teardown == (("database", "torn_down"),)


@pytest.mark.anyio
async def test_a_factory_that_hangs_fails_the_gate_within_the_call_timeout() -> None:
    with pytest.raises(BootAborted) as caught:
        await boot_with(fakes.HangingAsyncFactory(), call_timeout=0.05).run_once(sinks=[])
    assert caught.value.diagnostic.kind == "gate_failed"


def test_a_validated_factory_cannot_carry_an_invalid_result() -> None:
    invalid = FactoryValidationResult(is_valid=False, validation_errors=("wrong",))
    with pytest.raises(ValueError, match="valid"):
        ValidatedFactory(StandardizedWebSocketManagerFactory(), invalid)


def test_a_validated_factory_is_a_passing_gate_result() -> None:
    valid = FactoryValidationResult(is_valid=True)
    validated = ValidatedFactory(StandardizedWebSocketManagerFactory(), valid)
    assert (validated.is_valid, validated.validation_errors, validated.actions) == (True, (), ())
    assert repr(validated).endswith(".StandardizedWebSocketManagerFactory)")


# --- for code written against the seed system ---------------------------------------------


def test_the_seed_convenience_function_gives_a_new_reference_factory_each_call() -> None:
    first = get_standardized_websocket_manager_factory()
    assert isinstance(first, StandardizedWebSocketManagerFactory)
    assert first is not get_standardized_websocket_manager_factory()


def test_the_seed_convenience_factory_requires_a_user_context_by_default() -> None:
    with pytest.raises(ValueError, match="user context is required"):
        get_standardized_websocket_manager_factory().create_manager(None)


def test_the_seed_convenience_factory_can_serve_without_a_user_context() -> None:
    factory = get_standardized_websocket_manager_factory(require_user_context=False)
    first, second = factory.create_manager(None), factory.create_manager(None)
    assert first is not second
    assert first.user_id != second.user_id


@pytest.mark.anyio
async def test_the_seed_convenience_factory_passes_the_gate_and_serves_the_bridge() -> None:
    factory = get_standardized_websocket_manager_factory()
    async with boot_with(factory).start(sinks=[]) as running:
        assert running.resources[GATE].factory is factory
        bridge = running.resources[BRIDGE]
        inbox = fakes.RecordingWebSocket()
        await bridge.manager_for(ALICE).add_connection(
            WebSocketConnection("alice-1", ALICE.user_id, inbox)
        )
        await bridge.notify_agent_started(ALICE, "planner")
    assert [message["type"] for message in inbox.received] == ["agent_started"]
