"""A phase read from its function (style, dependencies, source, docstring): the fast reading
of a plain function agrees with inspect."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from orchestrator._model import _checks, _phase
from orchestrator._model._phase import PhaseSpec, build_spec, inspect_parameters


def through_inspect(start: Callable[..., Any]) -> tuple[tuple[str, ...], bool, list[str]]:
    """What `inspect_parameters` returns when it reads the signature with `inspect`."""
    signature = inspect.signature(start)

    def wrapper(*args: Any, **kwargs: Any) -> Any:  # a __signature__ forces the slow reading
        return start(*args, **kwargs)

    wrapper.__signature__ = signature  # type: ignore[attr-defined]
    return inspect_parameters(wrapper)


def plain(a: object, b: object) -> object:
    return a, b


def defaults(a: object, b: object = 1, *, c: object, d: object = 2) -> object:
    return a, b, c, d


def positional_only(a: object, /, b: object, *args: object, c: object, **kwargs: object) -> object:
    return a, b, args, c, kwargs


def positional_only_with_default(a: object = 0, /, b: object = 1) -> object:
    return a, b


async def with_context(db: object, ctx: object, cache: object = None) -> object:
    return db, ctx, cache


def context_with_default(ctx: object = None, *, queue: object) -> object:
    return ctx, queue


def generator(db: object, *args: object) -> Iterator[object]:
    yield db


async def async_generator(db: object, **kwargs: object) -> AsyncIterator[object]:
    yield db


def closure() -> Callable[..., Any]:
    captured = 1

    def inner(a: object, b: object = captured) -> object:
        return a, b

    return inner


@pytest.mark.parametrize(
    "start",
    [
        plain,
        defaults,
        positional_only,
        positional_only_with_default,
        with_context,
        context_with_default,
        generator,
        async_generator,
        closure(),
        lambda: None,
        lambda x, *, y=3: (x, y),
    ],
)
def test_reading_a_plain_function_agrees_with_its_signature(start: Callable[..., Any]) -> None:
    assert inspect_parameters(start) == through_inspect(start)


def test_a_wrapped_function_is_read_through_its_wrapper_like_inspect_does() -> None:
    @functools.wraps(with_context)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return with_context(*args, **kwargs)

    assert inspect_parameters(wrapper) == (("db",), True, [])


# -- the whole spec: a plain function read fast, anything else through inspect -----------


def documented(settings: object, ctx: object) -> object:
    """Opens the pool.

    More lines that the description leaves out.
    """
    return settings, ctx


def with_an_attribute(settings: object) -> object:
    return settings


with_an_attribute.marker = "set by a decorator"  # type: ignore[attr-defined]


def with_a_signature(*args: object, **kwargs: object) -> object:
    return args, kwargs


with_a_signature.__signature__ = inspect.signature(plain)  # type: ignore[attr-defined]


def decorated(function: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return function(*args, **kwargs)

    return wrapper


class Base:
    def method(self, settings: object) -> object:
        """Documented on the base class only."""
        return settings

    @staticmethod
    def static(settings: object, *, cache: object = None) -> object:
        return settings, cache


class Derived(Base):
    def method(self, settings: object) -> object:  # inherits the base's docstring
        return settings


class SyncCall:
    def __call__(self, settings: object, ctx: object) -> object:
        return settings, ctx


class AsyncCall:
    async def __call__(self, database: object, *, cache: object = None) -> object:
        return database, cache


class Component:
    """A cache with start and stop."""

    async def start(self, settings: object, ctx: object) -> None: ...

    async def stop(self) -> None: ...


TRICKY: list[object] = [
    plain,
    defaults,
    positional_only,
    positional_only_with_default,
    with_context,
    context_with_default,
    generator,
    async_generator,
    closure(),
    lambda: None,
    lambda x, *, y=3: (x, y),
    documented,
    with_an_attribute,
    with_a_signature,
    decorated(with_context),
    decorated(async_generator),
    functools.partial(defaults, 1, c=2),
    functools.partial(with_context, cache=3),
    SyncCall(),
    AsyncCall(),
    Base().method,
    Derived().method,
    Derived.method,
    Base.static,
    Component(),
    Component,
    len,
    print,
]
if hasattr(inspect, "markcoroutinefunction"):  # Python 3.12 on: a def marked as a coroutine
    TRICKY.append(inspect.markcoroutinefunction(lambda settings: settings))


def read_through_inspect(target: object, monkeypatch: pytest.MonkeyPatch) -> PhaseSpec:
    """The spec `build_spec` gives when no function counts as plain (everything via inspect)."""
    with monkeypatch.context() as patch:
        patch.setattr(_checks, "is_plain_function", lambda target: False)
        patch.setattr(_phase, "is_plain_function", lambda target: False)
        return build_spec(target, kind="phase", name="p")


@pytest.mark.parametrize("target", TRICKY, ids=repr)
def test_a_declaration_reads_the_same_spec_as_through_inspect(
    target: object, monkeypatch: pytest.MonkeyPatch
) -> None:
    fast = build_spec(target, kind="phase", name="p")
    slow = read_through_inspect(target, monkeypatch)
    assert fast == slow
    assert (fast.declared_problems, fast.waits_for) == (slow.declared_problems, slow.waits_for)


def test_a_plain_function_gives_its_docstring_first_line_and_source() -> None:
    spec = build_spec(documented, kind="phase")
    assert (spec.name, spec.requires, spec.wants_context) == ("documented", ("settings",), True)
    assert spec.description == "Opens the pool."
    code = documented.__code__
    assert spec.source == f"{code.co_filename}:{code.co_firstlineno}"


def test_a_method_without_docstring_takes_the_one_it_overrides() -> None:
    assert build_spec(Derived.method, kind="phase").description == (
        "Documented on the base class only."
    )


def test_a_function_with_an_attribute_set_is_not_read_as_plain() -> None:
    assert not _checks.is_plain_function(with_an_attribute)
    assert not _checks.is_plain_function(decorated(plain))
    assert _checks.is_plain_function(plain)
