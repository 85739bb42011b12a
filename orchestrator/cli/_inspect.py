"""`smd check TARGET` and `smd plan TARGET`: look at a boot without running it."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

from rich.markup import escape
from rich.table import Table

from .._model._diagnostic import Diagnostic
from .._model._errors import GraphError
from .._model._options import PHASE_OPTIONS
from .._model._phase import PhaseSpec
from .._model._plan import BootPlan
from ._load import TargetError, load_boot
from ._output import print_diagnostic, stdout


def register(commands: Any) -> None:
    """Add `check` and `plan` to the sub-commands."""
    check = commands.add_parser(
        "check", help="validate a boot's graph without running it (exit 65 on problems)"
    )
    check.add_argument("target", metavar="TARGET")
    check.add_argument("--format", choices=("text", "json"), default="text")
    check.set_defaults(handler=run_check)

    plan = commands.add_parser("plan", help="print the deterministic plan and its fingerprint")
    plan.add_argument("target", metavar="TARGET")
    plan.add_argument("--format", choices=("text", "json"), default="text")
    plan.set_defaults(handler=run_plan)


CHECK_SCHEMA = "smd.check/1"


def check_document(
    boot: str, plan: BootPlan | None, problems: Sequence[Diagnostic]
) -> dict[str, Any]:
    """What `smd check --format json` prints: one shape whether the boot is valid or not."""
    return {
        "schema": CHECK_SCHEMA,
        "boot": boot,
        "ok": not problems,
        "exit_code": problems[0].exit_code if problems else 0,
        "fingerprint": None if plan is None else plan.fingerprint,
        "phases": None if plan is None else len(plan),
        "gates": None if plan is None else sum(1 for s in plan.phases if s.kind == "gate"),
        "edges": None if plan is None else len(plan.edges),
        "overrides": [] if plan is None else [o.to_dict() for o in plan.overrides],
        "problems": [diagnostic.to_dict() for diagnostic in problems],
    }


def run_check(arguments: argparse.Namespace) -> int:
    """Validate; print every problem, or a one-line OK."""
    as_json = arguments.format == "json"
    try:
        boot = load_boot(arguments.target)
    except TargetError as exc:
        if not as_json:
            raise
        document = check_document(arguments.target, None, [exc.diagnostic])
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        return exc.diagnostic.exit_code
    try:
        plan = boot.plan()
    except GraphError as exc:
        if as_json:
            document = check_document(boot.name, None, exc.diagnostics)
            sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        else:
            for diagnostic in exc.diagnostics:
                print_diagnostic(diagnostic)
            stdout().print(f"{len(exc.diagnostics)} problem(s) in boot '{boot.name}'")
        return exc.diagnostics[0].exit_code
    if as_json:
        document = check_document(plan.boot, plan, ())
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    else:
        gates = sum(1 for spec in plan.phases if spec.kind == "gate")
        stdout().print(
            f"OK: boot '{plan.boot}' is valid: {len(plan)} phases ({gates} gates), "
            f"{len(plan.edges)} edges, fingerprint {plan.fingerprint}"
        )
        for line in override_lines(plan):
            stdout().print(line, markup=False)
    return 0


def plan_document(
    boot: str, plan: BootPlan | None, problems: Sequence[Diagnostic]
) -> dict[str, Any]:
    """What `smd plan --format json` prints: the plan's `smd.plan/1` shape, valid or not.

    Without a plan (an invalid graph, a TARGET that cannot be loaded) the plan's
    keys are empty and `problems` says why.
    """
    document: dict[str, Any] = (
        plan.to_dict()
        if plan is not None
        else {
            "schema": "smd.plan/1",
            "boot": boot,
            "fingerprint": None,
            "phases": [],
            "edges": [],
            "overrides": [],
            "left_out": [],
            "budget": None,
        }
    )
    document["ok"] = not problems
    document["exit_code"] = problems[0].exit_code if problems else 0
    document["problems"] = [diagnostic.to_dict() for diagnostic in problems]
    return document


def run_plan(arguments: argparse.Namespace) -> int:
    """Print the plan in order with each phase's options."""
    if arguments.format == "json":
        return _print_plan_document(arguments.target)
    plan = load_boot(arguments.target).plan()
    stdout().print(plan_table(plan))
    for line in override_lines(plan):
        stdout().print(line, markup=False)
    return 0


def override_lines(plan: BootPlan) -> list[str]:
    """What an overridden plan says under its table: it is not the real boot."""
    if not plan.overrides:
        return []
    lines = [
        f"OVERRIDDEN: this is not the real boot '{plan.boot}' ({len(plan.overrides)} override(s))"
    ]
    lines += [f"  {override}" for override in plan.overrides]
    if plan.left_out:
        lines.append(
            "  not started (only overridden phases waited for them): " + ", ".join(plan.left_out)
        )
    return lines


def plan_table(plan: BootPlan) -> Table:
    """The plan as a rich table, one row per phase in order."""
    overridden = {override.phase: override for override in plan.overrides}
    marker = "  (overridden)" if overridden else ""
    table = Table(
        title=f"plan of '{plan.boot}'  fingerprint {plan.fingerprint}{marker}",
        title_justify="left",
    )
    for column in ("#", "phase", "kind", "waits for", "options", "description"):
        table.add_column(column, overflow="fold")
    for position, spec in enumerate(plan.phases, start=1):
        waits = ", ".join(spec.requires)
        if spec.after:
            waits += (", " if waits else "") + ", ".join(f"after {name}" for name in spec.after)
        table.add_row(
            str(position),
            spec.name,
            spec.kind,
            waits or "-",
            escape(f"overridden: {overridden[spec.name]}")
            if spec.name in overridden
            else describe_options(spec),
            escape(spec.description),
        )
    return table


def describe_options(spec: PhaseSpec) -> str:
    """The non-default options of a phase, compactly, as each option summarises itself."""
    parts = (option.summary(getattr(spec, option.name)) for option in PHASE_OPTIONS)
    return " ".join(part for part in parts if part is not None) or "-"


def _print_plan_document(target: str) -> int:
    try:
        boot = load_boot(target)
    except TargetError as exc:
        document = plan_document(target, None, [exc.diagnostic])
    else:
        try:
            document = plan_document(boot.name, boot.plan(), ())
        except GraphError as exc:
            document = plan_document(boot.name, None, exc.diagnostics)
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
    return int(document["exit_code"])
