"""`smd check TARGET` and `smd plan TARGET`: look at a boot without running it."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.markup import escape
from rich.table import Table

from .._model._errors import GraphError
from .._model._options import PHASE_OPTIONS
from .._model._phase import PhaseSpec
from .._model._plan import BootPlan
from ._load import load_boot
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


def run_check(arguments: argparse.Namespace) -> int:
    """Validate; print every problem, or a one-line OK."""
    boot = load_boot(arguments.target)
    try:
        plan = boot.plan()
    except GraphError as exc:
        if arguments.format == "json":
            documents = [d.to_dict() for d in exc.diagnostics]
            sys.stdout.write(json.dumps(documents, indent=2, sort_keys=True) + "\n")
        else:
            for diagnostic in exc.diagnostics:
                print_diagnostic(diagnostic)
            stdout().print(f"{len(exc.diagnostics)} problem(s) in boot '{boot.name}'")
        return exc.diagnostics[0].exit_code
    gates = sum(1 for spec in plan.phases if spec.kind == "gate")
    if arguments.format == "json":
        document = {"boot": plan.boot, "fingerprint": plan.fingerprint, "phases": len(plan)}
        sys.stdout.write(json.dumps({"ok": True, **document}, sort_keys=True) + "\n")
    else:
        stdout().print(
            f"OK: boot '{plan.boot}' is valid: {len(plan)} phases ({gates} gates), "
            f"{len(plan.edges)} edges, fingerprint {plan.fingerprint}"
        )
    return 0


def run_plan(arguments: argparse.Namespace) -> int:
    """Print the plan in order with each phase's options."""
    plan = load_boot(arguments.target).plan()
    if arguments.format == "json":
        sys.stdout.write(json.dumps(plan.to_dict(), indent=2, sort_keys=True) + "\n")
        return 0
    stdout().print(plan_table(plan))
    return 0


def plan_table(plan: BootPlan) -> Table:
    """The plan as a rich table, one row per phase in order."""
    table = Table(
        title=f"plan of '{plan.boot}'  fingerprint {plan.fingerprint}", title_justify="left"
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
            describe_options(spec),
            escape(spec.description),
        )
    return table


def describe_options(spec: PhaseSpec) -> str:
    """The non-default options of a phase, compactly, as each option summarises itself."""
    parts = (option.summary(getattr(spec, option.name)) for option in PHASE_OPTIONS)
    return " ".join(part for part in parts if part is not None) or "-"
