"""Interrupting a boot in progress from outside it, as a signal would."""

from __future__ import annotations

import signal

import anyio


class BootInterrupt:
    """A handle that aborts a boot in progress with kind `interrupted` (exit 128 + signal).

    For hosts that own the process's signal handlers (an ASGI server, say) and
    so cannot let the boot install its own: pass it to `boot.start(interrupt=...)`
    and call `trigger()` from the event loop's thread when a signal arrives. The
    boot is torn down and raises `BootAborted` with a real diagnostic. After the
    boot is ready, triggering does nothing: stopping a service is the host's job.
    """

    def __init__(self) -> None:
        self.signal_number: int | None = None
        self._event: anyio.Event | None = None

    def __repr__(self) -> str:
        return f"<BootInterrupt triggered={self.signal_number is not None}>"

    def trigger(self, signal_number: int = signal.SIGTERM) -> None:
        """Interrupt the boot as `signal_number` would (only the first call counts)."""
        if self.signal_number is not None:
            return
        self.signal_number = int(signal_number)
        if self._event is not None:
            self._event.set()

    async def wait(self) -> int:
        """Wait until triggered; returns the signal number."""
        if self.signal_number is None:
            self._event = anyio.Event()
            await self._event.wait()
        assert self.signal_number is not None
        return self.signal_number
