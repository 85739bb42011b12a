"""Blame, the critical chain and slack, on reports whose answers are known by hand."""

from __future__ import annotations

import json

import pytest

from orchestrator import BootReport, BootState, PhaseRecord, PhaseStatus
from orchestrator._analysis import blame, critical_chain

DONE = PhaseStatus.COMPLETED


def record(
    name: str,
    start: float | None,
    end: float | None,
    *needs: str,
    status: PhaseStatus = DONE,
) -> PhaseRecord:
    return PhaseRecord(
        name, "phase", status, 1 if start is not None else 0, start, end, depends_on=needs
    )


def report(
    *records: PhaseRecord, outcome: BootState = BootState.READY, **extra: object
) -> BootReport:
    ends = [r.end for r in records if r.end is not None]
    return BootReport(
        "known", "f" * 12, outcome, "2024-01-01T00:00:00Z", max(ends, default=0.0),
        records, outcome=outcome, **extra,  # type: ignore[arg-type]
    )  # fmt: skip


# a 0-1, b 1-3 (a), c 1-2 (a), d 3-4 (b, c), e 0-0.5: chain a -> b -> d.
KNOWN = report(
    record("a", 0.0, 1.0),
    record("b", 1.0, 3.0, "a"),
    record("c", 1.0, 2.0, "a"),
    record("d", 3.0, 4.0, "b", "c"),
    record("e", 0.0, 0.5),
)


def test_blame_lists_phases_slowest_first() -> None:
    assert [entry.name for entry in blame(KNOWN).entries] == ["b", "a", "c", "d", "e"]


def test_blame_keeps_plan_order_between_equal_durations() -> None:
    assert [e.name for e in blame(KNOWN).entries if e.duration == 1.0] == ["a", "c", "d"]


def test_blame_leaves_out_phases_that_never_ran() -> None:
    blocked = report(
        record("a", 0.0, 1.0), record("x", None, None, "a", status=PhaseStatus.BLOCKED)
    )
    assert [entry.name for entry in blame(blocked).entries] == ["a"]


def test_blame_measures_time_spent_waiting_for_a_free_slot() -> None:
    queued = report(record("a", 0.0, 1.0), record("b", 1.5, 2.0, "a"))
    assert blame(queued).entries[1].waited == pytest.approx(0.5)


def test_critical_chain_walks_back_through_the_last_dependency_to_finish() -> None:
    assert critical_chain(KNOWN).names == ("a", "b", "d")


def test_critical_chain_gives_each_link_its_start_and_duration() -> None:
    links = critical_chain(KNOWN).links
    assert [(link.start, link.duration) for link in links] == [(0.0, 1.0), (1.0, 2.0), (3.0, 1.0)]


def test_slack_is_latest_finish_minus_actual_finish() -> None:
    chain = critical_chain(KNOWN)
    assert {entry.name: entry.slack for entry in chain.slack} == {"c": 1.0, "e": 3.5}


def test_slack_on_the_chain_is_zero() -> None:
    assert critical_chain(KNOWN).slack_of("b") == 0.0


def test_critical_chain_of_an_aborted_boot_ends_at_its_root_cause() -> None:
    failed = report(
        record("a", 0.0, 1.0),
        record("slow", 1.0, 1.5, "a", status=PhaseStatus.CANCELLED),
        record("broken", 1.0, 1.2, "a", status=PhaseStatus.FAILED),
        outcome=BootState.FAILED,
        diagnostic={"phase": "broken", "kind": "phase_failed"},
    )
    assert critical_chain(failed).names == ("a", "broken")


def test_critical_chain_is_empty_when_nothing_ran() -> None:
    nothing = report(record("a", None, None, status=PhaseStatus.SKIPPED))
    assert critical_chain(nothing).links == ()


def test_critical_chain_records_the_wait_for_a_free_slot() -> None:
    queued = report(record("a", 0.0, 1.0), record("b", 1.5, 2.0, "a"))
    assert critical_chain(queued).links[1].waited == pytest.approx(0.5)


def test_analysis_results_are_json_ready() -> None:
    document = {"chain": critical_chain(KNOWN).to_dict(), "blame": blame(KNOWN).to_dict()}
    assert json.loads(json.dumps(document))["chain"]["chain"][0]["name"] == "a"
