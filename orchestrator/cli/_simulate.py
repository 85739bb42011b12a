"""`smd simulate TARGET`: predict a boot on a virtual clock, with or without failures."""

from __future__ import annotations

import argparse
import difflib
import json
import re
import sys
from pathlib import Path
from typing import Any

from .._analysis._chart import render_svg
from .._analysis._prediction import SimulatedBoot
from .._analysis._simulator import simulate
from .._analysis._stats import PERCENTILES, BootStats
from .._analysis._stats import SCHEMA as STATS_SCHEMA
from .._analysis._svg_canvas import format_seconds
from .._model._phase import PhaseSpec
from .._model._plan import BootPlan
from .._model._report import BootReport
from ._budgets import (
    BUDGET_FILE,
    budget_near_target,
    choose_budget,
    describe_budget,
    read_json,
)
from ._load import TargetError, load_boot, usage_error
from ._output import positive_int, stderr, stdout
from ._reports import check_same_boot, load_report, write_output


def register(commands: Any) -> None:
    """Add `simulate` to the sub-commands."""
    command = commands.add_parser(
        "simulate",
        help="predict the boot's time, critical chain, and what a failure would block",
    )
    # TARGET may come after --fail/--recover, whose lists then take it: see `take_target`.
    command.add_argument("target", metavar="TARGET", nargs="?")
    command.add_argument(
        "--durations",
        metavar="FILE",
        help="take each phase's duration from this report, or from a summary written by "
        "smd stats -o (else its expected_duration, else 0)",
    )
    command.add_argument(
        "--percentile",
        choices=PERCENTILES,
        help="with a summary as --durations: p50 predicts a typical boot (the default), "
        "p95 a bad one, max the worst seen",
    )
    command.add_argument("--max-concurrency", type=positive_int, metavar="N", default=None)
    command.add_argument(
        "--fail",
        nargs="+",
        action=_PhaseNames,
        default=[],
        metavar="PHASE",
        help="fail these phases as they start (PHASE=SECONDS: that far into each attempt)",
    )
    command.add_argument(
        "--recover",
        nargs="+",
        action=_PhaseNames,
        default=[],
        metavar="PHASE",
        help="fail these recover= phases, then heal them in service on their recovery "
        "(PHASE=N: on recovery attempt N; default 1)",
    )
    command.add_argument(
        "--budget",
        metavar="FILE",
        help="check the prediction against this budget "
        f"(default: {BUDGET_FILE} next to TARGET's file, if there is one)",
    )
    command.add_argument("--format", choices=("text", "json"), default="text")
    command.add_argument("--plot", metavar="FILE", type=Path, help="also write an SVG Gantt chart")
    command.set_defaults(handler=run_simulate)


_PHASE_ITEM = re.compile(r"[^\W\d]\w*(=.*)?")


class _PhaseNames(argparse.Action):
    """Like `extend`, remembering where each use ended: a TARGET after it lands there."""

    def __call__(
        self,
        parser: argparse.ArgumentParser,
        namespace: argparse.Namespace,
        values: Any,
        option_string: str | None = None,
    ) -> None:
        items = [*(getattr(namespace, self.dest) or ()), *values]
        setattr(namespace, self.dest, items)
        ends = getattr(namespace, "phase_list_ends", None) or []
        namespace.phase_list_ends = [*ends, (self.dest, len(items) - 1)]


def take_target(arguments: argparse.Namespace) -> str:
    """TARGET, wherever it was written: `smd simulate --fail NAME TARGET` works too.

    A list option takes every word after it, so a TARGET written after `--fail`
    or `--recover` is the last word of one of their uses: the last such word
    that cannot be a phase (`PHASE` or `PHASE=N`), else the very last word.

    Raises:
        TargetError: no TARGET was given at all.
    """
    if arguments.target is not None:
        return str(arguments.target)
    ends: list[tuple[str, int]] = getattr(arguments, "phase_list_ends", None) or []
    if not ends:
        raise usage_error(
            "smd",
            "smd simulate needs a TARGET",
            "TARGET names the boot to simulate: module:attribute or path/to/file.py:attribute",
            "Write smd simulate TARGET [--fail PHASE ...].",
        )
    dest, index = next(
        (
            (dest, index)
            for dest, index in reversed(ends)
            if not _PHASE_ITEM.fullmatch(getattr(arguments, dest)[index])
        ),
        ends[-1],
    )
    arguments.target = getattr(arguments, dest).pop(index)
    return str(arguments.target)


