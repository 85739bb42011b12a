"""Checking by inspection that an object has the methods a protocol names."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from ._result import Concern, Violation


@dataclass(frozen=True, slots=True)
class MethodSpec:
    """How a protocol method must be callable.

    Attributes:
        name: The method name.
        sample_args: Positional arguments every caller passes.
        sample_kwargs: Keyword arguments a caller may add, as pairs; the method
            must accept the call both with and without them.
        is_async: Whether the method must be `async def`.
        shape: The call as a person reads it, for messages.
    """

    name: str
    sample_args: tuple[object, ...]
    sample_kwargs: tuple[tuple[str, object], ...]
    is_async: bool
    shape: str


_SAMPLE_MESSAGE: dict[str, Any] = {"type": "probe"}

MANAGER_METHODS = (
    MethodSpec("add_connection", ("connection",), (), True, "add_connection(connection)"),
    MethodSpec("remove_connection", ("connection-id",), (), True, "remove_connection(id)"),
    MethodSpec(
        "send_to_user", ("user-id", _SAMPLE_MESSAGE), (), True, "send_to_user(user_id, message)"
    ),
    MethodSpec(
        "send_to_thread",
        ("thread-id", _SAMPLE_MESSAGE),
        (),
        True,
        "send_to_thread(thread_id, message)",
    ),
    MethodSpec(
        "emit_critical_event",
        ("event-type", _SAMPLE_MESSAGE),
        (),
        True,
        "emit_critical_event(event_type, data)",
    ),
    MethodSpec("get_user_connections", ("user-id",), (), False, "get_user_connections(user_id)"),
    MethodSpec("is_connection_active", ("user-id",), (), False, "is_connection_active(user_id)"),
    MethodSpec("get_connection_health", ("user-id",), (), False, "get_connection_health(user_id)"),
)

FACTORY_METHODS = (
    MethodSpec(
        "create_manager",
        ("user-context",),
        (("mode", "mode"), ("extra_option", "value")),
        False,
        "create_manager(user_context, mode=WebSocketManagerMode.UNIFIED, **kwargs)",
    ),
    MethodSpec(
        "validate_manager_instance",
        ("manager",),
        (),
        False,
        "validate_manager_instance(manager) -> FactoryValidationResult",
    ),
    MethodSpec("supports_user_isolation", (), (), False, "supports_user_isolation() -> bool"),
)


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
    except Exception as exc:  # A property that raises is a finding about the subject.
        detail = f"{label}: looking it up raised {type(exc).__name__}"
        return Violation(detail, declare, concern)
    if not callable(method):
        found = type(method).__name__
        return Violation(f"{label}: is a {found}, not a method", declare, concern)
    if spec.is_async and not inspect.iscoroutinefunction(method):
        return Violation(
            f"{label}: is a plain method; the protocol requires async def", declare, concern
        )
    if not spec.is_async and inspect.iscoroutinefunction(method):
        return Violation(
            f"{label}: is async def; the protocol requires a plain method", declare, concern
        )
    return _check_signature(method, spec, label=label, concern=concern, declare=declare)


def _check_signature(
    method: Any, spec: MethodSpec, *, label: str, concern: Concern, declare: str
) -> Violation | None:
    try:
        signature = inspect.signature(method)
    except (TypeError, ValueError):
        # Builtins and some C callables have no signature to compare; calling them decides.
        return None
    try:
        # Callers such as the bridge omit the optional arguments, others pass them all.
        signature.bind(*spec.sample_args)
        signature.bind(*spec.sample_args, **dict(spec.sample_kwargs))
    except TypeError:
        return Violation(
            f"{label}: signature {spec.name}{_unannotated(signature)} "
            f"cannot be called as {spec.shape}",
            declare,
            concern,
        )
    return None


def _unannotated(signature: inspect.Signature) -> inspect.Signature:
    # Annotations make the line long and vary with `from __future__ import annotations`.
    empty = inspect.Parameter.empty
    return signature.replace(
        parameters=[p.replace(annotation=empty) for p in signature.parameters.values()],
        return_annotation=empty,
    )


def check_manager_interface(manager: object) -> list[Violation]:
    """Check every method of the manager protocol on `manager`, by inspection only.

    Args:
        manager: The object to inspect.

    Returns:
        One violation per non-conforming method, in protocol order.
    """
    found = (
        check_method(manager, spec, label=f"manager.{spec.name}", concern=Concern.INTERFACE)
        for spec in MANAGER_METHODS
    )
    return [violation for violation in found if violation is not None]


def qualified_type_name(subject: object) -> str:
    """Return `module.QualName` of the object's class, for messages."""
    cls = type(subject)
    return f"{cls.__module__}.{cls.__qualname__}"
