"""What a WebSocket manager and its factory must provide."""

from __future__ import annotations

from collections.abc import Mapping, Set
from typing import Any, Protocol, runtime_checkable

from ._connection import WebSocketConnection
from ._context import UserExecutionContext
from ._mode import WebSocketManagerMode
from ._result import FactoryValidationResult


class WebSocketManagerProtocol(Protocol):
    """A manager of one user's WebSocket connections.

    The delivery methods raise when a message cannot be delivered; a manager
    never reports as sent what it did not send.
    """

    async def add_connection(self, connection: WebSocketConnection) -> None:
        """Register a connection of the manager's user."""
        ...

    async def remove_connection(self, connection_id: str) -> None:
        """Forget a connection."""
        ...

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        """Deliver `message` to every connection of `user_id`."""
        ...

    async def send_to_thread(self, thread_id: str, message: dict[str, Any]) -> None:
        """Deliver `message` to the connections listening to `thread_id`."""
        ...

    async def emit_critical_event(self, event_type: str, data: dict[str, Any]) -> None:
        """Deliver an event the user must not miss."""
        ...

    def get_user_connections(self, user_id: str) -> Set[str]:
        """Return the ids of the connections `user_id` has with this manager."""
        ...

    def is_connection_active(self, user_id: str) -> bool:
        """Say whether `user_id` has a live connection with this manager."""
        ...

    def get_connection_health(self, user_id: str) -> Mapping[str, Any]:
        """Describe the connections of `user_id` as they actually are."""
        ...


@runtime_checkable
class WebSocketManagerFactoryProtocol(Protocol):
    """Creates one manager per user context; what the factory gate validates."""

    def create_manager(
        self,
        user_context: UserExecutionContext | None,
        mode: WebSocketManagerMode = WebSocketManagerMode.UNIFIED,
        **kwargs: Any,
    ) -> WebSocketManagerProtocol:
        """Create a manager bound to `user_context`.

        Raises:
            ValueError: If `user_context` is None and the factory requires one.
        """
        ...

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        """Say whether `manager` is a compliant manager made by this factory."""
        ...

    def supports_user_isolation(self) -> bool:
        """Say whether every manager serves exactly one user."""
        ...
