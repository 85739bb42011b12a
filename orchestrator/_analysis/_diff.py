"""Two boots side by side: what the plan gained or lost, what got slower, how the chain moved.

Phases are matched by name, so two reports of different plans (another
fingerprint: a phase added, an edge moved) still compare. Everything here reads
the two reports alone and runs in time linear in their size.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from .._model._report import BootReport, PhaseRecord
from .._model._status import BootState
from ._chain import CriticalChain, critical_chain

SCHEMA = "smd.diff/1"
BOOT = "(boot)"
"""The name a regression of the whole boot carries, beside phase names."""
# Effects are differences of float sums; smaller ones are rounding, not a move of the chain.
_EPSILON = 1e-9


@dataclass(frozen=True, slots=True)
class PhaseChange:
    """One phase in either report: its outcome and duration before and after.

    Attributes:
        name: the phase.
        old_status: its status in the old report (None: it was not in the plan).
        new_status: its status in the new report (None: it left the plan).
        old_teardown: its teardown outcome in the old report, or None.
        new_teardown: its teardown outcome in the new report, or None.
        old_duration: seconds it took in the old report (None: it did not run).
        new_duration: seconds it took in the new report (None: it did not run).
        old_chain: whether it was on the old critical chain.
        new_chain: whether it is on the new critical chain.
        chain_effect: seconds by which it moved the chain's end: its time on
            the new chain (wait included) minus its time on the old one. The
            effects of all phases add up to `ReportDiff.chain_change`.
    """

    name: str
    old_status: str | None
    new_status: str | None
    old_teardown: str | None
    new_teardown: str | None
    old_duration: float | None
    new_duration: float | None
    old_chain: bool
    new_chain: bool
    chain_effect: float

    @property
    def change(self) -> float | None:
        """New minus old duration in seconds, or None unless it ran in both."""
        if self.old_duration is None or self.new_duration is None:
            return None
        return self.new_duration - self.old_duration

    @property
    def relative(self) -> float | None:
        """The change as a fraction of the old duration (None when old is 0 or missing)."""
        change = self.change
        if change is None or self.old_duration is None or self.old_duration <= 0:
            return None
        return change / self.old_duration

    @property
    def outcome_changed(self) -> bool:
        """Whether its status or its teardown outcome differs (a phase in both reports)."""
        if self.old_status is None or self.new_status is None:
            return False
        return self.old_status != self.new_status or self.old_teardown != self.new_teardown

    def to_dict(self) -> dict[str, Any]:
        """The change as plain data."""
        return {
            "name": self.name,
            "old_status": self.old_status,
            "new_status": self.new_status,
            "old_teardown": self.old_teardown,
            "new_teardown": self.new_teardown,
            "old_duration": self.old_duration,
            "new_duration": self.new_duration,
            "change": self.change,
            "relative": self.relative,
            "old_chain": self.old_chain,
            "new_chain": self.new_chain,
            "chain_effect": self.chain_effect,
        }


@dataclass(frozen=True, slots=True)
class Regression:
    """The boot, or a phase on the new critical chain, slower than a threshold allows.

    Attributes:
        name: the phase, or `BOOT` for the whole boot.
        old: seconds before.
        new: seconds after.
    """

    name: str
    old: float
    new: float

    @property
    def change(self) -> float:
        """Seconds slower."""
        return self.new - self.old

    @property
    def relative(self) -> float:
        """The change as a fraction of the old time (infinite when it took 0 before)."""
        return self.change / self.old if self.old > 0 else math.inf

    def to_dict(self) -> dict[str, Any]:
        """The regression as plain data (`relative` is None when infinite)."""
        relative = self.relative
        return {
            "name": self.name,
            "old": self.old,
            "new": self.new,
            "change": self.change,
            "relative": relative if math.isfinite(relative) else None,
        }


@dataclass(frozen=True, slots=True)
class ReportDiff:
    """What changed between two boots: plan, outcomes, durations and the critical chain.

    Attributes:
        old: the old report.
        new: the new report.
        added: phases only in the new report, in its plan order.
        removed: phases only in the old report, in its plan order.
        edges_added: `(dependency, dependent)` pairs only in the new report.
        edges_removed: `(dependency, dependent)` pairs only in the old report.
        phases: every phase of the new report in plan order, then the removed ones.
        old_chain: the old critical chain.
        new_chain: the new critical chain.
    """

    old: BootReport
    new: BootReport
    added: tuple[str, ...]
    removed: tuple[str, ...]
    edges_added: tuple[tuple[str, str], ...]
    edges_removed: tuple[tuple[str, str], ...]
    phases: tuple[PhaseChange, ...]
    old_chain: CriticalChain
    new_chain: CriticalChain

    @property
    def outcomes(self) -> tuple[BootState, BootState]:
        """What the old and the new boot reached (READY, DEGRADED or FAILED)."""
        return (self.old.outcome or self.old.state, self.new.outcome or self.new.state)

    @property
    def duration_change(self) -> float:
        """New minus old boot duration, in seconds."""
        return self.new.duration - self.old.duration

    @property
    def chain_change(self) -> float:
        """How much later the new chain ended than the old one: the change the chain explains."""
        return self.new_chain.finished - self.old_chain.finished

    @property
    def joined_chain(self) -> tuple[str, ...]:
        """Phases on the new chain that were not on the old one, first first."""
        before = set(self.old_chain.names)
        return tuple(name for name in self.new_chain.names if name not in before)

    @property
    def left_chain(self) -> tuple[str, ...]:
        """Phases on the old chain that are not on the new one, first first."""
        after = set(self.new_chain.names)
        return tuple(name for name in self.old_chain.names if name not in after)

    @property
    def outcome_changes(self) -> tuple[PhaseChange, ...]:
        """Phases in both reports whose status or teardown outcome changed."""
        return tuple(change for change in self.phases if change.outcome_changed)

    def chain_effects(self) -> tuple[PhaseChange, ...]:
        """Phases that moved the chain's end, largest effect first (ties in order)."""
        moved = [change for change in self.phases if abs(change.chain_effect) > _EPSILON]
        moved.sort(key=lambda change: -abs(change.chain_effect))
        return tuple(moved)

    def regressions(self, percent: float, min_change: float) -> tuple[Regression, ...]:
        """The boot and the new chain's phases slower by more than `percent` and `min_change`.

        Args:
            percent: the relative slow-down allowed, in percent of the old time.
            min_change: seconds below which a slow-down is noise, whatever its percentage.

        Returns:
            The boot first (as `BOOT`), then phases in the new chain's order.
        """
        candidates = [Regression(BOOT, self.old.duration, self.new.duration)]
        candidates += [
            Regression(change.name, change.old_duration, change.new_duration)
            for change in self.phases
            if change.new_chain
            and change.old_duration is not None
            and change.new_duration is not None
        ]
        return tuple(
            found
            for found in candidates
            if found.change > min_change and found.relative * 100 > percent
        )

    def to_dict(self) -> dict[str, Any]:
        """The diff as plain data, schema `smd.diff/1`."""
        return {
            "schema": SCHEMA,
            "old": _summary(self.old),
            "new": _summary(self.new),
            "duration_change": self.duration_change,
            "added": list(self.added),
            "removed": list(self.removed),
            "edges_added": [list(edge) for edge in self.edges_added],
            "edges_removed": [list(edge) for edge in self.edges_removed],
            "outcome_changes": [change.name for change in self.outcome_changes],
            "chain": {
                "old": list(self.old_chain.names),
                "new": list(self.new_chain.names),
                "joined": list(self.joined_chain),
                "left": list(self.left_chain),
                "old_finished": self.old_chain.finished,
                "new_finished": self.new_chain.finished,
                "change": self.chain_change,
            },
            "phases": [change.to_dict() for change in self.phases],
        }


