"""One small boot per failure smd can describe, for every entry point.

As a TARGET: `smd run --once tests/boots/entry_points.py:raising` (or `refused`,
`timeout`, `interrupted`). As a server: `python tests/boots/entry_points.py
CASE` serves the boot through `serve_asgi` on 127.0.0.1, port 0.

The `interrupted` boot's phase calls `deliver()`, which sends SIGTERM to the
process; an in-process test replaces it with the entry point's own interrupt.
"""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import Callable

import anyio

from orchestrator import Boot, GateResult


def _send_sigterm() -> None:
    os.kill(os.getpid(), signal.SIGTERM)


deliver: Callable[[], None] = _send_sigterm

raising = Boot("entry-raising")


@raising.phase()
async def database() -> None:
    raise ConnectionRefusedError("postgres://app:hunter2@db:5432 refused the connection")


refused = Boot("entry-refused")


@refused.gate()
def config_is_complete() -> GateResult:
    return GateResult(False, ("SECRET_KEY is not set",), ("export SECRET_KEY",))


timeout = Boot("entry-timeout")


@timeout.phase(timeout=0.1)
async def hangs() -> None:
    await anyio.sleep_forever()


interrupted = Boot("entry-interrupted")


@interrupted.phase()
async def warm_up() -> None:
    deliver()
    await anyio.sleep_forever()


BOOTS = {"raising": raising, "refused": refused, "timeout": timeout, "interrupted": interrupted}

if __name__ == "__main__":
    from starlette.applications import Starlette

    from orchestrator.asgi import health_routes, lifespan, serve_asgi

    smd = lifespan(BOOTS[sys.argv[1]])
    app = Starlette(routes=health_routes(), lifespan=smd)
    raise SystemExit(serve_asgi(app, smd, port=0, drain_grace=0.1, log_level="warning"))
