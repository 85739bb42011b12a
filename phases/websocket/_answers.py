"""Reading what a manager returns, whatever it is: bounded, cycle-safe, never raising."""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator, Mapping

from ._probe import describe_error, neutralise

_READ_BUDGET = 2_000
_MAX_IDS = 10_000


def snapshot(value: object) -> tuple[object, str | None]:
    """A comparable copy of a mapping the manager returned, or why it cannot be read.

    Returns:
        `(reading, None)`, where equal readings mean equal answers, or
        `(None, problem)` naming what was wrong ("a bool", "a mapping whose
        keys() raised RuntimeError: ...").
    """
    if not isinstance(value, Mapping):
        return None, _a(value)
    budget = [_READ_BUDGET]
    try:
        return _canonical(value, budget, set()), None
    except BaseException as exc:  # A hostile mapping may raise anything from any method.
        return None, f"a {neutralise(type(value).__name__)} that raised {describe_error(exc)}"


def _canonical(value: object, budget: list[int], seen: set[int]) -> object:
    budget[0] -= 1
    if budget[0] < 0:
        return "..."
    if value is None or type(value) in (bool, int, float, str, bytes):
        return (type(value).__name__, value)
    if id(value) in seen:
        return "<cycle>"
    if isinstance(value, Mapping):
        seen = seen | {id(value)}
        items = [(_canonical(k, budget, seen), _canonical(value[k], budget, seen)) for k in value]
        return ("map", tuple(sorted(items, key=repr)))
    if isinstance(value, list | tuple | set | frozenset):
        seen = seen | {id(value)}
        parts = [_canonical(item, budget, seen) for item in value]
        ordered = parts if isinstance(value, list | tuple) else sorted(parts, key=repr)
        return ("seq", tuple(ordered))
    return ("object", type(value).__name__)


def ids_of(value: object) -> tuple[set[str], str | None]:
    """The connection ids a manager reported, or what was wrong with its answer.

    Any collection of strings will do (a set, a list, the keys of a mapping of
    connection id to details); a string, bytes or a collection of anything
    else is not an answer.
    """
    if isinstance(value, str | bytes):
        return set(), _a(value)
    try:
        items = list(itertools.islice(iter(value), _MAX_IDS))  # type: ignore[call-overload]
    except BaseException as exc:  # A hostile iterable may raise anything.
        return set(), f"{_a(value)} whose iteration raised {describe_error(exc)}"
    for item in items:
        if type(item) is not str:
            return set(), f"{_a(value)} holding {_a(item)}"
    return set(items), None


def _strings_in(value: object) -> Iterator[str]:
    """Every string inside `value` (keys included), within the read budget.

    An answer that cannot be read ends the walk: it reveals nothing readable.
    """
    stack = [value]
    seen: set[int] = set()
    budget = _READ_BUDGET
    try:
        while stack and budget > 0:
            budget -= 1
            item = stack.pop()
            if isinstance(item, str):
                yield item
            elif id(item) in seen:
                continue
            elif isinstance(item, Mapping):
                seen.add(id(item))
                stack.extend(item.keys())
                stack.extend(item.values())
            elif isinstance(item, list | tuple | set | frozenset):
                seen.add(id(item))
                stack.extend(item)
    except BaseException:  # A hostile container may raise anything: stop reading it.
        return


def mentions_any(value: object, needles: set[str]) -> bool:
    """Say whether any string inside `value` (keys included) contains one of `needles`."""
    try:
        return any(needle in item for item in _strings_in(value) for needle in needles)
    except BaseException:  # A hostile string may raise anything: it reveals nothing readable.
        return False


_SEPARATORS = re.compile(r"[\s/,;|=]+")


def words_in(value: object) -> set[str]:
    """Every string inside `value` (keys included), whole and split at separators.

    `acme:u7/ws-1` gives itself, `acme:u7` and `ws-1`; an e-mail address or a
    tenant-prefixed id stays whole, so an id is found only where it stands alone.
    """
    found: set[str] = set()
    try:
        for item in _strings_in(value):
            found.add(item)
            found.update(_SEPARATORS.split(item))
    except BaseException:  # A hostile string may raise anything: keep what was read.
        return found
    return found


def _a(value: object) -> str:
    name = neutralise(type(value).__name__)
    if value is None or type(value) in (bool, int, float):
        return repr(value)
    return f"a{'n' if name[:1].lower() in 'aeiou' else ''} {name}"
