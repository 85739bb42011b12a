"""The chat service behind a real Starlette app, served by uvicorn, drained on SIGTERM.

    python examples/chat_server.py --port 8000 --drain-grace 5
    python examples/chat_server.py --issue-token alice        # a token valid for 5 minutes

`SMD_TERMINATION_LOG=/dev/termination-log` also writes a refused boot's
diagnostic there as JSON, for `kubectl describe pod` (see examples/k8s/).

The app's lifespan is the chat service's boot (examples/chat_service.py): the
server listens only once the boot is READY, and a refused boot prints its
diagnostic once and exits with its code (78 for a bad `SMD_CHAT_SECRET_KEY`).

- `/livez`, `/readyz`, `/startupz`: the health probes (JSON, 200 or 503).
- `/ws` with `Authorization: Bearer TOKEN`: a WebSocket for the user the
  token names (a header, not the query string, so access logs never hold it). The token is
  `payload.signature` (base64url), the signature an HMAC-SHA256 of the payload
  with the settings' `secret_key`; the payload holds `sub` (the user id) and
  `exp` (expiry, Unix seconds, at most a day ahead). A missing, forged, tampered or expired token is
  closed with 1008 (policy violation) before anything is sent. An authenticated
  connection is registered with that user's manager through the agent bridge;
  each `{"type": "run", "prompt": ...}` it sends starts a simulated agent run
  whose events (agent_started ... agent_completed) reach that user only. A frame
  that is not a JSON object in text closes the socket with 1003; while the
  server drains, new sockets are closed with 1013 (try again later).

On SIGTERM, `/readyz` turns 503 at once, open WebSockets are closed with 1001
after `--drain-grace` seconds, and the boot is torn down in reverse order.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import hashlib
import hmac
import itertools
import json
import math
import os
import time
from typing import Any

from chat_service import ChatService, build_boot
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from orchestrator import Boot, StructlogSink
from orchestrator.asgi import BootLifespan, health_routes, lifespan, running_boot, serve_asgi
from orchestrator.systemd import SystemdNotifier
from phases.websocket import (
    AgentWebSocketBridge,
    StandardizedWebSocketManagerFactory,
    UserExecutionContext,
    WebSocketConnection,
    WebSocketDeliveryError,
)

UNSUPPORTED_DATA = 1003
POLICY_VIOLATION = 1008
TRY_AGAIN_LATER = 1013
AGENT = "research-agent"
TOKEN_TTL = 300.0
MAX_TOKEN_LIFETIME = 24 * 3600.0
"""Seconds ahead an expiry may lie; a token claiming more is refused as forged."""

_connection_numbers = itertools.count(1)


# --- tokens -----------------------------------------------------------------------------


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _sign(secret: str, payload: str) -> str:
    return _b64(hmac.new(secret.encode(), payload.encode(), hashlib.sha256).digest())


def issue_token(
    secret: str, user_id: str, *, ttl: float = TOKEN_TTL, now: float | None = None
) -> str:
    """A signed token naming `user_id`, valid for `ttl` seconds."""
    if not 0 < ttl <= MAX_TOKEN_LIFETIME:
        raise ValueError(f"ttl must be in (0, {MAX_TOKEN_LIFETIME}] seconds, not {ttl}")
    issued = time.time() if now is None else now
    claims = json.dumps({"exp": issued + ttl, "sub": user_id}, separators=(",", ":"))
    payload = _b64(claims.encode())
    return f"{payload}.{_sign(secret, payload)}"


def verify_token(secret: str, token: str | None, *, now: float | None = None) -> str | None:
    """The user id a token names, or None if it is missing, forged, tampered or expired.

    The signature is compared in constant time before the payload is even
    decoded; then the claims must be an object with a string `sub` and a finite
    numeric `exp` in the future, no further away than `MAX_TOKEN_LIFETIME`.
    """
    if not token or token.count(".") != 1:
        return None
    payload, signature = token.split(".")
    expected = _sign(secret, payload).encode()
    # Header values arrive as latin-1 text: compare bytes, which compare_digest
    # accepts whatever the characters (it refuses non-ASCII str).
    if not hmac.compare_digest(signature.encode("utf-8", "surrogateescape"), expected):
        return None
    try:
        claims = json.loads(_unb64(payload))
    except (binascii.Error, ValueError):
        return None
    if not isinstance(claims, dict):
        return None
    expiry, user_id = claims.get("exp"), claims.get("sub")
    if not isinstance(user_id, str) or not user_id:
        return None
    if isinstance(expiry, bool) or not isinstance(expiry, int | float):
        return None
    current = time.time() if now is None else now
    if not math.isfinite(expiry) or not current < expiry <= current + MAX_TOKEN_LIFETIME:
        return None
    return user_id


# --- the WebSocket endpoint -------------------------------------------------------------


class StarletteSocket:
    """The bridge's view of a Starlette WebSocket: `async send_json(message)`."""

    def __init__(self, websocket: WebSocket) -> None:
        self._websocket = websocket

    async def send_json(self, message: dict[str, Any]) -> None:
        await self._websocket.send_json(message)


