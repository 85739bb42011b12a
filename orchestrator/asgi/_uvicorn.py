"""uvicorn listening before the boot, and draining after it: not ready, grace, close, stop.

uvicorn's public API is `Config`, `Server(config)`, `Server.run()` and
`Server.serve(sockets)`. What smd needs beyond it it takes from `Server`'s
methods and flags, which uvicorn does not document: `startup()` and
`shutdown()` (extended, not replaced: the boot starts once the socket listens,
the teardown runs once the server has stopped), `handle_exit()` (replaced:
the signals drain instead of stopping at once), and `should_exit`,
`force_exit` and `started`. The versions tested (`TESTED_UVICORN`) are pinned
in the `dev` extra of pyproject.toml; under any other, `serve_asgi` says so in
a warning before it serves.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import signal
import socket
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from ._drain import WebSocketDrain
from ._front import AppLifespan, BootFront

if TYPE_CHECKING:
    from ._lifespan import BootLifespan

logger = logging.getLogger("uvicorn.error")
STARTUP_FAILURE = 3
"""uvicorn's own exit code for a lifespan that failed to start."""
TESTED_UVICORN = ("0.54",)
"""The uvicorn releases (major.minor) whose undocumented `Server` methods smd is tested on."""


def untested_uvicorn(version: str) -> str | None:
    """The warning for a uvicorn `version` that smd is not tested on, or None for a tested one."""
    if ".".join(version.split(".")[:2]) in TESTED_UVICORN:
        return None
    return (
        f"serve_asgi is tested with uvicorn {', '.join(TESTED_UVICORN)} and uvicorn {version} "
        "is installed: it extends uvicorn.Server's undocumented startup(), shutdown() and "
        "handle_exit(), which may differ; run its tests (tests/test_asgi.py) on this version"
    )


