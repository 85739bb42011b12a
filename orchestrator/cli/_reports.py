"""Reading a report file given on the command line; every problem becomes a diagnostic."""

from __future__ import annotations

import contextlib
import gc
import json
import math
from collections.abc import Iterator
from pathlib import Path

import networkx as nx

from .._model._plan import BootPlan
from .._model._report import BootReport, PhaseRecord
from ._load import usage_error
from ._output import stderr


@contextlib.contextmanager
def cyclic_gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while many reports are read.

    Reports are acyclic data, freed by reference counting as soon as they are
    dropped; without the pause, each collection walks every record still alive,
    which doubles the time to read a hundred reports of 10,000 phases.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def load_report(path: str | Path) -> BootReport:
    """Read an `smd.report/1` file.

    Raises:
        TargetError: the file is missing, unreadable, not JSON, or not a report.
    """
    where = Path(path)
    action = "Give the JSON written by `smd run TARGET --report FILE` (schema smd.report/1)."
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise usage_error(
            str(path),
            f"report file '{path}' does not exist",
            f"looked for {where.resolve()}",
            action,
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise usage_error(
            str(path),
            f"report file '{path}' cannot be read",
            f"{type(exc).__name__}: {exc}",
            action,
        ) from exc
    try:
        report = BootReport.from_json(text)
    except json.JSONDecodeError as exc:
        raise usage_error(
            str(path),
            f"report file '{path}' is not valid JSON",
            f"{exc.msg} at line {exc.lineno}",
            action,
        ) from exc
    except ValueError as exc:
        raise usage_error(str(path), f"'{path}' is not a boot report", str(exc), action) from exc
    problems = report_problems(report)
    if problems:
        raise usage_error(
            str(path),
            f"'{path}' is not a consistent boot report",
            "; ".join(problems[:5])
            + (f" (and {len(problems) - 5} more)" if len(problems) > 5 else ""),
            action,
        )
    return report


def _is_seconds(value: object) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def report_problems(report: BootReport) -> list[str]:
    """What makes a parsed report unusable for analysis: wrong types, unknown names, a cycle."""
    found: list[str] = []
    for field in ("duration", "stopped_at", "stop_duration"):
        value = getattr(report, field)
        if (value is not None or field == "duration") and not _is_seconds(value):
            found.append(f"{field} is {value!r}, not a number of seconds")
    budgets = [("budget", report.budget)]
    budgets += [(f"phase {r.name!r}: budget", r.budget) for r in report.phases]
    found += [
        f"{what} is {value!r}, not a number of seconds > 0"
        for what, value in budgets
        if value is not None and not (_is_seconds(value) and value > 0)
    ]
    names = [record.name for record in report.phases]
    known = set(names)
    if len(known) != len(names):
        found.append("phase names are not unique")
    graph = nx.DiGraph()
    for record in report.phases:
        for field in ("start", "end", "teardown_start", "teardown_end"):
            value = getattr(record, field)
            if value is not None and not _is_seconds(value):
                found.append(f"phase {record.name!r}: {field} is {value!r}, not seconds")
        found += _timeline_problems(record)
        if not isinstance(record.attempts, int) or isinstance(record.attempts, bool):
            found.append(f"phase {record.name!r}: attempts is {record.attempts!r}")
        for name in record.depends_on:
            if not isinstance(name, str) or name not in known:
                found.append(f"phase {record.name!r} depends on unknown phase {name!r}")
            else:
                graph.add_edge(name, record.name)
    if not found and not nx.is_directed_acyclic_graph(graph):
        cycle = " -> ".join(u for u, _ in nx.find_cycle(graph))
        found.append(f"its depends_on lists form a cycle ({cycle})")
    return found


def _timeline_problems(record: PhaseRecord) -> list[str]:
    """Attempts and retry pauses whose times are not seconds."""
    spans: list[tuple[str, float, float | None]] = [
        *((f"attempt {a.number}", a.start, a.end) for a in record.attempt_log),
        *((f"retry pause {p.after_attempt}", p.start, p.end) for p in record.retry_pauses),
    ]
    return [
        f"phase {record.name!r}: {what} has start {start!r} and end {end!r}, not seconds"
        for what, start, end in spans
        if not _is_seconds(start) or not (end is None or _is_seconds(end))
    ]


def write_output(path: Path, text: str, subject: str) -> None:
    """Write a result file, or raise a diagnostic saying why it cannot be written.

    Raises:
        TargetError: the file cannot be created or written.
    """
    try:
        path.write_text(text, encoding="utf-8")
    except OSError as exc:
        raise usage_error(
            subject,
            f"cannot write '{path}'",
            f"{type(exc).__name__}: {exc.strerror or exc}",
            "Give a file path in a directory that exists and that you may write to.",
        ) from exc


def check_same_boot(report: BootReport, plan: BootPlan, what: str, path: str | Path) -> None:
    """Refuse a report of another boot; warn when it comes from another plan of this boot.

    Raises:
        TargetError: the report names another boot, or shares no phase with this one.
    """
    shared = {record.name for record in report.phases} & set(plan.order)
    if report.boot != plan.boot or (report.phases and not shared):
        raise usage_error(
            str(path),
            f"'{path}' is a report of boot '{report.boot}', not of '{plan.boot}'",
            f"it has {len(report.phases)} phases, {len(shared)} of them in '{plan.boot}'",
            f"Give a report written by `smd run` of this boot, for its {what}.",
        )
    warn_if_other_plan(report, plan, what)


def warn_if_other_plan(report: BootReport, plan: BootPlan, what: str) -> None:
    """Say so when a report comes from another plan than the boot's (phases match by name)."""
    if report.fingerprint != plan.fingerprint:
        stderr().print(
            f"warning: {what} come from plan {report.fingerprint}, the boot's plan is "
            f"{plan.fingerprint}; phases are matched by name",
            style="yellow",
        )
