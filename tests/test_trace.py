"""`smd analyze REPORT trace`: the boot in the Chrome Trace Event format.

The checks follow the format's documentation ("Trace Event Format", the JSON
object form): every event has `name`, `ph`, `pid` and `tid`; a complete event
(`X`) has `ts` and `dur` in microseconds; a metadata event (`M`) is one of the
documented names with its documented argument. The golden file was written once
from `TRACED` below with `json.dumps(trace_events(TRACED), indent=1, sort_keys=True)`.
"""

from __future__ import annotations

import itertools
import json
from collections import defaultdict
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from orchestrator._analysis._trace import trace_events
from orchestrator._model._report import AttemptRecord, BootReport, PhaseRecord, RetryPause
from orchestrator._model._status import BootState, PhaseStatus, TeardownOutcome
from orchestrator.cli import main

GOLDEN = Path(__file__).parent / "data" / "trace-golden.json"
METADATA_ARGUMENTS = {
    "process_name": ("name", str),
    "process_labels": ("labels", str),
    "process_sort_index": ("sort_index", int),
    "thread_name": ("name", str),
    "thread_sort_index": ("sort_index", int),
}
TRACED = BootReport(
    boot="shop",
    fingerprint="0123456789ab",
    state=BootState.STOPPED,
    started_at="2026-11-26T12:00:00+00:00",
    duration=0.9,
    outcome=BootState.READY,
    stopped_at=1.0,
    stop_duration=0.3,
    phases=(
        PhaseRecord(
            "settings",
            "phase",
            PhaseStatus.COMPLETED,
            attempts=1,
            start=0.0,
            end=0.1,
            attempt_log=(AttemptRecord(1, 0.0, 0.1, "completed"),),
        ),
        PhaseRecord(
            "settings_are_valid",
            "gate",
            PhaseStatus.COMPLETED,
            attempts=1,
            start=0.1,
            end=0.15,
            depends_on=("settings",),
            attempt_log=(AttemptRecord(1, 0.1, 0.15, "completed"),),
        ),
        PhaseRecord(
            "database",
            "phase",
            PhaseStatus.COMPLETED,
            attempts=3,
            start=0.15,
            end=0.85,
            depends_on=("settings_are_valid",),
            teardown=TeardownOutcome.TORN_DOWN,
            teardown_start=1.1,
            teardown_end=1.3,
            attempt_log=(
                AttemptRecord(1, 0.15, 0.25, "failed"),
                AttemptRecord(2, 0.35, 0.45, "timed_out"),
                AttemptRecord(3, 0.65, 0.85, "completed"),
            ),
            retry_pauses=(RetryPause(1, 0.25, 0.35), RetryPause(2, 0.45, 0.65)),
        ),
        PhaseRecord(
            "cache",
            "phase",
            PhaseStatus.COMPLETED,
            attempts=1,
            start=0.15,
            end=0.3,
            depends_on=("settings_are_valid",),
            critical=False,
            teardown=TeardownOutcome.TEARDOWN_FAILED,
            teardown_start=1.0,
            teardown_end=1.1,
            teardown_error={"type": "ConnectionError", "message": "cache went away"},
            attempt_log=(AttemptRecord(1, 0.15, 0.3, "completed"),),
        ),
        PhaseRecord("search", "phase", PhaseStatus.SKIPPED, depends_on=("settings",)),
        PhaseRecord(
            "api",
            "phase",
            PhaseStatus.COMPLETED,
            attempts=1,
            start=0.85,
            end=0.9,
            depends_on=("database", "cache"),
            attempt_log=(AttemptRecord(1, 0.85, 0.9, "completed"),),
        ),
    ),
)


def format_problems(document: Any) -> list[str]:
    """Everything in `document` that the Trace Event Format's JSON object form does not allow."""
    if not isinstance(document, dict) or not isinstance(document.get("traceEvents"), list):
        return ["not an object with a traceEvents list"]
    problems = []
    if document.get("displayTimeUnit", "ms") not in ("ms", "ns"):
        problems.append("displayTimeUnit is not ms or ns")
    for index, event in enumerate(document["traceEvents"]):
        problems += [f"event {index}: {problem}" for problem in event_problems(event)]
    return problems