async def run_agent(bridge: AgentWebSocketBridge, user: UserExecutionContext, prompt: str) -> None:
    """A simulated agent run: every lifecycle event, in order, to `user` only."""
    await bridge.notify_agent_started(user, AGENT, prompt=prompt)
    await bridge.notify_agent_thinking(user, AGENT, f"what does {prompt!r} need?")
    await bridge.notify_tool_executing(user, "search", query=prompt)
    await bridge.notify_tool_completed(user, "search", result={"hits": len(prompt)})
    await bridge.notify_agent_completed(user, AGENT, result=f"an answer to {prompt!r}")


async def agent_socket(websocket: WebSocket) -> None:
    """Authenticate, register with the user's manager, stream agent runs until closed."""
    running = running_boot(websocket)
    if running.draining:
        await websocket.accept()
        await websocket.close(code=TRY_AGAIN_LATER, reason="server is draining")
        return
    service: ChatService = running.resources["finalize"]
    scheme, _, token = websocket.headers.get("authorization", "").partition(" ")
    user_id = verify_token(service.settings.secret_key, token if scheme == "Bearer" else None)
    await websocket.accept()
    number = next(_connection_numbers)
    try:
        if user_id is None:
            raise ValueError("no valid token")
        user = UserExecutionContext(
            user_id=user_id,
            thread_id=websocket.query_params.get("thread", f"thread-{user_id}"),
            run_id=f"run-{number}",
            request_id=f"ws-{number}",
            websocket_client_id=f"ws-{number}",
        )
    except ValueError:
        await websocket.close(code=POLICY_VIOLATION, reason="invalid or expired token")
        return
    manager = service.bridge.manager_for(user)
    connection = WebSocketConnection(f"ws-{number}", user_id, StarletteSocket(websocket))
    await manager.add_connection(connection)
    try:
        while (request := await receive_request(websocket)) is not None:
            if request.get("type") == "run":
                await run_agent(service.bridge, user, str(request.get("prompt", "")))
        await websocket.close(code=UNSUPPORTED_DATA, reason="send JSON objects as text frames")
    except (WebSocketDisconnect, WebSocketDeliveryError):
        pass  # the client left, or the drain closed the socket: unregister below
    finally:
        await manager.remove_connection(connection.connection_id)
        await service.bridge.release(user)  # one context per connection: free its manager


async def receive_request(websocket: WebSocket) -> dict[str, Any] | None:
    """The client's next JSON object, or None for anything else (binary, not JSON, not an object).

    Raises:
        WebSocketDisconnect: the client left.
    """
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        return None
    try:
        request = json.loads(text)
    except ValueError:
        return None
    return request if isinstance(request, dict) else None


# --- the app ----------------------------------------------------------------------------


def create_app(
    boot: Boot | None = None, *, termination_log: str | None = None
) -> tuple[Starlette, BootLifespan]:
    """The Starlette app and its lifespan; `boot` defaults to the chat service's boot.

    A refused boot's diagnostic also goes to `termination_log` (Kubernetes reads it).
    """
    boot = boot or build_boot(StandardizedWebSocketManagerFactory())
    sinks = [StructlogSink(), SystemdNotifier(boot.plan())]
    smd = lifespan(boot, deadline=30, sinks=sinks, termination_log=termination_log)
    routes = [*health_routes(), WebSocketRoute("/ws", agent_socket)]
    return Starlette(routes=routes, lifespan=smd), smd


app, smd_lifespan = create_app(termination_log=os.environ.get("SMD_TERMINATION_LOG"))


def main(argv: list[str] | None = None) -> int:
    """Serve the chat app until SIGTERM/SIGINT; returns the process exit code."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--drain-grace", type=float, default=5.0, metavar="SECONDS")
    parser.add_argument("--issue-token", metavar="USER_ID", help="print a token and exit")
    arguments = parser.parse_args(argv)
    if arguments.issue_token:
        from chat_service import ChatSettings

        print(issue_token(ChatSettings.from_env().secret_key, arguments.issue_token))
        return 0
    return serve_asgi(
        app,
        smd_lifespan,
        host=arguments.host,
        port=arguments.port,
        drain_grace=arguments.drain_grace,
        log_level="info",
    )


if __name__ == "__main__":
    raise SystemExit(main())
