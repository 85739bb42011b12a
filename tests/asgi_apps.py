"""Small Starlette apps for the ASGI tests, runnable as `python tests/asgi_apps.py KIND`.

KIND is `failing` (a critical phase raises: exit 69), `slow` (the boot takes
ten seconds, so a signal arrives while it runs), `held` (the boot waits in
`warm_up` for a line on stdin, so a test sees it booting for as long as it
wants), `held-teardown` (the database's teardown waits for a line on stdin),
`crashing-service` (a critical service crashes at each line on stdin and is
restarted once), `recovering` (a non-critical cache fails until the file
`$SMD_TEST_CACHE_UP` exists, and recovers in the background) or `ok`; an
optional second argument is the drain grace in seconds (0.2). Each serves on
127.0.0.1, port 0, through `serve_asgi`; `$SMD_TEST_STALL_THRESHOLD` sets the
loop watch's threshold, and `/block?seconds=S` blocks the event loop.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import AsyncIterator

import anyio
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route

from orchestrator import Boot, PhaseContext, Retry, StructlogSink
from orchestrator.asgi import BootLifespan, health_routes, lifespan, resources, serve_asgi
from orchestrator.health import LoopWatch
from orchestrator.systemd import SystemdNotifier

TEARDOWNS: list[str] = []


def ok_boot() -> Boot:
    boot = Boot("asgi-ok")

    @boot.phase()
    async def config() -> dict[str, str]:
        return {"greeting": "hello"}

    @boot.phase(teardown_timeout=2)
    async def database(config: dict[str, str]) -> AsyncIterator[str]:
        yield "db-connection"
        TEARDOWNS.append("database")

    return boot


def failing_boot() -> Boot:
    boot = Boot("asgi-failing")

    @boot.phase()
    async def config() -> str:
        return "cfg"

    @boot.phase()
    async def database(config: str) -> str:
        raise ConnectionRefusedError("postgres://app:hunter2@db:5432 refused the connection")

    return boot


def slow_boot() -> Boot:
    boot = Boot("asgi-slow")

    @boot.phase()
    async def warm_up() -> str:
        print("warming up", file=sys.stderr, flush=True)
        await anyio.sleep(10)
        return "warm"

    return boot


async def _line_on_stdin() -> None:
    await anyio.to_thread.run_sync(sys.stdin.readline, abandon_on_cancel=True)


def held_boot() -> Boot:
    boot = Boot("asgi-held")

    @boot.phase()
    async def config() -> dict[str, str]:
        return {"greeting": "hello"}

    @boot.phase()
    async def warm_up(config: dict[str, str]) -> str:
        await _line_on_stdin()
        return "warm"

    @boot.phase()
    async def database(warm_up: str) -> str:
        return "db-connection"

    return boot


def held_teardown_boot() -> Boot:
    boot = Boot("asgi-held-teardown")

    @boot.phase()
    async def config() -> dict[str, str]:
        return {"greeting": "hello"}

    @boot.phase()
    async def database(config: dict[str, str]) -> AsyncIterator[str]:
        yield "db-connection"
        print("tearing down database", file=sys.stderr, flush=True)
        await _line_on_stdin()

    return boot


def crashing_service_boot() -> Boot:
    boot = Boot("asgi-crashing-service")

    @boot.phase()
    async def database() -> AsyncIterator[str]:
        yield "db-connection"

    @boot.service(restart=Retry(attempts=1, delay=0))
    async def pump(database: str, ctx: PhaseContext) -> None:
        ctx.started("pumping")
        await _line_on_stdin()  # each line on stdin: one crash
        raise OSError("broker gone")

    return boot


def recovering_boot() -> Boot:
    boot = Boot("asgi-recovering")

    @boot.phase()
    async def database() -> str:
        return "db-connection"

    @boot.phase(critical=False, retry=None, recover=Retry(attempts=10_000, delay=0.02))
    async def cache(database: str) -> str:
        if not os.path.exists(os.environ["SMD_TEST_CACHE_UP"]):  # noqa: ASYNC240  (a test flag)
            raise ConnectionError("cache is down")
        return "cache"

    return boot


async def hello(request: Request) -> JSONResponse:
    """Reads the boot three ways: resources(), lifespan state, app state."""
    return JSONResponse(
        {
            "greeting": resources(request)["config"]["greeting"],
            "database": request.state.smd.resources["database"],
            "same": request.app.state.smd is request.state.smd,
        }
    )


async def block(request: Request) -> JSONResponse:
    """Blocks the event loop for `?seconds=` (what a sync call in a handler does)."""
    seconds = float(request.query_params["seconds"])
    time.sleep(seconds)  # noqa: ASYNC251  (the point: a blocked loop)
    return JSONResponse({"blocked": seconds})


def create_app(boot: Boot, loop_watch: LoopWatch | bool = True) -> tuple[Starlette, BootLifespan]:
    """The app with health routes, /hello and /block; systemd hears of it via NOTIFY_SOCKET."""
    sinks = [StructlogSink(), SystemdNotifier(boot.plan())]
    smd = lifespan(boot, sinks=sinks, loop_watch=loop_watch)
    routes = [*health_routes(), Route("/hello", hello), Route("/block", block)]
    return Starlette(routes=routes, lifespan=smd), smd


failing_app, failing_lifespan = create_app(failing_boot())

if __name__ == "__main__":
    boots = {
        "failing": failing_boot,
        "slow": slow_boot,
        "ok": ok_boot,
        "held": held_boot,
        "held-teardown": held_teardown_boot,
        "crashing-service": crashing_service_boot,
        "recovering": recovering_boot,
    }
    threshold = os.environ.get("SMD_TEST_STALL_THRESHOLD")
    watch = LoopWatch(threshold=float(threshold), memory=600, interval=0.05) if threshold else True
    app, smd = create_app(boots[sys.argv[1]](), loop_watch=watch)
    grace = float(sys.argv[2]) if len(sys.argv) > 2 else 0.2
    raise SystemExit(serve_asgi(app, smd, port=0, drain_grace=grace, log_level="info"))
