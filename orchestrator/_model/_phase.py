"""One declared phase: what to call, what it needs, and its options."""

from __future__ import annotations

import enum
import functools
import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal, cast

from ._checks import CallKind, call_kind, closest_name, is_plain_function, shown, with_article
from ._options import (
    CANONICAL_CONVERSIONS,
    CONTEXT_PARAMETER,
    DEFAULTS_STORED,
    OPTIONS_BY_NAME,
    PHASE_OPTIONS,
    RESET_AFTER,
    option_values,
)
from ._retry import Retry

PhaseKind = Literal["phase", "gate", "service"]


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
        kind: "phase", "gate" or "service" (a long-running async function, supervised).
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
    restart: Retry | None = None
    recover: Retry | None = None
    reset_after: float | None = RESET_AFTER
    budget: float | None = None
    source: str = "?"
    declared_problems: tuple[str, ...] = field(default=(), compare=False)
    options_checked: bool = field(default=False, compare=False, repr=False)
    """Whether `declared_problems` already holds the problems of every option value."""

    waits_for: tuple[str, ...] = field(init=False, compare=False)
    """Every phase this one waits for: dependencies first, then `after=` names."""

    def __post_init__(self) -> None:
        extra: tuple[str, ...] = ()
        if self.after:
            extra = tuple(dict.fromkeys(name for name in self.after if name not in self.requires))
        object.__setattr__(self, "waits_for", self.requires + extra)

    def problems(self) -> list[str]:
        """Every invalid option of this phase, one line each (its name is checked apart)."""
        found = list(self.declared_problems)
        if not self.options_checked:  # built by hand, not by `build_spec`
            for option in PHASE_OPTIONS:
                if option.name != "name":
                    found += option.problems(getattr(self, option.name))
        if self.kind == "gate" and self.critical is not True:
            found.append("a gate is always critical: remove critical=False from this gate")
        found += self._service_problems()
        if self.recover is not None and self.critical:
            found.append(
                "recover= retries a non-critical phase in service: add critical=False "
                "(a critical phase that fails aborts the boot)"
            )
        return found

    def _service_problems(self) -> list[str]:
        if self.kind != "service":
            found = []
            if self.restart is not None:
                found.append("restart= applies to services: declare it with @boot.service")
            if self.reset_after != RESET_AFTER:
                found.append("reset_after= applies to services: declare it with @boot.service")
            return found
        if self.style is not PhaseStyle.ASYNC:
            return [
                "a service is an async def that calls ctx.started(value) and keeps running; "
                f"this one is: {self.style.value}"
            ]
        return []

    def canonical(self) -> dict[str, Any]:
        """The options that define this phase, in a machine-independent form."""
        form = {
            "kind": self.kind,
            "style": self.style._name_,  # `.name` is a property, a few times slower
            "requires": list(self.requires),
        }
        form.update(zip(OPTIONS_BY_NAME, option_values(self), strict=True))
        for name, canonical in CANONICAL_CONVERSIONS:
            form[name] = canonical(form[name])
        return form


_STYLES: dict[CallKind, PhaseStyle] = {
    "function": PhaseStyle.SYNC,
    "coroutine": PhaseStyle.ASYNC,
    "async generator": PhaseStyle.ASYNC_GENERATOR,
    "generator": PhaseStyle.GENERATOR,
}


def classify(target: object) -> tuple[PhaseStyle, Callable[..., Any] | None, list[str]]:
    """Decide how `target` is run; returns its style, start callable and any problems.

    A function, a `functools.partial` or an instance with `__call__` is run as
    what calling it gives (an `async def __call__` is an async phase); any other
    object with a `start` method is a component.
    """
    if is_plain_function(target):
        return _STYLES[call_kind(target) or "function"], target, []
    if inspect.isclass(target) and callable(getattr(target, "start", None)):
        return (
            PhaseStyle.COMPONENT,
            None,
            [f"{target.__name__} is a class; pass an instance: boot.add({target.__name__}(...))"],
        )
    is_function = inspect.isroutine(target) or isinstance(target, functools.partial)
    start = None if is_function else getattr(target, "start", None)
    if start is not None and callable(start):
        problems = []
        stop = getattr(target, "stop", None)
        if stop is not None and not callable(stop):
            problems.append(f"{type(target).__name__}.stop must be a method")
        for method in ("start", "stop"):
            kind = call_kind(getattr(target, method, None))
            if kind is not None and kind.endswith("generator"):
                problems.append(
                    f"{type(target).__name__}.{method} is {with_article(kind)} function; "
                    "a component's start and stop are plain or async methods "
                    "(or make the phase a generator)"
                )
        return PhaseStyle.COMPONENT, start, problems
    kind = call_kind(target)
    if kind is None:
        return (
            PhaseStyle.SYNC,
            None,
            [f"{shown(target)} is neither callable nor has a start() method"],
        )
    return _STYLES[kind], cast("Callable[..., Any]", target), []


