"""The phase options, declared once.

`Boot.phase`, `Boot.gate` and `Boot.add` take these keywords. `build_spec` checks
and stores them, `PhaseSpec` holds them, the plan's canonical form (and so the
fingerprint) and `smd plan` render them, and `Boot.validate()` reports what is
wrong with them: all from the table below. Tests hold the typed overloads of
`Boot.phase`/`Boot.gate` and the fields of `PhaseSpec` to it.
"""

from __future__ import annotations

import inspect
import keyword
import operator
from collections.abc import Callable, Collection
from dataclasses import dataclass
from typing import Any

from ._checks import call_kind, seconds_problems, shown, with_article
from ._retry import Retry

CONTEXT_PARAMETER = "ctx"

RESET_AFTER = 60.0
"""Default seconds a service must run without stopping before its restart budget is whole."""


def _unchanged(value: Any) -> Any:
    return value


def _silent(value: Any) -> str | None:
    return None


@dataclass(frozen=True, slots=True)
class PhaseOption:
    """One keyword option of a phase declaration.

    Attributes:
        name: the keyword.
        annotation: its type, as the `Boot.phase` overloads spell it.
        default: the value when the option is not given.
        meaning: one line, for documentation and for hints in diagnostics.
        check: the problems with a given value, one line each, naming the option
            (call `problems`, which also turns a check that raises into a line).
        store: the form a valid value is kept in on the `PhaseSpec`.
        canonical: the stored value's machine-independent form, in the plan's
            data and its fingerprint.
        summary: the stored value in a few characters for `smd plan`, or None
            when it says nothing worth a column entry.
        grown: added after fingerprints were first published: at its default it
            is left out of the fingerprint, so a declaration that does not use
            it keeps the fingerprint it always had.
    """

    name: str
    annotation: str
    default: Any
    meaning: str
    check: Callable[[Any], list[str]]
    store: Callable[[Any], Any] = _unchanged
    canonical: Callable[[Any], Any] = _unchanged
    summary: Callable[[Any], str | None] = _silent
    grown: bool = False

    def problems(self, value: object) -> list[str]:
        """`check(value)`, or one line naming the option if the check could not finish."""
        try:
            return self.check(value)
        except Exception as exc:  # a value that raises when looked at is refused all the same
            return [f"{self.name} could not be checked: {shown(value)} raised {shown(exc)}"]


def name_problems(name: object) -> list[str]:
    """Why `name` cannot name a phase, if it cannot."""
    if not isinstance(name, str) or not name.isidentifier():
        return [f"phase name {shown(name)} is not a Python identifier"]
    if keyword.iskeyword(name):
        return [f"phase name {name!r} is a Python keyword"]
    if name == CONTEXT_PARAMETER:
        return [f"phase name {name!r} is reserved for the PhaseContext parameter"]
    return []


def _after_problems(value: object) -> list[str]:
    if isinstance(value, str):
        return []
    # A collection, not any iterable: a generator would be used up by this very check.
    if isinstance(value, Collection) and all(isinstance(name, str) for name in value):
        return []
    return [f"after must be a phase name or a list of phase names, got {shown(value)}"]


def _stored_after(value: str | Collection[str]) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    # A set has no order of its own: sort it so the plan does not depend on hashing.
    return tuple(sorted(value)) if isinstance(value, set | frozenset) else tuple(value)


def _retry_problems(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, Retry):
        return [f"retry must be a Retry(...) or None, got {shown(value)}"]
    return value.problems()


def _policy_problems(name: str) -> Callable[[object], list[str]]:
    def problems(value: object) -> list[str]:
        if value is None:
            return []
        if not isinstance(value, Retry):
            return [f"{name} must be a Retry(...) or None, got {shown(value)}"]
        return [f"{name}.{line.removeprefix('retry.')}" for line in value.problems()]

    return problems


def _reset_after_problems(value: object) -> list[str]:
    return seconds_problems("reset_after", value, allow_zero=False, none_means="never")


def _critical_problems(value: object) -> list[str]:
    if isinstance(value, bool):
        return []
    return [f"critical must be True or False, got {shown(value)}"]


def _when_problems(value: object) -> list[str]:
    if value is None or isinstance(value, bool):
        return []
    kind = call_kind(value)
    if kind is None:
        return [f"when must be a bool or a zero-argument callable, got {shown(value)}"]
    if kind != "function":
        return [
            f"when must be a plain function returning a bool, got {shown(value)} "
            f"({with_article(kind)} function cannot be asked before the phase starts)"
        ]
    try:
        signature = inspect.signature(value)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return []  # a builtin without a signature: nothing to hold it to
    try:
        signature.bind()
    except TypeError:
        return [f"when must take no arguments, got {shown(value)} with signature {signature}"]
    return []


def _canonical_when(value: object) -> str | bool | None:
    if value is None or isinstance(value, bool):
        return value
    return "conditional"


def _description_problems(value: object) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [f"description must be a str, got {shown(value)}"]
    if "\n" in value or "\r" in value:
        return [f"description must be one line, got {shown(value)}"]
    return []


def _seconds_summary(label: str) -> Callable[[Any], str | None]:
    def summary(value: float | None) -> str | None:
        return None if value is None else f"{label}={value:g}s"

    return summary


