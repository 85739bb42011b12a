"""The standard factory gives each user context a fresh isolated manager, and no stand-ins."""

from __future__ import annotations

import pytest
import websocket_fakes as fakes

from phases.websocket import (
    IsolatedWebSocketManager,
    StandardizedWebSocketManagerFactory,
    WebSocketManagerFactoryProtocol,
    WebSocketManagerMode,
)

ALICE = fakes.make_context("alice")


def test_the_factory_satisfies_the_factory_protocol() -> None:
    assert isinstance(StandardizedWebSocketManagerFactory(), WebSocketManagerFactoryProtocol)


def test_a_missing_user_context_is_refused() -> None:
    with pytest.raises(ValueError, match="a user context is required"):
        StandardizedWebSocketManagerFactory().create_manager(None)


def test_each_call_creates_a_new_manager_bound_to_the_context() -> None:
    factory = StandardizedWebSocketManagerFactory()
    first = factory.create_manager(ALICE)
    second = factory.create_manager(ALICE)
    assert first is not second
    assert first.user_context == ALICE


def test_an_optional_context_gives_each_caller_its_own_anonymous_manager() -> None:
    factory = StandardizedWebSocketManagerFactory(require_user_context=False)
    first = factory.create_manager(None)
    second = factory.create_manager(None)
    assert first.user_id != second.user_id
    assert first.user_id.startswith("anonymous-")


@pytest.mark.parametrize("mode", [WebSocketManagerMode.EMERGENCY, WebSocketManagerMode.DEGRADED])
def test_emergency_and_degraded_managers_are_refused(mode: WebSocketManagerMode) -> None:
    with pytest.raises(ValueError, match="no emergency or degraded managers"):
        StandardizedWebSocketManagerFactory().create_manager(ALICE, mode)


def test_the_isolated_mode_is_recorded_on_the_manager() -> None:
    manager = StandardizedWebSocketManagerFactory().create_manager(
        ALICE, WebSocketManagerMode.ISOLATED
    )
    assert manager.mode is WebSocketManagerMode.ISOLATED


def test_unknown_options_are_refused_rather_than_ignored() -> None:
    with pytest.raises(TypeError, match="unknown options"):
        StandardizedWebSocketManagerFactory().create_manager(ALICE, pool_size=4)


def test_a_context_of_the_wrong_type_is_refused() -> None:
    with pytest.raises(TypeError, match="must be a UserExecutionContext"):
        StandardizedWebSocketManagerFactory().create_manager("user-alice")  # type: ignore[arg-type]


def test_the_factory_accepts_the_managers_it_creates() -> None:
    factory = StandardizedWebSocketManagerFactory()
    result = factory.validate_manager_instance(factory.create_manager(ALICE))
    assert result.is_valid
    assert result.is_production_ready


def test_the_factory_rejects_a_foreign_manager_by_type() -> None:
    result = StandardizedWebSocketManagerFactory().validate_manager_instance(
        fakes.ThirdPartyManager("user-alice")
    )
    assert result.validation_errors == (
        "manager: is a websocket_fakes.ThirdPartyManager, not an IsolatedWebSocketManager",
    )


@pytest.mark.anyio
async def test_the_factory_rejects_a_closed_manager() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    await manager.close()
    result = StandardizedWebSocketManagerFactory().validate_manager_instance(manager)
    assert result.validation_errors == ("manager: the manager for user 'user-alice' is closed",)


def test_the_factory_claims_user_isolation() -> None:
    assert StandardizedWebSocketManagerFactory().supports_user_isolation() is True
