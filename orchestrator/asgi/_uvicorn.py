"""uvicorn with a drain: not ready first, a grace period, WebSockets closed, then stop."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
from types import FrameType
from typing import TYPE_CHECKING, Any

import uvicorn

from ._drain import WebSocketDrain

if TYPE_CHECKING:
    from . import BootLifespan


class DrainingServer(uvicorn.Server):
    """A uvicorn server whose first SIGTERM/SIGINT drains before it stops.

    uvicorn alone stops accepting at once and closes WebSockets with 1012; here
    readiness turns 503 first, the server keeps serving for `drain_grace`
    seconds, open WebSockets are closed with 1001, and only then does uvicorn
    shut down (and the lifespan tear the boot down). The signal is not re-raised
    after shutdown, so an orderly drain exits 0. A second SIGINT ends the grace
    period early.

    Args:
        config: the uvicorn configuration; its app must be wrapped by `drain`.
        lifespan: the app's `BootLifespan`.
        drain: the middleware tracking the app's WebSockets.
        drain_grace: seconds to stay up, not ready, before closing connections.
        close_timeout: seconds allowed for closing the WebSockets.
    """

    def __init__(
        self,
        config: uvicorn.Config,
        *,
        lifespan: BootLifespan,
        drain: WebSocketDrain,
        drain_grace: float,
        close_timeout: float,
    ) -> None:
        super().__init__(config)
        self.boot_lifespan = lifespan
        self.drain = drain
        self.drain_grace = drain_grace
        self.close_timeout = close_timeout
        self.drain_task: asyncio.Task[None] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._signalled = False
        self._cut_short: asyncio.Event | None = None

    async def serve(self, sockets: list[socket.socket] | None = None) -> None:
        """Serve until drained (or forced to stop)."""
        self._loop = asyncio.get_running_loop()
        self._cut_short = asyncio.Event()
        await super().serve(sockets)

    def handle_exit(self, sig: int, frame: FrameType | None) -> None:
        """First signal: drain (or abandon a boot in progress). Second SIGINT: hurry.

        A second SIGINT ends the grace period at once (the WebSockets are still
        closed and the boot torn down); a third, once uvicorn is stopping, makes
        it stop waiting for connections. A second SIGTERM is ignored: the drain
        it asks for is already under way.
        """
        if self._signalled:
            if sig == signal.SIGINT:
                self._hurry()
            return
        self._signalled = True
        running = self.boot_lifespan.running
        if self._loop is None:
            self.should_exit = True
        elif running is None:
            # A signal handler runs between bytecodes; wake the loop to cancel the boot.
            self._loop.call_soon_threadsafe(self.boot_lifespan.interrupt, sig)
            self.should_exit = True
        else:
            running.begin_draining()
            self._loop.call_soon_threadsafe(self._start_drain)

    def _hurry(self) -> None:
        if self.should_exit:
            self.force_exit = True
        elif self._loop is not None and self._cut_short is not None:
            self._loop.call_soon_threadsafe(self._cut_short.set)

    def _start_drain(self) -> None:
        if self.drain_task is None and self._loop is not None:
            self.boot_lifespan.begin_draining()  # systemd hears STOPPING=1 before the grace
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
    **uvicorn_options: Any,
) -> int:
    """Run a `DrainingServer` for `app`; see `orchestrator.asgi.serve_asgi`."""
    drain = WebSocketDrain(app)
    config = uvicorn.Config(drain, host=host, port=port, lifespan="on", **uvicorn_options)
    server = DrainingServer(
        config,
        lifespan=lifespan,
        drain=drain,
        drain_grace=drain_grace,
        close_timeout=close_timeout,
    )
    try:
        server.run()
    except SystemExit as exit_:
        if lifespan.refused is not None:
            return lifespan.refused.exit_code
        return exit_.code if isinstance(exit_.code, int) else 1
    if lifespan.refused is not None:
        return lifespan.refused.exit_code
    return 0
