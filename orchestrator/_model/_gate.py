"""What a gate returns: whether boot may continue, and why not."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Protocol, cast, runtime_checkable

from ._describe import describe_exception, safe_repr, safe_str
from ._errors import GateFailed

if TYPE_CHECKING:
    from ._phase import PhaseSpec


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


def is_gate_outcome(value: object) -> bool:
    """A real gate result: `is_valid` is a bool and `validation_errors` a list of lines.

    A `unittest.mock.Mock` has every attribute; it is not a gate result.
    """
    errors = getattr(value, "validation_errors", None)
    return isinstance(getattr(value, "is_valid", None), bool) and isinstance(errors, list | tuple)


def gate_refusal(spec: PhaseSpec, value: object) -> GateFailed | None:
    """The `GateFailed` a gate's value amounts to, or None when the boot may continue."""
    try:
        return _refusal(spec, value)
    except Exception as exc:  # a hostile result: its attributes or its items raise
        return GateFailed(
            f"gate '{spec.name}' returned a result that could not be read",
            (f"reading its result raised {describe_exception(exc)}",),
            f"Return GateResult(is_valid=..., validation_errors=...) from '{spec.name}'.",
        )


def _refusal(spec: PhaseSpec, value: object) -> GateFailed | None:
    if is_gate_outcome(value):
        value = cast(GateOutcome, value)
        if value.is_valid:
            return None
        violations = tuple(safe_str(item) for item in value.validation_errors)
        actions = tuple(safe_str(item) for item in getattr(value, "actions", ()) or ())
        count = len(violations)
        summary = f"gate '{spec.name}' refused the boot ({count} violation{'s' * (count != 1)})"
        failure = GateFailed(summary, violations or ("the gate reported is_valid=False",))
        failure.action = "\n".join(actions) or None
        return failure
    return GateFailed(
        f"gate '{spec.name}' returned {type(value).__name__}, not a gate result",
        (
            f"a gate must return a GateResult (or an object with is_valid and "
            f"validation_errors); it returned {safe_repr(value):.80}",
        ),
        f"Return GateResult(is_valid=..., validation_errors=...) from '{spec.name}'.",
    )