PHASE_OPTIONS: tuple[PhaseOption, ...] = (
    PhaseOption(
        name="name",
        annotation="str | None",
        default=None,
        meaning="defaults to the function's name; a Python identifier, unique in the boot",
        check=lambda value: [] if value is None else name_problems(value),
    ),
    PhaseOption(
        name="after",
        annotation="Iterable[str] | str",
        default=(),
        meaning="phases waited for without receiving their value (ordering only)",
        check=_after_problems,
        store=_stored_after,
        canonical=list,
    ),
    PhaseOption(
        name="timeout",
        annotation="float | None",
        default=None,
        meaning="seconds for one attempt of the start; on expiry the attempt is cancelled",
        check=lambda value: seconds_problems("timeout", value, allow_zero=False),
        summary=_seconds_summary("timeout"),
    ),
    PhaseOption(
        name="retry",
        annotation="Retry | None",
        default=None,
        meaning="how often and how far apart the start is attempted",
        check=_retry_problems,
        canonical=lambda value: None if value is None else value.describe(),
        summary=lambda value: None if value is None else f"retry={value.attempts}x",
    ),
    PhaseOption(
        name="critical",
        annotation="bool",
        default=True,
        meaning="False: a failure leaves the boot DEGRADED and blocks dependents instead",
        check=_critical_problems,
        summary=lambda value: None if value else "non-critical",
    ),
    PhaseOption(
        name="when",
        annotation="Callable[[], object] | bool | None",
        default=None,
        meaning="a zero-argument callable or bool; false means the phase is SKIPPED",
        check=_when_problems,
        canonical=_canonical_when,
        summary=lambda value: None if value is None else f"when={_canonical_when(value)}",
    ),
    PhaseOption(
        name="teardown_timeout",
        annotation="float | None",
        default=None,
        meaning="seconds for its teardown",
        check=lambda value: seconds_problems("teardown_timeout", value, allow_zero=False),
        summary=_seconds_summary("teardown_timeout"),
    ),
    PhaseOption(
        name="description",
        annotation="str | None",
        default=None,
        meaning="one line, shown in plans, graphs and diagnostics (default: the docstring's)",
        check=_description_problems,
    ),
    PhaseOption(
        name="expected_duration",
        annotation="float | None",
        default=None,
        meaning="seconds the start usually takes, for simulation and systemd",
        check=lambda value: seconds_problems("expected_duration", value, allow_zero=True),
        summary=_seconds_summary("expected"),
    ),
    PhaseOption(
        name="restart",
        annotation="Retry | None",
        default=None,
        meaning="a service only: how often and how far apart it is restarted when it stops",
        check=_policy_problems("restart"),
        canonical=lambda value: None if value is None else value.describe(),
        summary=lambda value: None if value is None else f"restart={value.attempts}x",
        grown=True,
    ),
    PhaseOption(
        name="recover",
        annotation="Retry | None",
        default=None,
        meaning="non-critical only: once in service, retry a failed start in the background",
        check=_policy_problems("recover"),
        canonical=lambda value: None if value is None else value.describe(),
        summary=lambda value: None if value is None else f"recover={value.attempts}x",
        grown=True,
    ),
    PhaseOption(
        name="reset_after",
        annotation="float | None",
        default=RESET_AFTER,
        meaning="a service only: seconds of healthy running after which its restarts are whole",
        check=_reset_after_problems,
        summary=lambda value: None if value == RESET_AFTER else f"reset_after={value:g}s",
        grown=True,
    ),
    PhaseOption(
        name="budget",
        annotation="float | None",
        default=None,
        meaning="seconds the start may take, retries included; over it warns, never fails",
        check=lambda value: seconds_problems("budget", value, allow_zero=False),
        summary=_seconds_summary("budget"),
        grown=True,
    ),
)
"""Every phase option, in the order the overloads and the plan table list them."""

OPTIONS_BY_NAME: dict[str, PhaseOption] = {option.name: option for option in PHASE_OPTIONS}

DEFAULTS_STORED: dict[str, Any] = {
    option.name: option.store(option.default) for option in PHASE_OPTIONS
}
"""Each option's default as a `PhaseSpec` keeps it (every default is a valid value)."""

option_values = operator.attrgetter(*OPTIONS_BY_NAME)
"""A declaration's option values, as a tuple in `PHASE_OPTIONS` order."""

CANONICAL_CONVERSIONS: tuple[tuple[str, Callable[[Any], Any]], ...] = tuple(
    (option.name, option.canonical)
    for option in PHASE_OPTIONS
    if option.canonical is not _unchanged
)
"""The options whose canonical form is not their stored value, with their conversion."""

_GROWN_DEFAULTS = {
    option.name: option.canonical(option.default) for option in PHASE_OPTIONS if option.grown
}


def fingerprint_form(canonical: dict[str, Any]) -> dict[str, Any]:
    """A phase's canonical form without the grown options left at their default.

    Fingerprints are compared across releases: an option added later changes
    the fingerprint only of the declarations that use it.
    """
    form = dict(canonical)
    for name, default in _GROWN_DEFAULTS.items():
        if name in form and form[name] == default:
            del form[name]
    return form
