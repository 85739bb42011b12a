"""Reading a report file given on the command line; every problem becomes a diagnostic."""

from __future__ import annotations

import json
from pathlib import Path

from .._diagnostic import Diagnostic
from .._plan import BootPlan
from .._report import BootReport
from ._load import TargetError
from ._output import stderr


def usage_error(subject: str, summary: str, detail: str, action: str) -> TargetError:
    """A `TargetError` carrying an `invalid_target` diagnostic (exit code 64)."""
    return TargetError(
        Diagnostic(
            boot=subject,
            fingerprint="-",
            kind="invalid_target",
            phase=None,
            summary=summary,
            details=(detail,),
            action=action,
        )
    )


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
        return BootReport.from_json(text)
    except json.JSONDecodeError as exc:
        raise usage_error(
            str(path),
            f"report file '{path}' is not valid JSON",
            f"{exc.msg} at line {exc.lineno}",
            action,
        ) from exc
    except ValueError as exc:
        raise usage_error(str(path), f"'{path}' is not a boot report", str(exc), action) from exc


def warn_if_other_plan(report: BootReport, plan: BootPlan, what: str) -> None:
    """Say so when a report comes from another plan than the boot's (phases match by name)."""
    if report.fingerprint != plan.fingerprint:
        stderr().print(
            f"warning: {what} come from plan {report.fingerprint}, the boot's plan is "
            f"{plan.fingerprint}; phases are matched by name",
            style="yellow",
        )
