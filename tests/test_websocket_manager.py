"""The isolated manager serves one user, delivers for real and reports real health."""

from __future__ import annotations

import pytest
import websocket_fakes as fakes

from phases.websocket import (
    IsolatedWebSocketManager,
    UserIsolationError,
    WebSocketConnection,
    WebSocketDeliveryError,
    WebSocketManagerProtocol,
)

pytestmark = pytest.mark.anyio

ALICE = fakes.make_context("alice")
BOB = fakes.make_context("bob")


def connect(
    user: str, name: str = "c-1", thread_id: str | None = None
) -> tuple[WebSocketConnection, fakes.RecordingWebSocket]:
    websocket = fakes.RecordingWebSocket()
    return WebSocketConnection(name, user, websocket, thread_id=thread_id), websocket


def test_the_manager_satisfies_the_manager_protocol() -> None:
    manager: WebSocketManagerProtocol = IsolatedWebSocketManager(ALICE)
    assert manager.is_connection_active(ALICE.user_id) is False


async def test_a_connection_for_another_user_is_refused() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    connection, _ = connect(BOB.user_id)
    with pytest.raises(UserIsolationError, match="belongs to user 'user-alice'") as caught:
        await manager.add_connection(connection)
    assert caught.value.requested_user_id == BOB.user_id


async def test_a_message_for_another_user_is_refused() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    connection, websocket = connect(ALICE.user_id)
    await manager.add_connection(connection)
    with pytest.raises(UserIsolationError):
        await manager.send_to_user(BOB.user_id, {"type": "hello"})
    assert websocket.received == []


async def test_a_message_reaches_every_connection_of_the_user() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    first, first_ws = connect(ALICE.user_id, "c-1")
    second, second_ws = connect(ALICE.user_id, "c-2")
    await manager.add_connection(first)
    await manager.add_connection(second)
    await manager.send_to_user(ALICE.user_id, {"type": "hello"})
    assert first_ws.received == second_ws.received == [{"type": "hello"}]


async def test_a_duplicate_connection_id_is_refused() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    connection, _ = connect(ALICE.user_id)
    await manager.add_connection(connection)
    with pytest.raises(ValueError, match="already registered"):
        await manager.add_connection(connection)


async def test_a_thread_message_reaches_that_thread_and_thread_less_connections_only() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    here, here_ws = connect(ALICE.user_id, "c-1", thread_id="t-1")
    elsewhere, elsewhere_ws = connect(ALICE.user_id, "c-2", thread_id="t-2")
    everywhere, everywhere_ws = connect(ALICE.user_id, "c-3")
    for connection in (here, elsewhere, everywhere):
        await manager.add_connection(connection)
    await manager.send_to_thread("t-1", {"type": "hello"})
    assert here_ws.received == everywhere_ws.received == [{"type": "hello"}]
    assert elsewhere_ws.received == []


async def test_a_message_with_no_connection_to_receive_it_raises() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    with pytest.raises(WebSocketDeliveryError, match="no connection"):
        await manager.send_to_user(ALICE.user_id, {"type": "hello"})


async def test_a_failed_send_raises_after_the_other_connections_received_it() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    broken = WebSocketConnection("c-broken", ALICE.user_id, fakes.BrokenWebSocket())
    working, working_ws = connect(ALICE.user_id, "c-working")
    await manager.add_connection(broken)
    await manager.add_connection(working)
    with pytest.raises(WebSocketDeliveryError) as caught:
        await manager.send_to_user(ALICE.user_id, {"type": "hello", "token": "sk-secret"})
    assert caught.value.failed_connection_ids == ("c-broken",)
    assert caught.value.delivered_connection_ids == ("c-working",)
    assert isinstance(caught.value.__cause__, ConnectionResetError)
    assert "sk-secret" not in str(caught.value)
    assert working_ws.received == [{"type": "hello", "token": "sk-secret"}]


