"""The outcome of validating a factory or a manager, usable as a gate result."""

from __future__ import annotations

import datetime as dt
import enum
from collections.abc import Iterable
from dataclasses import dataclass, field

_DEFAULT_ACTION = "Fix the violation described; see docs/websocket-gate.md."


class Concern(enum.Enum):
    """Which of the result's booleans a violation falsifies."""

    FACTORY_METHOD = "factory_method_available"
    INTERFACE = "interface_compliant"
    ISOLATION = "user_context_isolated"


@dataclass(frozen=True, slots=True)
class Violation:
    """One failed check: what is wrong, what to change, and what it falsifies."""

    detail: str
    action: str
    concern: Concern


def _utc_now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


@dataclass(frozen=True, slots=True)
class FactoryValidationResult:
    """What validating a WebSocket manager factory (or one manager) found.

    It is also a gate result: it has `is_valid` and `validation_errors`, and
    `actions` holds, at the same index, what to change for each error.

    Attributes:
        is_valid: True when no check failed.
        validation_errors: One line per failed check, naming the method and the
            behaviour that was wrong.
        manager_type: The qualified class name of the managers examined, if any.
        user_context_isolated: Managers were shown to be bound to one user each.
        interface_compliant: Managers were shown to satisfy the manager protocol.
        factory_method_available: The factory's methods exist, have compatible
            signatures and produced managers.
        validation_timestamp: When the validation finished (UTC).
        actions: What to change, one per entry of `validation_errors`, or empty
            when whoever built the result gave none.
        probe_seed: The seed the gate's probe was drawn from, to replay it
            (`validate_factory(factory, seed=...)` or `SMD_GATE_SEED`); None
            when the result did not come from the gate's probe.

    Raises:
        ValueError: On construction, if `is_valid` contradicts the errors, or
            `actions` is neither empty nor as long as `validation_errors`.
    """

    is_valid: bool
    validation_errors: tuple[str, ...] = ()
    manager_type: str | None = None
    user_context_isolated: bool = False
    interface_compliant: bool = False
    factory_method_available: bool = False
    validation_timestamp: dt.datetime = field(default_factory=_utc_now)
    actions: tuple[str, ...] = ()
    probe_seed: int | None = None

    def __post_init__(self) -> None:
        # Callers often pass lists; freeze them so the result stays immutable.
        object.__setattr__(self, "validation_errors", tuple(self.validation_errors))
        object.__setattr__(self, "actions", tuple(self.actions))
        if self.is_valid and self.validation_errors:
            msg = "a valid result cannot carry validation errors"
            raise ValueError(msg)
        if self.actions and len(self.actions) != len(self.validation_errors):
            msg = (
                f"actions must be empty or one per validation error "
                f"({len(self.actions)} actions for {len(self.validation_errors)} errors)"
            )
            raise ValueError(msg)

    @classmethod
    def from_violations(
        cls,
        violations: Iterable[Violation],
        *,
        manager_type: str | None,
        checked: Iterable[Concern],
        seed: int | None = None,
    ) -> FactoryValidationResult:
        """Build a result from the violations found.

        Args:
            violations: Every failed check, in the order found.
            manager_type: The qualified class name of the managers examined.
            checked: The concerns whose checks all ran; a concern that was not
                fully checked is never reported as true.
            seed: The probe's seed; a refusal names it in its first action, so
                whoever reads the refusal can replay the probe.

        Returns:
            The result; a boolean is true only if its concern was checked and
            none of its checks failed.
        """
        found = tuple(violations)
        failed = {violation.concern for violation in found}
        proven = set(checked) - failed
        actions = [violation.action for violation in found]
        if actions and seed is not None:
            actions[0] += (
                f" (Probe seed {seed}: replay it with SMD_GATE_SEED={seed} or "
                f"validate_factory(factory, seed={seed}).)"
            )
        return cls(
            is_valid=not found,
            validation_errors=tuple(violation.detail for violation in found),
            manager_type=manager_type,
            user_context_isolated=Concern.ISOLATION in proven,
            interface_compliant=Concern.INTERFACE in proven,
            factory_method_available=Concern.FACTORY_METHOD in proven,
            actions=tuple(actions),
            probe_seed=seed,
        )

    @property
    def is_production_ready(self) -> bool:
        """True when the result is valid and all three capabilities were shown."""
        return (
            self.is_valid
            and self.user_context_isolated
            and self.interface_compliant
            and self.factory_method_available
        )

    @property
    def violations(self) -> tuple[tuple[str, str], ...]:
        """Each error paired with its action (a generic one when none was given)."""
        actions = self.actions or (_DEFAULT_ACTION,) * len(self.validation_errors)
        return tuple(zip(self.validation_errors, actions, strict=True))
