"""The agent bridge delivers each user's events to that user only, and never loses one."""

from __future__ import annotations

import functools
from collections.abc import Callable, Coroutine
from typing import Any
from unittest.mock import Mock

import anyio
import pytest
import websocket_fakes as fakes

from phases.websocket import (
    AgentWebSocketBridge,
    FactoryComplianceError,
    FactoryValidationResult,
    IsolatedWebSocketManager,
    StandardizedWebSocketManagerFactory,
    UserExecutionContext,
    WebSocketConnection,
    WebSocketDeliveryError,
    WebSocketManagerMode,
)

pytestmark = pytest.mark.anyio

ALICE = fakes.make_context("alice")
BOB = fakes.make_context("bob")
ENVELOPE = {"type", "user_id", "thread_id", "run_id", "timestamp"}


async def listen(
    bridge: AgentWebSocketBridge, context: UserExecutionContext
) -> fakes.RecordingWebSocket:
    websocket = fakes.RecordingWebSocket()
    manager = bridge.manager_for(context)
    await manager.add_connection(
        WebSocketConnection(f"conn-{context.user_id}", context.user_id, websocket)
    )
    return websocket


def bridge() -> AgentWebSocketBridge:
    return AgentWebSocketBridge(StandardizedWebSocketManagerFactory())


async def test_a_context_gets_one_manager_however_often_it_asks() -> None:
    agents = bridge()
    assert agents.manager_for(ALICE) is agents.manager_for(ALICE)


async def test_two_contexts_get_two_managers() -> None:
    agents = bridge()
    assert agents.manager_for(ALICE) is not agents.manager_for(BOB)


async def test_releasing_a_context_closes_its_manager_and_a_new_one_follows() -> None:
    agents = bridge()
    first = agents.manager_for(ALICE)
    await agents.release(ALICE)
    assert isinstance(first, IsolatedWebSocketManager)
    assert first.closed
    assert agents.manager_for(ALICE) is not first


async def test_releasing_an_unknown_context_does_nothing() -> None:
    agents = bridge()
    kept = agents.manager_for(BOB)
    await agents.release(ALICE)
    assert agents.manager_for(BOB) is kept


@pytest.mark.parametrize(
    ("method", "args", "event_type", "fields"),
    [
        ("notify_agent_started", ("planner",), "agent_started", {"agent_name": "planner"}),
        (
            "notify_agent_thinking",
            ("planner", "weighing options"),
            "agent_thinking",
            {"agent_name": "planner", "reasoning": "weighing options"},
        ),
        ("notify_tool_executing", ("search",), "tool_executing", {"tool_name": "search"}),
        (
            "notify_tool_completed",
            ("search", {"hits": 3}),
            "tool_completed",
            {"tool_name": "search", "result": {"hits": 3}},
        ),
        (
            "notify_agent_completed",
            ("planner", "done"),
            "agent_completed",
            {"agent_name": "planner", "result": "done"},
        ),
        (
            "notify_agent_error",
            ("planner", "quota exceeded"),
            "agent_error",
            {"agent_name": "planner", "error": "quota exceeded"},
        ),
    ],
)
async def test_each_notification_carries_the_envelope_and_its_fields(
    method: str, args: tuple[Any, ...], event_type: str, fields: dict[str, Any]
) -> None:
    agents = bridge()
    websocket = await listen(agents, ALICE)
    await getattr(agents, method)(ALICE, *args, step=2)
    (message,) = websocket.received
    assert set(message) == ENVELOPE | set(fields) | {"step"}
    assert message["type"] == event_type
    assert (message["user_id"], message["thread_id"], message["run_id"]) == (
        "user-alice",
        "thread-alice",
        "run-alice",
    )
    assert {key: message[key] for key in fields} == fields
    assert message["step"] == 2