def phase_named(plan: BootPlan, target: str, option: str, name: str) -> PhaseSpec:
    """The phase `name` given to `option`, or a usage error with a did-you-mean.

    Raises:
        TargetError: the boot has no phase of that name.
    """
    for spec in plan.phases:
        if spec.name == name:
            return spec
    guesses = difflib.get_close_matches(name, plan.order, n=1, cutoff=0.6)
    hint = f"did you mean '{guesses[0]}'?" if guesses else "no phase has a similar name"
    raise usage_error(
        target,
        f"{option} {name}: boot '{plan.boot}' has no phase '{name}' ({hint})",
        f"its phases: {', '.join(plan.order[:20])}" + (" ..." if len(plan) > 20 else ""),
        f"Write {option} {guesses[0]}."
        if guesses
        else "Name a phase of this boot (`smd plan TARGET` lists them).",
    )


def parse_failures(target: str, items: list[str]) -> dict[str, float]:
    """`PHASE` or `PHASE=SECONDS` items as seconds into each attempt, by phase."""
    failures: dict[str, float] = {}
    for item in items:
        name, sep, seconds = item.partition("=")
        try:
            failures[name] = float(seconds) if sep else 0.0
        except ValueError as exc:
            raise usage_error(
                target,
                f"--fail {item!r} is not PHASE or PHASE=SECONDS",
                f"{seconds!r} is not a number of seconds",
                "Write --fail database or --fail database=2.5",
            ) from exc
    return failures


def parse_recoveries(plan: BootPlan, target: str, items: list[str]) -> dict[str, int]:
    """`PHASE` or `PHASE=N` items as the recovery attempt that heals each phase.

    Raises:
        TargetError: an item is not of that form, or names a phase without `recover=`.
    """
    recoveries: dict[str, int] = {}
    for item in items:
        name, sep, number = item.partition("=")
        try:
            attempt = int(number) if sep else 1
        except ValueError as exc:
            raise usage_error(
                target,
                f"--recover {item!r} is not PHASE or PHASE=N",
                f"{number!r} is not a recovery attempt number",
                "Write --recover cache or --recover cache=2",
            ) from exc
        spec = phase_named(plan, target, "--recover", name)
        if spec.recover is None:
            raise usage_error(
                target,
                f"--recover {name}: phase '{name}' has no recover=",
                "only a non-critical phase declared with recover=Retry(...) heals in service",
                f"Give '{name}' recover=Retry(...) (and critical=False), or simulate its "
                f"failure with --fail {name}.",
            )
        recoveries[name] = attempt
    return recoveries


def load_durations(
    plan: BootPlan, path: str | None, percentile: str | None
) -> BootReport | dict[str, float] | None:
    """The durations to simulate with: a report, a summary's percentile, or None.

    Raises:
        TargetError: the file is neither a report nor a summary of this boot, or
            `--percentile` is given without a summary.
    """
    if path is None:
        if percentile is not None:
            raise _percentile_needs_summary(plan.boot)
        return None
    action = "Give a report (smd run --report FILE) or a summary (smd stats ... -o FILE)."
    document = read_json(path, "durations file", action)
    if not (isinstance(document, dict) and document.get("schema") == STATS_SCHEMA):
        if percentile is not None:
            raise _percentile_needs_summary(path)
        report = load_report(path)
        check_same_boot(report, plan, "durations", path)
        return report
    try:
        stats = BootStats.from_dict(document)
    except ValueError as exc:
        raise usage_error(path, f"'{path}' is not a usable summary", str(exc), action) from exc
    if stats.phases and not {phase.name for phase in stats.phases} & set(plan.order):
        raise usage_error(
            path,
            f"'{path}' summarises {', '.join(stats.boots)}, not '{plan.boot}'",
            f"none of its {len(stats.phases)} phases is in '{plan.boot}'",
            "Give a summary of reports of this boot.",
        )
    if plan.boot not in stats.boots or plan.fingerprint not in stats.fingerprints:
        stderr().print(
            f"warning: durations summarise {', '.join(stats.boots)} "
            f"[{', '.join(stats.fingerprints)}], the boot is '{plan.boot}' "
            f"[{plan.fingerprint}]; phases are matched by name",
            style="yellow",
        )
    return stats.durations_at(percentile or "p50")


