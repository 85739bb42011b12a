"""How long the event loop was blocked: a beat on the loop, a watcher in a thread.

A blocked loop cannot answer its own liveness probe while it is blocked, and
once it answers again it looks healthy. So a task on the loop stamps a beat
every `interval`, and a watcher thread, which runs whatever the loop does,
compares the last beat with the clock: when the beat is late by more than
`threshold` it records a stall, and the stall's length once the loop beats
again. `/livez` then fails for `memory` seconds after a stall, saying how long
the loop was blocked and how long ago.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

import anyio
from anyio.abc import TaskStatus

__all__ = ["LoopStall", "LoopWatch"]


@dataclass(frozen=True, slots=True)
class LoopStall:
    """One time the event loop did not run for longer than the threshold.

    Attributes:
        seconds: how long the loop was blocked (so far, if `ongoing`).
        ended: when it ran again (the watch's clock), or None while it is still blocked.
    """

    seconds: float
    ended: float | None = None

    @property
    def ongoing(self) -> bool:
        """The loop is still blocked."""
        return self.ended is None

    def describe(self, now: float) -> str:
        """`event loop blocked for 3.2 s, 12.0 s ago` (or `so far`, while it lasts)."""
        when = "so far" if self.ended is None else f"{max(0.0, now - self.ended):.1f} s ago"
        return f"event loop blocked for {self.seconds:.1f} s, {when}"


class LoopWatch:
    """Measures the event loop's lag from a watcher thread; `/livez` reads it.

    Run `await watch.run()` in a task on the loop to watch (`serve_asgi` and
    `lifespan` do it for you); `stall()` tells the probes about the last stall.

    Args:
        threshold: seconds the loop may go without running before it counts as blocked.
        memory: seconds a stall keeps `/livez` failing after the loop runs again.
        interval: seconds between the loop's beats and the watcher's checks.
        clock: a monotonic clock in seconds (tests give a fake one).

    Raises:
        ValueError: a duration is not a finite number > 0.

    Attributes:
        blocked: set by the watcher thread when it sees the loop blocked.
    """

    def __init__(
        self,
        *,
        threshold: float = 5.0,
        memory: float = 15.0,
        interval: float = 0.25,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        for name, value in (("threshold", threshold), ("memory", memory), ("interval", interval)):
            if isinstance(value, bool) or not isinstance(value, int | float):
                raise TypeError(f"{name} must be a number of seconds, not {type(value).__name__}")
            if not math.isfinite(value) or value <= 0:
                raise ValueError(f"{name} must be a finite number of seconds > 0, not {value!r}")
        self.threshold = float(threshold)
        self.memory = float(memory)
        self.interval = float(interval)
        self.clock = clock
        self.blocked = threading.Event()
        self._lock = threading.Lock()
        self._last_beat = clock()
        self._blocked_since: float | None = None
        self._last_stall: LoopStall | None = None

    def __repr__(self) -> str:
        return f"<LoopWatch threshold={self.threshold} memory={self.memory}>"

    def beat(self) -> None:
        """The loop ran: close a stall the watcher saw (called on the loop, every `interval`)."""
        with self._lock:
            now = self.clock()
            due = self._last_beat + self.interval
            if self._blocked_since is not None or now - due > self.threshold:
                # The watcher may have been starved too: the beat's own lateness counts.
                since = due if self._blocked_since is None else self._blocked_since
                self._last_stall = LoopStall(now - since, ended=now)
                self._blocked_since = None
            self._last_beat = now

    def check(self) -> None:
        """Compare the last beat with the clock (called by the watcher thread)."""
        with self._lock:
            late = self.clock() - self._last_beat - self.interval
            if late > self.threshold and self._blocked_since is None:
                self._blocked_since = self._last_beat + self.interval
                self.blocked.set()

    def stall(self) -> LoopStall | None:
        """The stall `/livez` reports now: one in progress, or one that ended within `memory`."""
        with self._lock:
            now = self.clock()
            if self._blocked_since is not None:
                return LoopStall(now - self._blocked_since)
            stall = self._last_stall
            if stall is not None and stall.ended is not None and now - stall.ended <= self.memory:
                return stall
            return None

    async def run(self, *, task_status: TaskStatus[None] = anyio.TASK_STATUS_IGNORED) -> None:
        """Beat on this loop and watch from a thread until cancelled."""
        stop = threading.Event()
        watcher = threading.Thread(target=self._watch, args=(stop,), name="smd-loop-watch")
        watcher.daemon = True  # never holds the process open
        self.beat()
        watcher.start()
        task_status.started()
        try:
            while True:
                await anyio.sleep(self.interval)
                self.beat()
        finally:
            stop.set()

    def _watch(self, stop: threading.Event) -> None:
        while not stop.wait(self.interval):
            self.check()