async def test_an_agent_error_given_as_an_exception_is_sent_as_type_and_message() -> None:
    agents = bridge()
    websocket = await listen(agents, ALICE)
    await agents.notify_agent_error(ALICE, "planner", TimeoutError("model slow"))
    assert websocket.received[0]["error"] == "TimeoutError: model slow"


async def test_a_notification_reaches_its_user_and_nobody_else() -> None:
    agents = bridge()
    alice = await listen(agents, ALICE)
    bob = await listen(agents, BOB)
    await agents.notify_agent_started(ALICE, "planner")
    assert len(alice.received) == 1
    assert bob.received == []


async def test_extra_data_may_not_replace_envelope_fields() -> None:
    agents = bridge()
    await listen(agents, ALICE)
    with pytest.raises(ValueError, match=r"may not replace the fields \['user_id'\]"):
        await agents.notify_agent_started(ALICE, "planner", user_id="user-bob")


async def test_a_failed_delivery_raises() -> None:
    agents = bridge()
    await agents.manager_for(ALICE).add_connection(
        WebSocketConnection("conn-broken", ALICE.user_id, fakes.BrokenWebSocket())
    )
    with pytest.raises(WebSocketDeliveryError):
        await agents.notify_agent_started(ALICE, "planner")


async def test_a_notification_for_a_user_without_connections_raises() -> None:
    with pytest.raises(WebSocketDeliveryError, match="no connection"):
        await bridge().notify_agent_started(ALICE, "planner")


async def test_a_manager_failing_the_protocol_is_refused() -> None:
    agents = AgentWebSocketBridge(fakes.FactoryWithSyncSend())
    with pytest.raises(FactoryComplianceError) as caught:
        agents.manager_for(ALICE)
    assert caught.value.result.validation_errors == (
        "manager.send_to_user: is a plain method; the protocol requires async def",
    )


async def test_a_manager_its_own_factory_rejects_is_refused() -> None:
    agents = AgentWebSocketBridge(fakes.SelfRejectingFactory())
    with pytest.raises(FactoryComplianceError, match="never good enough"):
        agents.manager_for(ALICE)


async def test_assigning_a_mock_as_a_manager_is_refused() -> None:
    with pytest.raises(FactoryComplianceError, match="is a plain method"):
        bridge().assign_manager(ALICE, Mock())


async def test_a_fault_found_by_both_the_bridge_and_the_factory_is_listed_once() -> None:
    with pytest.raises(FactoryComplianceError) as caught:
        bridge().assign_manager(ALICE, Mock())
    errors = caught.value.result.validation_errors
    assert len(errors) == len(set(errors))
    assert "manager.send_to_user: is a plain method; the protocol requires async def" in errors


async def test_assigning_a_compliant_manager_makes_it_the_contexts_manager() -> None:
    agents = bridge()
    manager = IsolatedWebSocketManager(ALICE)
    agents.assign_manager(ALICE, manager)
    assert agents.manager_for(ALICE) is manager


async def test_assigning_a_second_manager_to_a_context_is_refused() -> None:
    agents = bridge()
    agents.manager_for(ALICE)
    with pytest.raises(ValueError, match="already has a manager"):
        agents.assign_manager(ALICE, IsolatedWebSocketManager(ALICE))


async def test_a_manager_already_serving_another_user_is_refused() -> None:
    agents = AgentWebSocketBridge(fakes.SharedInstanceFactory())
    agents.manager_for(ALICE)
    with pytest.raises(FactoryComplianceError) as caught:
        agents.manager_for(BOB)
    assert caught.value.result.validation_errors == (
        "manager: already serves user 'user-alice'; one manager may serve one user only",
    )


async def test_assigning_another_users_manager_is_refused() -> None:
    agents = bridge()
    with pytest.raises(FactoryComplianceError, match="already serves user 'user-alice'"):
        agents.assign_manager(BOB, agents.manager_for(ALICE))