async def test_a_send_that_stalls_past_the_send_timeout_raises() -> None:
    manager = IsolatedWebSocketManager(ALICE, send_timeout=0.05)
    await manager.add_connection(
        WebSocketConnection("c-stalled", ALICE.user_id, fakes.StalledWebSocket())
    )
    with pytest.raises(WebSocketDeliveryError) as caught:
        await manager.send_to_user(ALICE.user_id, {"type": "hello"})
    assert isinstance(caught.value.__cause__, TimeoutError)


async def test_a_critical_event_reaches_the_user_marked_critical() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    connection, websocket = connect(ALICE.user_id)
    await manager.add_connection(connection)
    await manager.emit_critical_event("agent_error", {"reason": "quota"})
    (message,) = websocket.received
    assert message["type"] == "agent_error"
    assert message["data"] == {"reason": "quota"}
    assert message["critical"] is True
    assert message["user_id"] == ALICE.user_id


async def test_activity_follows_the_registered_connections() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    connection, _ = connect(ALICE.user_id)
    await manager.add_connection(connection)
    assert manager.is_connection_active(ALICE.user_id)
    await manager.remove_connection(connection.connection_id)
    assert not manager.is_connection_active(ALICE.user_id)


async def test_removing_a_connection_twice_is_harmless() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    connection, _ = connect(ALICE.user_id)
    await manager.add_connection(connection)
    await manager.remove_connection(connection.connection_id)
    await manager.remove_connection(connection.connection_id)
    assert manager.get_user_connections(ALICE.user_id) == frozenset()


async def test_another_users_connections_and_activity_are_never_reported() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    connection, _ = connect(ALICE.user_id)
    await manager.add_connection(connection)
    assert manager.get_user_connections(BOB.user_id) == frozenset()
    assert not manager.is_connection_active(BOB.user_id)
    assert manager.get_connection_health(BOB.user_id)["healthy"] is False


async def test_health_reports_a_failed_delivery_until_one_succeeds() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    broken = WebSocketConnection("c-broken", ALICE.user_id, fakes.BrokenWebSocket())
    await manager.add_connection(broken)
    with pytest.raises(WebSocketDeliveryError):
        await manager.send_to_user(ALICE.user_id, {"type": "hello"})
    health = manager.get_connection_health(ALICE.user_id)
    assert health["healthy"] is False
    assert health["delivery_failures"] == 1
    assert health["last_delivery_failure"] == "ConnectionResetError"
    await manager.remove_connection("c-broken")
    working, _ = connect(ALICE.user_id)
    await manager.add_connection(working)
    await manager.send_to_user(ALICE.user_id, {"type": "hello"})
    assert manager.get_connection_health(ALICE.user_id)["healthy"] is True


def test_health_of_a_user_without_connections_is_not_healthy() -> None:
    health = IsolatedWebSocketManager(ALICE).get_connection_health(ALICE.user_id)
    assert health["healthy"] is False
    assert health["active_connections"] == 0


async def test_a_closed_manager_refuses_traffic() -> None:
    manager = IsolatedWebSocketManager(ALICE)
    connection, _ = connect(ALICE.user_id)
    await manager.add_connection(connection)
    await manager.close()
    assert manager.closed
    assert not manager.is_connection_active(ALICE.user_id)
    with pytest.raises(RuntimeError, match="closed"):
        await manager.send_to_user(ALICE.user_id, {"type": "hello"})


async def test_two_managers_share_no_state() -> None:
    alice_manager = IsolatedWebSocketManager(ALICE)
    bob_manager = IsolatedWebSocketManager(BOB)
    connection, _ = connect(ALICE.user_id)
    await alice_manager.add_connection(connection)
    assert bob_manager.get_connection_health(BOB.user_id)["active_connections"] == 0


def test_the_repr_names_the_user_and_counts_connections() -> None:
    assert repr(IsolatedWebSocketManager(ALICE)) == (
        "<IsolatedWebSocketManager user_id='user-alice' mode=unified connections=0 closed=False>"
    )


def test_a_non_positive_send_timeout_is_refused() -> None:
    with pytest.raises(ValueError, match="send_timeout must be positive"):
        IsolatedWebSocketManager(ALICE, send_timeout=0)
