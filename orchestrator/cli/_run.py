"""`smd run TARGET`: boot (with a live view on a terminal), serve or stop, report."""

from __future__ import annotations

import argparse
import dataclasses
import heapq
import sys
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import anyio
from rich.markup import escape
from rich.table import Table

from .._analysis._chain import critical_chain
from .._boot import Boot
from .._model._budget import budget_overruns
from .._model._diagnostic import Diagnostic
from .._model._errors import BootAborted
from .._model._events import EventSink
from .._model._plan import BootPlan
from .._model._report import BootReport
from .._model._status import PhaseStatus
from .._runtime._serve import STOP_FAILED
from .._runtime._sinks import StructlogSink
from .._runtime._termination import write_termination_message
from ..otel import sink_if_configured
from ..systemd import SystemdNotifier
from ._importing import (
    ImportInterrupted,
    end_interrupted_import,
    interruptible_import,
    process_age,
)
from ._live import STYLES, LiveView
from ._load import TargetError, load_boot, usage_error
from ._output import (
    configure_logging,
    flush_by_line,
    neutralise,
    positive_float,
    positive_int,
    print_diagnostic,
    print_traceback,
    stderr,
    stdout,
    wants_traceback,
)
from ._summary import ALL_OPTION_HELP, ROWS_SHOWN, ends_of, more_line


def register(commands: Any) -> None:
    """Add `run` to the sub-commands."""
    run = commands.add_parser("run", help="boot, serve until SIGINT/SIGTERM, tear down")
    run.add_argument("target", metavar="TARGET")
    run.add_argument("--once", action="store_true", help="tear down as soon as the boot is ready")
    run.add_argument("--report", metavar="FILE", type=Path, help="write the report JSON here")
    run.add_argument(
        "--log-format",
        choices=("auto", "console", "json"),
        default="auto",
        help="auto: a live view on a terminal, JSON logs otherwise",
    )
    run.add_argument("--max-concurrency", type=positive_int, metavar="N", default=None)
    run.add_argument("--deadline", type=positive_float, metavar="SECONDS", default=None)
    run.add_argument(
        "--stop-timeout",
        type=positive_float,
        metavar="SECONDS",
        default=None,
        help="bound the whole stop; teardowns not done by then are reported failed",
    )
    run.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    run.add_argument(
        "--termination-log",
        metavar="PATH",
        type=Path,
        help="on an aborted boot, also write the diagnostic JSON here "
        "(Kubernetes reads /dev/termination-log)",
    )
    run.add_argument(
        "--traceback",
        action="store_true",
        help="after the diagnostic, print the full chained traceback (also SMD_TRACEBACK=1)",
    )
    run.add_argument(
        "--fail-over-budget",
        action="store_true",
        help="exit 1 after an orderly stop when the boot was over its declared budget "
        "(without it, over budget is only a warning)",
    )
    run.add_argument("--all", action="store_true", dest="show_all", help=ALL_OPTION_HELP)
    run.set_defaults(handler=run_command)


CANNOT_CREATE = 73  # EX_CANTCREAT: the boot went well but the report could not be written
OVER_BUDGET = 1  # --fail-over-budget: as `smd diff --fail-over-budget` and `analyze --fail`


