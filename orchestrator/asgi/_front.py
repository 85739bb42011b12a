"""What a listening server answers while the boot runs, and the app's lifespan driven by smd.

`serve_asgi` binds its socket before the boot starts, so the server needs an
app before the real one may serve: `BootFront` answers the probes from the
boot's progress and refuses everything else with 503 and `Retry-After`; at
READY it hands every request to the app, in the same step of the event loop.
`AppLifespan` runs the app's ASGI lifespan (the boot) as a server would, but
on smd's schedule: after the socket listens, and its shutdown after the server
has stopped, whatever signals arrive.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Awaitable, Callable, MutableMapping
from typing import TYPE_CHECKING, Any

from .._model._status import BootState
from ..health import HealthApp
from ..health._probes import PROBES

if TYPE_CHECKING:
    from ._lifespan import BootLifespan

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

TRY_AGAIN_LATER = 1013
logger = logging.getLogger("uvicorn.error")


class BootFront:
    """The server's app from the moment it listens: probes while booting, the app once READY.

    Args:
        app: the application, served once `open()` is called.
        lifespan: the `BootLifespan` whose boot the probes describe.
        health_prefix: the path prefix of the probes (as given to `health_routes`).
        allow_degraded: whether `/readyz` passes for a DEGRADED boot.
        retry_after: seconds in the `Retry-After` of a refused request.
    """

    def __init__(
        self,
        app: ASGIApp,
        lifespan: BootLifespan,
        *,
        health_prefix: str = "",
        allow_degraded: bool = True,
        retry_after: int = 5,
    ) -> None:
        self.app = app
        self._lifespan = lifespan
        self._probe_paths = {f"{health_prefix.rstrip('/')}/{probe}" for probe in PROBES}
        self._probes = HealthApp(
            lifespan.health_source,
            plan=lifespan.plan,
            allow_degraded=allow_degraded,
            loop_watch=lifespan.loop_watch,
        )
        self._retry_after = str(retry_after).encode()
        self._state: dict[str, Any] | None = None

    def __repr__(self) -> str:
        return f"<BootFront {'open' if self._state is not None else 'booting'}>"

    @property
    def is_open(self) -> bool:
        """Whether the app has taken over."""
        return self._state is not None

    def open(self, state: dict[str, Any]) -> None:
        """Hand every request from now on to the app, with the lifespan's `state`."""
        self._state = state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Serve `scope`: through the app once open, from the boot's progress before."""
        if self._state is not None:
            if scope["type"] in ("http", "websocket"):
                scope["state"] = {**self._state, **scope.get("state", {})}
            await self.app(scope, receive, send)
            return
        if scope["type"] == "http":
            path = scope["path"]
            if path in self._probe_paths:
                probe = path.rsplit("/", 1)[1]
                await self._probes({**scope, "path": f"/{probe}", "root_path": ""}, receive, send)
            else:
                await self._refuse(send, scope["method"])
        elif scope["type"] == "websocket":
            await send({"type": "websocket.close", "code": TRY_AGAIN_LATER, "reason": "booting"})

    async def _refuse(self, send: Send, method: str) -> None:
        health = self._probes.probe("startupz")
        starting = health.health.state is BootState.STARTING
        refused = {
            "error": "the service is booting" if starting else "the service is not serving",
            "boot": health.health.boot,
            "fingerprint": health.health.fingerprint,
            "state": health.health.state.value,
        }
        body = json.dumps(refused, sort_keys=True, separators=(",", ":")).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 503,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", self._retry_after),
                    (b"cache-control", b"no-store"),
                ],
            }
        )
        await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})


class AppLifespan:
    """Drives an app's ASGI lifespan (startup, then shutdown) from one task, as a server would.

    Args:
        app: the ASGI application whose lifespan runs the boot.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app
        self.state: dict[str, Any] = {}
        self.started = False
        self._inbox: asyncio.Queue[Message] = asyncio.Queue()
        self._startup_done = asyncio.Event()
        self._shutdown_done = asyncio.Event()
        self._task: asyncio.Task[None] | None = None

    def __repr__(self) -> str:
        return f"<AppLifespan started={self.started}>"

    async def startup(self) -> bool:
        """Run the app's startup (the boot); True once it completed, False if it failed."""
        self._task = asyncio.get_running_loop().create_task(self._run())
        await self._inbox.put({"type": "lifespan.startup"})
        await self._startup_done.wait()
        return self.started

    @property
    def settled(self) -> bool:
        """Whether the startup has completed or failed."""
        return self._startup_done.is_set()

    async def ended(self) -> None:
        """Wait until the lifespan has ended: shut down, failed, or stopped on its own."""
        await self._shutdown_done.wait()

    async def shutdown(self) -> None:
        """Run the app's shutdown (the teardown) and wait for it, if the startup completed."""
        if self._task is None:
            return
        if self.started:
            await self._inbox.put({"type": "lifespan.shutdown"})
        await asyncio.shield(self._task)

    async def _run(self) -> None:
        scope = {"type": "lifespan", "asgi": {"version": "3.0", "spec_version": "2.0"}}
        try:
            await self.app({**scope, "state": self.state}, self._inbox.get, self._send)
        except Exception as exc:  # the app's lifespan failed: say it in one line, not a traceback
            from ._lifespan import StartupRefused

            if isinstance(exc, StartupRefused):
                logger.error("%s: %s", type(exc).__name__, exc)
            else:
                logger.exception("the app's lifespan failed")
        finally:
            self._startup_done.set()
            self._shutdown_done.set()

    async def _send(self, message: Message) -> None:
        kind = message["type"]
        if kind == "lifespan.startup.complete":
            self.started = True
            self._startup_done.set()
        elif kind == "lifespan.startup.failed":
            self._startup_done.set()
        elif kind in ("lifespan.shutdown.complete", "lifespan.shutdown.failed"):
            self._shutdown_done.set()
