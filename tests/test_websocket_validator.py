"""The factory gate decides from behaviour: each fault gives its own violation line."""

from __future__ import annotations

import threading
from collections.abc import Coroutine, Iterator
from typing import Any
from unittest.mock import Mock

import pytest
import websocket_fakes as fakes

from phases.websocket import (
    FactoryComplianceError,
    FactoryValidationResult,
    StandardizedWebSocketManagerFactory,
    WebSocketManagerFactoryValidator,
    WebSocketManagerMode,
)

pytestmark = pytest.mark.anyio

FAST = 0.2
# Lines that name a probe user or a connection depend on the cast the seed draws.
SEED = 5


async def errors_of(factory: object) -> tuple[str, ...]:
    result = await WebSocketManagerFactoryValidator.validate_factory(
        factory, call_timeout=FAST, seed=SEED
    )
    assert not result.is_valid
    assert not result.is_production_ready
    return result.validation_errors


@pytest.fixture
def release() -> Iterator[threading.Event]:
    event = threading.Event()
    yield event
    event.set()


async def test_the_standard_factory_is_production_ready() -> None:
    factory = StandardizedWebSocketManagerFactory()
    result = await WebSocketManagerFactoryValidator.validate_factory(factory)
    assert result.is_valid, result.validation_errors
    assert result.is_production_ready
    assert result.manager_type == "phases.websocket._manager.IsolatedWebSocketManager"


async def test_a_correct_third_party_factory_passes() -> None:
    result = await WebSocketManagerFactoryValidator.validate_factory(fakes.ThirdPartyFactory())
    assert result.is_valid, result.validation_errors
    assert result.is_production_ready


async def test_every_violation_comes_with_an_action() -> None:
    result = await WebSocketManagerFactoryValidator.validate_factory(Mock(), call_timeout=FAST)
    assert len(result.actions) == len(result.validation_errors) > 0
    assert all(action for action in result.actions)


async def test_a_mock_fails_although_it_passes_every_hasattr_check() -> None:
    errors = await errors_of(Mock())
    assert "supports_user_isolation: returned a Mock, not True" in errors
    assert "create_manager: users A and B received the same manager instance" in errors
    assert "manager.send_to_user: is a plain method; the protocol requires async def" in errors


async def test_a_missing_method_fails() -> None:
    errors = await errors_of(fakes.FactoryMissingIsolationClaim())
    assert errors == ("supports_user_isolation: method missing",)


async def test_a_create_manager_without_a_user_context_parameter_fails() -> None:
    errors = await errors_of(fakes.FactoryWithoutUserContextParameter())
    assert errors == (
        "create_manager: signature create_manager() cannot be called as "
        "create_manager(user_context, mode=WebSocketManagerMode.UNIFIED, **kwargs)",
    )


async def test_an_async_create_manager_fails() -> None:
    errors = await errors_of(fakes.FactoryWithAsyncCreate())
    assert errors == ("create_manager: is async def; the protocol requires a plain method",)


async def test_a_factory_denying_isolation_fails() -> None:
    errors = await errors_of(fakes.FactoryDenyingIsolation())
    assert errors == ("supports_user_isolation: returned False, not True",)


async def test_a_sync_manager_method_where_async_is_required_fails() -> None:
    errors = await errors_of(fakes.FactoryWithSyncSend())
    assert errors == ("manager.send_to_user: is a plain method; the protocol requires async def",)


async def test_a_manager_method_with_the_wrong_signature_fails() -> None:
    errors = await errors_of(fakes.FactoryWithMisshapenSend())
    assert errors == (
        "manager.send_to_user: signature send_to_user(message) cannot be called as "
        "send_to_user(user_id, message)",
    )


async def test_a_shared_manager_instance_fails() -> None:
    errors = await errors_of(fakes.SharedInstanceFactory())
    assert errors == ("create_manager: users A and B received the same manager instance",)


async def test_a_shared_registry_behind_distinct_managers_fails() -> None:
    errors = await errors_of(fakes.SharedRegistryFactory())
    assert "validate_manager_instance: accepted an object that is not a manager" not in errors
    assert (
        "isolation: user B's manager delivered to user A's connection via "
        "send_to_user(user A), send_to_thread(thread A)"
    ) in errors


