"""Checking by inspection that an object has the methods a protocol names."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from ._probe import neutralise
from ._result import Concern, Violation


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """How a protocol method must be callable.

    Attributes:
        name: The method name.
        forms: The positional calls a caller may make; the method must accept
            at least one of them (the protocol allows several for some methods).
        sample_kwargs: Keyword arguments a caller may add, as pairs; the method
            must accept the call both with and without them.
        is_async: Whether the method must be awaitable (`async def`, or a plain
            wrapper around one, as `functools.wraps` decorators make).
        shape: The call as a person reads it, for messages.
    """

    name: str
    forms: tuple[tuple[object, ...], ...]
    sample_kwargs: tuple[tuple[str, object], ...]
    is_async: bool
    shape: str


_SAMPLE_MESSAGE: dict[str, Any] = {"type": "probe"}

MANAGER_METHODS = (
    MethodSpec("add_connection", (("connection",),), (), True, "add_connection(connection)"),
    MethodSpec("remove_connection", (("connection-id",),), (), True, "remove_connection(id)"),
    MethodSpec(
        "send_to_user",
        (("user-id", _SAMPLE_MESSAGE),),
        (),
        True,
        "send_to_user(user_id, message)",
    ),
    MethodSpec(
        "send_to_thread",
        (("thread-id", _SAMPLE_MESSAGE),),
        (),
        True,
        "send_to_thread(thread_id, message)",
    ),
    MethodSpec(
        "emit_critical_event",
        (("event-type", _SAMPLE_MESSAGE), ("user-id", "event-type", _SAMPLE_MESSAGE)),
        (),
        True,
        "emit_critical_event(event_type, data) or emit_critical_event(user_id, event_type, data)",
    ),
    MethodSpec("get_user_connections", (("user-id",),), (), False, "get_user_connections(user_id)"),
    MethodSpec("is_connection_active", (("user-id",),), (), False, "is_connection_active(user_id)"),
    MethodSpec(
        "get_connection_health", (("user-id",),), (), False, "get_connection_health(user_id)"
    ),
)

FACTORY_METHODS = (
    MethodSpec(
        "create_manager",
        (("user-context",),),
        (("mode", "mode"), ("extra_option", "value")),
        False,
        "create_manager(user_context, mode=WebSocketManagerMode.UNIFIED, **kwargs)",
    ),
    MethodSpec(
        "validate_manager_instance",
        (("manager",),),
        (),
        False,
        "validate_manager_instance(manager) -> FactoryValidationResult",
    ),
    MethodSpec("supports_user_isolation", ((),), (), False, "supports_user_isolation() -> bool"),
)


def is_async_callable(method: object) -> bool:
    """Say whether calling `method` gives an awaitable by declaration.

    True for `async def` and for a plain wrapper around one that declares it
    (`functools.wraps` sets `__wrapped__`): such a decorator is an ordinary way
    to write an async method.
    """
    if inspect.iscoroutinefunction(method):
        return True
    try:
        unwrapped = inspect.unwrap(method)  # type: ignore[arg-type]
    except BaseException:  # A cycle of __wrapped__ or a raising attribute: no declaration to trust.
        return False
    return unwrapped is not method and inspect.iscoroutinefunction(unwrapped)


def check_method(
    subject: object, spec: MethodSpec, *, label: str, concern: Concern
) -> Violation | None:
    """Check that `subject` has a method callable as `spec` describes.

    Args:
        subject: The object to inspect; it is not called.
        spec: How the method must be callable.
        label: Prefix naming the method in the message ("create_manager",
            "manager.send_to_user").
        concern: Which capability a failure falsifies.

    Returns:
        The first problem found, or None when the method conforms.
    """
    kind = "async def" if spec.is_async else "def"
    declare = f"Declare `{kind} {spec.shape}`."
    try:
        method = getattr(subject, spec.name)
    except AttributeError:
        return Violation(f"{label}: method missing", declare, concern)
    except BaseException as exc:  # A property that raises anything is a finding, not a crash.
        detail = f"{label}: looking it up raised {neutralise(type(exc).__name__)}"
        return Violation(detail, declare, concern)
    try:
        is_callable = callable(method)
        is_async = is_async_callable(method)
    except BaseException as exc:  # A hostile object may raise from its own type checks.
        detail = f"{label}: inspecting it raised {neutralise(type(exc).__name__)}"
        return Violation(detail, declare, concern)
    if not is_callable:
        found = neutralise(type(method).__name__)
        return Violation(f"{label}: is a {found}, not a method", declare, concern)
    if spec.is_async and not is_async:
        return Violation(
            f"{label}: is a plain method; the protocol requires async def", declare, concern
        )
    if not spec.is_async and is_async:
        return Violation(
            f"{label}: is async def; the protocol requires a plain method", declare, concern
        )
    return _check_signature(method, spec, label=label, concern=concern, declare=declare)


def _check_signature(
    method: Any, spec: MethodSpec, *, label: str, concern: Concern, declare: str
) -> Violation | None:
    try:
        signature = inspect.signature(method)
    except BaseException:
        # Builtins and some C callables have no signature to compare; calling them decides.
        return None
    for form in spec.forms:
        try:
            # Callers such as the bridge omit the optional arguments, others pass them all.
            signature.bind(*form)
            signature.bind(*form, **dict(spec.sample_kwargs))
        except TypeError:
            continue
        return None
    return Violation(
        f"{label}: signature {spec.name}{neutralise(str(_unannotated(signature)))} "
        f"cannot be called as {spec.shape}",
        declare,
        concern,
    )


def _unannotated(signature: inspect.Signature) -> inspect.Signature:
    # Annotations make the line long and vary with `from __future__ import annotations`.
    empty = inspect.Parameter.empty
    return signature.replace(
        parameters=[p.replace(annotation=empty) for p in signature.parameters.values()],
        return_annotation=empty,
    )


def check_manager_interface(manager: object) -> list[Violation]:
    """Check every method of the manager protocol on `manager`, by inspection only.

    The verdict depends only on the methods `manager` resolves, so a caller that
    admits one manager per user (the bridge) may keep it per manager class, as
    long as the instance does not hold protocol methods of its own.

    Args:
        manager: The object to inspect; it is not called.

    Returns:
        A new list with one violation per non-conforming method, in protocol order.
    """
    found = (
        check_method(manager, spec, label=f"manager.{spec.name}", concern=Concern.INTERFACE)
        for spec in MANAGER_METHODS
    )
    return [violation for violation in found if violation is not None]


def manager_interface_violations(manager: object) -> tuple[str, ...]:
    """The violation lines of `check_manager_interface(manager)`, in protocol order."""
    return tuple(violation.detail for violation in check_manager_interface(manager))


def emit_takes_user_id(manager: object) -> bool | None:
    """Say which form the manager's `emit_critical_event` declares.

    Returns:
        True for the seed system's unified `(user_id, event_type, data)`, False
        for the per-user `(event_type, data)`, None when the declaration accepts
        both (`*args`) and only a call can tell.
    """
    try:
        signature = inspect.signature(manager.emit_critical_event)  # type: ignore[attr-defined]
    except BaseException:
        return None
    takes = [_binds(signature, form) for form in MANAGER_METHODS[4].forms]
    if takes == [False, True]:
        return True
    if takes == [True, False]:
        return False
    first = next(iter(signature.parameters), "")
    return True if first in ("user_id", "user") else None


def _binds(signature: inspect.Signature, form: tuple[object, ...]) -> bool:
    try:
        signature.bind(*form)
    except TypeError:
        return False
    return True


def qualified_type_name(subject: object) -> str:
    """Return `module.QualName` of the object's class, neutralised for printing."""
    cls = type(subject)
    return neutralise(f"{cls.__module__}.{cls.__qualname__}")
