"""A phase's dependencies read from its parameters: the fast reading agrees with inspect."""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any

import pytest

from orchestrator._model._phase import inspect_parameters


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