def run_command(arguments: argparse.Namespace) -> int:
    """Boot the TARGET; return 0 after an orderly stop, else the diagnostic's exit code."""
    flush_by_line()
    since = time.monotonic()
    try:
        with interruptible_import():
            boot = load_boot(arguments.target)
    except ImportInterrupted as interrupted:
        return end_interrupted_import(
            arguments.target,
            interrupted,
            since=since,
            report_path=arguments.report,
            termination_log=arguments.termination_log,
        )
    except TargetError as failed:
        if failed.error is None or not wants_traceback(arguments):
            raise
        print_diagnostic(failed.diagnostic)
        print_traceback(failed.error)
        return failed.diagnostic.exit_code
    imported = process_age(fallback_since=since)
    plan = boot.plan()
    if arguments.report is not None and not arguments.report.parent.is_dir():
        raise usage_error(
            arguments.target,
            f"--report {arguments.report}: its folder does not exist",
            f"no folder {arguments.report.parent.resolve()}",
            "Create the folder or write the report elsewhere; nothing was booted.",
        )
    live = arguments.log_format == "auto" and sys.stderr.isatty()
    configure_logging("console" if live else arguments.log_format)
    with ExitStack() as stack:
        sinks: list[EventSink] = (
            [stack.enter_context(LiveView(plan, stderr()))] if live else [StructlogSink()]
        )
        tracing = sink_if_configured(plan)
        if tracing is not None:
            sinks.append(tracing)
        notifier = SystemdNotifier(plan, stop_timeout=arguments.stop_timeout)
        if notifier.enabled:  # under systemd (NOTIFY_SOCKET): READY=1, STATUS=, watchdog
            sinks.append(notifier)
        outcome = anyio.run(
            _boot_and_serve, boot, arguments, sinks, stack, backend=arguments.backend
        )
    report, exit_code = outcome
    report = dataclasses.replace(report, import_duration=imported)
    if arguments.report is not None:
        try:
            arguments.report.write_text(report.to_json() + "\n")
        except OSError as exc:
            stderr().print(f"smd: cannot write the report: {exc}", markup=False)
            exit_code = exit_code or CANNOT_CREATE
    if exit_code == 0:
        console = stdout()
        console.print(timings_table(report, arguments.show_all))
        chain = critical_chain(report)
        first, hidden, last = ends_of(chain.links, arguments.show_all)
        steps = [f"{link.name} +{link.duration * 1000:.1f}ms" for link in first]
        steps += [f"({more_line(hidden, 'links')})"] if hidden else []
        steps += [f"{link.name} +{link.duration * 1000:.1f}ms" for link in last]
        links = " -> ".join(steps)
        console.print(
            f"critical chain ({chain.finished * 1000:.1f} ms, after {imported * 1000:.1f} ms "
            f"starting and importing the target): {links}",
            markup=False,
        )
        for line in outcome_notes(report, plan):
            console.print(neutralise(line), markup=False)
        if arguments.fail_over_budget and (overruns := budget_overruns(report)):
            over = ", ".join(
                f"{name} {spent:.3g}s > {budget:g}s" for name, budget, spent in overruns
            )
            stderr().print(f"smd: over budget (--fail-over-budget): {over}", markup=False)
            exit_code = OVER_BUDGET
    return exit_code


async def _boot_and_serve(
    boot: Boot, arguments: argparse.Namespace, sinks: list[EventSink], stack: ExitStack
) -> tuple[BootReport, int]:
    watchdogs = [
        sink
        for sink in sinks
        if isinstance(sink, SystemdNotifier) and sink.watchdog_interval is not None
    ]
    if not watchdogs:  # no task group, so no exception of the boot is wrapped in a group
        return await _boot_and_wait(boot, arguments, sinks, stack)
    async with anyio.create_task_group() as keepers:
        for notifier in watchdogs:
            keepers.start_soon(notifier.keep_alive)  # WATCHDOG=1 from this event loop
        try:
            outcome = await _boot_and_wait(boot, arguments, sinks, stack)
        finally:
            keepers.cancel_scope.cancel()
    return outcome


async def _boot_and_wait(
    boot: Boot, arguments: argparse.Namespace, sinks: list[EventSink], stack: ExitStack
) -> tuple[BootReport, int]:
    try:
        async with boot.start(
            max_concurrency=arguments.max_concurrency,
            deadline=arguments.deadline,
            stop_timeout=arguments.stop_timeout,
            sinks=sinks,
            handle_signals=True,
        ) as running:
            stack.close()  # stop the live view before anything else is printed
            state = running.state.value
            stderr().print(f"boot '{boot.name}' is {state}", style=STYLES_BY_STATE.get(state, ""))
            if not arguments.once:
                stderr().print("serving; SIGINT or SIGTERM stops it")
                await anyio.sleep_forever()
    except BootAborted as aborted:
        stack.close()
        diagnostic = name_the_deadline_option(aborted.diagnostic, arguments.deadline)
        print_diagnostic(diagnostic)
        if aborted.__cause__ is not None and wants_traceback(arguments):
            print_traceback(aborted.__cause__)
        if arguments.termination_log is not None:
            try:
                write_termination_message(arguments.termination_log, diagnostic)
            except OSError as exc:
                stderr().print(f"smd: cannot write the termination log: {exc}", markup=False)
        report = dataclasses.replace(aborted.report, diagnostic=diagnostic.to_dict())
        return report, aborted.exit_code
    if running.stop_failed:
        stderr().print(
            "smd: the stop did not complete: a teardown failed or the stop timeout ran out "
            "(see the report)",
            markup=False,
        )
        return running.report, STOP_FAILED
    return running.report, 0