async def test_two_contexts_of_one_user_may_share_a_manager_which_is_closed_once() -> None:
    closes: list[str] = []

    class CountingManager(IsolatedWebSocketManager):
        async def close(self) -> None:
            closes.append(self.user_id)
            await super().close()

    agents = bridge()
    shared = CountingManager(ALICE)
    agents.assign_manager(ALICE, shared)
    agents.assign_manager(UserExecutionContext(ALICE.user_id, "thread-2", "run-2"), shared)
    await agents.close()
    assert closes == [ALICE.user_id]


def test_a_bridge_over_something_that_is_no_factory_is_refused() -> None:
    with pytest.raises(TypeError, match="lacks create_manager"):
        AgentWebSocketBridge(object())  # type: ignore[arg-type]


async def test_closing_the_bridge_closes_every_manager_it_created() -> None:
    agents = bridge()
    managers = [agents.manager_for(ALICE), agents.manager_for(BOB)]
    await agents.close()
    assert all(isinstance(m, IsolatedWebSocketManager) and m.closed for m in managers)


async def test_a_closed_bridge_refuses_new_work() -> None:
    async with bridge() as agents:
        pass
    with pytest.raises(RuntimeError, match="closed"):
        agents.manager_for(ALICE)


async def test_a_manager_failing_to_close_does_not_stop_the_others() -> None:
    class StuckManager(IsolatedWebSocketManager):
        async def close(self) -> None:
            raise OSError("socket stuck")

    agents = bridge()
    agents.assign_manager(ALICE, StuckManager(ALICE))
    healthy = agents.manager_for(BOB)
    with pytest.raises(ExceptionGroup) as caught:
        await agents.close()
    assert [type(e) for e in caught.value.exceptions] == [OSError]
    assert isinstance(healthy, IsolatedWebSocketManager)
    assert healthy.closed


AGENT_EVENTS = [
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
]


async def run_agent(agents: AgentWebSocketBridge, context: UserExecutionContext) -> None:
    await agents.notify_agent_started(context, "planner")
    await agents.notify_agent_thinking(context, "planner", "choosing a tool")
    await agents.notify_tool_executing(context, "search")
    await agents.notify_tool_completed(context, "search", result={"hits": 1})
    await agents.notify_agent_completed(context, "planner", result="answer")


async def test_a_thousand_concurrent_users_each_get_their_own_events_in_order() -> None:
    agents = bridge()
    contexts = [fakes.make_context(f"load-{index}") for index in range(1000)]
    inboxes = {context.user_id: await listen(agents, context) for context in contexts}
    async with anyio.create_task_group() as tasks:
        for context in contexts:
            tasks.start_soon(run_agent, agents, context)
    for user_id, inbox in inboxes.items():
        assert [message["type"] for message in inbox.received] == AGENT_EVENTS
        assert {message["user_id"] for message in inbox.received} == {user_id}
    await agents.close()


async def test_under_load_a_failed_delivery_raises_for_its_user_only() -> None:
    agents = bridge()
    contexts = [fakes.make_context(f"load-{index}") for index in range(1000)]
    inboxes = {context.user_id: await listen(agents, context) for context in contexts}
    victim = contexts[500]
    await agents.manager_for(victim).add_connection(
        WebSocketConnection("conn-broken", victim.user_id, fakes.BrokenWebSocket())
    )
    failures: list[str] = []

    async def run_and_record(context: UserExecutionContext) -> None:
        try:
            await run_agent(agents, context)
        except WebSocketDeliveryError as error:
            failures.append(error.user_id)

    async with anyio.create_task_group() as tasks:
        for context in contexts:
            tasks.start_soon(run_and_record, context)
    assert failures == [victim.user_id]
    delivered = sum(len(inbox.received) for inbox in inboxes.values())
    assert delivered == 999 * len(AGENT_EVENTS) + 1


# --- time bound --------------------------------------------------------------------------


