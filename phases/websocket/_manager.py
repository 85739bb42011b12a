"""The reference manager: one user's connections, and nothing else."""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from typing import Any

from ._connection import WebSocketConnection
from ._context import UserExecutionContext
from ._deadline import complete_within
from ._errors import UserIsolationError, WebSocketDeliveryError
from ._mode import WebSocketManagerMode

DEFAULT_SEND_TIMEOUT = 10.0


class IsolatedWebSocketManager:
    """Holds the connections of exactly one user context and delivers to them.

    All state lives on the instance; there is no module-level registry, so two
    managers can never see each other's connections. A connection or a message
    for any other user is refused with `UserIsolationError`. A send that fails
    or times out on any connection raises `WebSocketDeliveryError`.

    Args:
        user_context: The context the manager is bound to.
        mode: The mode the factory was asked for.
        send_timeout: Seconds one connection's send may take before it counts
            as failed.
    """

    def __init__(
        self,
        user_context: UserExecutionContext,
        *,
        mode: WebSocketManagerMode = WebSocketManagerMode.UNIFIED,
        send_timeout: float = DEFAULT_SEND_TIMEOUT,
    ) -> None:
        if not isinstance(user_context, UserExecutionContext):
            msg = f"user_context must be a UserExecutionContext, not {type(user_context).__name__}"
            raise TypeError(msg)
        if send_timeout <= 0:
            msg = f"send_timeout must be positive, not {send_timeout!r}"
            raise ValueError(msg)
        self._user_context = user_context
        self._mode = mode
        self._send_timeout = send_timeout
        self._connections: dict[str, WebSocketConnection] = {}
        self._closed = False
        self._messages_sent = 0
        self._delivery_failures = 0
        self._last_failure: str | None = None
        self._last_failure_at: dt.datetime | None = None

    def __repr__(self) -> str:
        return (
            f"<IsolatedWebSocketManager user_id={self.user_id!r} mode={self._mode.value} "
            f"connections={len(self._connections)} closed={self._closed}>"
        )

    @property
    def user_context(self) -> UserExecutionContext:
        """The context this manager is bound to."""
        return self._user_context

    @property
    def user_id(self) -> str:
        """The one user this manager serves."""
        return self._user_context.user_id

    @property
    def mode(self) -> WebSocketManagerMode:
        """The mode the factory was asked for."""
        return self._mode

    @property
    def closed(self) -> bool:
        """True once `close()` has run."""
        return self._closed

    async def add_connection(self, connection: WebSocketConnection) -> None:
        """Register a connection of this manager's user.

        Raises:
            UserIsolationError: If the connection belongs to another user.
            ValueError: If a connection with the same id is already registered.
            RuntimeError: If the manager is closed.
        """
        self._ensure_open("add_connection")
        self._ensure_own_user("add_connection", connection.user_id)
        if connection.connection_id in self._connections:
            msg = f"add_connection: connection {connection.connection_id!r} is already registered"
            raise ValueError(msg)
        self._connections[connection.connection_id] = connection

    async def remove_connection(self, connection_id: str) -> None:
        """Forget a connection; forgetting one that is gone is not an error.

        Disconnects race with cleanups, so removal is idempotent.
        """
        self._connections.pop(connection_id, None)

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        """Deliver `message` to every connection of this manager's user.

        Raises:
            UserIsolationError: If `user_id` is not this manager's user.
            WebSocketDeliveryError: If the user has no connection, or any send
                failed or timed out; the other connections still receive it.
            RuntimeError: If the manager is closed.
        """
        self._ensure_open("send_to_user")
        self._ensure_own_user("send_to_user", user_id)
        await self._deliver(message, lambda connection: True, target="the user")

    async def send_to_thread(self, thread_id: str, message: dict[str, Any]) -> None:
        """Deliver `message` to this user's connections that listen to `thread_id`.

        A connection registered without a thread listens to all of the user's threads.

        Raises:
            WebSocketDeliveryError: If no connection listens to the thread, or
                any send failed or timed out.
            RuntimeError: If the manager is closed.
        """
        self._ensure_open("send_to_thread")
        await self._deliver(
            message,
            lambda connection: connection.listens_to(thread_id),
            target=f"thread {thread_id!r}",
        )

    async def emit_critical_event(self, event_type: str, data: dict[str, Any]) -> None:
        """Deliver an event the user must not miss to all of the user's connections.

        Raises:
            WebSocketDeliveryError: If any send failed or timed out.
            RuntimeError: If the manager is closed.
        """
        self._ensure_open("emit_critical_event")
        message = {
            "type": event_type,
            "data": data,
            "user_id": self.user_id,
            "critical": True,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
        }
        await self._deliver(message, lambda connection: True, target="the user")

    def get_user_connections(self, user_id: str) -> frozenset[str]:
        """Return the ids of `user_id`'s connections; empty for any other user."""
        if user_id != self.user_id:
            return frozenset()
        return frozenset(self._connections)

    def is_connection_active(self, user_id: str) -> bool:
        """Say whether `user_id` is this manager's user and has a registered connection."""
        return user_id == self.user_id and not self._closed and bool(self._connections)

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        """Describe this manager's connections for `user_id` from what actually happened.

        `healthy` is true only while the user has a connection, the manager is
        open, and the most recent delivery did not fail.
        """
        own = user_id == self.user_id
        connection_ids = sorted(self._connections) if own else []
        last_failure_at = self._last_failure_at.isoformat() if self._last_failure_at else None
        return {
            "user_id": user_id,
            "owned": own,
            "mode": self._mode.value,
            "closed": self._closed,
            "active_connections": len(connection_ids),
            "connection_ids": connection_ids,
            "messages_sent": self._messages_sent if own else 0,
            "delivery_failures": self._delivery_failures if own else 0,
            "last_delivery_failure": self._last_failure if own else None,
            "last_delivery_failure_at": last_failure_at if own else None,
            "healthy": own and not self._closed and bool(connection_ids) and not self._last_failure,
        }

    async def close(self) -> None:
        """Forget every connection and refuse further traffic; closing twice is harmless."""
        self._closed = True
        self._connections.clear()

    async def _deliver(
        self,
        message: dict[str, Any],
        selects: Callable[[WebSocketConnection], bool],
        *,
        target: str,
    ) -> None:
        if not isinstance(message, dict):
            msg = f"message must be a dict, not {type(message).__name__}"
            raise TypeError(msg)
        recipients = [c for c in self._connections.values() if selects(c)]
        if not recipients:
            self._record_failure("no connection")
            raise WebSocketDeliveryError(self.user_id, reason=f"no connection for {target}")
        delivered: list[str] = []
        failed: list[str] = []
        causes: list[Exception] = []
        for connection in recipients:
            try:
                await complete_within(connection.websocket.send_json(message), self._send_timeout)
            except Exception as exc:  # Every failed send is collected and re-raised below.
                failed.append(connection.connection_id)
                causes.append(exc)
            else:
                delivered.append(connection.connection_id)
        self._messages_sent += len(delivered)
        if failed:
            self._record_failure(type(causes[0]).__name__)
            error = WebSocketDeliveryError(
                self.user_id,
                reason=f"{len(failed)} of {len(recipients)} sends to {target} failed",
                failed_connection_ids=failed,
                delivered_connection_ids=delivered,
            )
            raise error from causes[0]
        self._last_failure = None

    def _record_failure(self, cause: str) -> None:
        self._delivery_failures += 1
        self._last_failure = cause
        self._last_failure_at = dt.datetime.now(dt.UTC)

    def _ensure_open(self, operation: str) -> None:
        if self._closed:
            msg = f"{operation}: the manager for user {self.user_id!r} is closed"
            raise RuntimeError(msg)

    def _ensure_own_user(self, operation: str, user_id: str) -> None:
        if user_id != self.user_id:
            raise UserIsolationError(
                operation, owner_user_id=self.user_id, requested_user_id=user_id
            )
