"""One client's WebSocket, owned by one user."""

from __future__ import annotations

from collections.abc import Awaitable
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from ._context import check_identifier


@runtime_checkable
class SupportsSendJson(Protocol):
    """Anything that can push a JSON message to a client, such as a Starlette WebSocket."""

    def send_json(self, message: dict[str, Any], /) -> Awaitable[None]:
        """Send one JSON-serialisable message to the client."""
        ...


@dataclass(frozen=True, slots=True)
class WebSocketConnection:
    """A client connection registered with a manager.

    Attributes:
        connection_id: Unique id of the connection within its manager.
        user_id: The user who owns the connection.
        websocket: The transport; any object with `async send_json(message)`.
            Left out of the repr, since transports often carry tokens.
        thread_id: The thread the client listens to, or None for all of the
            user's threads.
    """

    connection_id: str
    user_id: str
    websocket: SupportsSendJson = field(repr=False, compare=False)
    thread_id: str | None = None

    def __post_init__(self) -> None:
        check_identifier("connection_id", self.connection_id)
        check_identifier("user_id", self.user_id)
        if self.thread_id is not None:
            check_identifier("thread_id", self.thread_id)
        if not callable(getattr(self.websocket, "send_json", None)):
            msg = (
                f"websocket for connection {self.connection_id!r} has no send_json(message); "
                "pass an object with `async def send_json(self, message: dict)`"
            )
            raise TypeError(msg)

    def listens_to(self, thread_id: str) -> bool:
        """Say whether a message for `thread_id` is meant for this connection."""
        return self.thread_id is None or self.thread_id == thread_id