async def test_a_notification_stuck_on_a_hung_socket_raises_within_the_send_timeout() -> None:
    # The third-party manager has no bound of its own: the bridge's bound applies.
    agents = AgentWebSocketBridge(fakes.ThirdPartyFactory(), send_timeout=0.05)
    await agents.manager_for(ALICE).add_connection(
        WebSocketConnection("conn-stalled", ALICE.user_id, fakes.StalledWebSocket())
    )
    with pytest.raises(WebSocketDeliveryError, match="agent_started was cancelled") as caught:
        await agents.notify_agent_started(ALICE, "planner")
    assert isinstance(caught.value.__cause__, TimeoutError)


async def test_the_bridges_bound_cuts_a_hung_send_short_of_the_managers_own() -> None:
    factory = StandardizedWebSocketManagerFactory(send_timeout=10)
    agents = AgentWebSocketBridge(factory, send_timeout=0.05)
    await agents.manager_for(ALICE).add_connection(
        WebSocketConnection("conn-stalled", ALICE.user_id, fakes.StalledWebSocket())
    )
    with pytest.raises(WebSocketDeliveryError, match="agent_started was cancelled"):
        await agents.notify_agent_started(ALICE, "planner")


async def test_the_managers_shorter_bound_names_the_hung_connection_and_the_rest_receive() -> None:
    factory = StandardizedWebSocketManagerFactory(send_timeout=0.05)
    agents = AgentWebSocketBridge(factory, send_timeout=10)
    manager = agents.manager_for(ALICE)
    await manager.add_connection(
        WebSocketConnection("conn-stalled", ALICE.user_id, fakes.StalledWebSocket())
    )
    healthy = fakes.RecordingWebSocket()
    await manager.add_connection(WebSocketConnection("conn-healthy", ALICE.user_id, healthy))
    with pytest.raises(WebSocketDeliveryError) as caught:
        await agents.notify_agent_started(ALICE, "planner")
    assert caught.value.failed_connection_ids == ("conn-stalled",)
    assert caught.value.delivered_connection_ids == ("conn-healthy",)
    assert [message["type"] for message in healthy.received] == ["agent_started"]


async def test_a_notification_that_waits_on_its_socket_is_delivered() -> None:
    agents = AgentWebSocketBridge(fakes.ThirdPartyFactory(), send_timeout=10)
    websocket = await listen(agents, ALICE)  # each send yields to the scheduler first
    await agents.notify_agent_started(ALICE, "planner")
    assert [message["type"] for message in websocket.received] == ["agent_started"]


def test_a_non_positive_send_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="send_timeout must be positive"):
        AgentWebSocketBridge(StandardizedWebSocketManagerFactory(), send_timeout=0)


# --- admission: the protocol check, once per manager class --------------------------------


class CountedLookupManager(fakes.ThirdPartyManager):
    """Counts how often its `get_connection_health` is looked up (the bridge never calls it)."""

    lookups = 0

    def __getattribute__(self, name: str) -> Any:
        if name == "get_connection_health":
            type(self).lookups += 1
        return super().__getattribute__(name)


class CountedLookupFactory(fakes.ThirdPartyFactory):
    manager_class = CountedLookupManager


async def test_the_protocol_check_runs_once_per_manager_class_not_per_user() -> None:
    CountedLookupManager.lookups = 0
    agents = AgentWebSocketBridge(CountedLookupFactory())
    for name in ("alice", "bob", "carol"):
        agents.manager_for(fakes.make_context(name))
    assert CountedLookupManager.lookups == 1


async def test_an_instance_that_replaces_a_method_is_checked_on_its_own() -> None:
    agents = bridge()
    agents.manager_for(ALICE)  # the class has passed
    impostor = IsolatedWebSocketManager(BOB)
    impostor.send_to_user = lambda user_id, message: None  # type: ignore[method-assign,assignment]
    with pytest.raises(FactoryComplianceError, match="send_to_user: is a plain method"):
        agents.assign_manager(BOB, impostor)


