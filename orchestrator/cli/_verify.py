"""`smd verify TARGET`: every gate of a boot, with only what the gates need, then torn down."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from typing import Any

import anyio
from rich.markup import escape

from .._model._diagnostic import Diagnostic
from .._model._errors import GraphError
from .._model._verification import SCHEMA, GateVerdict, Verification
from ..testing import verify_gates
from ._load import TargetError, load_boot
from ._output import configure_logging, positive_float, stdout

_LABELS = {
    "passed": "[green]PASS[/green]    ",
    "refused": "[bold red]REFUSED[/bold red] ",
    "failed": "[bold red]FAILED[/bold red]  ",
    "timed_out": "[bold red]TIMED OUT[/bold red]",
    "blocked": "[yellow]BLOCKED[/yellow] ",
    "skipped": "[dim]SKIPPED[/dim] ",
}


def register(commands: Any) -> None:
    """Add `verify` to the sub-commands."""
    verify = commands.add_parser(
        "verify",
        help="run every gate with only the phases it needs, then tear down; "
        "exit 0 when all pass, else the diagnostic's code (78 for a refusal)",
    )
    verify.add_argument("target", metavar="TARGET")
    verify.add_argument("--format", choices=("text", "json"), default="text")
    verify.add_argument("--deadline", type=positive_float, metavar="SECONDS", default=None)
    verify.add_argument("--stop-timeout", type=positive_float, metavar="SECONDS", default=None)
    verify.add_argument("--backend", choices=("asyncio", "trio"), default="asyncio")
    verify.add_argument(
        "--log-format",
        choices=("auto", "console", "json"),
        default="auto",
        help="how the phases' own log lines are written to stderr",
    )
    verify.set_defaults(handler=run_verify)


def run_verify(arguments: argparse.Namespace) -> int:
    """Verify the gates; print a verdict per gate; return 0 or the diagnostic's code."""
    try:
        boot = load_boot(arguments.target)
        boot.plan()
    except (TargetError, GraphError) as exc:
        if arguments.format != "json":
            raise
        problems = [exc.diagnostic] if isinstance(exc, TargetError) else list(exc.diagnostics)
        sys.stdout.write(
            json.dumps(unverified(arguments.target, problems), indent=2, sort_keys=True) + "\n"
        )
        return problems[0].exit_code
    configure_logging(arguments.log_format)
    verification = anyio.run(
        lambda: verify_gates(
            boot, deadline=arguments.deadline, stop_timeout=arguments.stop_timeout
        ),
        backend=arguments.backend,
    )
    if arguments.format == "json":
        sys.stdout.write(verification.to_json() + "\n")
    else:
        print_verification(verification)
    return verification.exit_code


def unverified(target: str, problems: Sequence[Diagnostic]) -> dict[str, Any]:
    """The `smd.verify/1` document of a boot that could not be loaded or planned."""
    return {
        "schema": SCHEMA,
        "boot": problems[0].boot if problems else target,
        "fingerprint": None,
        "passed": False,
        "exit_code": problems[0].exit_code,
        "gates": [],
        "ran": [],
        "not_started": [],
        "overrides": [],
        "diagnostic": problems[0].to_dict(),
        "problems": [problem.to_dict() for problem in problems],
        "report": None,
    }


def print_verification(verification: Verification) -> None:
    """The verdicts as text: one line per gate, its violations and action beneath it."""
    console = stdout()
    gates = len(verification.verdicts)
    console.print(
        f"verify '{escape(verification.boot)}'  fingerprint {verification.fingerprint}  "
        f"{gates} gate(s), {len(verification.ran)} phase(s) run",
        markup=True,
    )
    if verification.not_started:
        console.print(
            "not started (no gate waits for them): " + ", ".join(verification.not_started)
        )
    if verification.report.overrides:
        console.print(
            "OVERRIDDEN: " + "; ".join(escape(str(o)) for o in verification.report.overrides)
        )
    width = max((len(v.gate) for v in verification.verdicts), default=0)
    for verdict in verification.verdicts:
        console.print(_line(verdict, width))
        for violation in verdict.violations:
            console.print(f"          - {escape(violation)}")
        if verdict.action and verdict.verdict != "passed":
            for line in verdict.action.splitlines():
                console.print(f"          action: {escape(line)}")
    failing = sum(1 for v in verification.verdicts if v.verdict != "passed")
    if verification.passed:
        console.print(f"[green]all {gates} gate(s) passed[/green]")
    else:
        assert verification.diagnostic is not None
        console.print(
            f"[bold red]{failing} of {gates} gate(s) did not pass[/bold red]: "
            f"{escape(verification.diagnostic.summary)} (exit {verification.exit_code})"
        )


def _line(verdict: GateVerdict, width: int) -> str:
    text = f"{_LABELS[verdict.verdict]} {escape(verdict.gate.ljust(width))}"
    if verdict.duration is not None:
        text += f"  {verdict.duration:.3f}s"
    if verdict.blocked_by:
        text += "  waits for " + ", ".join(f"'{name}'" for name in verdict.blocked_by)
    return text
