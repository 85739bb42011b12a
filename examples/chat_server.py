"""The chat service behind a real Starlette app, served by uvicorn, drained on SIGTERM.

    python examples/chat_server.py --port 8000 --drain-grace 5
    python examples/chat_server.py --issue-token alice        # a token valid for 5 minutes

`SMD_TERMINATION_LOG=/dev/termination-log` also writes a refused boot's
diagnostic there as JSON, for `kubectl describe pod` (see examples/k8s/).

The app's lifespan is the chat service's boot (examples/chat_service.py). The
server listens before the boot starts: while it boots, the probes answer
(`/startupz` 503 naming the phases running and pending) and every other request
gets 503 with `Retry-After`; the app serves from READY on. A refused boot prints
its diagnostic once and exits with its code (78 for a bad `SMD_CHAT_SECRET_KEY`).

- `/livez`, `/readyz`, `/startupz`: the health probes (200 or 503; JSON,
  `?verbose` text, or `application/health+json`). `/livez` fails for
  `LOOP_STALL_MEMORY` seconds after the event loop was blocked longer than
  `LOOP_STALL_THRESHOLD`; under systemd with `WatchdogSec=`, the loop pings
  the watchdog.
- `/ws` with `Authorization: Bearer TOKEN` (the scheme in any case, RFC 7235): a
  WebSocket for the user the token names (a header, not the query string, so
  access logs never hold it); `?thread=ID` picks the thread (default
  `thread-USER`). The token is `payload.signature` (base64url), the signature
  an HMAC-SHA256 of the payload with the settings' `secret_key`; the payload
  holds `sub` (the user id) and `exp` (expiry, Unix seconds, at most a day
  ahead). An authenticated connection is registered with that user's manager
  through the agent bridge; each `{"type": "run", "prompt": ...}` it sends
  starts a simulated agent run whose events (agent_started ... agent_completed)
  reach that user only.

The server's limits, each refused with a close code and a reason before any
event is sent for it:

- 1008 (policy violation): a missing, forged, tampered or expired token; an
  invalid `thread` (empty, a placeholder, padded, longer than
  `MAX_THREAD_ID_LENGTH`); a user already holding
  `SMD_CHAT_MAX_CONNECTIONS_PER_USER` open sockets.
- 1003 (unsupported data): a frame that is not a JSON object in text, or a
  prompt that is not a string.
- 1009 (message too big): a frame over `MAX_FRAME_BYTES` (uvicorn refuses it
  before the app sees it), JSON nested deeper than `MAX_JSON_DEPTH`, a prompt
  longer than `MAX_PROMPT_LENGTH` characters (each run echoes it in four events).
- 1013 (try again later): a new socket while the server drains.

On SIGTERM, `/readyz` turns 503 at once, open WebSockets are closed with 1001
after `--drain-grace` seconds, and the boot is torn down in reverse order.
"""

from __future__ import annotations

import argparse
import base64
import binascii
import dataclasses
import hashlib
import hmac
import itertools
import json
import math
import os
import time
from collections import Counter
from typing import Any

from chat_service import ChatService, build_boot
from starlette.applications import Starlette
from starlette.routing import WebSocketRoute
from starlette.websockets import WebSocket, WebSocketDisconnect

from orchestrator import Boot, StructlogSink
from orchestrator.asgi import BootLifespan, health_routes, lifespan, running_boot, serve_asgi
from orchestrator.health import LoopWatch
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
MESSAGE_TOO_BIG = 1009
TRY_AGAIN_LATER = 1013
AGENT = "research-agent"
MAX_FRAME_BYTES = 64 * 1024
"""The largest frame a client may send; uvicorn closes the socket with 1009 past it."""
MAX_PROMPT_LENGTH = 4096
"""Characters in one prompt; each run echoes the prompt in four events."""
MAX_JSON_DEPTH = 16
"""Levels of nested objects and arrays in one request."""
MAX_THREAD_ID_LENGTH = 128
TOKEN_TTL = 300.0
MAX_TOKEN_LIFETIME = 24 * 3600.0
"""Seconds ahead an expiry may lie; a token claiming more is refused as forged."""
STOP_TIMEOUT = 15.0
"""Seconds the whole teardown may take (`stop_timeout`); the Kubernetes grace period covers it."""
LOOP_STALL_THRESHOLD = 5.0
"""Seconds the event loop may go without running before `/livez` says it was blocked."""
LOOP_STALL_MEMORY = 15.0
"""Seconds `/livez` keeps failing after a stall; below the liveness probe's (3 - 1) x 10 s."""

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