class ProxyManager:
    """Forwards every method to the manager it wraps, through __getattr__."""

    def __init__(self, inner: object) -> None:
        self._inner = inner

    def __getattr__(self, name: str) -> Any:
        return getattr(self._inner, name)


class AcceptingFactory(fakes.ThirdPartyFactory):
    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        return FactoryValidationResult(is_valid=True, manager_type="anything")


async def test_a_class_whose_methods_come_from_getattr_is_checked_per_instance() -> None:
    agents = AgentWebSocketBridge(AcceptingFactory())
    agents.assign_manager(ALICE, ProxyManager(fakes.ThirdPartyManager(ALICE.user_id)))
    with pytest.raises(FactoryComplianceError, match="send_to_user: is a plain method"):
        agents.assign_manager(BOB, ProxyManager(Mock()))


# --- admission: manager shapes written for the seed system, or decorated -------------------


class UnifiedEmitManager(fakes.ThirdPartyManager):
    """Declares the seed system's unified `emit_critical_event(user_id, event_type, data)`."""

    async def emit_critical_event(  # type: ignore[override]
        self, user_id: str, event_type: str, data: dict[str, Any]
    ) -> None:
        await self.send_to_user(user_id, {"event": event_type, "payload": data})


class PassThroughManager(fakes.ThirdPartyManager):
    """Declares its async methods with `*args, **kwargs`, as a proxy would."""

    async def send_to_user(self, *args: Any, **kwargs: Any) -> None:
        await super().send_to_user(*args, **kwargs)

    async def send_to_thread(self, *args: Any, **kwargs: Any) -> None:
        await super().send_to_thread(*args, **kwargs)

    async def emit_critical_event(self, *args: Any, **kwargs: Any) -> None:
        await super().emit_critical_event(*args, **kwargs)


def traced(
    method: Callable[..., Coroutine[Any, Any, None]],
) -> Callable[..., Coroutine[Any, Any, None]]:
    """An ordinary decorator: a plain function, `functools.wraps`, returning the coroutine."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Coroutine[Any, Any, None]:
        return method(*args, **kwargs)

    return wrapper


class DecoratedManager(fakes.ThirdPartyManager):
    """Its async methods are wrapped by a `functools.wraps` decorator."""

    add_connection = traced(fakes.ThirdPartyManager.add_connection)
    remove_connection = traced(fakes.ThirdPartyManager.remove_connection)
    send_to_user = traced(fakes.ThirdPartyManager.send_to_user)
    send_to_thread = traced(fakes.ThirdPartyManager.send_to_thread)
    emit_critical_event = traced(fakes.ThirdPartyManager.emit_critical_event)


def factory_of(manager_class: type[fakes.ThirdPartyManager]) -> fakes.ThirdPartyFactory:
    class Factory(fakes.ThirdPartyFactory):
        def create_manager(
            self,
            user_context: UserExecutionContext | None,
            mode: WebSocketManagerMode = WebSocketManagerMode.UNIFIED,
            **kwargs: Any,
        ) -> fakes.ThirdPartyManager:
            if user_context is None:
                raise ValueError("a user context is required")
            return manager_class(user_context.user_id)

    return Factory()


@pytest.mark.parametrize(
    "manager_class",
    [UnifiedEmitManager, PassThroughManager, DecoratedManager],
    ids=["unified-emit-critical-event", "args-kwargs", "functools-wraps"],
)
async def test_a_correct_manager_of_another_shape_is_admitted_and_delivers(
    manager_class: type[fakes.ThirdPartyManager],
) -> None:
    agents = AgentWebSocketBridge(factory_of(manager_class))
    manager = agents.manager_for(ALICE)
    assert type(manager) is manager_class
    websocket = fakes.RecordingWebSocket()
    await manager.add_connection(WebSocketConnection("conn-alice", ALICE.user_id, websocket))
    await agents.notify_agent_started(ALICE, "planner")
    assert [message["type"] for message in websocket.received] == ["agent_started"]
