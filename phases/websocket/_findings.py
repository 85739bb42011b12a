"""Where an audit records what failed, and how a failed call reads."""

from __future__ import annotations

from ._probe import Outcome, neutralise
from ._result import Concern, Violation


def short_repr(value: object) -> str:
    """Show plain values as they are and objects by type, so lines stay stable across runs."""
    if value is None or type(value) in (bool, int, float, str):
        text = repr(value)
        return neutralise(text if len(text) <= 60 else f"{text[:57]}...")
    return f"a {neutralise(type(value).__name__)}"


class Findings:
    """The violations found so far, and the bounds every probing call obeys.

    Args:
        timeout: Seconds any one call into the factory or a manager may take.
        block_budget: Seconds a plain call may keep the event loop to itself.
    """

    def __init__(self, *, timeout: float, block_budget: float) -> None:
        self.timeout = timeout
        self.block_budget = block_budget
        self.violations: list[Violation] = []
        self._kinds: set[str] = set()
        self._slow: dict[str, int] = {}

    def too_slow(self, method: str, elapsed: float) -> bool:
        """Say whether `method` has now been slower than the loop budget twice.

        One slow call may be the host pausing the whole process (a busy machine,
        a garbage collection); a method that is slow twice is slow.
        """
        if elapsed <= self.block_budget:
            return False
        self._slow[method] = self._slow.get(method, 0) + 1
        return self._slow[method] >= 2

    def fail(self, detail: str, action: str, concern: Concern, *, kind: str | None = None) -> None:
        """Record one failed check.

        A check failing the same way twice is one violation; with `kind`, only
        the first violation of that kind is kept (one line per fault, not per user).
        """
        if kind is not None:
            if kind in self._kinds:
                return
            self._kinds.add(kind)
        violation = Violation(detail, action, concern)
        if violation not in self.violations:
            self.violations.append(violation)

    def fail_call(self, label: str, outcome: Outcome, concern: Concern, when: str = "") -> None:
        """Record a call that hung or raised where it should have returned."""
        suffix = f" {when}" if when else ""
        if outcome.timed_out:
            self.fail(
                f"{label}: did not return within {self.timeout:g}s{suffix}",
                f"Make {label} return promptly; the gate bounds every call and a hung "
                "call would hang the boot.",
                concern,
                kind=f"{label}:timeout",
            )
        else:
            self.fail(
                f"{label}: raised {outcome.describe_error()}{suffix}",
                f"Make {label} succeed for this input; see the error it raised.",
                concern,
                kind=f"{label}:raised",
            )
