"""Building and copying frozen, slotted dataclasses slot by slot, where it counts.

A frozen dataclass's own `__init__` goes through `object.__setattr__` once per
field, and `dataclasses.replace` looks every field up again before calling it:
for the records of a report or the phases of an included library, one of each
per phase, that is most of what they cost. These set each slot through its
descriptor, in code generated the way `dataclasses` generates `__init__`.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import fields
from typing import Any, TypeVar

_Frozen = TypeVar("_Frozen")

_UNCHANGED: Any = object()


def _slots_of(cls: type) -> tuple[list[str], dict[str, Any]]:
    names = [item.name for item in fields(cls)]
    namespace: dict[str, Any] = {"new": object.__new__, "cls": cls, "UNCHANGED": _UNCHANGED}
    for name in names:
        descriptor = getattr(cls, name)  # a slot's member descriptor
        namespace[f"set_{name}"] = descriptor.__set__
        namespace[f"get_{name}"] = descriptor.__get__
    return names, namespace


def slot_constructor(cls: type[_Frozen]) -> Callable[..., _Frozen]:
    """What `cls(...)` builds, taking every field by name (no defaults, no `__post_init__`)."""
    names, namespace = _slots_of(cls)
    lines = [f"def construct(*, {', '.join(names)}):", "    built = new(cls)"]
    lines += [f"    set_{name}(built, {name})" for name in names]
    lines.append("    return built")
    exec("\n".join(lines), namespace)
    constructor: Callable[..., _Frozen] = namespace["construct"]
    return constructor


def slot_copier(cls: type[_Frozen]) -> Callable[..., _Frozen]:
    """What `dataclasses.replace(instance, **changes)` gives, without its `__post_init__`.

    Only for changes to fields nothing else is derived from.
    """
    names, namespace = _slots_of(cls)
    lines = [f"def copy(instance, *, {', '.join(f'{name}=UNCHANGED' for name in names)}):"]
    lines.append("    built = new(cls)")
    lines += [
        f"    set_{name}(built, get_{name}(instance) if {name} is UNCHANGED else {name})"
        for name in names
    ]
    lines.append("    return built")
    exec("\n".join(lines), namespace)
    copier: Callable[..., _Frozen] = namespace["copy"]
    return copier
