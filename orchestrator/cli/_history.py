"""Boots over time: `smd diff OLD NEW` and `smd stats REPORT...`.

Output here is plain text built line by line (no rich tables): a diff or a
summary of 10,000 phases must print in well under a second.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from pathlib import Path
from typing import Any

from .._analysis._diff import Regression, ReportDiff, diff_reports
from .._analysis._stats import BootStats, summarize
from .._analysis._svg_canvas import format_seconds
from .._model._budget import BOOT
from .._model._report import BootReport
from . import _plot
from ._budgets import choose_budget, describe_budget, load_budget, signed
from ._load import usage_error
from ._output import stderr
from ._reports import cyclic_gc_paused, load_report, write_output

DEFAULT_MIN_CHANGE = 0.05
"""Seconds: a slow-down smaller than this never fails `smd diff --fail-over`."""
CHAIN_EFFECTS_SHOWN = 10
WAIT_SHOWN = 1e-3
"""Seconds of waiting for a free slot (max_concurrency) worth naming in a chain effect."""


def register(commands: Any) -> None:
    """Add `diff`, `stats` and `plot` (many reports in one chart) to the sub-commands."""
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
    _plot.register(commands)


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


# --- smd diff ----------------------------------------------------------------------------


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
        f"  boot time: {signed(diff.duration_change)} ({_percent(relative)})",
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
        lines.append(f"    {change.name} {signed(change.chain_effect)} ({how})")
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
            f"{signed(change.change or 0.0):>10}  {_percent(change.relative):>9}  {chain or '-'}"
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
    file = load_budget(arguments.budget) if arguments.budget is not None else None
    with cyclic_gc_paused():
        diff = diff_reports(load_report(arguments.old), load_report(arguments.new))
    regressions = diff.regressions(percent, min_change) if percent is not None else ()
    chosen = choose_budget((file, Path(arguments.budget)) if file is not None else None, diff.new)
    if arguments.fail_over_budget and chosen is None:
        raise usage_error(
            subject,
            "--fail-over-budget needs a budget",
            "no --budget FILE was given and the new report declares no budget",
            "Add --budget FILE (JSON: boot and phases in seconds), or declare budget=.",
        )
    check = chosen.budget.check(diff.new) if chosen is not None else None
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
    if check is not None and chosen is not None:
        lines += describe_budget(check, chosen.source)
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
            f"({signed(found.change)}, {_percent(found.relative)})"
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
