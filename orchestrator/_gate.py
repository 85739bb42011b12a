"""What a gate returns: whether boot may continue, and why not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class GateOutcome(Protocol):
    """Anything a gate may return: `GateResult` or any object with these attributes."""

    @property
    def is_valid(self) -> bool: ...

    @property
    def validation_errors(self) -> Sequence[str]: ...


@dataclass(frozen=True, slots=True)
class GateResult:
    """A gate's verdict.

    Args:
        is_valid: whether boot may continue.
        validation_errors: one line per violation.
        actions: what to do, one line per violation (or one for all).
    """

    is_valid: bool
    validation_errors: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "validation_errors", tuple(self.validation_errors))
        object.__setattr__(self, "actions", tuple(self.actions))