@dataclasses.dataclass(frozen=True, slots=True)
class Refusal:
    """Why the server closes a socket: a WebSocket close code and a short reason."""

    code: int
    reason: str


class OpenConnections:
    """How many sockets each user holds open, so that no user holds more than the limit."""

    def __init__(self) -> None:
        self._open: Counter[str] = Counter()

    def open(self, user_id: str, limit: int) -> bool:
        """Count a new socket of `user_id`; False (and nothing counted) past `limit`."""
        if self._open[user_id] >= limit:
            return False
        self._open[user_id] += 1
        return True

    def close(self, user_id: str) -> None:
        """Forget one socket of `user_id`."""
        self._open[user_id] -= 1
        if self._open[user_id] <= 0:
            del self._open[user_id]


def bearer_token(authorization: str) -> str | None:
    """The token of an `Authorization: Bearer TOKEN` header; the scheme is case-insensitive."""
    scheme, _, token = authorization.strip().partition(" ")
    if scheme.lower() != "bearer":
        return None
    return token.strip() or None


def user_context(
    user_id: str | None, thread: str | None, number: int
) -> UserExecutionContext | Refusal:
    """The context of connection `number`, or why it is refused (bad token, bad thread)."""
    if user_id is None:
        return Refusal(POLICY_VIOLATION, "invalid or expired token")
    try:
        user = UserExecutionContext(
            user_id=user_id,
            thread_id=f"thread-{user_id}",
            run_id=f"run-{number}",
            request_id=f"ws-{number}",
            websocket_client_id=f"ws-{number}",
        )
    except ValueError:  # a validly signed token naming a placeholder user
        return Refusal(POLICY_VIOLATION, "invalid or expired token")
    if thread is None:
        return user
    if len(thread) > MAX_THREAD_ID_LENGTH:
        return Refusal(POLICY_VIOLATION, f"invalid thread: over {MAX_THREAD_ID_LENGTH} characters")
    try:
        return dataclasses.replace(user, thread_id=thread)
    except ValueError:
        return Refusal(POLICY_VIOLATION, "invalid thread: empty, padded or a placeholder")


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
    token = bearer_token(websocket.headers.get("authorization", ""))
    user_id = verify_token(service.settings.secret_key, token)
    user = user_context(user_id, websocket.query_params.get("thread"), next(_connection_numbers))
    connections: OpenConnections = websocket.app.state.open_connections
    limit = service.settings.max_connections_per_user
    if not isinstance(user, Refusal) and not connections.open(user.user_id, limit):
        user = Refusal(POLICY_VIOLATION, f"user already has {limit} open connections")
    if isinstance(user, Refusal):
        await websocket.accept()
        await websocket.close(code=user.code, reason=user.reason)
        return
    try:
        await websocket.accept()
        await serve(websocket, service.bridge, user)
    finally:
        connections.close(user.user_id)


