"""A frozen picture of one run of a boot: what diagnosis reads, and nothing that changes."""

from __future__ import annotations

import traceback
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ._plan import BootPlan
from ._report import PhaseRecord
from ._status import PhaseStatus

if TYPE_CHECKING:
    from ._analyzers import FailureAnalyzer


@dataclass(frozen=True, slots=True)
class RunSnapshot:
    """The end of a run as data: records in plan order, each failure's exception and more.

    Attributes:
        plan: the plan that ran.
        records: one record per phase, in plan order.
        exceptions: each failed phase's exception, by name.
        stuck: for a phase that timed out, where it was waiting when cancelled.
        failures: plan positions of the critical phases that failed on their own.
        interrupted_by: the signal number that aborted the boot, if one did.
        boot_timed_out: whether the whole boot ran past its deadline.
        deadline: the boot's deadline in seconds, if it had one.
        internal_error: an error of smd's own, if there was one.
        teardown_order: (phase, outcome) for each teardown, in the order they ended.
        analyzers: the user's failure analyzers, asked before smd's own.
    """

    plan: BootPlan
    records: tuple[PhaseRecord, ...]
    exceptions: Mapping[str, BaseException]
    stuck: Mapping[str, traceback.StackSummary]
    failures: tuple[int, ...]
    interrupted_by: int | None
    boot_timed_out: bool
    deadline: float | None
    internal_error: BaseException | None
    teardown_order: tuple[tuple[str, str], ...]
    analyzers: tuple[FailureAnalyzer, ...] = ()

    def named(self, status: PhaseStatus) -> tuple[str, ...]:
        """The phases with `status`, in plan order."""
        return tuple(record.name for record in self.records if record.status is status)