async def test_a_manager_that_drops_messages_fails() -> None:
    errors = await errors_of(fakes.DroppingFactory())
    assert errors[0].startswith("manager.send_to_user: user A's connection ")
    assert errors[0].endswith("never received a message sent through user A's manager")
    assert errors[1].startswith("manager.emit_critical_event: user A's connection ")
    assert errors[2].endswith("who has no connection, instead of raising")
    assert errors[3:] == (
        "manager.send_to_user: a delivery to a failing connection raised nothing "
        "(reported as sent)",
    )


async def test_a_manager_that_swallows_delivery_failures_fails() -> None:
    errors = await errors_of(fakes.SwallowingFactory())
    assert errors == (
        "manager.send_to_user: a delivery to a failing connection raised nothing "
        "(reported as sent)",
    )


async def test_a_health_check_that_always_says_active_fails() -> None:
    (error,) = await errors_of(fakes.AlwaysActiveFactory())
    assert error.startswith("manager.is_connection_active: returned True for user ")
    assert error.endswith(" after all of its connections were removed")


async def test_a_health_report_that_is_a_bare_true_fails() -> None:
    errors = await errors_of(fakes.BooleanHealthFactory())
    assert errors == (
        "manager.get_connection_health: returned True, not a mapping describing the connections",
    )


async def test_a_validate_manager_instance_that_checks_hasattr_fails() -> None:
    errors = await errors_of(fakes.HasattrValidatingFactory())
    assert errors == (
        "validate_manager_instance: accepted an object that is not a manager "
        "(an impostor that passes hasattr checks)",
    )


async def test_a_validate_manager_instance_that_rejects_its_own_managers_fails() -> None:
    errors = await errors_of(fakes.SelfRejectingFactory())
    assert errors == ("validate_manager_instance: rejected a manager the factory created",)


async def test_a_factory_that_serves_a_missing_user_context_fails() -> None:
    errors = await errors_of(fakes.ContextlessFactory())
    assert errors == (
        "create_manager: returned a manager for a missing user context (None) instead of raising",
    )


async def test_a_factory_sharing_one_manager_between_contextless_callers_fails() -> None:
    errors = await errors_of(fakes.SharedAnonymousManagerFactory())
    assert errors == (
        "create_manager: handed the same manager to two callers without a user context",
    )


async def test_an_optional_context_with_fresh_managers_passes() -> None:
    factory = StandardizedWebSocketManagerFactory(require_user_context=False)
    result = await WebSocketManagerFactoryValidator.validate_factory(factory)
    assert result.is_valid, result.validation_errors


async def test_a_factory_that_raises_fails() -> None:
    errors = await errors_of(fakes.RaisingFactory())
    assert errors == (
        "create_manager: raised RuntimeError: manager pool exhausted for user A's context",
    )


async def test_a_factory_error_is_shown_with_its_secrets_masked() -> None:
    errors = await errors_of(fakes.RaisingFactory("cannot reach redis://app:hunter2@cache/0"))
    assert errors == (
        "create_manager: raised RuntimeError: cannot reach redis://app:***@cache/0 "
        "for user A's context",
    )


async def test_a_method_whose_lookup_raises_fails() -> None:
    errors = await errors_of(fakes.FactoryWithRaisingProperty())
    assert errors == ("supports_user_isolation: looking it up raised RuntimeError",)


async def test_a_factory_hanging_in_a_plain_method_fails_within_the_bound(
    release: threading.Event,
) -> None:
    errors = await errors_of(fakes.HangingFactory(release))
    assert errors == ("create_manager: did not return within 0.2s for user A's context",)


async def test_a_manager_hanging_in_an_async_method_fails_within_the_bound() -> None:
    errors = await errors_of(fakes.HangingAsyncFactory())
    assert errors == ("manager.add_connection: did not return within 0.2s",)


async def test_an_object_that_is_no_factory_at_all_fails_on_each_method() -> None:
    errors = await errors_of(object())
    assert errors == (
        "create_manager: method missing",
        "validate_manager_instance: method missing",
        "supports_user_isolation: method missing",
    )


async def test_a_failed_check_falsifies_only_what_it_concerns() -> None:
    result = await WebSocketManagerFactoryValidator.validate_factory(fakes.AlwaysActiveFactory())
    assert result.factory_method_available
    assert result.user_context_isolated
    assert not result.interface_compliant


async def test_require_factory_compliance_returns_the_result_of_a_compliant_factory() -> None:
    result = await WebSocketManagerFactoryValidator.require_factory_compliance(
        StandardizedWebSocketManagerFactory(), context="startup"
    )
    assert isinstance(result, FactoryValidationResult)
    assert result.is_production_ready


