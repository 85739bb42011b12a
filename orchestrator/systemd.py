"""Tell systemd where the boot is (`Type=notify`), as an event sink.

```python
notifier = SystemdNotifier(boot.plan(), stop_timeout=20)
async with boot.start(sinks=[StructlogSink(), notifier], stop_timeout=20) as running:
    ...
```

When `NOTIFY_SOCKET` is unset (not run by systemd) the sink does nothing. It
sends `STATUS=` naming the phases in progress, `EXTEND_TIMEOUT_USEC=` when a
phase with a `timeout` or `expected_duration` starts or waits to retry (so
`TimeoutStartSec=` measures progress, not the whole boot), `READY=1` when the
boot is READY or DEGRADED, a `STATUS=` when it degrades or recovers in service
and when a signal arrives, `STOPPING=1` when shutdown begins (extending the
stop timeout by the boot's `stop_timeout`, when it has one), and an extension
for each teardown with a `teardown_timeout`. See sd_notify(3).

With `WatchdogSec=` in the unit, `await notifier.keep_alive()` (run for you by
`orchestrator.asgi.lifespan`) sends `WATCHDOG=1` at half of `WATCHDOG_USEC`
from a task on the event loop, so a blocked loop stops the pings and systemd
restarts the service.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Mapping
from typing import assert_never

import anyio

from ._model._events import (
    AnyEvent,
    BootFailed,
    BootReady,
    BootStarted,
    BootStateChanged,
    BootStopped,
    BootStopping,
    BudgetExceeded,
    Event,
    PhaseBlocked,
    PhaseCancelled,
    PhaseCompleted,
    PhaseFailed,
    PhaseRecovered,
    PhaseRestarting,
    PhaseRetrying,
    PhaseSkipped,
    PhaseStarted,
    SignalReceived,
    SinkFailed,
    TeardownCompleted,
    TeardownFailed,
    TeardownStarted,
    narrow,
)
from ._model._plan import BootPlan
from ._model._status import BootState
from ._model._validate import check_run_arguments

__all__ = ["SystemdNotifier", "notify"]

EXTEND_MARGIN = 1.0
"""Seconds added to each timeout extension, for the time between the phases."""


def notify(message: str, *, address: str | None = None) -> bool:
    """Send one sd_notify message (`KEY=value` lines) to systemd.

    Args:
        message: the notification, e.g. "READY=1\\nSTATUS=serving".
        address: the socket; by default `$NOTIFY_SOCKET`. A leading `@` names
            an abstract socket.

    Returns:
        True if sent; False if there is no socket to send to.

    Raises:
        OSError: the socket exists but the datagram could not be sent, or its
            reader is so far behind that it would have to wait (`BlockingIOError`).
    """
    address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
    if not address:
        return False
    target = "\0" + address[1:] if address.startswith("@") else address
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        # Never wait for a reader that is behind: it is called from the event loop.
        sock.setblocking(False)
        sock.connect(target)
        sock.sendall(message.encode())
    return True


class SystemdNotifier:
    """An event sink reporting a boot's progress to systemd.

    Args:
        plan: the boot's plan, for each phase's `timeout` and
            `expected_duration` (without it, no `EXTEND_TIMEOUT_USEC=`).
        address: the notify socket; by default `$NOTIFY_SOCKET` when the sink is created.
        stop_timeout: the `stop_timeout` the boot is started with. When given,
            `STOPPING=1` comes with `EXTEND_TIMEOUT_USEC=` covering the whole stop,
            and no teardown's extension reaches past it; without it, only each
            teardown's `teardown_timeout` extends systemd's stop timeout.
        watchdog_usec: systemd's watchdog timeout in microseconds; by default
            `$WATCHDOG_USEC` when the sink is created (only if `$WATCHDOG_PID`
            is unset or names this process, as sd_watchdog_enabled(3) says).

    Raises:
        TypeError: `stop_timeout` is not a number.
        ValueError: `stop_timeout` is not a finite number of seconds > 0.

    Attributes:
        stop_timeout: the stop budget given, or None.
        watchdog_usec: the watchdog timeout, or None when systemd expects no pings.
        pings: how many `WATCHDOG=1` were sent (they are not kept in `sent`).
        errors: send failures, kept instead of raised (a sink must not raise).
        sent: every message sent, oldest first.
    """

    def __init__(
        self,
        plan: BootPlan | None = None,
        *,
        address: str | None = None,
        stop_timeout: float | None = None,
        watchdog_usec: int | None = None,
    ) -> None:
        check_run_arguments(max_concurrency=None, deadline=None, stop_timeout=stop_timeout)
        self.address = address if address is not None else os.environ.get("NOTIFY_SOCKET")
        self.watchdog_usec = watchdog_usec if watchdog_usec is not None else _watchdog_usec()
        self.stop_timeout = stop_timeout
        self._budgets: Mapping[str, float] = _budgets(plan) if plan is not None else {}
        self._teardown_budgets: Mapping[str, float] = (
            _teardown_budgets(plan) if plan is not None else {}
        )
        self._in_progress: dict[str, None] = {}
        self._stopping = False
        self._stop_ends: float | None = None
        self.errors: list[OSError] = []
        self.sent: list[str] = []
        self.pings = 0

    def __repr__(self) -> str:
        return f"<SystemdNotifier address={self.address!r} sent={len(self.sent)}>"

    @property
    def enabled(self) -> bool:
        """Whether there is a notify socket to talk to."""
        return bool(self.address)

    @property
    def watchdog_interval(self) -> float | None:
        """Seconds between two `WATCHDOG=1` (half the watchdog timeout), or None."""
        if not self.enabled or not self.watchdog_usec:
            return None
        return self.watchdog_usec / 2_000_000

    async def keep_alive(self) -> None:
        """Send `WATCHDOG=1` every `watchdog_interval` from this event loop, until cancelled.

        Returns at once when systemd expects no pings. Because the pings come
        from a task on the loop, a loop blocked past the watchdog timeout stops
        them, and systemd restarts the service (`Restart=on-watchdog` or `always`).
        """
        interval = self.watchdog_interval
        if interval is None:
            return
        failing = False
        while True:
            try:
                notify("WATCHDOG=1", address=self.address)
            except OSError as exc:
                if not failing:  # one error per outage, however long it lasts
                    self.errors.append(exc)
                failing = True
            else:
                failing = False
                self.pings += 1
            await anyio.sleep(interval)

    def __call__(self, event: Event) -> None:
        """Translate one boot event into sd_notify messages."""
        if self.enabled:
            self._notify(narrow(event))

    def _notify(self, event: AnyEvent) -> None:
        match event:
            case BootStarted():
                self._send(f"STATUS=booting {event.boot} [{event.fingerprint}]")
            case PhaseStarted():
                self._in_progress[event.phase] = None
                self._send(self._with_extension(self._progress(), self._budgets.get(event.phase)))
            case PhaseRetrying():
                # The pause before the next attempt must not run out systemd's start timeout.
                status = f"STATUS=retrying {event.phase} (attempt {event.attempt} failed)"
                self._send(self._with_extension(status, event.delay))
            case PhaseCompleted() | PhaseFailed() | PhaseCancelled():
                self._in_progress.pop(event.phase, None)
                if self._in_progress:  # STATUS names only the phases still running
                    self._send(self._progress())
            case BootReady():
                self._send(f"READY=1\nSTATUS={event.state.value}: {event.boot} is serving")
            case BootFailed():
                diagnostic = event.diagnostic
                self._send(f"STATUS=failed: {diagnostic.kind}: {diagnostic.summary}")
            case BootStateChanged():
                if event.state is BootState.DEGRADED:
                    self._send(f"STATUS=degraded: {event.boot} is serving: {event.reason}")
                else:
                    self._send(f"STATUS=ready: {event.boot} recovered: {event.reason}")
            case SignalReceived():
                self._send(f"STATUS={event.signal} received: {event.effect}")
            case PhaseRestarting():
                self._send(
                    f"STATUS=restarting service {event.phase} (restart {event.restart}, "
                    f"in {event.delay:g}s): {event.error}"
                )
            case PhaseRecovered():
                self._send(f"STATUS=recovered {event.phase} after {event.attempts} attempts")
            case BootStopping():
                if self.stop_timeout is not None:
                    self._stop_ends = event.at + self.stop_timeout
                self.stopping(extend=self.stop_timeout)
            case TeardownStarted():
                self.stopping(event.phase, extend=self._teardown_extension(event))
            case BootStopped():
                self.stopping()
            case (
                PhaseSkipped()
                | PhaseBlocked()
                | TeardownCompleted()
                | TeardownFailed()
                | SinkFailed()
                | BudgetExceeded()
            ):
                pass  # nothing systemd acts on; the log says it
            case _:
                assert_never(event)

    def _teardown_extension(self, event: TeardownStarted) -> float | None:
        seconds = self._teardown_budgets.get(event.phase)
        if seconds is None or self._stop_ends is None:
            return seconds
        return max(0.0, min(seconds, self._stop_ends - event.at))

    def stopping(self, phase: str | None = None, *, extend: float | None = None) -> None:
        """Send `STOPPING=1` once (with a STATUS naming `phase` if given).

        Called on `BootStopping` (and on teardown events); `serve_asgi` calls it
        when draining begins, so systemd knows before the grace period starts.

        Args:
            phase: the phase being torn down, if any.
            extend: seconds to add to systemd's stop timeout (the boot's
                `stop_timeout`, or the phase's `teardown_timeout`).
        """
        if not self.enabled:
            return
        status = f"STATUS=stopping: tearing down {phase}" if phase else "STATUS=stopping"
        if self._stopping:
            if phase or extend is not None:
                self._send(self._with_extension(status, extend))
            return
        self._stopping = True
        self._send(self._with_extension(f"STOPPING=1\n{status}", extend))

    @staticmethod
    def _with_extension(message: str, seconds: float | None) -> str:
        if seconds is None:
            return message
        return f"{message}\nEXTEND_TIMEOUT_USEC={int((seconds + EXTEND_MARGIN) * 1_000_000)}"

    def _progress(self) -> str:
        names = ", ".join(self._in_progress)
        return f"STATUS=starting {names}"

    def _send(self, message: str) -> None:
        try:
            notify(message, address=self.address)
        except OSError as exc:
            self.errors.append(exc)
        else:
            self.sent.append(message)


def _watchdog_usec() -> int | None:
    pid = os.environ.get("WATCHDOG_PID")
    if pid is not None and pid.strip() != str(os.getpid()):
        return None  # the watchdog belongs to another process (the one systemd started)
    try:
        usec = int(os.environ.get("WATCHDOG_USEC", ""))
    except ValueError:
        return None
    return usec if usec > 0 else None


def _teardown_budgets(plan: BootPlan) -> dict[str, float]:
    return {s.name: s.teardown_timeout for s in plan.phases if s.teardown_timeout is not None}


def _budgets(plan: BootPlan) -> dict[str, float]:
    budgets: dict[str, float] = {}
    for spec in plan.phases:
        seconds = spec.timeout if spec.timeout is not None else spec.expected_duration
        if seconds is not None:
            budgets[spec.name] = seconds
    return budgets