def name_the_deadline_option(diagnostic: Diagnostic, deadline: float | None) -> Diagnostic:
    """A boot deadline that `--deadline` set is named as such in the action, not as code."""
    if deadline is None or not diagnostic.summary.startswith("the boot did not finish within"):
        return diagnostic
    action = (
        f"Raise --deadline (it was {deadline:g}s: smd run --deadline SECONDS), or make the "
        "phases still running faster; `smd analyze REPORT critical-chain` shows where time went."
    )
    return dataclasses.replace(diagnostic, action=action)


STYLES_BY_STATE = {"ready": "bold green", "degraded": "bold yellow"}


def timings_table(report: BootReport, show_all: bool = False) -> Table:
    """The plan order with each phase's status, start offset, duration and teardown.

    A long boot shows `ROWS_SHOWN` rows in plan order unless `show_all`: the
    phases that failed, then those that did not complete, then the slowest.
    """
    outcome = (report.outcome or report.state).value
    shown = _rows_worth_showing(report, show_all)
    hidden = len(report.phases) - len(shown)
    table = Table(
        title=escape(f"boot '{report.boot}' [{report.fingerprint}] {outcome} ")
        + f"in {report.duration * 1000:.1f} ms",
        title_justify="left",
        caption=more_line(hidden) if hidden else None,
        caption_justify="left",
    )
    for column in ("#", "phase", "kind", "status", "start", "duration", "teardown"):
        table.add_column(
            column, justify="right" if column in ("#", "start", "duration") else "left"
        )
    for position in shown:
        record = report.phases[position - 1]
        table.add_row(
            str(position),
            record.name,
            record.kind,
            f"[{STYLES[record.status]}]{record.status.value}[/]",
            _ms(record.start),
            _ms(record.duration),
            record.teardown.value,
        )
    return table


def _rows_worth_showing(report: BootReport, show_all: bool) -> list[int]:
    """Plan positions (from 1) of the rows to show: all, or the failed, the unfinished and
    then the slowest, at most `ROWS_SHOWN`."""
    positions = range(1, len(report.phases) + 1)
    if show_all or len(report.phases) <= ROWS_SHOWN:
        return list(positions)

    def worth(position: int) -> tuple[int, float]:
        record = report.phases[position - 1]
        if record.status.is_failure:
            return 0, position
        if record.status is not PhaseStatus.COMPLETED:
            return 1, position
        return 2, -(record.duration or 0.0)

    return sorted(heapq.nsmallest(ROWS_SHOWN, positions, key=worth))


def outcome_notes(report: BootReport, plan: BootPlan | None = None) -> list[str]:
    """What the table does not say: each failed phase's error, each phase's retries.

    A phase tried more than once gets a line per attempt: attempt n of m (m is
    what its retry= allows, as in the live view), how it ended, its error, and
    the pause before the next one.
    """
    specs = {} if plan is None else {spec.name: spec for spec in plan.phases}
    notes: list[str] = []
    for record in report.phases:
        if record.status in (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT) and record.error:
            error = record.error
            text = f"{error['type']}: {error['message']}" if error.get("message") else error["type"]
            notes.append(f"'{record.name}' {record.status.value}: {text}")
        if len(record.attempt_log) > 1:
            pauses = {pause.after_attempt: pause for pause in record.retry_pauses}
            notes.append(f"'{record.name}' took {len(record.attempt_log)} attempts:")
            spec = specs.get(record.name)
            allowed = spec.retry.attempts if spec is not None and spec.retry is not None else 0
            of = max(allowed, len(record.attempt_log))  # recoveries in service add attempts
            for attempt in record.attempt_log:
                step = f"  attempt {attempt.number} of {of} {attempt.outcome}"
                if attempt.error is not None:
                    step += f": {attempt.error}"
                pause = pauses.get(attempt.number)
                if pause is not None and pause.end is not None:
                    step += f"; paused {(pause.end - pause.start) * 1000:.1f} ms"
                notes.append(step)
    return notes


def _ms(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds * 1000:.1f} ms"
