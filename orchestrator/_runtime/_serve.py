"""`Boot.serve()`: boot, serve until SIGINT/SIGTERM, stop in order, return the exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from .._model._errors import BootAborted

if TYPE_CHECKING:
    from .._boot import Boot

STOP_FAILED = 1
"""The exit code of an orderly stop in which a teardown failed or the stop budget ran out."""


async def serve_async(boot: Boot, **options: Any) -> int:
    """Boot; serve until a signal (or `running.request_stop()`) stops it in order.

    Returns:
        0 after an orderly stop whose teardowns all completed, 1 when a teardown
        failed or the stop budget ran out, else the exit code of the diagnostic.
    """
    options.setdefault("handle_signals", True)
    try:
        async with boot.start(**options) as running:
            await anyio.sleep_forever()
    except BootAborted as aborted:
        return aborted.exit_code
    return STOP_FAILED if running.stop_failed else 0


def serve(boot: Boot, *, backend: str = "asyncio", **options: Any) -> int:
    """Run `serve_async` on a fresh event loop (asyncio unless `backend="trio"`)."""
    if backend not in ("asyncio", "trio"):
        raise ValueError(f"backend must be 'asyncio' or 'trio', got {backend!r}")
    return anyio.run(lambda: serve_async(boot, **options), backend=backend)
