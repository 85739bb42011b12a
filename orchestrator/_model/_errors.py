"""The small, flat family of errors smd raises, each rendered from its fields."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ._diagnostic import Diagnostic
    from ._report import BootReport


class BootError(Exception):
    """Base of every error smd raises on purpose."""


class GraphError(BootError):
    """The declaration is invalid; `.diagnostics` lists every problem, not only the first."""

    def __init__(self, diagnostics: Sequence[Diagnostic]) -> None:
        self.diagnostics = tuple(diagnostics)
        boot = self.diagnostics[0].boot if self.diagnostics else "?"
        lines = [f"boot '{boot}' has {len(self.diagnostics)} problem(s):"]
        for diagnostic in self.diagnostics:
            lines.append(f"  - {diagnostic.summary}")
            lines += [f"      {detail}" for detail in diagnostic.details]
        super().__init__("\n".join(lines))

    @property
    def diagnostic(self) -> Diagnostic:
        """The first problem, for callers that show only one."""
        return self.diagnostics[0]


class BootAborted(BootError):
    """The boot did not reach READY/DEGRADED; carries the diagnostic and the report."""

    def __init__(self, diagnostic: Diagnostic, report: BootReport) -> None:
        self.diagnostic = diagnostic
        self.report = report
        super().__init__(f"{diagnostic.kind}: {diagnostic.summary}")

    @property
    def exit_code(self) -> int:
        """The process exit code for this abort."""
        return self.diagnostic.exit_code


class GateFailed(BootError):
    """Raised by a gate to refuse the boot, with every violation and what to do.

    Args:
        summary: one line saying what the gate found.
        violations: one line per thing that does not hold.
        action: what to change so that the gate passes.
    """

    def __init__(
        self, summary: str, violations: Sequence[str] = (), action: str | None = None
    ) -> None:
        self.summary = summary
        self.violations = tuple(violations)
        self.action = action
        super().__init__(summary)


class PhaseTimeout(BootError, TimeoutError):
    """An attempt of a phase's start, a teardown or the whole boot ran past its deadline."""

    def __init__(
        self,
        phase: str | None,
        seconds: float,
        what: str = "start attempt",
        *,
        blocked_loop: bool = False,
    ) -> None:
        self.phase = phase
        self.seconds = seconds
        self.what = what
        self.blocked_loop = blocked_loop
        super().__init__(self._message())

    def _message(self) -> str:
        if self.phase is None:
            message = f"the {self.what} exceeded its {self.seconds:g}s deadline"
        else:
            message = f"phase '{self.phase}' {self.what} exceeded its {self.seconds:g}s deadline"
        if self.blocked_loop:
            message += (
                " without yielding to the event loop, so it could not be cancelled"
                " (a blocking call such as time.sleep in an async phase?)"
            )
        return message
