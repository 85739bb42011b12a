"""Where a boot's time went: blame, the critical chain and the slack of every other phase.

Everything here reads a `BootReport` alone (its records carry `depends_on`), so
a report written by `smd run --report` on one machine can be analysed on another.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import networkx as nx

from .._model._report import BootReport, PhaseRecord
from .._model._status import BootState, PhaseStatus

# Clock readings of one boot come from one monotonic clock; this only absorbs
# float rounding when a dependent started in the same instant its dependency ended.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class BlameEntry:
    """One phase that ran, with the time it took and how long it waited to start.

    Attributes:
        name: the phase.
        kind: "phase" or "gate".
        status: how its start ended.
        duration: seconds from its first attempt's start to its end (retries included).
        start: seconds since the boot started.
        attempts: how many attempts it made.
        waited: seconds between its last dependency finishing and its own start
            (nonzero when `max_concurrency` held it back).
    """

    name: str
    kind: str
    status: PhaseStatus
    duration: float
    start: float
    attempts: int
    waited: float

    def to_dict(self) -> dict[str, Any]:
        """The entry as plain data."""
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "duration": self.duration,
            "start": self.start,
            "attempts": self.attempts,
            "waited": self.waited,
        }


@dataclass(frozen=True, slots=True)
class Blame:
    """The phases that ran, slowest first (ties in plan order).

    Like `systemd-analyze blame`, a long duration does not mean a phase delayed
    the boot: one that ran beside a slower chain cost nothing. `critical_chain`
    says which phases did.
    """

    boot: str
    duration: float
    entries: tuple[BlameEntry, ...]
    import_duration: float | None = None
    """Seconds from the process start to the target imported, before the boot (None: unknown)."""

    def to_dict(self) -> dict[str, Any]:
        """The blame list as plain data."""
        return {
            "boot": self.boot,
            "duration": self.duration,
            "phases": [entry.to_dict() for entry in self.entries],
            "import_duration": self.import_duration,
        }


@dataclass(frozen=True, slots=True)
class ChainLink:
    """One phase on the critical chain: `@start`, `+duration`, as in systemd-analyze.

    Attributes:
        name: the phase.
        kind: "phase" or "gate".
        status: how its start ended.
        start: seconds since the boot started.
        duration: seconds it took.
        waited: seconds between the previous link's end and this link's start.
    """

    name: str
    kind: str
    status: PhaseStatus
    start: float
    duration: float
    waited: float

    @property
    def end(self) -> float:
        """Seconds since the boot started when this link finished."""
        return self.start + self.duration

    def to_dict(self) -> dict[str, Any]:
        """The link as plain data."""
        return {
            "name": self.name,
            "kind": self.kind,
            "status": self.status.value,
            "start": self.start,
            "duration": self.duration,
            "end": self.end,
            "waited": self.waited,
        }


@dataclass(frozen=True, slots=True)
class PhaseSlack:
    """How much longer a phase off the chain could have taken without delaying the boot.

    Attributes:
        name: the phase.
        status: how its start ended.
        end: when it finished, seconds since the boot started.
        latest_finish: the latest it could have finished, given the measured
            durations of everything that waited for it.
        slack: `latest_finish - end`, never negative.
    """

    name: str
    status: PhaseStatus
    end: float
    latest_finish: float
    slack: float

    def to_dict(self) -> dict[str, Any]:
        """The slack as plain data."""
        return {
            "name": self.name,
            "status": self.status.value,
            "end": self.end,
            "latest_finish": self.latest_finish,
            "slack": self.slack,
        }


@dataclass(frozen=True, slots=True)
class CriticalChain:
    """The chain of phases that determined how long the boot took, and everyone else's slack.

    Attributes:
        boot: the boot's name.
        fingerprint: its plan's fingerprint.
        outcome: READY, DEGRADED or FAILED.
        finished: when the last link ended (seconds since the boot started).
        links: the chain, first phase first.
        slack: every phase that ran and is not on the chain, in plan order.
    """

    boot: str
    fingerprint: str
    outcome: BootState
    finished: float
    links: tuple[ChainLink, ...]
    slack: tuple[PhaseSlack, ...]
    import_duration: float | None = None
    """Seconds from the process start to the target imported: where the chain begins."""

    @property
    def names(self) -> tuple[str, ...]:
        """The phases on the chain, first first."""
        return tuple(link.name for link in self.links)

    def __contains__(self, name: object) -> bool:
        return any(link.name == name for link in self.links)

    def slack_of(self, name: str) -> float:
        """Seconds of slack of `name` (0 on the chain).

        Raises:
            KeyError: `name` did not run.
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
            "outcome": self.outcome.value,
            "finished": self.finished,
            "chain": [link.to_dict() for link in self.links],
            "slack": [entry.to_dict() for entry in self.slack],
            "import_duration": self.import_duration,
        }


def _ran(record: PhaseRecord) -> bool:
    return record.start is not None and record.end is not None


def _ready_at(record: PhaseRecord, ends: dict[str, float]) -> float:
    """When everything `record` waited for had finished (0 if it waited for nothing)."""
    return max((ends[name] for name in record.depends_on if name in ends), default=0.0)


