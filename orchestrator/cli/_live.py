"""The live view of `smd run` on a terminal: what is pending, running, done or failed."""

from __future__ import annotations

import time
from typing import assert_never

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .._model._events import (
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
from .._model._plan import BootPlan
from .._model._status import BootState, PhaseStatus
from ._output import neutralise

STYLES = {
    PhaseStatus.PENDING: "dim",
    PhaseStatus.RUNNING: "bold cyan",
    PhaseStatus.COMPLETED: "green",
    PhaseStatus.FAILED: "bold red",
    PhaseStatus.TIMED_OUT: "bold red",
    PhaseStatus.CANCELLED: "yellow",
    PhaseStatus.SKIPPED: "dim",
    PhaseStatus.BLOCKED: "magenta",
}

_SHOWN_FINISHED = 8
_SHOWN_NOTICES = 5


class LiveView:
    """An event sink that redraws a status board; a large boot shows counts and the latest.

    Below the board it lists what the phases do not show: each retry (attempt
    n of m, the error, the pause), the error of a failed non-critical phase,
    a signal and its effect, a change between READY and DEGRADED, a sink that failed (in red).
    Once the board is closed (the boot is in service), those lines are printed
    as they come, so a signal in service is seen on the terminal too.
    """

    def __init__(self, plan: BootPlan, console: Console) -> None:
        self._plan = plan
        self._console = console
        self._status = dict.fromkeys(plan.order, PhaseStatus.PENDING)
        self._started: dict[str, float] = {}
        self._ended: dict[str, float] = {}
        self._finished: list[str] = []
        self._notices: list[Text] = []
        self._closed = False
        self._live = Live(console=console, refresh_per_second=10, transient=False)
        self._live.update(self._render(), refresh=False)
        self._live.get_renderable = self._render  # type: ignore[method-assign]

    def __repr__(self) -> str:
        return f"<LiveView {self._plan.boot!r}>"

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._live.__exit__(None, None, None)
        self._closed = True

    def __call__(self, event: Event) -> None:
        self._show(narrow(event))

    def _show(self, event: AnyEvent) -> None:
        match event:
            case PhaseStarted():
                self._set(event.phase, PhaseStatus.RUNNING)
            case PhaseCompleted():
                self._set(event.phase, PhaseStatus.COMPLETED)
            case PhaseFailed():
                failed = PhaseStatus.TIMED_OUT if event.timed_out else PhaseStatus.FAILED
                self._set(event.phase, failed)
                if not event.critical:  # a critical failure is told by the diagnostic
                    self._notice(
                        f"'{event.phase}' {failed.value} (non-critical, the boot goes on "
                        f"degraded): {event.error}",
                        "bold yellow",
                    )
            case PhaseRetrying():
                self._notice(
                    f"'{event.phase}' attempt {event.attempt} of {self._attempts(event.phase)} "
                    f"failed: {event.error}; next attempt in {event.delay:g}s",
                    "yellow",
                )
            case PhaseSkipped():
                self._set(event.phase, PhaseStatus.SKIPPED)
            case PhaseBlocked():
                self._set(event.phase, PhaseStatus.BLOCKED)
            case PhaseCancelled():
                self._set(event.phase, PhaseStatus.CANCELLED)
            case SignalReceived():
                self._notice(f"{event.signal}: {event.effect}", "bold yellow")
            case SinkFailed():
                self._notice(f"sink failed, detached: {event.sink}: {event.error}", "bold red")
            case PhaseRestarting():
                self._notice(
                    f"service '{event.phase}' restarts ({event.restart}) in {event.delay:g}s: "
                    f"{event.error}",
                    "bold yellow",
                )
            case PhaseRecovered():
                self._set(event.phase, PhaseStatus.COMPLETED)
                self._notice(f"'{event.phase}' recovered after {event.attempts} attempts", "green")
            case BudgetExceeded():
                over = ", ".join(
                    f"{name} {spent:.3g}s > {budget:g}s" for name, budget, spent in event.overruns
                )
                self._notice(f"over budget: {over}", "bold yellow")
            case BootStateChanged():
                style = "bold yellow" if event.state is BootState.DEGRADED else "bold green"
                self._notice(f"boot '{event.boot}' is {event.state.value}: {event.reason}", style)
            case (
                BootStarted()
                | TeardownStarted()
                | TeardownCompleted()
                | TeardownFailed()
                | BootReady()
                | BootFailed()
                | BootStopping()
                | BootStopped()
            ):
                pass  # the board and the report after it say these
            case _:
                assert_never(event)

    def _attempts(self, phase: str) -> int:
        retry = self._plan[phase].retry
        return retry.attempts if retry is not None else 1

    def _set(self, phase: str, status: PhaseStatus) -> None:
        if status is PhaseStatus.RUNNING:
            self._started.setdefault(phase, time.monotonic())
        else:
            self._ended[phase] = time.monotonic()
            self._finished.append(phase)
        self._status[phase] = status

    def _notice(self, line: str, style: str) -> None:
        text = Text(neutralise(line), style=style)  # error text cannot drive the terminal
        self._notices.append(text)
        if self._closed:
            self._console.print(text)

    def _render(self) -> RenderableType:
        counts: dict[PhaseStatus, int] = {}
        for status in self._status.values():
            counts[status] = counts.get(status, 0) + 1
        summary = Text(f"booting '{self._plan.boot}'  ")
        for status in PhaseStatus:
            if counts.get(status):
                summary.append(f"{status.value} {counts[status]}  ", style=STYLES[status])
        table = Table(box=None, show_header=False, pad_edge=False)
        table.add_column("status", width=10)
        table.add_column("phase")
        table.add_column("elapsed", justify="right")
        now = time.monotonic() if self._started else 0.0
        shown = list(self._finished[-_SHOWN_FINISHED:])
        shown += [n for n, s in self._status.items() if s is PhaseStatus.RUNNING]
        if len(self._plan) <= 30:
            shown = list(self._plan.order)
        for name in shown:
            status = self._status[name]
            start = self._started.get(name)
            end = self._ended.get(name, now)
            elapsed = f"{end - start:.2f}s" if start is not None else ""
            table.add_row(Text(status.value, style=STYLES[status]), name, elapsed)
        return Group(summary, table, *self._notices[-_SHOWN_NOTICES:])
