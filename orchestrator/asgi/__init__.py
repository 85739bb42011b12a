"""Embed a boot in a Starlette or FastAPI app: lifespan, health routes, serving.

```python
smd = lifespan(boot, deadline=30)
app = Starlette(routes=[*health_routes(), ...], lifespan=smd)
raise SystemExit(serve_asgi(app, smd, host="0.0.0.0", port=8000, drain_grace=5))
```

The boot runs before the app serves and is torn down after it stops. Handlers
reach it as `request.app.state.smd`, as `request.state.smd` (lifespan state),
or through `running_boot(request)` and `resources(request)`. A refused boot
prints its diagnostic once to stderr and the server refuses to start;
`serve_asgi` then returns the diagnostic's exit code.

Starlette is imported only here (the `asgi` extra); uvicorn only when
`serve_asgi` is called.
"""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route

from .._model._diagnostic import Diagnostic
from .._model._errors import BootAborted, BootError
from .._runtime._interrupt import BootInterrupt
from .._runtime._running import RunningBoot
from .._runtime._termination import write_termination_message
from ..health import ProbeName, run_probe
from ..systemd import SystemdNotifier
from ._drain import WebSocketClosedByDrain, WebSocketDrain

if TYPE_CHECKING:
    from .._boot import Boot

__all__ = [
    "BootLifespan",
    "StartupRefused",
    "WebSocketClosedByDrain",
    "WebSocketDrain",
    "health_routes",
    "lifespan",
    "resources",
    "running_boot",
    "serve_asgi",
]

STATE_KEY = "smd"


class StartupRefused(BootError):
    """The boot behind an ASGI lifespan did not reach READY; the server must not start.

    The full diagnostic has already been printed once; this error is the one
    line an ASGI server logs, so a refused start reads as a diagnostic rather
    than as a traceback.

    Attributes:
        diagnostic: why the boot was refused, or None if it was interrupted before it settled.
        exit_code: the process exit code for this refusal.
    """

    def __init__(self, boot: str, diagnostic: Diagnostic | None, exit_code: int) -> None:
        self.boot = boot
        self.diagnostic = diagnostic
        self.exit_code = exit_code
        why = (
            f"{diagnostic.kind}: {diagnostic.summary}"
            if diagnostic is not None
            else "interrupted by a signal"
        )
        super().__init__(f"boot '{boot}' refused to start ({why}); exit code {exit_code}")


class BootLifespan:
    """An ASGI lifespan that boots before the app serves and tears down after.

    Use the instance as `Starlette(lifespan=...)` or `FastAPI(lifespan=...)`.

    Args:
        boot: the boot to run.
        on_failure: shows a refused boot's diagnostic; by default it is written
            once to stderr.
        termination_log: if given, a refused boot's diagnostic is also written
            there as JSON (Kubernetes `terminationMessagePath`).
        **start_options: passed to `boot.start()` (`deadline`, `max_concurrency`, `sinks`).
    """

    def __init__(
        self,
        boot: Boot,
        *,
        on_failure: Callable[[Diagnostic], None] | None = None,
        termination_log: str | Path | None = None,
        **start_options: Any,
    ) -> None:
        self.boot = boot
        self.running: RunningBoot | None = None
        self.refused: StartupRefused | None = None
        self._on_failure = on_failure or _print_diagnostic
        self._termination_log = termination_log
        if start_options.get("sinks") is not None:
            start_options["sinks"] = tuple(start_options["sinks"])
        self._start_options = start_options
        self._interrupt: BootInterrupt | None = None

    def __repr__(self) -> str:
        state = self.running.state.value if self.running is not None else "not running"
        return f"<BootLifespan {self.boot.name!r} {state}>"

    def __call__(self, app: object) -> AbstractAsyncContextManager[dict[str, Any]]:
        """The lifespan context for `app`; its state holds the running boot as `smd`."""
        return self._lifespan(app)

    def begin_draining(self) -> None:
        """Turn not-ready now and tell systemd (`STOPPING=1`) that shutdown has begun.

        Does nothing to the boot before it is running; calling it twice is harmless.
        """
        if self.running is not None:
            self.running.begin_draining()
        for sink in self._start_options.get("sinks") or ():
            if isinstance(sink, SystemdNotifier):
                sink.stopping()

    def interrupt(self, signal_number: int) -> None:
        """Abort a boot still in progress (a signal arrived): kind `interrupted`, torn down.

        Does nothing once the boot has finished: draining is the way to stop then.
        """
        if self._interrupt is not None:
            self._interrupt.trigger(signal_number)

    @asynccontextmanager
    async def _lifespan(self, app: object) -> AsyncIterator[dict[str, Any]]:
        async with AsyncExitStack() as stack:
            running = await self._boot(stack)
            self.running = running
            state = getattr(app, "state", None)
            if state is not None:
                setattr(state, STATE_KEY, running)
            try:
                yield {STATE_KEY: running}
            finally:
                self.begin_draining()

    async def _boot(self, stack: AsyncExitStack) -> RunningBoot:
        self._interrupt = BootInterrupt()
        try:
            start = self.boot.start(interrupt=self._interrupt, **self._start_options)
            return await stack.enter_async_context(start)
        except BootAborted as aborted:
            self._report(aborted.diagnostic)
            refused = StartupRefused(self.boot.name, aborted.diagnostic, aborted.exit_code)
        finally:
            self._interrupt = None
        self.refused = refused
        _shorten_uvicorn_traceback(refused)
        raise refused from None

    def _report(self, diagnostic: Diagnostic) -> None:
        self._on_failure(diagnostic)
        if self._termination_log is not None:
            write_termination_message(self._termination_log, diagnostic)