def is_number(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def event_problems(event: Any) -> list[str]:
    if not isinstance(event, dict):
        return ["not an object"]
    problems = [
        f"{field} is not {kind.__name__}"
        for field, kind in (("name", str), ("ph", str), ("pid", int), ("tid", int))
        if not isinstance(event.get(field), kind) or isinstance(event.get(field), bool)
    ]
    if not isinstance(event.get("args", {}), dict):
        problems.append("args is not an object")
    if event.get("ph") == "X":
        problems += [
            f"{field} is not a number" for field in ("ts", "dur") if not is_number(event.get(field))
        ]
        if is_number(event.get("dur")) and event["dur"] < 0:
            problems.append("dur is negative")
        if not isinstance(event.get("cat", ""), str):
            problems.append("cat is not a string")
    elif event.get("ph") == "M":
        argument = METADATA_ARGUMENTS.get(event.get("name", ""))
        if argument is None:
            problems.append(f"metadata name {event.get('name')!r} is not a documented one")
        elif not isinstance(event.get("args", {}).get(argument[0]), argument[1]):
            problems.append(f"metadata {event['name']} lacks args.{argument[0]}")
    else:
        problems.append(f"phase {event.get('ph')!r} is not one this trace uses (X, M)")
    return problems


def spans(document: dict[str, Any], category: str) -> list[dict[str, Any]]:
    return [e for e in document["traceEvents"] if e["ph"] == "X" and e["cat"] == category]


def test_every_event_has_the_documented_fields_and_types() -> None:
    assert format_problems(trace_events(TRACED)) == []


def test_the_trace_matches_the_golden_file() -> None:
    assert trace_events(TRACED) == json.loads(GOLDEN.read_text())


def test_times_are_in_microseconds() -> None:
    database = next(e for e in spans(trace_events(TRACED), "phase") if e["name"] == "database")
    assert (database["ts"], database["dur"]) == (150_000.0, 700_000.0)


def test_each_attempt_and_each_retry_pause_is_an_event() -> None:
    document = trace_events(TRACED)
    database = [e for e in document["traceEvents"] if e.get("args", {}).get("phase") == "database"]
    assert [e["name"] for e in database] == [
        "attempt 1",
        "retry pause",
        "attempt 2",
        "retry pause",
        "attempt 3",
        "teardown",
    ]


def test_the_teardown_is_an_event_with_its_outcome() -> None:
    cache = next(
        e for e in spans(trace_events(TRACED), "teardown") if e["args"]["phase"] == "cache"
    )
    assert (cache["args"]["outcome"], cache["args"]["error"]["type"]) == (
        "teardown_failed",
        "ConnectionError",
    )


def test_the_boot_lane_holds_the_boot_and_the_stop() -> None:
    lane = [
        (e["name"], e["ts"], e["dur"])
        for e in trace_events(TRACED)["traceEvents"]
        if e["ph"] == "X" and e["tid"] == 0
    ]
    assert lane == [("boot", 0.0, 900_000.0), ("stop", 1_000_000.0, 300_000.0)]


def test_events_on_one_lane_nest_or_stay_apart() -> None:
    lanes: dict[int, list[tuple[float, float]]] = defaultdict(list)
    for event in trace_events(TRACED)["traceEvents"]:
        if event["ph"] == "X":
            lanes[event["tid"]].append((event["ts"], event["ts"] + event["dur"]))
    for events in lanes.values():
        for (a_start, a_end), (b_start, b_end) in itertools.combinations(events, 2):
            nested = (a_start <= b_start and b_end <= a_end) or (
                b_start <= a_start and a_end <= b_end
            )
            assert nested or b_start >= a_end or a_start >= b_end


def test_lanes_follow_plan_order_and_skip_phases_that_never_ran() -> None:
    document = trace_events(TRACED)
    names = {
        e["tid"]: e["args"]["name"] for e in document["traceEvents"] if e["name"] == "thread_name"
    }
    assert names == {
        0: "boot",
        1: "settings",
        2: "settings_are_valid (gate)",
        3: "database",
        4: "cache",
        6: "api",
    }
    assert document["otherData"]["never_ran"] == "search"


def test_a_report_without_attempt_log_shows_a_single_attempt_whole() -> None:
    old = replace(
        TRACED, phases=tuple(replace(r, attempt_log=(), retry_pauses=()) for r in TRACED.phases)
    )
    attempts = [(e["tid"], e["name"]) for e in spans(trace_events(old), "attempt")]
    assert attempts == [(1, "attempt 1"), (2, "attempt 1"), (4, "attempt 1"), (6, "attempt 1")]


def test_the_stop_falls_back_to_the_teardowns_in_an_older_report() -> None:
    old = replace(TRACED, stopped_at=None, stop_duration=None)
    stop = spans(trace_events(old), "stop")[0]
    assert (stop["ts"], stop["dur"]) == (1_000_000.0, 300_000.0)


def test_the_chain_is_marked_on_each_phase() -> None:
    marked = {
        e["name"]: e["args"]["on_critical_chain"]
        for e in spans(trace_events(TRACED), "phase") + spans(trace_events(TRACED), "gate")
    }
    assert {name for name, on in marked.items() if on} == {
        "settings",
        "settings_are_valid",
        "database",
        "api",
    }


# --- the command -------------------------------------------------------------------------


def test_analyze_trace_writes_the_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report, trace = tmp_path / "report.json", tmp_path / "boot.trace.json"
    report.write_text(TRACED.to_json())
    assert main(["analyze", str(report), "trace", "-o", str(trace)]) == 0
    assert json.loads(trace.read_text()) == json.loads(GOLDEN.read_text())
    assert f"wrote {trace}" in capsys.readouterr().err


def test_analyze_trace_into_a_missing_folder_is_an_invalid_target_diagnostic(
    tmp_path: Path,
) -> None:
    report = tmp_path / "report.json"
    report.write_text(TRACED.to_json())
    assert main(["analyze", str(report), "trace", "-o", str(tmp_path / "no" / "t.json")]) == 64


def test_a_report_written_by_release_0_1_0_gives_a_valid_trace(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = Path(__file__).parent / "data" / "report-0.1.0-failed.json"
    assert main(["analyze", str(report), "trace"]) == 0
    assert format_problems(json.loads(capsys.readouterr().out)) == []