class DrainingServer(uvicorn.Server):
    """A uvicorn server that listens before the boot and drains before it stops.

    The socket listens first and `front` answers while the boot runs; the boot
    is the app's own lifespan, driven here rather than by uvicorn, so that it
    starts only once the socket listens and is torn down only once the server
    has stopped. On the first SIGTERM/SIGINT in service, readiness turns 503,
    the server keeps serving for `drain_grace` seconds, open WebSockets are
    closed with 1001, and only then does uvicorn stop and the boot tear down.
    A second signal ends the grace period early; a third stops waiting for
    open connections; none skips the teardown. The signal is not re-raised
    after shutdown, so the exit code is the boot's.

    Args:
        config: the uvicorn configuration; its app must be `front`, with `lifespan="off"`.
        lifespan: the app's `BootLifespan`.
        front: what the server serves: probes while booting, the app at READY.
        drain: the middleware tracking the app's WebSockets.
        app_lifespan: the app's ASGI lifespan, which runs the boot.
        drain_grace: seconds to stay up, not ready, before closing connections.
        close_timeout: seconds allowed for closing the WebSockets.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        lifespan: BootLifespan,
        front: BootFront,
        drain: WebSocketDrain,
        app_lifespan: AppLifespan,
        drain_grace: float,
        close_timeout: float,
    ) -> None:
        super().__init__(config)
        self.boot_lifespan = lifespan
        self.front = front
        self.drain = drain
        self.app_lifespan = app_lifespan
        self.drain_grace = drain_grace
        self.close_timeout = close_timeout
        self.drain_task: asyncio.Task[None] | None = None
        self.boot_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signals = 0
        self.startup_failed = False
        self._cut_short: asyncio.Event | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Listen, boot, serve until drained (or the boot is refused or stops), tear down."""
        self._loop = asyncio.get_running_loop()
        self._cut_short = asyncio.Event()
        await super().serve(sockets)

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        """Bind and listen (uvicorn's startup, without a lifespan), then start the boot."""
        await super().startup(sockets)
        if self.started and self._loop is not None:
            self.boot_task = self._loop.create_task(self._boot())

    async def _boot(self) -> None:
        if not await self.app_lifespan.startup():
            self.startup_failed = True
            self.should_exit = True  # refused: nothing to serve
            return
        self.front.open(self.app_lifespan.state)
        await self.app_lifespan.ended()
        self.should_exit = True  # the boot stopped on its own (a critical service was spent)

    async def shutdown(self, sockets: list[socket.socket] | None = None) -> None:
        """Stop serving (uvicorn's shutdown), then end the boot: the teardown always runs."""
        await super().shutdown(sockets)
        if self.boot_task is not None and not self.app_lifespan.settled:
            await asyncio.shield(self.boot_task)  # a boot interrupted by a signal ends by itself
        await self.app_lifespan.shutdown()
        if self.boot_task is not None and not self.boot_task.done():
            self.boot_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self.boot_task

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: drain (or abort a boot in progress). Then: hurry, never skip a teardown.

        A second signal ends the grace period at once (the WebSockets are still
        closed and the boot torn down); a third, once uvicorn is stopping, makes
        it stop waiting for open connections. The teardown always runs, bounded
        by the boot's `stop_timeout`.
        """
        self._signals += 1
        if self._signals > 1:
            self._hurry(sig)
            return
        running = self.boot_lifespan.running
        if self._loop is None:
            self.should_exit = True
        elif running is None or not self.front.is_open:
            # A signal handler runs between bytecodes; wake the loop to abort the boot.
            self._loop.call_soon_threadsafe(self.boot_lifespan.interrupt, sig)
            self.should_exit = True
        else:
            running.begin_draining()
            self._loop.call_soon_threadsafe(self._start_drain)

    def _hurry(self, sig: int) -> None:
        name = signal.Signals(sig).name
        if self.should_exit:
            self.force_exit = True
            logger.info("%s received again: no longer waiting for connections", name)
        elif self._loop is not None and self._cut_short is not None:
            self._loop.call_soon_threadsafe(self._cut_short.set)
            logger.info("%s received again: the drain's grace period is cut short", name)

    def _start_drain(self) -> None:
        if self.drain_task is None and self._loop is not None:
            self.boot_lifespan.begin_draining()  # systemd hears STOPPING=1 before the grace
            self.drain.log_started(self.drain_grace)
            self.drain_task = self._loop.create_task(self._drain())

    async def _drain(self) -> None:
        try:
            if self._cut_short is not None:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._cut_short.wait(), self.drain_grace)
            await self.drain.close_all(within=self.close_timeout)
        finally:
            self.should_exit = True


def serve_with_drain(
    app: Any,
    lifespan: BootLifespan,
    *,
    host: str,
    port: int,
    drain_grace: float,
    close_timeout: float,
    health_prefix: str,
    allow_degraded: bool,
    retry_after: int,
    **uvicorn_options: Any,
) -> int:
    """Run a `DrainingServer` for `app`; see `orchestrator.asgi.serve_asgi`."""
    uvicorn_options.pop("lifespan", None)  # the boot is the lifespan, and smd drives it
    drain = WebSocketDrain(app)
    front = BootFront(
        drain,
        lifespan,
        health_prefix=health_prefix,
        allow_degraded=allow_degraded,
        retry_after=retry_after,
    )
    config = uvicorn.Config(front, host=host, port=port, lifespan="off", **uvicorn_options)
    notice = untested_uvicorn(uvicorn.__version__)
    if notice is not None:
        logger.warning(notice)
    server = DrainingServer(
        config,
        lifespan=lifespan,
        front=front,
        drain=drain,
        app_lifespan=AppLifespan(app),
        drain_grace=drain_grace,
        close_timeout=close_timeout,
    )
    try:
        server.run()
    except SystemExit as exit_:  # uvicorn could not listen (the boot never started)
        if lifespan.refused is not None:
            return lifespan.refused.exit_code
        return exit_.code if isinstance(exit_.code, int) else 1
    if lifespan.refused is None and server.startup_failed:
        return STARTUP_FAILURE  # the app's lifespan failed without a diagnostic: not smd's boot
    return lifespan.exit_code
