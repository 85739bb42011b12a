"""Budgets on the command line, and the JSON files other than reports that smd reads.

`smd analyze REPORT budget`, `smd diff --budget` and `smd simulate` find a
budget the same way: `--budget FILE`, else `smd-budget.json` next to the
report (or the target's file), laid over the budget the boot declares
(`Boot(name, budget=...)`, `budget=` on phases; recorded in the report): an
item in both takes the file's value.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .._analysis._svg_canvas import format_seconds
from .._model._budget import Budget, BudgetCheck
from .._model._report import BootReport
from ._load import split_target, usage_error

BUDGET_FILE = "smd-budget.json"
"""Where a budget is looked for when `--budget` is not given."""


def signed(seconds: float) -> str:
    """Seconds with their sign: `+136 ms`, `-29.6 ms`, `0 ms`."""
    if seconds == 0:
        return "0 ms"
    return ("+" if seconds > 0 else "-") + format_seconds(abs(seconds))


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


@dataclass(frozen=True, slots=True)
class ChosenBudget:
    """The budget a command checks against, and where it comes from.

    Attributes:
        budget: the file's entries laid over the declared ones (the file wins).
        path: the budget file read, or None when only the declaration counts.
        declared: whether the boot's declaration (in the report) contributed.
    """

    budget: Budget
    path: Path | None
    declared: bool

    @property
    def source(self) -> str:
        """Where the budget comes from, in a few words."""
        if self.path is None:
            return "the boot's declaration (budget=)"
        return f"{self.path} over the boot's declaration" if self.declared else str(self.path)


def choose_budget(file: tuple[Budget, Path] | None, report: BootReport) -> ChosenBudget | None:
    """A budget file laid over the budget `report` declares; None when there is neither."""
    declared = Budget.declared(report)
    if file is None:
        return None if declared.is_empty else ChosenBudget(declared, None, declared=True)
    budget, path = file
    if declared.is_empty:
        return ChosenBudget(budget, path, declared=False)
    return ChosenBudget(budget.over(declared), path, declared=True)


def find_budget(explicit: str | None, report: BootReport, beside: str | Path) -> ChosenBudget:
    """The budget given with `--budget` (else the `smd-budget.json` next to `beside`, if
    there is one) laid over the budget the report declares.

    Raises:
        TargetError: there is neither a budget file nor a declared budget.
    """
    path = Path(explicit) if explicit is not None else Path(beside).parent / BUDGET_FILE
    file = (load_budget(path), path) if explicit is not None or path.is_file() else None
    chosen = choose_budget(file, report)
    if chosen is None:
        raise usage_error(
            str(beside),
            "no budget to check against",
            f"--budget was not given, there is no {path} and the report declares no budget",
            f"Give --budget FILE, put a {BUDGET_FILE} next to the report, or declare "
            "Boot(name, budget=...) and budget= on phases.",
        )
    return chosen


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


def describe_budget(check: BudgetCheck, source: str | Path) -> list[str]:
    """The check as lines: every budgeted item, then what is over."""
    lines = [f"budget of '{check.boot}' from {source}"]
    width = max((len(item.name) for item in check.items), default=5)
    lines.append(f"  {'phase':<{width}}  {'budget':>9}  {'spent':>9}  {'over':>10}")
    for item in check.items:
        mark = "  OVER BUDGET" if item.is_over else ""
        lines.append(
            f"  {item.name:<{width}}  {format_seconds(item.budget):>9}  "
            f"{format_seconds(item.spent):>9}  {signed(item.over):>10}{mark}"
        )
    if check.unmeasured:
        lines.append(f"  not measured (did not run): {', '.join(check.unmeasured)}")
    overruns = check.overruns
    if overruns:
        lines.append(
            f"{len(overruns)} over budget: "
            + ", ".join(f"{item.name} {signed(item.over)}" for item in overruns)
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
    chosen = find_budget(arguments.budget, report, arguments.report)
    check = chosen.budget.check(report)
    code = 1 if arguments.fail and check.overruns else 0
    if arguments.format == "json":
        document = check.to_dict() | {
            "budget_file": str(chosen.path) if chosen.path is not None else None,
            "declared": chosen.declared,
        }
        return json.dumps(document, indent=2, sort_keys=True) + "\n", code
    return "\n".join(describe_budget(check, chosen.source)) + "\n", code
