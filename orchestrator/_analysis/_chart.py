"""A boot and its stop as a Gantt chart: the chart as data, and the SVG drawn from it.

`plot_data` reads a report into one row per phase in plan order, with both
critical chains (the start's and the stop's), slack, attempts, retry pauses,
teardowns and the stop's window; `render_svg` draws that data (`_gantt`).
"""

from __future__ import annotations

from typing import Any

from .._model._report import BootReport
from ._chain import critical_chain
from ._chart_drawing import draw_gantt
from ._stop import StopChain, stop_critical_chain

SCHEMA = "smd.plot/1"

# A blocked phase with a dependency in one of these states was blocked by it, not by the abort.
_UNSETTLED_BY = ("failed", "timed_out", "blocked")


def plot_data(report: BootReport) -> dict[str, Any]:
    """The chart as plain data (schema `smd.plot/1`): one row per phase, in plan order.

    Each row gives the phase's status and times, its attempts and retry pauses
    (empty in older reports), its teardown times, whether it is on the critical
    chain, its slack, the same two for its teardown and the stop's chain, and
    `marker_at` (when a phase that never ran would have become ready) so any
    plotting tool can draw it. `stop` gives the stop's window and chain (None
    when nothing was torn down and the report does not say when it stopped).

    Args:
        report: the boot's report (real or simulated).

    Returns:
        A JSON-ready dict.
    """
    chain = critical_chain(report)
    stop = stop_critical_chain(report)
    slack = {entry.name: entry.slack for entry in chain.slack}
    aborted = (report.outcome or report.state).value == "failed"
    abort_at = chain.finished if chain.links else report.duration
    on_chain = set(chain.names)
    marker_at: dict[str, float] = {}
    status: dict[str, str] = {}
    rows = []
    for record in report.phases:
        # A dependency that ran hands on its end; one that did not, its own marker time.
        ready = max((marker_at[n] for n in record.depends_on if n in marker_at), default=0.0)
        if (
            aborted
            and record.status.value == "blocked"
            and not any(status.get(name) in _UNSETTLED_BY for name in record.depends_on)
        ):
            # Blocked by the abort: shown where the abort happened, not where it was ready.
            ready = max(ready, abort_at)
        status[record.name] = record.status.value
        marker_at[record.name] = record.end if record.end is not None else ready
        rows.append(
            {
                "name": record.name,
                "kind": record.kind,
                "status": record.status.value,
                "critical": record.critical,
                "start": record.start,
                "end": record.end,
                "duration": record.duration,
                "attempts": record.attempts,
                "error": _describe(record.error),
                "teardown": record.teardown.value,
                "teardown_start": record.teardown_start,
                "teardown_end": record.teardown_end,
                "teardown_error": _describe(record.teardown_error),
                "on_chain": record.name in on_chain,
                "slack": 0.0 if record.name in on_chain else slack.get(record.name),
                "teardown_on_chain": record.name in stop,
                "teardown_slack": _teardown_slack(stop, record.name),
                "marker_at": None if record.start is not None else ready,
                "attempt_log": [attempt.to_dict() for attempt in record.attempt_log],
                "retry_pauses": [pause.to_dict() for pause in record.retry_pauses],
            }
        )
    return {
        "schema": SCHEMA,
        "boot": report.boot,
        "fingerprint": report.fingerprint,
        "outcome": (report.outcome or report.state).value,
        "duration": report.duration,
        "critical_chain": list(chain.names),
        "root_cause": _root_cause(report),
        "stop": _stop_window(report, stop),
        "rows": rows,
    }


def _describe(error: dict[str, str] | None) -> str | None:
    return f"{error.get('type')}: {error.get('message')}" if error else None


def _teardown_slack(stop: StopChain, name: str) -> float | None:
    try:
        return stop.slack_of(name)
    except KeyError:
        return None


def _stop_window(report: BootReport, stop: StopChain) -> dict[str, Any] | None:
    """When the stop began and ended, and its chain: the zone drawn after the boot."""
    if stop.began is None:
        return None
    ended = stop.finished if stop.finished is not None else stop.began
    if report.stopped_at is not None and report.stop_duration is not None:
        ended = max(ended, report.stopped_at + report.stop_duration)
    return {
        "began": stop.began,
        "ended": ended,
        "duration": ended - stop.began,
        "critical_chain": list(stop.names),
    }


def _root_cause(report: BootReport) -> str | None:
    """The failed phase that aborted the boot, as its diagnostic names it."""
    diagnostic = report.diagnostic or {}
    phase = diagnostic.get("phase")
    if not isinstance(phase, str):
        return None
    kind = diagnostic.get("kind", "failed")
    code = diagnostic.get("exit_code")
    return f"{phase} ({kind}, exit {code})" if code is not None else f"{phase} ({kind})"


def render_svg(report: BootReport, *, title: str | None = None) -> str:
    """The boot and its stop as an SVG Gantt chart, sized by the number of phases.

    Args:
        report: the boot's report (real, or `SimulatedBoot.to_report()`).
        title: the chart's title; by default the boot's name and outcome.

    Returns:
        A standalone SVG document.
    """
    return draw_gantt(plot_data(report), title=title)