def inspect_parameters(start: Callable[..., Any]) -> tuple[tuple[str, ...], bool, list[str]]:
    """Dependencies named by `start`'s parameters, whether it takes `ctx`, and problems.

    As with pytest fixtures, a parameter with a default value is not a dependency.
    """
    parameters = _plain_parameters(start)
    if parameters is None:
        try:
            signature = inspect.signature(start)
        except (TypeError, ValueError) as exc:
            return (), False, [f"its signature cannot be read: {exc}"]
        parameters = [
            (p.name, p.kind is p.POSITIONAL_ONLY, p.default is not p.empty)
            for p in signature.parameters.values()
            if p.kind not in (p.VAR_POSITIONAL, p.VAR_KEYWORD)
        ]
    requires: list[str] = []
    wants_context = False
    problems: list[str] = []
    for name, positional_only, has_default in parameters:
        if name == CONTEXT_PARAMETER:
            wants_context = True
            continue
        if has_default:
            continue
        if positional_only:
            problems.append(
                f"parameter '{name}' is positional-only; dependencies are passed "
                "by name, so remove the '/' from the signature"
            )
            continue
        requires.append(name)
    return tuple(requires), wants_context, problems


def _plain_parameters(start: object) -> list[tuple[str, bool, bool]] | None:
    """Each named parameter of a plain function as (name, positional-only, has a default).

    Read from its code object, as `inspect.signature` would read it but a few
    times faster (declaration is part of boot time); None for anything else
    (a wrapper, a partial, a method, an explicit `__signature__`).
    """
    if not is_plain_function(start):
        return None
    code = start.__code__
    positional = code.co_argcount
    names = code.co_varnames[: positional + code.co_kwonlyargcount]
    first_default = positional - len(start.__defaults__ or ())
    keyword_defaults = start.__kwdefaults__ or {}
    return [
        (
            name,
            index < code.co_posonlyargcount,
            index >= first_default if index < positional else name in keyword_defaults,
        )
        for index, name in enumerate(names)
    ]


def source_of(target: object) -> str:
    """`file:line` where `target` (or its class) is defined, or '?'."""
    if is_plain_function(target):
        return f"{target.__code__.co_filename}:{target.__code__.co_firstlineno}"
    target = _unwrapped(target)
    function = inspect.unwrap(target) if inspect.isroutine(target) else None
    code = getattr(getattr(function, "__func__", function), "__code__", None)
    if code is not None:
        return f"{code.co_filename}:{code.co_firstlineno}"
    cls = target if inspect.isclass(target) else type(target)
    module = getattr(cls, "__module__", "?")
    return f"{module}.{cls.__qualname__}"


def build_spec(target: object, *, kind: PhaseKind, **options: Any) -> PhaseSpec:
    """Turn a function or start/stop object plus options into a `PhaseSpec`.

    Each option is checked as `PHASE_OPTIONS` declares it. Problems are recorded
    on the spec, not raised, so `Boot.validate()` can report every one of them
    at once; an invalid value is kept out of the spec (its default stands in).
    """
    style, start, problems = classify(target)
    if kind not in ("phase", "gate", "service"):
        problems.append(f"kind must be 'phase', 'gate' or 'service', got {shown(kind)}")
        kind = "phase"
    for unknown in sorted(options.keys() - OPTIONS_BY_NAME.keys()):
        guess = closest_name(unknown, OPTIONS_BY_NAME)
        hint = (
            f"did you mean {guess}=? {OPTIONS_BY_NAME[guess].meaning}"
            if guess
            else "the options are " + ", ".join(OPTIONS_BY_NAME)
        )
        problems.append(f"unknown option {unknown}= ({hint})")
    requires: tuple[str, ...] = ()
    wants_context = False
    if start is not None:
        requires, wants_context, found = inspect_parameters(start)
        problems += found
    stored = dict(DEFAULTS_STORED)  # an option not given keeps its default, a valid value
    for option in PHASE_OPTIONS if options else ():
        if option.name in options and option.name != "name":
            value = options[option.name]
            found = option.problems(value)
            problems += found
            stored[option.name] = option.default if found else option.store(value)
    stored["name"] = _name_of(target, options.get("name"), problems)
    if stored["description"] is None:
        doc = _docstring(target) if start is not None else None
        stored["description"] = doc.strip().splitlines()[0] if doc else ""
    return PhaseSpec(
        kind=kind,
        target=target,
        style=style,
        requires=requires,
        wants_context=wants_context,
        source=source_of(target),
        declared_problems=tuple(problems),
        options_checked=True,
        **stored,
    )


def _docstring(target: object) -> str | None:
    """`inspect.getdoc` of what `target` runs.

    A plain function defined outside a class has no docstring to inherit:
    its own is read without searching the classes of its module.
    """
    if is_plain_function(target) and "." not in target.__qualname__:
        doc = target.__doc__
        return inspect.cleandoc(doc) if isinstance(doc, str) else None
    return inspect.getdoc(_unwrapped(target))


def _name_of(target: object, given: object, problems: list[str]) -> str:
    """The phase's name: the given one, or the target's own; its problems are checked apart."""
    if given is None:
        function = _unwrapped(target)
        return getattr(function, "__name__", None) or type(function).__name__.lower()
    if isinstance(given, str):
        return given
    problems.append(f"name must be a str, got {shown(given)}")
    return shown(given)


def _unwrapped(target: object) -> object:
    """What a `functools.partial` wraps (its name, docstring and source are the phase's)."""
    while isinstance(target, functools.partial):
        target = target.func
    return target
