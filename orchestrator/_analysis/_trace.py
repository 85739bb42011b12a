"""A boot in the Chrome Trace Event format, the JSON that Perfetto and chrome://tracing open.

The document is the format's JSON object form: `traceEvents` plus
`displayTimeUnit` and `otherData`. The boot is one process (pid 1). Lane 0
("boot") holds the boot itself and the stop; each phase has its own lane, its
tid being its position in plan order plus one, so the same phase keeps the
same lane in every report of a plan. On a phase's lane, a complete event
(`"ph": "X"`, `ts` and `dur` in microseconds) spans its start, with one event
per attempt and per retry pause nested inside it, and its teardown follows as
an event of its own. Metadata events (`"ph": "M"`) name the process and the
lanes and keep the lanes in plan order.
"""

from __future__ import annotations

from typing import Any

from .._model._report import BootReport, PhaseRecord
from ._chain import critical_chain

PID = 1
BOOT_LANE = 0


def _micros(seconds: float) -> float:
    """Seconds as microseconds, rounded to the nanosecond so the output is stable."""
    return round(seconds * 1e6, 3)


def _span(
    name: str, category: str, tid: int, start: float, end: float, *, args: dict[str, Any]
) -> dict[str, Any]:
    return {
        "name": name,
        "cat": category,
        "ph": "X",
        "ts": _micros(start),
        "dur": max(0.0, _micros(end - start)),
        "pid": PID,
        "tid": tid,
        "args": args,
    }


def _metadata(name: str, tid: int, args: dict[str, Any]) -> dict[str, Any]:
    return {"name": name, "ph": "M", "pid": PID, "tid": tid, "args": args}


def _attempt_events(record: PhaseRecord, tid: int) -> list[dict[str, Any]]:
    """One event per attempt and per retry pause, from the record's logs when it has them."""
    if not record.attempt_log:
        if record.attempts != 1 or record.start is None or record.end is None:
            return []  # without a log, only a single attempt's span is known
        return [
            _span(
                "attempt 1",
                "attempt",
                tid,
                record.start,
                record.end,
                args={"phase": record.name, "outcome": record.status.value},
            )
        ]
    events = [
        _span(
            f"attempt {attempt.number}",
            "attempt",
            tid,
            attempt.start,
            attempt.end,
            args={"phase": record.name, "outcome": attempt.outcome},
        )
        for attempt in record.attempt_log
        if attempt.end is not None
    ]
    events += [
        _span(
            "retry pause",
            "retry",
            tid,
            pause.start,
            pause.end,
            args={"phase": record.name, "after_attempt": pause.after_attempt},
        )
        for pause in record.retry_pauses
        if pause.end is not None
    ]
    events.sort(key=lambda event: event["ts"])
    return events


def _phase_events(record: PhaseRecord, tid: int, on_chain: bool) -> list[dict[str, Any]]:
    events: list[dict[str, Any]] = []
    if record.start is not None and record.end is not None:
        args: dict[str, Any] = {
            "status": record.status.value,
            "attempts": record.attempts,
            "critical": record.critical,
            "on_critical_chain": on_chain,
            "depends_on": list(record.depends_on),
        }
        if record.error is not None:
            args["error"] = dict(record.error)
        events.append(_span(record.name, record.kind, tid, record.start, record.end, args=args))
        events += _attempt_events(record, tid)
    if record.teardown_start is not None and record.teardown_end is not None:
        args = {"phase": record.name, "outcome": record.teardown.value}
        if record.teardown_error is not None:
            args["error"] = dict(record.teardown_error)
        events.append(
            _span(
                "teardown", "teardown", tid, record.teardown_start, record.teardown_end, args=args
            )
        )
    return events


def _boot_events(report: BootReport) -> list[dict[str, Any]]:
    outcome = (report.outcome or report.state).value
    events = [
        _span(
            "boot",
            "boot",
            BOOT_LANE,
            0.0,
            report.duration,
            args={"outcome": outcome, "started_at": report.started_at},
        )
    ]
    starts = [r.teardown_start for r in report.phases if r.teardown_start is not None]
    ends = [r.teardown_end for r in report.phases if r.teardown_end is not None]
    if report.stopped_at is not None and report.stop_duration is not None:
        began, took = report.stopped_at, report.stop_duration
    elif starts and ends:  # a report written before the stop's times were recorded
        began, took = min(starts), max(ends) - min(starts)
    else:
        return events
    ended = began + took
    args = {"teardowns": len(starts), "stop_duration": took}
    events.append(_span("stop", "stop", BOOT_LANE, began, ended, args=args))
    return events


def trace_events(report: BootReport) -> dict[str, Any]:
    """The boot as a Chrome Trace Event document (JSON object form).

    Args:
        report: a finished (or aborted) boot's report.

    Returns:
        `{"traceEvents": [...], "displayTimeUnit": "ms", "otherData": {...}}`;
        events are in a fixed order (metadata, the boot lane, then each phase
        in plan order), so the same report always gives the same document.
    """
    on_chain = set(critical_chain(report).names)
    metadata = [
        _metadata("process_name", BOOT_LANE, {"name": f"{report.boot} [{report.fingerprint}]"}),
        _metadata("process_sort_index", BOOT_LANE, {"sort_index": 0}),
        _metadata("thread_name", BOOT_LANE, {"name": "boot"}),
        _metadata("thread_sort_index", BOOT_LANE, {"sort_index": BOOT_LANE}),
    ]
    events = _boot_events(report)
    for position, record in enumerate(report.phases):
        tid = position + 1
        found = _phase_events(record, tid, record.name in on_chain)
        if not found:
            continue
        label = record.name if record.kind == "phase" else f"{record.name} ({record.kind})"
        metadata.append(_metadata("thread_name", tid, {"name": label}))
        metadata.append(_metadata("thread_sort_index", tid, {"sort_index": tid}))
        events += found
    never_ran = [r.name for r in report.phases if r.start is None]
    return {
        "traceEvents": metadata + events,
        "displayTimeUnit": "ms",
        "otherData": {
            "boot": report.boot,
            "fingerprint": report.fingerprint,
            "outcome": (report.outcome or report.state).value,
            "started_at": report.started_at,
            "never_ran": ", ".join(never_ran),
        },
    }
