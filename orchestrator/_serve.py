"""`Boot.serve()`: boot, wait for SIGINT/SIGTERM, tear down, return the exit code."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import anyio

from ._engine import STOP_SIGNALS
from ._errors import BootAborted

if TYPE_CHECKING:
    from ._boot import Boot


async def wait_for_stop_signal() -> int:
    """Wait for SIGINT or SIGTERM; returns the signal number."""
    with anyio.open_signal_receiver(*STOP_SIGNALS) as signals:
        async for signum in signals:
            return int(signum)
    raise AssertionError("unreachable: a signal receiver never ends on its own")


async def serve_async(boot: Boot, **options: Any) -> int:
    """Boot; on READY/DEGRADED wait for SIGINT or SIGTERM; then tear down in order.

    Returns:
        0 after an orderly shutdown, else the exit code of the diagnostic.
    """
    options.setdefault("handle_signals", True)
    try:
        async with boot.start(**options):
            await wait_for_stop_signal()
    except BootAborted as aborted:
        return aborted.exit_code
    return 0


def serve(boot: Boot, *, backend: str = "asyncio", **options: Any) -> int:
    """Run `serve_async` on a fresh event loop (asyncio unless `backend="trio"`)."""
    return anyio.run(lambda: serve_async(boot, **options), backend=backend)
