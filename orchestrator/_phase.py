"""One declared phase: what to call, what it needs, and its options."""

from __future__ import annotations

import enum
import inspect
import keyword
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, Literal

from ._retry import Retry

CONTEXT_PARAMETER = "ctx"

PhaseKind = Literal["phase", "gate"]


class PhaseStyle(enum.Enum):
    """How a phase's target is called and torn down."""

    ASYNC = "async function"
    SYNC = "function (worker thread)"
    ASYNC_GENERATOR = "async generator"
    GENERATOR = "generator (worker thread)"
    COMPONENT = "object with start/stop"


@dataclass(frozen=True, slots=True)
class PhaseSpec:
    """A phase as declared: immutable, validated by `Boot.validate()`.

    Attributes:
        name: unique identifier within the boot.
        kind: "phase" or "gate".
        target: the function, or the object with `start`/`stop`.
        style: how `target` is called.
        requires: dependencies whose values are passed in, by parameter name.
        after: phases waited for without receiving their value.
        wants_context: whether the function takes `ctx`.
        source: `file:line` of the declaration, for diagnostics.
    """

    name: str
    kind: PhaseKind
    target: Any
    style: PhaseStyle
    requires: tuple[str, ...]
    after: tuple[str, ...] = ()
    wants_context: bool = False
    timeout: float | None = None
    retry: Retry | None = None
    critical: bool = True
    when: Callable[[], object] | bool | None = None
    teardown_timeout: float | None = None
    description: str = ""
    expected_duration: float | None = None
    source: str = "?"
    declared_problems: tuple[str, ...] = field(default=(), compare=False)

    waits_for: tuple[str, ...] = field(init=False, compare=False)
    """Every phase this one waits for: dependencies first, then `after=` names."""

    def __post_init__(self) -> None:
        extra = tuple(name for name in self.after if name not in self.requires)
        object.__setattr__(self, "waits_for", self.requires + extra)

    def problems(self) -> list[str]:
        """Every invalid option of this phase, one line each."""
        found = list(self.declared_problems)
        found += _number_problems("timeout", self.timeout, allow_zero=False)
        found += _number_problems("teardown_timeout", self.teardown_timeout, allow_zero=False)
        found += _number_problems("expected_duration", self.expected_duration, allow_zero=True)
        if self.retry is not None:
            if isinstance(self.retry, Retry):
                found += self.retry.problems()
            else:
                found.append(f"retry must be a Retry(...), got {self.retry!r}")
        if not isinstance(self.critical, bool):
            found.append(f"critical must be True or False, got {self.critical!r}")
        if self.when is not None and not (isinstance(self.when, bool) or callable(self.when)):
            found.append(f"when must be a bool or a zero-argument callable, got {self.when!r}")
        if self.kind == "gate" and self.critical is not True:
            found.append("a gate is always critical: remove critical=False from this gate")
        return found

    def canonical(self) -> dict[str, Any]:
        """The options that define this phase, in a machine-independent form."""
        return {
            "name": self.name,
            "kind": self.kind,
            "style": self.style.name,
            "requires": list(self.requires),
            "after": list(self.after),
            "timeout": self.timeout,
            "retry": self.retry.describe() if isinstance(self.retry, Retry) else None,
            "critical": self.critical,
            "when": _describe_when(self.when),
            "teardown_timeout": self.teardown_timeout,
            "description": self.description,
            "expected_duration": self.expected_duration,
        }


def _describe_when(when: object) -> str | bool | None:
    if when is None or isinstance(when, bool):
        return when
    return "conditional"


def _number_problems(option: str, value: object, *, allow_zero: bool) -> list[str]:
    if value is None:
        return []
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [f"{option} must be a number of seconds, got {value!r}"]
    if value < 0 or (value == 0 and not allow_zero):
        bound = ">= 0" if allow_zero else "> 0"
        return [f"{option} must be {bound} seconds, got {value!r}"]
    return []