async def serve(
    websocket: WebSocket, bridge: AgentWebSocketBridge, user: UserExecutionContext
) -> None:
    """Register the socket with the user's manager and run each request until one is refused."""
    manager = bridge.manager_for(user)
    connection = WebSocketConnection(user.request_id, user.user_id, StarletteSocket(websocket))
    await manager.add_connection(connection)
    try:
        while not isinstance(request := await receive_request(websocket), Refusal):
            if request.get("type") == "run":
                await run_agent(bridge, user, request["prompt"])
        await websocket.close(code=request.code, reason=request.reason)
    except (WebSocketDisconnect, WebSocketDeliveryError):
        pass  # the client left, or the drain closed the socket: unregister below
    finally:
        await manager.remove_connection(connection.connection_id)
        await bridge.release(user)  # one context per connection: free its manager


async def receive_request(websocket: WebSocket) -> dict[str, Any] | Refusal:
    """The client's next request, or why it is refused.

    Raises:
        WebSocketDisconnect: the client left.
    """
    message = await websocket.receive()
    if message["type"] == "websocket.disconnect":
        raise WebSocketDisconnect(message.get("code", 1000), message.get("reason"))
    text = message.get("text")
    if text is None:
        return Refusal(UNSUPPORTED_DATA, "send JSON objects as text frames")
    return parse_request(text)


def parse_request(text: str) -> dict[str, Any] | Refusal:
    """A request as a JSON object whose `prompt`, for a run, is a string within the limit."""
    too_deep = Refusal(MESSAGE_TOO_BIG, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    # A server other than uvicorn may let it through; the limit is in bytes, as on the wire.
    if len(text) > MAX_FRAME_BYTES or len(text.encode("utf-8", "surrogatepass")) > MAX_FRAME_BYTES:
        return Refusal(MESSAGE_TOO_BIG, f"frames are limited to {MAX_FRAME_BYTES // 1024} KiB")
    try:
        request = json.loads(text)
    except RecursionError:  # the decoder gives up near the interpreter's recursion limit
        return too_deep
    except ValueError:
        return Refusal(UNSUPPORTED_DATA, "send JSON objects as text frames")
    if not isinstance(request, dict):
        return Refusal(UNSUPPORTED_DATA, "send JSON objects as text frames")
    if nesting_depth(request) > MAX_JSON_DEPTH:
        return too_deep
    if request.get("type") != "run":
        return request
    prompt = request.setdefault("prompt", "")
    if not isinstance(prompt, str):
        return Refusal(UNSUPPORTED_DATA, "the prompt must be a string")
    if len(prompt) > MAX_PROMPT_LENGTH:
        return Refusal(MESSAGE_TOO_BIG, f"prompts are limited to {MAX_PROMPT_LENGTH} characters")
    return request


def nesting_depth(value: object) -> int:
    """Levels of objects and arrays in a parsed JSON value, counted without recursion."""
    depth = 0
    level = [value]
    while level := [item for item in level if isinstance(item, dict | list)]:
        depth += 1
        level = [
            child for item in level for child in (item.values() if isinstance(item, dict) else item)
        ]
    return depth


# --- the app ----------------------------------------------------------------------------


def create_app(
    boot: Boot | None = None, *, termination_log: str | None = None
) -> tuple[Starlette, BootLifespan]:
    """The Starlette app and its lifespan; `boot` defaults to the chat service's boot.

    A refused boot's diagnostic also goes to `termination_log` (Kubernetes reads it).
    """
    boot = boot or build_boot(StandardizedWebSocketManagerFactory())
    sinks = [StructlogSink(), SystemdNotifier(boot.plan(), stop_timeout=STOP_TIMEOUT)]
    smd = lifespan(
        boot,
        deadline=30,
        stop_timeout=STOP_TIMEOUT,
        sinks=sinks,
        termination_log=termination_log,
        loop_watch=LoopWatch(threshold=LOOP_STALL_THRESHOLD, memory=LOOP_STALL_MEMORY),
    )
    routes = [*health_routes(), WebSocketRoute("/ws", agent_socket)]
    app = Starlette(routes=routes, lifespan=smd)
    app.state.open_connections = OpenConnections()
    return app, smd


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
        ws_max_size=MAX_FRAME_BYTES,
    )


if __name__ == "__main__":
    raise SystemExit(main())