def _percentile_needs_summary(subject: str) -> TargetError:
    return usage_error(
        subject,
        "--percentile needs a summary as --durations",
        "a single report has one duration per phase, no percentiles",
        "Write a summary with `smd stats REPORT... -o stats.json`, then "
        "`smd simulate TARGET --durations stats.json --percentile p95`.",
    )


def run_simulate(arguments: argparse.Namespace) -> int:
    """Simulate and print the prediction; exit 0 (the prediction's own exit code is printed)."""
    target = take_target(arguments)
    plan = load_boot(target).plan()
    durations = load_durations(plan, arguments.durations, arguments.percentile)
    failures = parse_failures(target, arguments.fail)
    for name in failures:
        phase_named(plan, target, "--fail", name)
    recoveries = parse_recoveries(plan, arguments.target, arguments.recover)
    for name in recoveries:
        failures.setdefault(name, 0.0)  # a phase heals only from a failure
    try:
        result = simulate(
            plan,
            durations=durations,
            max_concurrency=arguments.max_concurrency,
            fail=failures,
            recover=recoveries,
        )
    except ValueError as exc:
        raise usage_error(
            arguments.target,
            "the simulation cannot run as asked",
            str(exc),
            "Name phases of this boot in --fail and --recover (`smd plan TARGET` lists them).",
        ) from exc
    if arguments.plot is not None:
        write_output(arguments.plot, render_svg(result.to_report()), arguments.target)
    predicted = result.to_report()
    budget = choose_budget(budget_near_target(arguments.budget, arguments.target), predicted)
    check = budget.budget.check(predicted) if budget is not None else None
    if arguments.format == "json":
        document = result.to_dict()
        document["budget"] = check.to_dict() if check is not None else None
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    else:
        text = describe(result)
        if budget is not None and check is not None:
            text += "\n" + "\n".join(describe_budget(check, budget.source))
        stdout().print(text, markup=False)
    return 0


def describe(result: SimulatedBoot) -> str:
    """The prediction in a few lines."""
    plan = result.plan
    limit = "no limit" if result.max_concurrency is None else f"at most {result.max_concurrency}"
    lines = [
        f"simulated boot '{plan.boot}' [{plan.fingerprint}], {len(plan)} phases, {limit} in flight",
        f"predicted: {result.outcome.value.upper()} after {format_seconds(result.duration)}",
        "critical chain: "
        + (
            " -> ".join(
                f"{link.name} @{format_seconds(link.start)} +{format_seconds(link.duration)}"
                for link in result.chain.links
            )
            or "-"
        ),
    ]
    if result.root_cause is not None:
        lines.append(
            f"root cause: {result.root_cause} ({result.failure_kind}), exit code {result.exit_code}"
        )
    for title, names in (
        ("blocked", result.blocked),
        ("cancelled", result.cancelled),
        ("skipped", result.skipped),
        ("torn down", result.torn_down),
    ):
        if names:
            lines.append(f"{title}: {', '.join(names)}")
    recovered = [phase for phase in result.phases if phase.recovered_at is not None]
    if recovered:
        lines.append(
            "recovered in service: "
            + ", ".join(f"{p.name} @{format_seconds(p.recovered_at or 0.0)}" for p in recovered)
        )
    if result.healed_at is not None:
        lines.append(f"healed: READY again at {format_seconds(result.healed_at)}")
    if result.root_cause is not None and not result.torn_down:
        lines.append("torn down: nothing (no completed phase has a teardown)")
    lines.append(f"exit code: {result.exit_code}")
    return "\n".join(lines)