def lifespan(
    boot: Boot,
    *,
    on_failure: Callable[[Diagnostic], None] | None = None,
    termination_log: str | Path | None = None,
    **start_options: Any,
) -> BootLifespan:
    """A Starlette/FastAPI lifespan that runs `boot`; see `BootLifespan`.

    Returns:
        The lifespan; pass it to the app and, to drain on SIGTERM, to `serve_asgi`.
    """
    return BootLifespan(
        boot, on_failure=on_failure, termination_log=termination_log, **start_options
    )


def running_boot(connection: HTTPConnection) -> RunningBoot:
    """The running boot behind a request or WebSocket handler.

    Raises:
        LookupError: the app was not started with an smd lifespan.
    """
    running = connection.scope.get("state", {}).get(STATE_KEY)
    if running is None:
        running = getattr(connection.app.state, STATE_KEY, None)
    if not isinstance(running, RunningBoot):
        raise LookupError("no running boot: start the app with lifespan=orchestrator.asgi.lifespan")
    return running


def resources(connection: HTTPConnection) -> Mapping[str, Any]:
    """Each phase's value by phase name, for the boot behind this request (read-only)."""
    return running_boot(connection).resources


def health_routes(
    get_running: Callable[[], RunningBoot | None] | None = None,
    *,
    allow_degraded: bool = False,
    prefix: str = "",
) -> list[Route]:
    """Starlette routes for `/livez`, `/readyz` and `/startupz` (JSON, 200 or 503).

    Args:
        get_running: returns the running boot; by default the one in the app's
            lifespan state.
        allow_degraded: whether `/readyz` passes for a DEGRADED boot.
        prefix: a path prefix such as "/health".
    """

    def current(request: Request) -> RunningBoot | None:
        if get_running is not None:
            return get_running()
        try:
            return running_boot(request)
        except LookupError:
            return None

    def endpoint(probe: ProbeName) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            result = run_probe(probe, current(request), allow_degraded=allow_degraded)
            return Response(
                result.to_json(),
                status_code=result.status_code,
                media_type="application/json",
                headers={"cache-control": "no-store"},
            )

        answer.__name__ = probe
        return answer

    return [
        Route(f"{prefix}/{probe}", endpoint(probe), methods=["GET", "HEAD"], name=probe)
        for probe in ("livez", "readyz", "startupz")
    ]


def serve_asgi(
    app: Any,
    lifespan: BootLifespan,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    drain_grace: float = 5.0,
    close_timeout: float = 5.0,
    **uvicorn_options: Any,
) -> int:
    """Serve `app` with uvicorn; on SIGTERM/SIGINT drain, close WebSockets, tear down.

    The order on a signal: readiness turns 503 at once; the server keeps serving
    for `drain_grace` seconds so load balancers stop sending traffic; open
    WebSockets are closed with 1001 (going away); uvicorn stops; the boot is
    torn down in reverse order. A second SIGINT ends the grace period at once;
    a second SIGTERM is ignored. A `SystemdNotifier` among the lifespan's sinks
    sends `STOPPING=1` as the drain starts.

    Args:
        app: the ASGI app whose lifespan is `lifespan`.
        lifespan: the `BootLifespan` the app was built with.
        host: address to bind.
        port: port to bind (0: any free port, logged by uvicorn).
        drain_grace: seconds between turning not-ready and closing connections.
        close_timeout: seconds allowed for closing the WebSockets.
        **uvicorn_options: more `uvicorn.Config` options.

    Returns:
        0 after an orderly stop; the diagnostic's exit code if the boot was refused.
    """
    from ._uvicorn import serve_with_drain

    return serve_with_drain(
        app,
        lifespan,
        host=host,
        port=port,
        drain_grace=drain_grace,
        close_timeout=close_timeout,
        **uvicorn_options,
    )


def _print_diagnostic(diagnostic: Diagnostic) -> None:
    sys.stderr.write(f"{diagnostic}\n")
    sys.stderr.flush()


class _OneLineLifespanFailure(logging.Filter):
    """Turns the traceback an ASGI server logs for a refused start into one line."""

    def __init__(self, refused: StartupRefused) -> None:
        super().__init__()
        self._refused = refused
        self._line = f"{type(refused).__name__}: {refused}"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and self._line in record.getMessage():
            record.msg, record.args, record.exc_info = self._line, (), None
        return True


def _shorten_uvicorn_traceback(refused: StartupRefused) -> None:
    logger = logging.getLogger("uvicorn.error")
    for existing in [f for f in logger.filters if isinstance(f, _OneLineLifespanFailure)]:
        logger.removeFilter(existing)
    logger.addFilter(_OneLineLifespanFailure(refused))