def blame(report: BootReport) -> Blame:
    """The phases that ran, slowest first, each with its status.

    Args:
        report: a finished (or aborted) boot's report.

    Returns:
        A `Blame` whose entries are sorted by duration, longest first; phases
        with equal durations keep plan order.
    """
    ends = {r.name: r.end for r in report.phases if r.end is not None}
    entries = [
        BlameEntry(
            name=record.name,
            kind=record.kind,
            status=record.status,
            duration=record.end - record.start,
            start=record.start,
            attempts=record.attempts,
            waited=max(0.0, record.start - _ready_at(record, ends)),
        )
        for record in report.phases
        if record.start is not None and record.end is not None
    ]
    entries.sort(key=lambda entry: -entry.duration)
    return Blame(report.boot, report.duration, tuple(entries), report.import_duration)


def _chain_end(report: BootReport, ran: dict[str, PhaseRecord]) -> PhaseRecord | None:
    """The phase the chain leads to: an aborted boot's root cause, else the last to end."""
    outcome = report.outcome or report.state
    if outcome is BootState.FAILED and report.diagnostic:
        root = report.diagnostic.get("phase")
        if isinstance(root, str) and root in ran and ran[root].status.is_failure:
            return ran[root]
    position = {name: i for i, name in enumerate(ran)}
    return max(ran.values(), key=lambda r: (r.end, position[r.name]), default=None)


def _walk_back(last: PhaseRecord, ran: dict[str, PhaseRecord]) -> list[ChainLink]:
    position = {name: i for i, name in enumerate(ran)}
    links: list[ChainLink] = []
    current: PhaseRecord | None = last
    while current is not None:
        assert current.start is not None
        assert current.end is not None
        start = current.start
        before = [
            ran[name]
            for name in current.depends_on
            if name in ran and (ran[name].end or 0.0) <= start + _EPSILON
        ]
        previous = max(before, key=lambda r: (r.end, position[r.name]), default=None)
        previous_end = previous.end if previous is not None and previous.end is not None else 0.0
        links.append(
            ChainLink(
                name=current.name,
                kind=current.kind,
                status=current.status,
                start=start,
                duration=current.end - start,
                waited=max(0.0, start - previous_end),
            )
        )
        current = previous
    links.reverse()
    return links


def dependency_order(report: BootReport) -> tuple[str, ...]:
    """The phases dependencies first, ties in report order (a plan's order already is)."""
    position = {record.name: i for i, record in enumerate(report.phases)}
    if all(
        position.get(name, -1) < position[record.name]
        for record in report.phases
        for name in record.depends_on
    ):
        return tuple(position)
    graph = nx.DiGraph()
    graph.add_nodes_from(position)
    graph.add_edges_from(
        (name, record.name)
        for record in report.phases
        for name in record.depends_on
        if name in position
    )
    return tuple(nx.lexicographical_topological_sort(graph, key=position.__getitem__))


def latest_finishes(report: BootReport, finished: float) -> dict[str, float]:
    """The latest each phase could have finished without the boot finishing after `finished`.

    One backward pass over the phases, dependencies first, with the measured
    durations (0 for a phase that never ran): a phase must finish by the time
    each phase waiting for it must start.

    Args:
        report: the boot's report.
        finished: the time the boot's last phase ended.

    Returns:
        Latest finish per phase name, seconds since the boot started.
    """
    records = {record.name: record for record in report.phases}
    latest: dict[str, float] = {}
    for name in reversed(dependency_order(report)):
        record = records[name]
        must_start = latest.setdefault(name, finished) - (record.duration or 0.0)
        for dependency in record.depends_on:
            latest[dependency] = min(latest.get(dependency, finished), must_start)
    return latest


def chain_links(report: BootReport) -> tuple[ChainLink, ...]:
    """The critical chain alone, first link first, without the others' slack.

    The same walk as `critical_chain`, in time linear in the report; for
    summaries of many reports that only ask which phases held the chain.
    """
    ran = {record.name: record for record in report.phases if _ran(record)}
    last = _chain_end(report, ran)
    return () if last is None else tuple(_walk_back(last, ran))


def critical_chain(report: BootReport) -> CriticalChain:
    """The chain of phases that determined the boot's duration, and the slack of the others.

    The chain is preceded by the target's import when the report knows it
    (`import_duration`: the process was busy importing before the boot began).
    It starts at the phase that ended last (for an aborted boot, at its
    root cause) and walks back, each time through the dependency that finished
    last before the current phase started. Every other phase that ran gets its
    slack: how much later it could have finished without delaying the end.

    Args:
        report: a finished (or aborted) boot's report.

    Returns:
        The `CriticalChain`; empty when no phase ran.
    """
    ran = {record.name: record for record in report.phases if _ran(record)}
    outcome = report.outcome or report.state
    last = _chain_end(report, ran)
    if last is None:
        return CriticalChain(
            report.boot, report.fingerprint, outcome, 0.0, (), (), report.import_duration
        )
    links = _walk_back(last, ran)
    finished = max(r.end for r in ran.values() if r.end is not None)
    latest = latest_finishes(report, finished)
    on_chain = {link.name for link in links}
    slack = tuple(
        PhaseSlack(
            name=record.name,
            status=record.status,
            end=record.end,
            latest_finish=latest[record.name],
            slack=max(0.0, latest[record.name] - record.end),
        )
        for record in ran.values()
        if record.name not in on_chain and record.end is not None
    )
    return CriticalChain(
        report.boot,
        report.fingerprint,
        outcome,
        last.end or 0.0,
        tuple(links),
        slack,
        report.import_duration,
    )