def classify(target: object) -> tuple[PhaseStyle, Callable[..., Any] | None, list[str]]:
    """Decide how `target` is run; returns its style, start callable and any problems."""
    if inspect.isclass(target) and callable(getattr(target, "start", None)):
        return (
            PhaseStyle.COMPONENT,
            None,
            [f"{target.__name__} is a class; pass an instance: boot.add({target.__name__}(...))"],
        )
    if inspect.isasyncgenfunction(target):
        return PhaseStyle.ASYNC_GENERATOR, target, []
    if inspect.isgeneratorfunction(target):
        return PhaseStyle.GENERATOR, target, []
    if inspect.iscoroutinefunction(target):
        return PhaseStyle.ASYNC, target, []
    if inspect.isfunction(target) or inspect.ismethod(target) or inspect.isbuiltin(target):
        return PhaseStyle.SYNC, target, []
    start = getattr(target, "start", None)
    if start is not None and callable(start):
        problems = []
        stop = getattr(target, "stop", None)
        if stop is not None and not callable(stop):
            problems.append(f"{type(target).__name__}.stop must be a method")
        return PhaseStyle.COMPONENT, start, problems
    if callable(target):
        return PhaseStyle.SYNC, target, []
    return PhaseStyle.SYNC, None, [f"{target!r} is neither callable nor has a start() method"]


def inspect_parameters(start: Callable[..., Any]) -> tuple[tuple[str, ...], bool, list[str]]:
    """Dependencies named by `start`'s parameters, whether it takes `ctx`, and problems.

    As with pytest fixtures, a parameter with a default value is not a dependency.
    """
    try:
        signature = inspect.signature(start)
    except (TypeError, ValueError) as exc:
        return (), False, [f"its signature cannot be read: {exc}"]
    requires: list[str] = []
    wants_context = False
    problems: list[str] = []
    for parameter in signature.parameters.values():
        if parameter.kind in (parameter.VAR_POSITIONAL, parameter.VAR_KEYWORD):
            continue
        if parameter.name == CONTEXT_PARAMETER:
            wants_context = True
            continue
        if parameter.default is not parameter.empty:
            continue
        if parameter.kind is parameter.POSITIONAL_ONLY:
            problems.append(
                f"parameter '{parameter.name}' is positional-only; dependencies are passed "
                "by name, so remove the '/' from the signature"
            )
            continue
        requires.append(parameter.name)
    return tuple(requires), wants_context, problems


def source_of(target: object) -> str:
    """`file:line` where `target` (or its class) is defined, or '?'."""
    function = inspect.unwrap(target) if inspect.isroutine(target) else None
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    if code is not None:
        return f"{code.co_filename}:{code.co_firstlineno}"
    cls = target if inspect.isclass(target) else type(target)
    module = getattr(cls, "__module__", "?")
    return f"{module}.{cls.__qualname__}"


def name_problems(name: object) -> list[str]:
    """Why `name` cannot name a phase, if it cannot."""
    if not isinstance(name, str) or not name.isidentifier():
        return [f"phase name {name!r} is not a Python identifier"]
    if keyword.iskeyword(name):
        return [f"phase name {name!r} is a Python keyword"]
    if name == CONTEXT_PARAMETER:
        return [f"phase name {name!r} is reserved for the PhaseContext parameter"]
    return []


def build_spec(
    target: object,
    *,
    kind: PhaseKind,
    name: str | None = None,
    after: Iterable[str] | str = (),
    timeout: float | None = None,
    retry: Retry | None = None,
    critical: bool = True,
    when: Callable[[], object] | bool | None = None,
    teardown_timeout: float | None = None,
    description: str | None = None,
    expected_duration: float | None = None,
) -> PhaseSpec:
    """Turn a function or start/stop object plus options into a `PhaseSpec`.

    Problems are recorded on the spec, not raised, so `Boot.validate()` can
    report every one of them at once.
    """
    style, start, problems = classify(target)
    requires: tuple[str, ...] = ()
    wants_context = False
    if start is not None:
        requires, wants_context, found = inspect_parameters(start)
        problems += found
    if name is None:
        name = getattr(target, "__name__", None) or type(target).__name__.lower()
    after_names = (after,) if isinstance(after, str) else tuple(after)
    if description is None:
        doc = inspect.getdoc(target) if start is not None else None
        description = doc.strip().splitlines()[0] if doc else ""
    return PhaseSpec(
        name=name,
        kind=kind,
        target=target,
        style=style,
        requires=requires,
        after=after_names,
        wants_context=wants_context,
        timeout=timeout,
        retry=retry,
        critical=critical,
        when=when,
        teardown_timeout=teardown_timeout,
        description=description,
        expected_duration=expected_duration,
        source=source_of(target),
        declared_problems=tuple(problems),
    )
