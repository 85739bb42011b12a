"""Boots over time: `smd diff OLD NEW`, `smd stats REPORT...`, and the budget checks.

Output here is plain text built line by line (no rich tables): a diff or a
summary of 10,000 phases must print in well under a second.
"""

from __future__ import annotations

import argparse
import contextlib
import gc
import json
import math
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from .._budget import BOOT, Budget, BudgetCheck
from .._diff import Regression, ReportDiff, diff_reports
from .._report import BootReport
from .._stats import BootStats, summarize
from .._svg import format_seconds
from ._load import split_target, usage_error
from ._output import stderr
from ._reports import load_report, write_output

BUDGET_FILE = "smd-budget.json"
"""Where `smd analyze REPORT budget` looks for a budget when `--budget` is not given."""
DEFAULT_MIN_CHANGE = 0.05
"""Seconds: a slow-down smaller than this never fails `smd diff --fail-over`."""
CHAIN_EFFECTS_SHOWN = 10
WAIT_SHOWN = 1e-3
"""Seconds of waiting for a free slot (max_concurrency) worth naming in a chain effect."""


def register(commands: Any) -> None:
    """Add `diff` and `stats` to the sub-commands."""
    diff = commands.add_parser(
        "diff", help="compare two reports: plan, outcomes, durations, critical chain"
    )
    diff.add_argument("old", metavar="OLD", help="the baseline report JSON")
    diff.add_argument("new", metavar="NEW", help="the report to compare with it")
    diff.add_argument(
        "--fail-over",
        metavar="PERCENT",
        help="exit 1 when the boot or a phase on the new critical chain got slower "
        "by more than PERCENT (and more than --min-change)",
    )
    diff.add_argument(
        "--min-change",
        metavar="SECONDS",
        default=str(DEFAULT_MIN_CHANGE),
        help=f"slow-downs of at most this many seconds are noise (default {DEFAULT_MIN_CHANGE})",
    )
    diff.add_argument("--budget", metavar="FILE", help="name the new boot's phases over budget")
    diff.add_argument(
        "--fail-over-budget", action="store_true", help="exit 1 when the new boot is over budget"
    )
    diff.add_argument("--format", choices=("text", "json"), default="text")
    diff.set_defaults(handler=run_diff)
    stats = commands.add_parser("stats", help="per-phase p50, p95 and max over many reports")
    stats.add_argument("reports", metavar="REPORT", nargs="+", help="report JSON files")
    stats.add_argument("--format", choices=("text", "json"), default="text")
    stats.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        type=Path,
        help="write the summary as JSON to FILE (for smd simulate --durations)",
    )
    stats.set_defaults(handler=run_stats)


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


# --- command-line values -----------------------------------------------------------------


def non_negative(text: str, option: str, subject: str) -> float:
    """A command-line number >= 0, or an `invalid_target` diagnostic naming the option.

    Raises:
        TargetError: `text` is not a finite number of at least 0.
    """
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise usage_error(
            subject,
            f"{option} {text!r} is not a number >= 0",
            f"got {text!r}",
            f"Give {option} a finite number, e.g. {option} 10",
        )
    return value


