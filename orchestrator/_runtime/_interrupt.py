"""Interrupting a boot from outside it, as a signal would."""

from __future__ import annotations

import signal

import anyio


class BootInterrupt:
    """A handle with the effect of SIGINT/SIGTERM, for hosts that own the signal handlers.

    Pass it to `boot.start(interrupt=...)` and call `trigger()` from the event
    loop's thread when a signal arrives. During the boot it aborts it with kind
    `interrupted` (exit 128 + signal) after tearing down what started; in
    service it begins the orderly stop. Only the first trigger counts, and it
    reaches every boot that shares the handle.
    """

    def __init__(self) -> None:
        self.signal_number: int | None = None
        self._waiters: list[anyio.Event] = []

    def __repr__(self) -> str:
        return f"<BootInterrupt triggered={self.signal_number is not None}>"

    def trigger(self, signal_number: int = signal.SIGTERM) -> None:
        """Interrupt as `signal_number` would (only the first call counts)."""
        if self.signal_number is not None:
            return
        self.signal_number = int(signal_number)
        for waiter in self._waiters:
            waiter.set()

    async def wait(self) -> int:
        """Wait until triggered; returns the signal number."""
        if self.signal_number is None:
            waiter = anyio.Event()
            self._waiters.append(waiter)
            try:
                await waiter.wait()
            finally:
                self._waiters.remove(waiter)
        assert self.signal_number is not None
        return self.signal_number
