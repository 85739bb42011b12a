"""Time budgets: seconds allowed for the boot and for named phases, checked against a report.

A budget is declared (`Boot(name, budget=...)`, `budget=` on a phase; the
report records both, so a report alone is enough) or written in a file:
`{"boot": 2.0, "phases": {"database": 0.5, "cache": 0.2}}`, both keys
optional, every value a number of seconds greater than 0. Where both give a
budget for the same item, the file wins (`Budget.over`). A phase is measured
from its first attempt's start to its end (retries included), the boot by the
report's `duration`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ._report import BootReport

SCHEMA = "smd.budget-check/1"
BOOT = "(boot)"
"""The name the whole boot's overrun carries, beside phase names."""


def _is_seconds(value: object) -> bool:
    return (
        isinstance(value, int | float)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and value > 0
    )


@dataclass(frozen=True, slots=True)
class Budget:
    """Seconds allowed for the boot (None: no limit) and for each named phase."""

    boot: float | None = None
    phases: Mapping[str, float] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: object) -> Budget:
        """Read a budget document, refusing anything it cannot mean.

        Raises:
            ValueError: naming every problem (unknown keys, values that are not
                seconds greater than 0, a `phases` that is not an object).
        """
        if not isinstance(data, Mapping):
            raise ValueError(f"a budget is a JSON object, not {type(data).__name__}")
        problems = [f"unknown key {key!r}" for key in data if key not in ("boot", "phases")]
        boot = data.get("boot")
        if boot is not None and not _is_seconds(boot):
            problems.append(f"boot is {boot!r}, not a number of seconds > 0")
        phases = data.get("phases", {})
        if not isinstance(phases, Mapping):
            problems.append(f"phases is {type(phases).__name__}, not an object of seconds")
            phases = {}
        problems += [
            f"phases.{name} is {value!r}, not a number of seconds > 0"
            for name, value in phases.items()
            if not _is_seconds(value)
        ]
        if problems:
            raise ValueError("; ".join(problems))
        return cls(boot=boot, phases=dict(phases))

    @classmethod
    def declared(cls, report: BootReport) -> Budget:
        """The budget the boot declared, as its report records it (empty for older reports)."""
        return cls(
            boot=report.budget,
            phases={r.name: r.budget for r in report.phases if r.budget is not None},
        )

    @property
    def is_empty(self) -> bool:
        """Whether it allows no particular time to anything."""
        return self.boot is None and not self.phases

    def over(self, declared: Budget) -> Budget:
        """This budget laid over `declared`: its own entries win, the others are kept.

        A budget file is laid over the declared budget, so it can tighten or
        loosen an item without repeating the rest.
        """
        return Budget(
            boot=self.boot if self.boot is not None else declared.boot,
            phases={**declared.phases, **self.phases},
        )

    def check(self, report: BootReport) -> BudgetCheck:
        """Measure `report` against this budget.

        Returns:
            The `BudgetCheck`: every item over budget, and the budgeted phases
            the report does not measure.
        """
        items: list[BudgetItem] = []
        if self.boot is not None:
            items.append(BudgetItem(BOOT, self.boot, report.duration))
        records = {record.name: record for record in report.phases}
        unmeasured: list[str] = []
        for name, allowed in self.phases.items():
            record = records.get(name)
            spent = record.duration if record is not None else None
            if spent is None:
                unmeasured.append(name)
            else:
                items.append(BudgetItem(name, allowed, spent))
        return BudgetCheck(report.boot, tuple(items), tuple(unmeasured))


@dataclass(frozen=True, slots=True)
class BudgetItem:
    """The boot or one phase against its budget.

    Attributes:
        name: the phase, or `BOOT`.
        budget: seconds allowed.
        spent: seconds it took.
    """

    name: str
    budget: float
    spent: float

    @property
    def over(self) -> float:
        """Seconds beyond the budget (negative: time to spare)."""
        return self.spent - self.budget

    @property
    def is_over(self) -> bool:
        """Whether it took longer than its budget."""
        return self.spent > self.budget

    def to_dict(self) -> dict[str, Any]:
        """The item as plain data."""
        return {
            "name": self.name,
            "budget": self.budget,
            "spent": self.spent,
            "over": self.over,
            "is_over": self.is_over,
        }


@dataclass(frozen=True, slots=True)
class BudgetCheck:
    """A report measured against a budget.

    Attributes:
        boot: the boot's name.
        items: the boot (first, if budgeted) and each budgeted phase that ran,
            in the budget's order.
        unmeasured: budgeted phases that did not run (or are not in the plan).
    """

    boot: str
    items: tuple[BudgetItem, ...]
    unmeasured: tuple[str, ...]

    @property
    def overruns(self) -> tuple[BudgetItem, ...]:
        """The items over their budget, in order."""
        return tuple(item for item in self.items if item.is_over)

    def to_dict(self) -> dict[str, Any]:
        """The check as plain data, schema `smd.budget-check/1`."""
        return {
            "schema": SCHEMA,
            "boot": self.boot,
            "items": [item.to_dict() for item in self.items],
            "over": [item.name for item in self.overruns],
            "unmeasured": list(self.unmeasured),
        }


def budget_overruns(report: BootReport) -> tuple[tuple[str, float, float], ...]:
    """`(name, budget, spent)` of the boot and each phase over its declared budget."""
    budget = Budget.declared(report)
    if budget.is_empty:
        return ()
    return tuple((item.name, item.budget, item.spent) for item in budget.check(report).overruns)