def read_json(path: str | Path, what: str, action: str) -> Any:
    """Parse a JSON file given on the command line.

    Raises:
        TargetError: the file is missing, unreadable or not JSON.
    """
    where = Path(path)
    try:
        text = where.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise usage_error(
            str(path), f"{what} '{path}' does not exist", f"looked for {where.resolve()}", action
        ) from exc
    except (OSError, UnicodeDecodeError) as exc:
        raise usage_error(
            str(path), f"{what} '{path}' cannot be read", f"{type(exc).__name__}: {exc}", action
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise usage_error(
            str(path),
            f"{what} '{path}' is not valid JSON",
            f"{exc.msg} at line {exc.lineno}",
            action,
        ) from exc


# --- budgets -----------------------------------------------------------------------------


def load_budget(path: str | Path) -> Budget:
    """Read a budget file.

    Raises:
        TargetError: the file is missing, not JSON, or not a budget.
    """
    action = 'Write JSON like {"boot": 2.0, "phases": {"database": 0.5}} (seconds > 0).'
    data = read_json(path, "budget file", action)
    try:
        return Budget.from_dict(data)
    except ValueError as exc:
        raise usage_error(str(path), f"'{path}' is not a budget", str(exc), action) from exc


def find_budget(explicit: str | None, beside: str | Path) -> tuple[Budget, Path]:
    """The budget given with `--budget`, else the `smd-budget.json` next to `beside`.

    Raises:
        TargetError: none was given and there is none next to `beside`.
    """
    path = Path(explicit) if explicit is not None else Path(beside).parent / BUDGET_FILE
    if explicit is None and not path.is_file():
        raise usage_error(
            str(beside),
            "no budget to check against",
            f"--budget was not given and there is no {path}",
            f"Give --budget FILE, or put a {BUDGET_FILE} next to the report.",
        )
    return load_budget(path), path


def budget_near_target(explicit: str | None, target: str) -> tuple[Budget, Path] | None:
    """The budget given with `--budget`, else `smd-budget.json` next to TARGET, else None.

    A file target (`path/app.py:boot`) is looked for beside its file, a module
    target in the working directory.

    Raises:
        TargetError: the budget file given or found cannot be read as a budget.
    """
    if explicit is not None:
        return load_budget(explicit), Path(explicit)
    where, _ = split_target(target)
    folder = Path(where).parent if where.endswith(".py") or "/" in where else Path()
    path = folder / BUDGET_FILE
    return (load_budget(path), path) if path.is_file() else None


def describe_budget(check: BudgetCheck, source: Path) -> list[str]:
    """The check as lines: every budgeted item, then what is over."""
    lines = [f"budget of '{check.boot}' from {source}"]
    width = max((len(item.name) for item in check.items), default=5)
    lines.append(f"  {'phase':<{width}}  {'budget':>9}  {'spent':>9}  {'over':>10}")
    for item in check.items:
        mark = "  OVER BUDGET" if item.is_over else ""
        lines.append(
            f"  {item.name:<{width}}  {format_seconds(item.budget):>9}  "
            f"{format_seconds(item.spent):>9}  {_signed(item.over):>10}{mark}"
        )
    if check.unmeasured:
        lines.append(f"  not measured (did not run): {', '.join(check.unmeasured)}")
    overruns = check.overruns
    if overruns:
        lines.append(
            f"{len(overruns)} over budget: "
            + ", ".join(f"{item.name} {_signed(item.over)}" for item in overruns)
        )
    else:
        lines.append("within budget")
    return lines


def refuse_budget_options(arguments: argparse.Namespace) -> None:
    """`--budget` and `--fail` mean something only to the budget view: refuse them elsewhere.

    Raises:
        TargetError: one of them is given with another view.
    """
    given = [
        option
        for option, value in (("--budget", arguments.budget), ("--fail", arguments.fail))
        if value
    ]
    if given and arguments.view != "budget":
        raise usage_error(
            arguments.report,
            f"{' and '.join(given)} only apply to the budget view, not to {arguments.view}",
            f"smd analyze REPORT {arguments.view} was given {' '.join(given)}",
            "Run `smd analyze REPORT budget --budget FILE [--fail]`.",
        )


def budget_view(report: BootReport, arguments: argparse.Namespace) -> tuple[str, int]:
    """`smd analyze REPORT budget`: the text or JSON to show, and the exit code."""
    budget, source = find_budget(arguments.budget, arguments.report)
    check = budget.check(report)
    code = 1 if arguments.fail and check.overruns else 0
    if arguments.format == "json":
        document = check.to_dict() | {"budget_file": str(source)}
        return json.dumps(document, indent=2, sort_keys=True) + "\n", code
    return "\n".join(describe_budget(check, source)) + "\n", code


# --- smd diff ----------------------------------------------------------------------------


def _signed(seconds: float) -> str:
    if seconds == 0:
        return "0 ms"
    return ("+" if seconds > 0 else "-") + format_seconds(abs(seconds))


def _percent(fraction: float | None) -> str:
    if fraction is None or not math.isfinite(fraction):
        return "-"
    return f"{fraction * 100:+.1f}%"


def _boot_line(label: str, report: BootReport) -> str:
    outcome = (report.outcome or report.state).value.upper()
    return (
        f"  {label}: {outcome} after {format_seconds(report.duration)} "
        f"[{report.fingerprint}], {len(report.phases)} phases"
    )


def describe_diff(diff: ReportDiff, min_change: float) -> list[str]:
    """The diff as lines: boots, plan changes, outcomes, chain, durations."""
    old, new = diff.old, diff.new
    relative = diff.duration_change / old.duration if old.duration > 0 else None
    lines = [
        f"diff of '{old.boot}' -> '{new.boot}'"
        if old.boot != new.boot
        else f"diff of '{new.boot}'",
        _boot_line("old", old),
        _boot_line("new", new),
        f"  boot time: {_signed(diff.duration_change)} ({_percent(relative)})",
    ]
    lines += _plan_lines(diff)
    lines += _outcome_lines(diff)
    lines += _chain_lines(diff)
    lines += _duration_lines(diff, min_change)
    return lines


def _plan_lines(diff: ReportDiff) -> list[str]:
    if diff.old.fingerprint == diff.new.fingerprint:
        return ["plan: unchanged"]
    lines = [f"plan: {diff.old.fingerprint} -> {diff.new.fingerprint}"]
    for title, names in (("phases added", diff.added), ("phases removed", diff.removed)):
        if names:
            lines.append(f"  {title}: {', '.join(names)}")
    for title, edges in (("edges added", diff.edges_added), ("edges removed", diff.edges_removed)):
        if edges:
            lines.append(f"  {title}: {', '.join(f'{a} -> {b}' for a, b in edges)}")
    if len(lines) == 1:
        lines.append("  same phases and edges; options changed")
    return lines


def _outcome_lines(diff: ReportDiff) -> list[str]:
    old_outcome, new_outcome = diff.outcomes
    lines = []
    if old_outcome is not new_outcome:
        lines.append(f"  boot: {old_outcome.value} -> {new_outcome.value}")
    for change in diff.outcome_changes:
        if change.old_status != change.new_status:
            lines.append(f"  {change.name}: {change.old_status} -> {change.new_status}")
        if change.old_teardown != change.new_teardown:
            lines.append(
                f"  {change.name}: teardown {change.old_teardown} -> {change.new_teardown}"
            )
    return ["outcome changes:", *lines] if lines else ["outcome changes: none"]


def _chain_lines(diff: ReportDiff) -> list[str]:
    lines = [
        "critical chain:",
        f"  old: {' -> '.join(diff.old_chain.names) or '-'} "
        f"(ended @{format_seconds(diff.old_chain.finished)})",
        f"  new: {' -> '.join(diff.new_chain.names) or '-'} "
        f"(ended @{format_seconds(diff.new_chain.finished)})",
    ]
    if diff.joined_chain or diff.left_chain:
        lines.append(
            f"  joined: {', '.join(diff.joined_chain) or '-'}; "
            f"left: {', '.join(diff.left_chain) or '-'}"
        )
    else:
        lines.append("  same phases on the chain")
    effects = diff.chain_effects()
    lines.append(
        f"  the chain ended {format_seconds(abs(diff.chain_change))} "
        + ("later" if diff.chain_change >= 0 else "earlier")
        + (", because of:" if effects else "")
    )
    waits = {link.name: link.waited for link in diff.new_chain.links}
    for change in effects[:CHAIN_EFFECTS_SHOWN]:
        how = "joined" if not change.old_chain else "left" if not change.new_chain else "on both"
        if waits.get(change.name, 0.0) > WAIT_SHOWN:
            how += f", waited {format_seconds(waits[change.name])} for a free slot"
        lines.append(f"    {change.name} {_signed(change.chain_effect)} ({how})")
    if len(effects) > CHAIN_EFFECTS_SHOWN:
        lines.append(f"    and {len(effects) - CHAIN_EFFECTS_SHOWN} more (--format json)")
    return lines


def _duration_lines(diff: ReportDiff, min_change: float) -> list[str]:
    changed = [
        change
        for change in diff.phases
        if change.change is not None and abs(change.change) > min_change
    ]
    changed.sort(key=lambda change: -(change.change or 0.0))
    title = f"durations changed by more than {format_seconds(min_change)}"
    if not changed:
        return [f"{title}: none"]
    width = max(len(change.name) for change in changed)
    lines = [
        f"{title}:",
        f"  {'phase':<{width}}  {'old':>9}  {'new':>9}  {'change':>10}  {'relative':>9}  chain",
    ]
    for change in changed:
        chain = "/".join(
            label for label, on in (("old", change.old_chain), ("new", change.new_chain)) if on
        )
        lines.append(
            f"  {change.name:<{width}}  {format_seconds(change.old_duration or 0.0):>9}  "
            f"{format_seconds(change.new_duration or 0.0):>9}  "
            f"{_signed(change.change or 0.0):>10}  {_percent(change.relative):>9}  {chain or '-'}"
        )
    return lines


def run_diff(arguments: argparse.Namespace) -> int:
    """Compare two reports; exit 1 on a regression (`--fail-over`) or overrun (`--fail-...`)."""
    subject = arguments.new
    percent = (
        non_negative(arguments.fail_over, "--fail-over", subject)
        if arguments.fail_over is not None
        else None
    )
    min_change = non_negative(arguments.min_change, "--min-change", subject)
    if arguments.fail_over_budget and arguments.budget is None:
        raise usage_error(
            subject,
            "--fail-over-budget needs --budget FILE",
            "no budget was given",
            "Add --budget FILE (JSON: boot and phases in seconds).",
        )
    budget = load_budget(arguments.budget) if arguments.budget is not None else None
    with cyclic_gc_paused():
        diff = diff_reports(load_report(arguments.old), load_report(arguments.new))
    regressions = diff.regressions(percent, min_change) if percent is not None else ()
    check = budget.check(diff.new) if budget is not None else None
    code = 1 if regressions or (arguments.fail_over_budget and check and check.overruns) else 0
    if arguments.format == "json":
        document = diff.to_dict()
        document["min_change"] = min_change
        document["fail_over"] = percent
        document["regressions"] = [found.to_dict() for found in regressions]
        document["budget"] = check.to_dict() if check is not None else None
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        return code
    lines = describe_diff(diff, min_change)
    if check is not None and arguments.budget is not None:
        lines += describe_budget(check, Path(arguments.budget))
    if percent is not None:
        lines += _regression_lines(regressions, percent, min_change)
    sys.stdout.write("\n".join(lines) + "\n")
    return code


def _regression_lines(
    regressions: tuple[Regression, ...], percent: float, min_change: float
) -> list[str]:
    limit = f"more than {percent:g}% and {format_seconds(min_change)}"
    if not regressions:
        return [f"no regression ({limit} slower)"]
    lines = [f"REGRESSION: {len(regressions)} slower by {limit}:"]
    for found in regressions:
        what = "boot" if found.name == BOOT else found.name
        lines.append(
            f"  {what}: {format_seconds(found.old)} -> {format_seconds(found.new)} "
            f"({_signed(found.change)}, {_percent(found.relative)})"
        )
    return lines


# --- smd stats ---------------------------------------------------------------------------


def describe_stats(stats: BootStats) -> list[str]:
    """The summary as lines: the boot's spread, then one line per phase in plan order."""
    plans = len(stats.fingerprints)
    lines = [
        f"stats of {', '.join(repr(b) for b in stats.boots)} over {stats.reports} reports "
        f"({plans} plan{'s' if plans != 1 else ''}); nearest-rank percentiles of completed starts"
    ]
    width = max([len(phase.name) for phase in stats.phases] + [5])
    header = f"  {'phase':<{width}}  {'runs':>5}  {'p50':>9}  {'p95':>9}  {'max':>9}  on chain"
    lines.append(header)
    if stats.duration is not None:
        spread = stats.duration
        lines.append(
            f"  {'(boot)':<{width}}  {stats.reports:>5}  {format_seconds(spread.p50):>9}  "
            f"{format_seconds(spread.p95):>9}  {format_seconds(spread.max):>9}"
        )
    for phase in stats.phases:
        cells = (
            ("-", "-", "-")
            if phase.duration is None
            else tuple(format_seconds(v) for v in phase.duration.to_dict().values())
        )
        share = f"{phase.on_chain}/{stats.reports}"
        lines.append(
            f"  {phase.name:<{width}}  {phase.completed:>5}  {cells[0]:>9}  {cells[1]:>9}  "
            f"{cells[2]:>9}  {share}"
        )
    return lines


def run_stats(arguments: argparse.Namespace) -> int:
    """Summarise the reports; print the summary, or write its JSON with `--output`."""
    with cyclic_gc_paused():
        stats = summarize(load_report(path) for path in arguments.reports)
    document = json.dumps(stats.to_dict(), indent=2, sort_keys=True) + "\n"
    if arguments.output is not None:
        write_output(arguments.output, document, arguments.reports[0])
        stderr().print(f"wrote {arguments.output} ({stats.reports} reports)")
    if arguments.format == "json":
        if arguments.output is None:
            sys.stdout.write(document)
        return 0
    sys.stdout.write("\n".join(describe_stats(stats)) + "\n")
    return 0
