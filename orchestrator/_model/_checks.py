"""Checks of single values given by users: numbers, seconds, callables, and a safe repr.

Each check returns the problems it found as lines that start with the option's
name, so a diagnostic can list them all; none of them raises, whatever it is given.
"""

from __future__ import annotations

import functools
import inspect
import math
import types
from collections.abc import Iterable
from typing import Literal, TypeGuard

_SHOWN_LIMIT = 80

LONGEST_WAIT = 1e9
"""The most seconds any timeout or delay may be (about 31 years).

Longer is a hang by another name, and it keeps every conversion exact: systemd's
microseconds, and thread waits, which Python bounds at `threading.TIMEOUT_MAX`.
"""


def shown(value: object) -> str:
    """`repr(value)`, shortened, and never raising (huge ints and hostile reprs included)."""
    try:
        text = repr(value)
    except Exception as exc:  # a broken __repr__ must not hide the problem it would show
        return f"<{type(value).__name__} object whose repr() raised {type(exc).__name__}>"
    if len(text) > _SHOWN_LIMIT:
        return text[: _SHOWN_LIMIT - 3] + "..."
    return text


def is_number(value: object) -> bool:
    """Whether `value` is an int or a float, `bool` excluded (True is an int to Python only)."""
    return isinstance(value, int | float) and not isinstance(value, bool)


def is_finite(value: int | float) -> bool:
    """Whether `value` is a finite float once converted (NaN, infinities and huge ints are not)."""
    try:
        return math.isfinite(float(value))
    except OverflowError:
        return False


def number_problems(
    option: str,
    value: object,
    *,
    minimum: float,
    allow_minimum: bool = True,
    maximum: float | None = None,
    what: str = "number",
    unit: str = "",
    none_means: str | None = None,
) -> list[str]:
    """Why `value` is not a finite number from `minimum` (excluded unless `allow_minimum`) up.

    Args:
        option: the name the lines start with.
        value: what the user gave.
        minimum: the lower bound.
        allow_minimum: whether `minimum` itself is allowed.
        maximum: the upper bound (allowed), or None for none.
        what: the kind of number expected ("number of seconds").
        unit: appended to the bound (" seconds").
        none_means: when None is allowed, what it means (shown beside an infinity);
            None when None is not allowed.
    """
    if value is None and none_means is not None:
        return []
    if not is_number(value):
        return [f"{option} must be a {what}, got {shown(value)}"]
    assert isinstance(value, int | float)
    if not is_finite(value):
        hint = f" (None means {none_means})" if none_means is not None else ""
        return [f"{option} must be a finite {what}, got {shown(value)}{hint}"]
    if value < minimum or (value == minimum and not allow_minimum):
        bound = f"{'>=' if allow_minimum else '>'} {minimum:g}{unit}"
        return [f"{option} must be {bound}, got {shown(value)}"]
    if maximum is not None and value > maximum:
        hint = f" (None means {none_means})" if none_means is not None else ""
        return [f"{option} must be <= {maximum:g}{unit}, got {shown(value)}{hint}"]
    return []


def seconds_problems(
    option: str, value: object, *, allow_zero: bool, none_means: str | None = "no limit"
) -> list[str]:
    """Why `value` is not a usable number of seconds (None allowed when `none_means` is set).

    Usable means finite, not negative (nor zero unless `allow_zero`), and at most
    `LONGEST_WAIT`.
    """
    return number_problems(
        option,
        value,
        minimum=0,
        allow_minimum=allow_zero,
        maximum=LONGEST_WAIT,
        what="number of seconds",
        unit=" seconds",
        none_means=none_means,
    )


CallKind = Literal["function", "coroutine", "async generator", "generator"]


def is_plain_function(target: object) -> TypeGuard[types.FunctionType]:
    """Whether `target` is a `def` or a lambda with no attribute set on it.

    What such a function is and takes is read straight from its code object,
    which is what `inspect` ends up reading too, a few times faster. Anything
    set on it (`__wrapped__`, `__signature__`, a coroutine mark) can change
    what `inspect` says, so such a function is left to `inspect`.
    """
    return type(target) is types.FunctionType and not target.__dict__


def _code_kind(function: types.FunctionType) -> CallKind:
    """`call_kind` of a plain function, from its code flags as `inspect` reads them."""
    flags = function.__code__.co_flags
    if flags & inspect.CO_ASYNC_GENERATOR:
        return "async generator"
    if flags & inspect.CO_GENERATOR:
        return "generator"
    if flags & inspect.CO_COROUTINE:
        return "coroutine"
    return "function"


def call_kind(target: object) -> CallKind | None:
    """What calling `target` gives, seen through `functools.partial` and `__call__`.

    An instance whose class defines `async def __call__` is a coroutine function
    to its callers even though `inspect.iscoroutinefunction` says no; a partial
    is whatever it wraps. None when `target` is not callable.
    """
    if is_plain_function(target):
        return _code_kind(target)
    function = target
    while isinstance(function, functools.partial):
        function = function.func
    if not callable(function):
        return None
    if not (inspect.isroutine(function) or inspect.isclass(function)):
        function = type(function).__call__
    if inspect.isasyncgenfunction(function):
        return "async generator"
    if inspect.isgeneratorfunction(function):
        return "generator"
    if inspect.iscoroutinefunction(function):
        return "coroutine"
    return "function"


def with_article(kind: CallKind) -> str:
    """`kind` after its indefinite article: "a coroutine", "an async generator"."""
    return f"{'an' if kind[0] in 'aeiou' else 'a'} {kind}"


def closest_name(word: str, names: Iterable[str]) -> str | None:
    """The name in `names` most like `word`, for a did-you-mean, or None when none is close."""
    import difflib  # only a mistake needs it: kept out of `import orchestrator`

    guesses = difflib.get_close_matches(word, list(names), n=1, cutoff=0.6)
    return guesses[0] if guesses else None


def checked_budget(value: object) -> float | None:
    """`Boot(name, budget=...)`'s value, refused where it is given.

    Raises:
        TypeError: it is not a number (nor None).
        ValueError: it is not a finite number of seconds greater than 0.
    """
    if value is None:
        return None
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise TypeError(f"budget must be a number of seconds or None, got {shown(value)}")
    problems = seconds_problems("budget", value, allow_zero=False)
    if problems:
        raise ValueError("; ".join(problems))
    return float(value)