def _summary(report: BootReport) -> dict[str, Any]:
    return {
        "boot": report.boot,
        "fingerprint": report.fingerprint,
        "outcome": (report.outcome or report.state).value,
        "duration": report.duration,
    }


def _edges(report: BootReport) -> list[tuple[str, str]]:
    return [(name, record.name) for record in report.phases for name in record.depends_on]


def _chain_times(chain: CriticalChain) -> dict[str, float]:
    """Seconds each link holds the chain: its wait plus its duration."""
    return {link.name: link.waited + link.duration for link in chain.links}


def _change(
    name: str,
    old: PhaseRecord | None,
    new: PhaseRecord | None,
    old_links: dict[str, float],
    new_links: dict[str, float],
) -> PhaseChange:
    return PhaseChange(
        name=name,
        old_status=old.status.value if old is not None else None,
        new_status=new.status.value if new is not None else None,
        old_teardown=old.teardown.value if old is not None else None,
        new_teardown=new.teardown.value if new is not None else None,
        old_duration=old.duration if old is not None else None,
        new_duration=new.duration if new is not None else None,
        old_chain=name in old_links,
        new_chain=name in new_links,
        chain_effect=new_links.get(name, 0.0) - old_links.get(name, 0.0),
    )


def diff_reports(old: BootReport, new: BootReport) -> ReportDiff:
    """Compare two reports of a boot, phase by phase (matched by name).

    Args:
        old: the earlier boot (the baseline).
        new: the later boot.

    Returns:
        The `ReportDiff`.
    """
    old_records = {record.name: record for record in old.phases}
    new_records = {record.name: record for record in new.phases}
    old_chain, new_chain = critical_chain(old), critical_chain(new)
    old_links, new_links = _chain_times(old_chain), _chain_times(new_chain)
    old_edges, new_edges = _edges(old), _edges(new)
    old_edge_set, new_edge_set = set(old_edges), set(new_edges)
    removed = tuple(name for name in old_records if name not in new_records)
    phases = [
        _change(name, old_records.get(name), record, old_links, new_links)
        for name, record in new_records.items()
    ]
    phases += [_change(name, old_records[name], None, old_links, new_links) for name in removed]
    return ReportDiff(
        old=old,
        new=new,
        added=tuple(name for name in new_records if name not in old_records),
        removed=removed,
        edges_added=tuple(edge for edge in new_edges if edge not in old_edge_set),
        edges_removed=tuple(edge for edge in old_edges if edge not in new_edge_set),
        phases=tuple(phases),
        old_chain=old_chain,
        new_chain=new_chain,
    )
