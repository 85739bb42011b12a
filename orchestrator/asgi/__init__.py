"""Embed a boot in a Starlette or FastAPI app: lifespan, health routes, serving.

```python
smd = lifespan(boot, deadline=30)
app = Starlette(routes=[*health_routes(), ...], lifespan=smd)
raise SystemExit(serve_asgi(app, smd, host="0.0.0.0", port=8000, drain_grace=5))
```

The app serves once the boot is READY (or DEGRADED) and the boot is torn down
after the app stops; `serve_asgi` listens before the boot starts and answers
the probes while it runs. Handlers reach the boot as `request.app.state.smd`,
as `request.state.smd` (lifespan state), or through `running_boot(request)`
and `resources(request)`. A refused boot prints its diagnostic once to stderr
and the app never serves; `serve_asgi` then returns the diagnostic's exit code.

Starlette is imported only here (the `asgi` extra); uvicorn only when
`serve_asgi` is called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.requests import HTTPConnection, Request
from starlette.responses import Response
from starlette.routing import Route

from .._model._diagnostic import Diagnostic
from .._model._plan import BootPlan
from .._runtime._running import RunningBoot
from ..health import HealthSource, LoopWatch, ProbeName, answer_probe, run_probe
from ..health._probes import PROBES
from ._drain import WebSocketClosedByDrain, WebSocketDrain
from ._lifespan import LIFESPAN_KEY, STATE_KEY, BootLifespan, StartupRefused

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


def lifespan(
    boot: Boot,
    *,
    on_failure: Callable[[Diagnostic], None] | None = None,
    termination_log: str | Path | None = None,
    loop_watch: LoopWatch | bool = True,
    **start_options: Any,
) -> BootLifespan:
    """A Starlette/FastAPI lifespan that runs `boot`; see `BootLifespan`.

    Returns:
        The lifespan; pass it to the app and to `serve_asgi`.
    """
    return BootLifespan(
        boot,
        on_failure=on_failure,
        termination_log=termination_log,
        loop_watch=loop_watch,
        **start_options,
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
    get_running: Callable[[], HealthSource] | None = None,
    *,
    allow_degraded: bool = True,
    prefix: str = "",
    plan: BootPlan | None = None,
    loop_watch: LoopWatch | None = None,
) -> list[Route]:
    """Starlette routes for `/livez`, `/readyz` and `/startupz` (200 or 503).

    Each answers JSON, Kubernetes' text with `?verbose`, or
    `application/health+json` when the client accepts it.

    Args:
        get_running: returns what to describe; by default the boot of the app's
            smd lifespan (its progress while it boots, its plan before).
        allow_degraded: whether `/readyz` passes for a DEGRADED boot (default
            True; False takes a DEGRADED replica out of its Service).
        prefix: a path prefix such as "/health".
        plan: the plan described while nothing else is known.
        loop_watch: the watch behind `/livez`; by default the lifespan's.
    """

    def current(request: Request) -> tuple[HealthSource, LoopWatch | None]:
        owner = getattr(request.app.state, LIFESPAN_KEY, None)
        watch = loop_watch
        if watch is None and isinstance(owner, BootLifespan):
            watch = owner.loop_watch
        if get_running is not None:
            return get_running() or plan, watch
        try:
            return running_boot(request), watch
        except LookupError:
            pass
        if isinstance(owner, BootLifespan):
            return owner.health_source() or plan, watch
        return plan, watch

    def endpoint(probe: ProbeName) -> Callable[[Request], Response]:
        def answer(request: Request) -> Response:
            source, watch = current(request)
            result = run_probe(probe, source, allow_degraded=allow_degraded, loop_watch=watch)
            body, media_type = answer_probe(
                result,
                query=request.url.query,
                accept=request.headers.get("accept", ""),
            )
            return Response(
                body,
                status_code=result.status_code,
                media_type=media_type,
                headers={"cache-control": "no-store"},
            )

        answer.__name__ = probe
        return answer

    return [
        Route(f"{prefix}/{probe}", endpoint(probe), methods=["GET", "HEAD"], name=probe)
        for probe in PROBES
    ]


def serve_asgi(
    app: Any,
    lifespan: BootLifespan,
    *,
    host: str = "127.0.0.1",
    port: int = 8000,
    drain_grace: float = 5.0,
    close_timeout: float = 5.0,
    health_prefix: str = "",
    allow_degraded: bool = True,
    retry_after: int = 5,
    **uvicorn_options: Any,
) -> int:
    """Listen first, boot, serve `app` at READY; on SIGTERM/SIGINT drain, close, tear down.

    The socket is bound before the boot starts. While the boot runs, the probes
    (`/livez`, `/readyz`, `/startupz` under `health_prefix`) answer from its
    progress, `/startupz` 503 naming the phases running and pending, and every
    other request gets 503 with `Retry-After` (a WebSocket is closed with 1013,
    try again later). At READY (or DEGRADED) the app takes every request, with
    no moment when the port does not answer. A refused boot closes the server.

    The order on a signal: readiness turns 503 at once; the server keeps serving
    for `drain_grace` seconds so load balancers stop sending traffic; open
    WebSockets are closed with 1001 (going away); uvicorn stops; the boot is
    torn down in reverse order. A second signal ends the grace period at once;
    no signal ever skips the teardown. A `SystemdNotifier` among the lifespan's
    sinks sends `STOPPING=1` as the drain starts. A signal during the boot
    aborts it (kind `interrupted`, exit 130/143).

    Args:
        app: the ASGI app whose lifespan is `lifespan`.
        lifespan: the `BootLifespan` the app was built with.
        host: address to bind.
        port: port to bind (0: any free port, logged by uvicorn).
        drain_grace: seconds between turning not-ready and closing connections.
        close_timeout: seconds allowed for closing the WebSockets.
        health_prefix: where the app mounts `health_routes` (their `prefix`).
        allow_degraded: whether `/readyz` passes for a DEGRADED boot while the
            probes are answered for the booting app (as `health_routes`).
        retry_after: seconds in the `Retry-After` of a request refused while booting.
        **uvicorn_options: more `uvicorn.Config` options (`lifespan` is smd's own).

    Returns:
        0 after an orderly stop, 1 when a teardown failed or the stop budget
        ran out; the diagnostic's exit code if the boot was refused.
    """
    from ._uvicorn import serve_with_drain

    return serve_with_drain(
        app,
        lifespan,
        host=host,
        port=port,
        drain_grace=drain_grace,
        close_timeout=close_timeout,
        health_prefix=health_prefix,
        allow_degraded=allow_degraded,
        retry_after=retry_after,
        **uvicorn_options,
    )
