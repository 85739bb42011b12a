"""Close every open WebSocket cleanly (1001, going away) when the service drains."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any

import anyio
import structlog

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

GOING_AWAY = 1001


class WebSocketClosedByDrain(OSError):
    """The application sent on a WebSocket that the drain has already closed.

    An `OSError`, so frameworks treat it as a disconnect (Starlette raises
    `WebSocketDisconnect(1006)` from it) and the handler's cleanup runs.
    """


class _Session:
    """One WebSocket's `send`, serialised so a drain close never interleaves a message."""

    def __init__(self, send: Send) -> None:
        self._send = send
        self._lock = anyio.Lock()
        self.accepted = False
        self.closed = False

    async def send(self, message: Message) -> None:
        async with self._lock:
            if self.closed:
                raise WebSocketClosedByDrain("the WebSocket was closed because the service drains")
            await self._send(message)
            if message["type"] == "websocket.accept":
                self.accepted = True
            elif message["type"] == "websocket.close":
                self.closed = True

    async def close(self, code: int, reason: str) -> bool:
        async with self._lock:
            if self.closed or not self.accepted:
                return False
            self.closed = True
            try:
                await self._send({"type": "websocket.close", "code": code, "reason": reason})
            except OSError:
                return False
            return True


class WebSocketDrain:
    """ASGI middleware that tracks open WebSockets so a drain can close them with 1001.

    HTTP and lifespan traffic pass through untouched. After `close_all()` the
    application's further sends on a closed socket raise `WebSocketClosedByDrain`,
    and its pending `receive()` ends with the client's close reply, so the
    handler's own cleanup (unregistering the connection) runs as for any disconnect.

    Args:
        app: the ASGI application to wrap.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self._sessions: set[_Session] = set()

    def __repr__(self) -> str:
        return f"<WebSocketDrain open={self.open_connections}>"

    @property
    def open_connections(self) -> int:
        """How many accepted WebSockets are open now."""
        return sum(1 for s in self._sessions if s.accepted and not s.closed)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Pass the request on; remember a WebSocket for as long as its handler runs."""
        if scope["type"] != "websocket":
            await self.app(scope, receive, send)
            return
        session = _Session(send)
        self._sessions.add(session)
        try:
            await self.app(scope, receive, session.send)
        finally:
            self._sessions.discard(session)

    def log_started(self, grace: float) -> None:
        """Log that the drain began: not ready now, WebSockets closed after `grace` seconds."""
        structlog.get_logger("smd").info(
            "drain.started", grace_s=grace, websockets=self.open_connections
        )

    async def close_all(
        self, *, code: int = GOING_AWAY, reason: str = "server shutting down", within: float = 5.0
    ) -> int:
        """Close every open WebSocket with `code`, concurrently, giving up after `within` seconds.

        Returns:
            How many WebSockets this call closed.
        """
        closed = 0
        log = structlog.get_logger("smd")
        log.info("drain.closing", websockets=self.open_connections, code=code, within_s=within)

        async def close_one(session: _Session) -> None:
            nonlocal closed
            if await session.close(code, reason):
                closed += 1

        with anyio.move_on_after(within):
            async with anyio.create_task_group() as group:
                for session in list(self._sessions):
                    group.start_soon(close_one, session)
        log.info("drain.closed", closed=closed)
        return closed