async def test_require_factory_compliance_raises_with_the_result_and_context() -> None:
    with pytest.raises(FactoryComplianceError) as caught:
        await WebSocketManagerFactoryValidator.require_factory_compliance(
            fakes.SharedInstanceFactory(), context="websocket_factory_validation"
        )
    assert caught.value.context == "websocket_factory_validation"
    assert caught.value.result.validation_errors == (
        "create_manager: users A and B received the same manager instance",
    )
    assert "users A and B received the same manager instance" in str(caught.value)


async def test_a_non_positive_call_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="call_timeout must be positive"):
        await WebSocketManagerFactoryValidator.validate_factory(
            StandardizedWebSocketManagerFactory(), call_timeout=0
        )


# --- Factories that game a weaker gate ------------------------------------------------


class FirstUsersOnlyFactory(fakes.ThirdPartyFactory):
    """Isolates the first two users it serves, then hands everyone else one manager."""

    def __init__(self) -> None:
        self._served = 0
        self._overflow: fakes.ThirdPartyManager | None = None

    def create_manager(
        self, user_context: Any, mode: Any = WebSocketManagerMode.UNIFIED, **kwargs: Any
    ) -> fakes.ThirdPartyManager:
        manager = super().create_manager(user_context)
        self._served += 1
        if self._served <= 2:
            return manager
        self._overflow = self._overflow or manager
        return self._overflow


class ClassNameValidatingFactory(fakes.ThirdPartyFactory):
    """validate_manager_instance trusts the class name, which anyone can copy."""

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        return FactoryValidationResult(is_valid=type(manager).__name__ == "ThirdPartyManager")


class FirstVerdictOnlyFactory(fakes.ThirdPartyFactory):
    """validate_manager_instance accepts the first manager it is shown and no other."""

    def __init__(self) -> None:
        self._asked = 0

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        self._asked += 1
        if self._asked == 1:
            return FactoryValidationResult(is_valid=True)
        return FactoryValidationResult(is_valid=False, validation_errors=("seen one already",))


class CoroutineReturningFactory(fakes.ThirdPartyFactory):
    """A plain create_manager that returns a coroutine: sync by signature, async in fact."""

    def create_manager(  # type: ignore[override]
        self, user_context: Any, mode: Any = WebSocketManagerMode.UNIFIED, **kwargs: Any
    ) -> Coroutine[Any, Any, fakes.ThirdPartyManager]:
        async def create() -> fakes.ThirdPartyManager:
            return fakes.ThirdPartyManager(user_context.user_id)

        return create()


class RequiredModeFactory(fakes.ThirdPartyFactory):
    """create_manager requires the mode the protocol makes optional."""

    def create_manager(  # type: ignore[override]
        self, user_context: Any, mode: Any, **kwargs: Any
    ) -> fakes.ThirdPartyManager:
        return super().create_manager(user_context)


class UnreadableOptionFactory(fakes.ContextlessFactory):
    """Its require_user_context property raises: it declares nothing, so a context is required."""

    @property
    def require_user_context(self) -> bool:
        raise RuntimeError("settings not loaded")


async def test_a_factory_isolating_only_its_first_users_fails() -> None:
    errors = await errors_of(FirstUsersOnlyFactory())
    assert errors == ("create_manager: users C and D received the same manager instance",)


async def test_a_validate_manager_instance_that_checks_the_class_name_fails() -> None:
    errors = await errors_of(ClassNameValidatingFactory())
    assert errors == (
        "validate_manager_instance: accepted an object that is not a manager "
        "(an impostor with the class name of the factory's managers)",
    )


async def test_a_validate_manager_instance_that_accepts_only_one_manager_fails() -> None:
    errors = await errors_of(FirstVerdictOnlyFactory())
    assert errors == ("validate_manager_instance: rejected a manager the factory created",)


async def test_a_create_manager_returning_a_coroutine_fails() -> None:
    errors = await errors_of(CoroutineReturningFactory())
    assert errors == ("create_manager: returned an awaitable, not a manager, for user A",)


async def test_a_create_manager_that_requires_the_mode_fails() -> None:
    errors = await errors_of(RequiredModeFactory())
    assert errors == (
        "create_manager: signature create_manager(user_context, mode, **kwargs) cannot be "
        "called as create_manager(user_context, mode=WebSocketManagerMode.UNIFIED, **kwargs)",
    )


async def test_a_raising_require_user_context_property_counts_as_requiring_one() -> None:
    errors = await errors_of(UnreadableOptionFactory())
    assert errors == (
        "create_manager: returned a manager for a missing user context (None) instead of raising",
    )
