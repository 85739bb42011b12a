"""Many boots summarised: per-phase p50, p95 and max, and how often each phase held the chain.

Percentiles use the nearest-rank method: the p-th percentile of n sorted values
is the value at rank ceil(p/100 * n) (1-based), so it is always a duration that
was really measured, and p50 of two values is the smaller one. Only completed
starts count towards a phase's durations: a failed or cancelled start stopped
early and says nothing about how long the phase takes (the simulator reads
reports the same way).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from .._model._report import BootReport
from .._model._status import PhaseStatus
from ._chain import chain_links

SCHEMA = "smd.stats/1"
PERCENTILES = ("p50", "p95", "max")
"""The summaries `durations_at` can give, by name."""


def nearest_rank(ordered: Sequence[float], percent: float) -> float:
    """The `percent`-th percentile of `ordered` (sorted ascending) by the nearest-rank method.

    Raises:
        ValueError: `ordered` is empty or `percent` is not in (0, 100].
    """
    if not ordered:
        raise ValueError("no values")
    if not 0 < percent <= 100:
        raise ValueError(f"percent must be in (0, 100], got {percent}")
    rank = math.ceil(percent / 100 * len(ordered))
    return ordered[rank - 1]


@dataclass(frozen=True, slots=True)
class Spread:
    """p50, p95 and max of some durations, in seconds."""

    p50: float
    p95: float
    max: float

    @classmethod
    def of(cls, values: Iterable[float]) -> Spread | None:
        """The spread of `values`, or None when there are none."""
        ordered = sorted(values)
        if not ordered:
            return None
        return cls(nearest_rank(ordered, 50), nearest_rank(ordered, 95), ordered[-1])

    def at(self, percentile: str) -> float:
        """The value named `percentile` ("p50", "p95" or "max")."""
        values = {"p50": self.p50, "p95": self.p95, "max": self.max}
        return values[percentile]

    def to_dict(self) -> dict[str, float]:
        """The spread as plain data."""
        return {"p50": self.p50, "p95": self.p95, "max": self.max}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Spread:
        """Read back what `to_dict` wrote."""
        return cls(p50=data["p50"], p95=data["p95"], max=data["max"])


@dataclass(frozen=True, slots=True)
class PhaseStats:
    """One phase over many boots.

    Attributes:
        name: the phase.
        seen: reports that have the phase in their plan.
        completed: reports in which its start completed (the durations summarised).
        duration: the spread of its completed durations, or None if it never completed.
        on_chain: reports in which it was on the critical chain.
    """

    name: str
    seen: int
    completed: int
    duration: Spread | None
    on_chain: int

    def to_dict(self) -> dict[str, Any]:
        """The phase's summary as plain data."""
        return {
            "name": self.name,
            "seen": self.seen,
            "completed": self.completed,
            "duration": self.duration.to_dict() if self.duration is not None else None,
            "on_chain": self.on_chain,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> PhaseStats:
        """Read back what `to_dict` wrote."""
        duration = data["duration"]
        return cls(
            name=data["name"],
            seen=data["seen"],
            completed=data["completed"],
            duration=Spread.from_dict(duration) if duration is not None else None,
            on_chain=data["on_chain"],
        )


@dataclass(frozen=True, slots=True)
class BootStats:
    """A summary of many reports: the boot's duration and each phase's.

    Attributes:
        boots: the boot names found, sorted (one, unless reports of several boots were given).
        fingerprints: the plan fingerprints found, in the order first seen.
        reports: how many reports were summarised.
        duration: the spread of the boots' durations.
        phases: one summary per phase, in the plan order of the first report that has it.
    """

    boots: tuple[str, ...]
    fingerprints: tuple[str, ...]
    reports: int
    duration: Spread | None
    phases: tuple[PhaseStats, ...]

    def durations_at(self, percentile: str) -> dict[str, float]:
        """Each phase's duration at `percentile` ("p50", "p95" or "max"), for `simulate`.

        Phases that never completed are left out (the simulator then uses
        their `expected_duration`).

        Raises:
            KeyError: `percentile` is not one of `PERCENTILES`.
        """
        if percentile not in PERCENTILES:
            raise KeyError(percentile)
        return {
            phase.name: phase.duration.at(percentile)
            for phase in self.phases
            if phase.duration is not None
        }

    def to_dict(self) -> dict[str, Any]:
        """The summary as plain data, schema `smd.stats/1`."""
        return {
            "schema": SCHEMA,
            "percentile_method": "nearest-rank",
            "boots": list(self.boots),
            "fingerprints": list(self.fingerprints),
            "reports": self.reports,
            "duration": self.duration.to_dict() if self.duration is not None else None,
            "phases": [phase.to_dict() for phase in self.phases],
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BootStats:
        """Read back what `to_dict` wrote.

        Raises:
            ValueError: the data is not an `smd.stats/1` document.
        """
        if not isinstance(data, Mapping) or data.get("schema") != SCHEMA:
            found = data.get("schema") if isinstance(data, Mapping) else type(data).__name__
            raise ValueError(f"not a {SCHEMA} document (schema={found!r})")
        try:
            duration = data["duration"]
            stats = cls(
                boots=tuple(data["boots"]),
                fingerprints=tuple(data["fingerprints"]),
                reports=data["reports"],
                duration=Spread.from_dict(duration) if duration is not None else None,
                phases=tuple(PhaseStats.from_dict(item) for item in data["phases"]),
            )
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            raise ValueError(f"malformed {SCHEMA} document: {exc!r}") from exc
        for phase in stats.phases:
            spread = phase.duration
            values = () if spread is None else (spread.p50, spread.p95, spread.max)
            if not all(_is_seconds(value) for value in values):
                raise ValueError(f"malformed {SCHEMA} document: phase {phase.name!r} durations")
        return stats


def _is_seconds(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value >= 0
    )


class _Tally:
    """What is collected about one phase while reports stream past."""

    __slots__ = ("durations", "on_chain", "seen")

    def __init__(self) -> None:
        self.seen = 0
        self.on_chain = 0
        self.durations: list[float] = []


def summarize(reports: Iterable[BootReport]) -> BootStats:
    """Summarise many reports of a boot; phases are matched by name across plans.

    Each report is read once and can be dropped afterwards, so the reports may
    come from a generator; time and memory grow linearly with the phases read.

    Args:
        reports: the reports, in any order.

    Returns:
        The `BootStats`.
    """
    tallies: dict[str, _Tally] = {}
    boots: set[str] = set()
    fingerprints: dict[str, None] = {}
    durations: list[float] = []
    for report in reports:
        boots.add(report.boot)
        fingerprints.setdefault(report.fingerprint)
        durations.append(report.duration)
        for record in report.phases:
            tally = tallies.get(record.name)
            if tally is None:
                tally = tallies[record.name] = _Tally()
            tally.seen += 1
            if record.status is PhaseStatus.COMPLETED and record.duration is not None:
                tally.durations.append(record.duration)
        for link in chain_links(report):
            tallies[link.name].on_chain += 1
    return BootStats(
        boots=tuple(sorted(boots)),
        fingerprints=tuple(fingerprints),
        reports=len(durations),
        duration=Spread.of(durations),
        phases=tuple(
            PhaseStats(
                name=name,
                seen=tally.seen,
                completed=len(tally.durations),
                duration=Spread.of(tally.durations),
                on_chain=tally.on_chain,
            )
            for name, tally in tallies.items()
        ),
    )
