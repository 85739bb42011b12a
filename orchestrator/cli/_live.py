"""The live view of `smd run` on a terminal: what is pending, running, done or failed."""

from __future__ import annotations

import time

from rich.console import Console, Group, RenderableType
from rich.live import Live
from rich.table import Table
from rich.text import Text

from .._events import (
    Event,
    PhaseBlocked,
    PhaseCancelled,
    PhaseCompleted,
    PhaseFailed,
    PhaseSkipped,
    PhaseStarted,
)
from .._plan import BootPlan
from .._status import PhaseStatus

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

_STATUS_OF: dict[type[Event], PhaseStatus] = {
    PhaseStarted: PhaseStatus.RUNNING,
    PhaseCompleted: PhaseStatus.COMPLETED,
    PhaseSkipped: PhaseStatus.SKIPPED,
    PhaseBlocked: PhaseStatus.BLOCKED,
    PhaseCancelled: PhaseStatus.CANCELLED,
}

_SHOWN_FINISHED = 8


class LiveView:
    """An event sink that redraws a status board; a large boot shows counts and the latest."""

    def __init__(self, plan: BootPlan, console: Console) -> None:
        self._plan = plan
        self._status = dict.fromkeys(plan.order, PhaseStatus.PENDING)
        self._started: dict[str, float] = {}
        self._ended: dict[str, float] = {}
        self._finished: list[str] = []
        self._live = Live(console=console, refresh_per_second=10, transient=False)
        self._live.update(self._render(), refresh=False)
        self._live.get_renderable = self._render  # type: ignore[method-assign]

    def __enter__(self) -> LiveView:
        self._live.__enter__()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self._live.__exit__(None, None, None)

    def __call__(self, event: Event) -> None:
        if event.phase is None:
            return
        status = _STATUS_OF.get(type(event))
        if isinstance(event, PhaseFailed):
            status = PhaseStatus.TIMED_OUT if event.timed_out else PhaseStatus.FAILED
        if status is None:
            return
        if status is PhaseStatus.RUNNING:
            self._started.setdefault(event.phase, time.monotonic())
        else:
            self._ended[event.phase] = time.monotonic()
            self._finished.append(event.phase)
        self._status[event.phase] = status

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
        return Group(summary, table)
