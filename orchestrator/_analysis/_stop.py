"""What decided when a boot's stop ended: teardowns by duration, the stop's chain, their slack.

The stop is a graph too: a phase's teardown waits for the teardowns of every
phase that depends on it, and independent teardowns run concurrently, so
teardown times overlap. Everything here reads a `BootReport` alone, like the
analysis of the start, and accepts reports written before the stop's own
times (`stopped_at`, `stop_duration`) were recorded.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .._model._report import BootReport
from .._model._status import TeardownOutcome
from ._chain import dependency_order

# One monotonic clock times a boot and its stop; this only absorbs float rounding.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class TeardownEntry:
    """One teardown that ran, as blame lists it and as a link of the stop's chain.

    Attributes:
        name: the phase torn down.
        outcome: TORN_DOWN or TEARDOWN_FAILED.
        start: seconds since the boot started.
        duration: seconds it took (to the stop's end if it never ended).
        waited: seconds between being free to start (every teardown it waits
            for ended, and the stop began) and starting; in a chain, between the
            previous link's end and this one's start.
        error: "Type: message" for a failed teardown, else None.
    """

    name: str
    outcome: TeardownOutcome
    start: float
    duration: float
    waited: float
    error: str | None = None

    @property
    def end(self) -> float:
        """Seconds since the boot started when the teardown ended."""
        return self.start + self.duration

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain data."""
        return {
            "name": self.name,
            "outcome": self.outcome.value,
            "start": self.start,
            "duration": self.duration,
            "end": self.end,
            "waited": self.waited,
            "error": self.error,
        }


@dataclass(frozen=True, slots=True)
class TeardownSlack:
    """How much longer a teardown off the stop's chain could have taken without delaying the stop.

    Attributes:
        name: the phase torn down.
        outcome: TORN_DOWN or TEARDOWN_FAILED.
        end: when its teardown ended, seconds since the boot started.
        latest_finish: the latest it could have ended, given the measured
            teardowns of the phases that waited for it (its dependencies).
        slack: `latest_finish - end`, never negative.
    """

    name: str
    outcome: TeardownOutcome
    end: float
    latest_finish: float
    slack: float

    def to_dict(self) -> dict[str, Any]:
        """The slack as plain data."""
        return {
            "name": self.name,
            "outcome": self.outcome.value,
            "end": self.end,
            "latest_finish": self.latest_finish,
            "slack": self.slack,
        }


@dataclass(frozen=True, slots=True)
class StopBlame:
    """The teardowns that ran, slowest first (ties in the order they started).

    Attributes:
        boot: the boot's name.
        began: when the stop began, seconds since the boot started (the
            report's `stopped_at`, else the first teardown's start; None when
            neither is known).
        duration: seconds from `began` to the stop's end, None when unknown.
        entries: the teardowns, slowest first.
        never_started: phases whose teardown failed without starting (the
            stop timeout ran out first), in plan order.
    """

    boot: str
    began: float | None
    duration: float | None
    entries: tuple[TeardownEntry, ...]
    never_started: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The stop's blame list as plain data."""
        return {
            "boot": self.boot,
            "began": self.began,
            "duration": self.duration,
            "teardowns": [entry.to_dict() for entry in self.entries],
            "never_started": list(self.never_started),
        }


@dataclass(frozen=True, slots=True)
class StopChain:
    """The chain of teardowns that decided when the stop ended, and every other one's slack.

    Attributes:
        boot: the boot's name.
        fingerprint: its plan's fingerprint.
        began: when the stop began, seconds since the boot started (None: no stop known).
        finished: when the chain's last teardown ended (None: no teardown ran).
        links: the chain, first teardown first.
        slack: every other teardown that ran, in plan order.
    """

    boot: str
    fingerprint: str
    began: float | None
    finished: float | None
    links: tuple[TeardownEntry, ...]
    slack: tuple[TeardownSlack, ...]

    @property
    def names(self) -> tuple[str, ...]:
        """The phases on the chain, first torn down first."""
        return tuple(link.name for link in self.links)

    @property
    def duration(self) -> float | None:
        """Seconds from the stop's beginning to the chain's end, None when unknown."""
        if self.began is None or self.finished is None:
            return None
        return self.finished - self.began

    def __contains__(self, name: object) -> bool:
        return any(link.name == name for link in self.links)

    def slack_of(self, name: str) -> float:
        """Seconds of slack of `name`'s teardown (0 on the chain).

        Raises:
            KeyError: `name` was not torn down.
        """
        if name in self:
            return 0.0
        for entry in self.slack:
            if entry.name == name:
                return entry.slack
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """The chain and the slack as plain data."""
        return {
            "boot": self.boot,
            "fingerprint": self.fingerprint,
            "began": self.began,
            "finished": self.finished,
            "duration": self.duration,
            "chain": [link.to_dict() for link in self.links],
            "slack": [entry.to_dict() for entry in self.slack],
        }


@dataclass(frozen=True, slots=True)
class _Stop:
    """A report's teardowns read as a graph: when each ran and whom each waited for."""

    began: float | None
    ended: float | None
    order: tuple[str, ...]
    """Phase names, dependencies first."""
    spans: dict[str, tuple[float, float]]
    waited_for: dict[str, str | None]
    """The teardown each one waited for last (through phases without one), or None."""
    errors: dict[str, str | None]
    outcomes: dict[str, TeardownOutcome]
    never_started: tuple[str, ...]


def _stop_of(report: BootReport) -> _Stop:
    """Read the stop from the report: its window, each teardown's span and its last hand-off."""
    started = [r.teardown_start for r in report.phases if r.teardown_start is not None]
    began = report.stopped_at if report.stopped_at is not None else min(started, default=None)
    ended = None
    if began is not None and report.stop_duration is not None:
        ended = began + report.stop_duration
    spans: dict[str, tuple[float, float]] = {}
    for record in report.phases:
        if record.teardown_start is not None:
            end = record.teardown_end
            if end is None:  # abandoned when the stop ran out: it lasted until the stop ended
                end = max(ended if ended is not None else 0.0, record.teardown_start)
            spans[record.name] = (record.teardown_start, end)
    if ended is None and spans:
        ended = max(end for _, end in spans.values())
    order = dependency_order(report)
    position = {name: i for i, name in enumerate(order)}
    dependents: dict[str, list[str]] = {name: [] for name in order}
    for record in report.phases:
        for name in record.depends_on:
            dependents.get(name, []).append(record.name)
    # A teardown waits for its dependents' teardowns; a dependent without one hands on
    # the last teardown it waited for itself. So dependents are settled first.
    done: dict[str, str | None] = {}
    waited_for: dict[str, str | None] = {}
    for name in reversed(order):
        handoffs = [h for h in (done[n] for n in dependents[name]) if h is not None]
        last = max(handoffs, key=lambda n: (spans[n][1], -position[n]), default=None)
        waited_for[name] = last
        done[name] = name if name in spans else last
    never = tuple(
        r.name
        for r in report.phases
        if r.teardown is TeardownOutcome.TEARDOWN_FAILED and r.teardown_start is None
    )
    errors = {r.name: _describe(r.teardown_error) for r in report.phases}
    return _Stop(began, ended, order, spans, waited_for, errors, _outcomes(report), never)


def _describe(error: dict[str, str] | None) -> str | None:
    return f"{error.get('type')}: {error.get('message')}" if error else None


def _outcomes(report: BootReport) -> dict[str, TeardownOutcome]:
    # A hand-built report may time a teardown and still call it NOT_NEEDED.
    return {
        r.name: TeardownOutcome.TORN_DOWN
        if r.teardown is TeardownOutcome.NOT_NEEDED
        else r.teardown
        for r in report.phases
    }


def stop_blame(report: BootReport) -> StopBlame:
    """The teardowns that ran, slowest first, each with its outcome and its wait.

    Teardowns overlap when independent ones run concurrently, so, as with
    `blame`, a long teardown delayed the stop only if it is on
    `stop_critical_chain`.

    Args:
        report: a stopped (or aborted) boot's report; older reports without
            `stopped_at` work too.

    Returns:
        A `StopBlame`, empty when nothing was torn down.
    """
    stop = _stop_of(report)
    entries = [
        TeardownEntry(
            name=name,
            outcome=stop.outcomes[name],
            start=start,
            duration=end - start,
            waited=max(0.0, start - _free_at(stop, name)),
            error=stop.errors[name],
        )
        for name, (start, end) in sorted(stop.spans.items(), key=lambda item: item[1][0])
    ]
    entries.sort(key=lambda entry: -entry.duration)
    duration = None if stop.began is None or stop.ended is None else stop.ended - stop.began
    return StopBlame(report.boot, stop.began, duration, tuple(entries), stop.never_started)


def _free_at(stop: _Stop, name: str) -> float:
    """When `name`'s teardown could start: the stop began and its last hand-off ended."""
    last = stop.waited_for[name]
    began = stop.began if stop.began is not None else 0.0
    return max(began, stop.spans[last][1]) if last is not None else began


def stop_critical_chain(report: BootReport) -> StopChain:
    """The chain of teardowns that decided when the stop ended, and everyone else's slack.

    In the teardown graph a phase's teardown waits for the teardowns of every
    phase that depends on it (`depends_on`: by value or `after=`), through
    phases that have no teardown. The chain starts at the teardown that ended
    last and walks back, each time to the teardown it waited for last. Every
    other teardown gets its slack: how much later it could have ended without
    the stop ending later, computed backwards with the measured teardown times.

    Args:
        report: a stopped (or aborted) boot's report.

    Returns:
        The `StopChain`; empty when nothing was torn down.
    """
    stop = _stop_of(report)
    position = {name: i for i, name in enumerate(stop.order)}
    last = max(stop.spans, key=lambda n: (stop.spans[n][1], -position[n]), default=None)
    links: list[TeardownEntry] = []
    while last is not None:
        start, end = stop.spans[last]
        previous = stop.waited_for[last]
        if previous is not None and stop.spans[previous][1] > start + _EPSILON:
            previous = None  # an inconsistent report: the chain stops rather than lies
        links.append(
            TeardownEntry(
                name=last,
                outcome=stop.outcomes[last],
                start=start,
                duration=end - start,
                waited=max(0.0, start - _free_at(stop, last)),
                error=stop.errors[last],
            )
        )
        last = previous
    links.reverse()
    finished = links[-1].end if links else None
    latest = _latest_teardown_finishes(report, stop, finished or 0.0)
    on_chain = {link.name for link in links}
    slack = tuple(
        TeardownSlack(
            name=name,
            outcome=stop.outcomes[name],
            end=stop.spans[name][1],
            latest_finish=latest[name],
            slack=max(0.0, latest[name] - stop.spans[name][1]),
        )
        for name in (record.name for record in report.phases)
        if name in stop.spans and name not in on_chain
    )
    return StopChain(report.boot, report.fingerprint, stop.began, finished, tuple(links), slack)


def _latest_teardown_finishes(report: BootReport, stop: _Stop, finished: float) -> dict[str, float]:
    """The latest each teardown could have ended without the stop ending after `finished`.

    A teardown must end by the time each of its dependencies' teardowns must
    start; a phase without a teardown takes no time and passes the bound on.
    One pass with dependencies first suffices.
    """
    depends_on = {record.name: record.depends_on for record in report.phases}
    latest: dict[str, float] = {}
    for name in stop.order:
        bounds = [latest[d] - _spent(stop, d) for d in depends_on[name] if d in latest]
        latest[name] = min(bounds, default=finished)
    return latest


def _spent(stop: _Stop, name: str) -> float:
    start, end = stop.spans.get(name, (0.0, 0.0))
    return end - start
