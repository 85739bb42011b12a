"""Blame, the critical chains of the start and the stop, and slack, on reports known by hand."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator import BootReport, BootState, PhaseRecord, PhaseStatus, TeardownOutcome
from orchestrator._analysis._chain import blame, critical_chain
from orchestrator._analysis._stop import stop_blame, stop_critical_chain

DATA = Path(__file__).parent / "data"

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
    ends = [r.end for r in records if r.end is not None and r.teardown_start is None]
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


# -- the stop ---------------------------------------------------------------------------

TORN = TeardownOutcome.TORN_DOWN
BROKEN = TeardownOutcome.TEARDOWN_FAILED


def torn(
    name: str,
    start: float | None,
    end: float | None,
    *needs: str,
    outcome: TeardownOutcome = TORN,
    error: dict[str, str] | None = None,
) -> PhaseRecord:
    """A phase that booted in 0-1 s and whose teardown ran from `start` to `end`."""
    return PhaseRecord(
        name, "phase", DONE, 1, 0.0, 1.0, teardown=outcome, depends_on=needs,
        teardown_start=start, teardown_end=end, teardown_error=error,
    )  # fmt: skip


def kept(name: str, *needs: str) -> PhaseRecord:
    """A phase that booted and has no teardown."""
    return PhaseRecord(name, "phase", DONE, 1, 0.0, 1.0, depends_on=needs)


# a <- b, a <- c, (b, c) <- d. The stop, graph-shaped: d 10-10.5, then b 10.5-11.5
# beside c 10.5-10.8, then a 11.5-12: chain d -> b -> a, c has 0.7 s of slack.
OVERLAPPING = report(
    torn("a", 11.5, 12.0),
    torn("b", 10.5, 11.5, "a"),
    torn("c", 10.5, 10.8, "a"),
    torn("d", 10.0, 10.5, "b", "c"),
    stopped_at=10.0,
    stop_duration=2.0,
)


def test_stop_blame_lists_teardowns_slowest_first() -> None:
    assert [entry.name for entry in stop_blame(OVERLAPPING).entries] == ["b", "d", "a", "c"]


def test_stop_blame_gives_the_stop_its_beginning_and_length() -> None:
    result = stop_blame(OVERLAPPING)
    assert (result.began, result.duration) == (10.0, 2.0)


def test_stop_blame_leaves_out_phases_without_a_teardown() -> None:
    stop = report(torn("a", 2.0, 3.0), kept("b", "a"))
    assert [entry.name for entry in stop_blame(stop).entries] == ["a"]


def test_stop_blame_measures_the_wait_after_the_last_dependent_teardown() -> None:
    queued = report(torn("a", 2.5, 3.0), torn("b", 1.0, 2.0, "a"))
    assert stop_blame(queued).entries[1].waited == pytest.approx(0.5)


def test_stop_critical_chain_walks_back_through_the_teardown_waited_for_last() -> None:
    assert stop_critical_chain(OVERLAPPING).names == ("d", "b", "a")


def test_stop_critical_chain_gives_each_link_its_start_and_duration() -> None:
    links = stop_critical_chain(OVERLAPPING).links
    assert [(link.start, link.duration) for link in links] == [
        (10.0, 0.5),
        (10.5, 1.0),
        (11.5, 0.5),
    ]


def test_teardown_slack_is_latest_finish_minus_actual_end() -> None:
    chain = stop_critical_chain(OVERLAPPING)
    assert [(entry.name, entry.slack) for entry in chain.slack] == [("c", pytest.approx(0.7))]


def test_teardown_slack_on_the_stop_chain_is_zero() -> None:
    assert stop_critical_chain(OVERLAPPING).slack_of("b") == 0.0


def test_a_teardown_waits_for_dependents_through_phases_without_one() -> None:
    # z needs m, m needs a; m has no teardown, so a's teardown still waits for z's.
    stop = report(torn("a", 2.0, 3.0), kept("m", "a"), torn("z", 1.0, 2.0, "m"))
    assert stop_critical_chain(stop).names == ("z", "a")


def test_independent_teardowns_do_not_chain_even_when_one_follows_the_other() -> None:
    # x and y share nothing: y ran after x (a full concurrency limit), not because of it.
    stop = report(torn("x", 1.0, 2.0), torn("y", 2.0, 3.5))
    chain = stop_critical_chain(stop)
    assert (chain.names, chain.links[0].waited) == (("y",), pytest.approx(1.0))


def test_the_first_link_waits_from_the_moment_the_stop_began() -> None:
    stop = report(torn("a", 5.25, 6.0), stopped_at=5.0, stop_duration=1.0)
    assert stop_critical_chain(stop).links[0].waited == pytest.approx(0.25)


def test_a_failed_teardown_stays_on_the_chain_with_its_error() -> None:
    error = {"type": "TimeoutError", "message": "teardown of 'b' took longer than 1 s"}
    stop = report(torn("a", 3.0, 3.5), torn("b", 2.0, 3.0, "a", outcome=BROKEN, error=error))
    link = stop_critical_chain(stop).links[0]
    assert (link.name, link.outcome, link.error) == (
        "b",
        BROKEN,
        "TimeoutError: teardown of 'b' took longer than 1 s",
    )


def test_a_teardown_that_never_ended_lasts_until_the_stop_ended() -> None:
    stop = report(torn("a", 2.0, None, outcome=BROKEN), stopped_at=1.5, stop_duration=3.0)
    assert stop_blame(stop).entries[0].duration == pytest.approx(2.5)


def test_a_teardown_the_stop_timeout_never_started_is_listed_apart() -> None:
    stop = report(torn("a", None, None, outcome=BROKEN), torn("b", 2.0, 3.0, "a"))
    result = stop_blame(stop)
    assert ([e.name for e in result.entries], result.never_started) == (["b"], ("a",))


def test_a_boot_without_teardowns_has_an_empty_stop() -> None:
    nothing = report(kept("a"), kept("b", "a"))
    chain = stop_critical_chain(nothing)
    assert (chain.links, chain.slack, chain.began, chain.duration) == ((), (), None, None)
    assert stop_blame(nothing).entries == ()


def test_a_report_without_stop_times_begins_the_stop_at_its_first_teardown() -> None:
    older = BootReport.from_json((DATA / "report-0.1.0.json").read_text(encoding="utf-8"))
    chain = stop_critical_chain(older)
    assert chain.names == ("agent_websocket_bridge", "database")
    assert chain.began == older["agent_websocket_bridge"].teardown_start


def test_a_report_without_stop_times_gives_off_chain_teardowns_their_slack() -> None:
    older = BootReport.from_json((DATA / "report-0.1.0.json").read_text(encoding="utf-8"))
    chain = stop_critical_chain(older)
    cache = older["cache"]
    assert cache.teardown_end is not None
    assert chain.slack_of("cache") == pytest.approx(chain.links[-1].end - cache.teardown_end)


def test_stop_analysis_results_are_json_ready() -> None:
    document = {
        "chain": stop_critical_chain(OVERLAPPING).to_dict(),
        "blame": stop_blame(OVERLAPPING).to_dict(),
    }
    assert json.loads(json.dumps(document))["chain"]["chain"][-1] == {
        "name": "a", "outcome": "torn_down", "start": 11.5, "duration": 0.5, "end": 12.0,
        "waited": 0.0, "error": None,
    }  # fmt: skip


def test_a_report_listing_dependents_first_gives_the_same_stop_chain() -> None:
    shuffled = report(*reversed(OVERLAPPING.phases), stopped_at=10.0, stop_duration=2.0)
    chain = stop_critical_chain(shuffled)
    assert (chain.names, chain.slack_of("c")) == (("d", "b", "a"), pytest.approx(0.7))


def without_teardown_fields(source: BootReport) -> BootReport:
    """The report as a release that recorded no teardown times would have written it."""
    document = source.to_dict()
    for key in ("stopped_at", "stop_duration"):
        del document[key]
    for phase in document["phases"]:
        for key in ("teardown_start", "teardown_end", "teardown_duration", "teardown_error"):
            del phase[key]
    return BootReport.from_dict(document)


def test_a_report_older_than_teardown_times_has_an_empty_stop_chain() -> None:
    older = without_teardown_fields(OVERLAPPING)
    chain = stop_critical_chain(older)
    assert (chain.links, chain.began, stop_blame(older).entries) == ((), None, ())


def test_a_report_older_than_teardown_times_keeps_its_boot_analysis() -> None:
    assert critical_chain(without_teardown_fields(KNOWN)).names == ("a", "b", "d")
