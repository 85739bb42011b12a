"""The behavioural audit of one factory: every check the factory gate runs, in order."""

from __future__ import annotations

import inspect
import itertools
import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ._conformance import (
    FACTORY_METHODS,
    check_manager_interface,
    check_method,
    qualified_type_name,
)
from ._connection import WebSocketConnection
from ._context import UserExecutionContext
from ._probe import BrokenProbeWebSocket, Impostor, Outcome, ProbeWebSocket, call_async, call_sync
from ._result import Concern, FactoryValidationResult, Violation

_NO_SHARED_STATE = (
    "Keep connections on the manager instance, one manager per user context; "
    "no class-level or module-level registry shared between managers."
)


@dataclass(frozen=True, slots=True)
class _ProbeUser:
    """One of the two synthetic users the audit sends traffic for."""

    label: str
    context: UserExecutionContext
    manager: Any
    websocket: ProbeWebSocket
    connection: WebSocketConnection


def _mentions(value: object, tag: str) -> bool:
    if isinstance(value, str):
        return tag in value
    if isinstance(value, Mapping):
        return any(_mentions(item, tag) for item in (*value.keys(), *value.values()))
    if isinstance(value, list | tuple):
        return any(_mentions(item, tag) for item in value)
    return False


def _short_repr(value: object) -> str:
    # Plain values are shown as they are; objects by type, so lines stay stable across runs.
    if value is None or isinstance(value, bool | int | float | str):
        text = repr(value)
        return text if len(text) <= 60 else f"{text[:57]}..."
    return f"a {type(value).__name__}"


class FactoryAudit:
    """Runs every check against one factory and collects what failed.

    Each call into the factory or its managers is bounded by `call_timeout`; a call
    that hangs becomes a violation and the checks that depend on it are skipped
    rather than reported again.

    Args:
        factory: The object to audit.
        call_timeout: Seconds any one call may take.
    """

    def __init__(self, factory: object, *, call_timeout: float) -> None:
        self._factory: Any = factory
        self._timeout = call_timeout
        self._nonce = secrets.token_hex(4)
        self._tags = itertools.count()
        self._violations: list[Violation] = []
        self._checked: set[Concern] = set()
        self._manager_type: str | None = None

    async def run(self) -> FactoryValidationResult:
        """Run the checks and return what they found."""
        await self._audit()
        return FactoryValidationResult.from_violations(
            self._violations, manager_type=self._manager_type, checked=self._checked
        )

    async def _audit(self) -> None:
        usable = self._check_factory_methods()
        if "supports_user_isolation" in usable:
            await self._check_isolation_claim()
        if "create_manager" not in usable or not await self._check_missing_context():
            return
        users = await self._create_probe_users()
        if users is None:
            return
        first, second = users
        distinct = self._check_distinct(first, second)
        compliant = self._check_interfaces(first, second)
        if "validate_manager_instance" in usable:
            await self._check_self_validation(first.manager)
        self._checked.add(Concern.FACTORY_METHOD)
        if compliant and distinct and await self._check_traffic(first, second):
            self._checked.update((Concern.INTERFACE, Concern.ISOLATION))

    def _fail(self, detail: str, action: str, concern: Concern) -> None:
        self._violations.append(Violation(detail, action, concern))

    def _fail_call(self, label: str, outcome: Outcome, concern: Concern, when: str = "") -> None:
        suffix = f" {when}" if when else ""
        if outcome.timed_out:
            self._fail(
                f"{label}: did not return within {self._timeout:g}s{suffix}",
                f"Make {label} return promptly; the gate bounds every call and a hung "
                "call would hang the boot.",
                concern,
            )
        else:
            self._fail(
                f"{label}: raised {outcome.describe_error()}{suffix}",
                f"Make {label} succeed for this input; see the error it raised.",
                concern,
            )

    def _check_factory_methods(self) -> set[str]:
        usable: set[str] = set()
        for spec in FACTORY_METHODS:
            violation = check_method(
                self._factory, spec, label=spec.name, concern=Concern.FACTORY_METHOD
            )
            if violation is None:
                usable.add(spec.name)
            else:
                self._violations.append(violation)
        return usable

    async def _check_isolation_claim(self) -> None:
        outcome = await call_sync(self._timeout, self._factory.supports_user_isolation)
        if not outcome.returned:
            self._fail_call("supports_user_isolation", outcome, Concern.ISOLATION)
        elif outcome.value is not True:
            self._fail(
                f"supports_user_isolation: returned {_short_repr(outcome.value)}, not True",
                "Serve each user context from its own manager, and return True.",
                Concern.ISOLATION,
            )

    async def _create_manager(self, user_context: UserExecutionContext | None) -> Outcome:
        create: Callable[..., Any] = self._factory.create_manager
        outcome = await call_sync(self._timeout, create, user_context)
        if outcome.returned and inspect.isawaitable(outcome.value):
            if inspect.iscoroutine(outcome.value):
                outcome.value.close()
            message = "returned an awaitable, not a manager"
            return Outcome(error=TypeError(message))
        return outcome

    async def _check_missing_context(self) -> bool:
        """Check `create_manager(None)`; return False when the factory hung."""
        outcome = await self._create_manager(None)
        if outcome.timed_out:
            self._fail_call(
                "create_manager", outcome, Concern.FACTORY_METHOD, "for user_context=None"
            )
            return False
        if not outcome.returned:
            return True
        if getattr(self._factory, "require_user_context", True) is not False:
            self._fail(
                "create_manager: returned a manager for a missing user context (None) "
                "instead of raising",
                "Raise ValueError from create_manager when user_context is None.",
                Concern.ISOLATION,
            )
            return True
        again = await self._create_manager(None)
        if again.returned and again.value is outcome.value:
            self._fail(
                "create_manager: handed the same manager to two callers without a user context",
                "Give every call without a user context a fresh manager.",
                Concern.ISOLATION,
            )
        return True

    async def _create_probe_users(self) -> tuple[_ProbeUser, _ProbeUser] | None:
        users: list[_ProbeUser] = []
        for label in ("A", "B"):
            tag = f"smd-probe-{self._nonce}-{label.lower()}"
            context = UserExecutionContext(
                user_id=f"{tag}-user", thread_id=f"{tag}-thread", run_id=f"{tag}-run"
            )
            outcome = await self._create_manager(context)
            if not outcome.returned:
                self._fail_call(
                    "create_manager", outcome, Concern.FACTORY_METHOD, "for a valid user context"
                )
                return None
            if outcome.value is None:
                self._fail(
                    "create_manager: returned None for a valid user context",
                    "Return the manager created for the user context.",
                    Concern.FACTORY_METHOD,
                )
                return None
            websocket = ProbeWebSocket()
            connection = WebSocketConnection(
                f"{tag}-connection", context.user_id, websocket, thread_id=context.thread_id
            )
            users.append(_ProbeUser(label, context, outcome.value, websocket, connection))
        return users[0], users[1]

    def _check_distinct(self, first: _ProbeUser, second: _ProbeUser) -> bool:
        if first.manager is not second.manager:
            return True
        self._fail(
            "create_manager: two users received the same manager instance",
            "Return a new manager from every create_manager call; never reuse one "
            "across user contexts.",
            Concern.ISOLATION,
        )
        return False

    def _check_interfaces(self, first: _ProbeUser, second: _ProbeUser) -> bool:
        self._manager_type = qualified_type_name(first.manager)
        found = check_manager_interface(first.manager)
        if type(second.manager) is not type(first.manager):
            found += check_manager_interface(second.manager)
        unique = list(dict.fromkeys(found))
        self._violations.extend(unique)
        return not unique

    async def _check_self_validation(self, manager: object) -> None:
        validate: Callable[..., Any] = self._factory.validate_manager_instance
        label = "validate_manager_instance"
        for subject, expected, what in (
            (manager, True, "a manager the factory created"),
            (Impostor(), False, "an object that is not a manager"),
        ):
            outcome = await call_sync(self._timeout, validate, subject)
            verdict = getattr(outcome.value, "is_valid", None)
            if not outcome.returned:
                self._fail_call(label, outcome, Concern.FACTORY_METHOD, f"for {what}")
            elif not isinstance(verdict, bool):
                self._fail(
                    f"{label}: returned {_short_repr(outcome.value)} for {what}, "
                    "not a FactoryValidationResult",
                    "Return a FactoryValidationResult from validate_manager_instance.",
                    Concern.FACTORY_METHOD,
                )
            elif verdict and not expected:
                self._fail(
                    f"{label}: accepted {what} (an impostor that passes hasattr checks)",
                    "Judge the manager by its type and behaviour, not by hasattr.",
                    Concern.FACTORY_METHOD,
                )
            elif expected and not verdict:
                self._fail(
                    f"{label}: rejected {what}",
                    "Make validate_manager_instance accept the managers create_manager returns.",
                    Concern.FACTORY_METHOD,
                )

    def _message(self) -> tuple[str, dict[str, Any]]:
        tag = f"smd-probe-{self._nonce}-message-{next(self._tags)}"
        return tag, {"type": "smd_probe", "probe": tag}

    async def _succeeds(self, label: str, function: Callable[..., Any], *args: Any) -> bool:
        outcome = await call_async(self._timeout, function, *args)
        if not outcome.returned:
            self._fail_call(label, outcome, Concern.INTERFACE)
        return outcome.returned

    async def _check_traffic(self, a: _ProbeUser, b: _ProbeUser) -> bool:
        """Send real messages through both managers; return False if a call failed early."""
        for user in (a, b):
            if not await self._succeeds(
                "manager.add_connection", user.manager.add_connection, user.connection
            ):
                return False
        await self._check_delivery(a)
        await self._check_isolation(a, b)
        await self._check_health(b)
        await self._check_failed_delivery(a)
        return True

    async def _check_delivery(self, a: _ProbeUser) -> None:
        for method, target in (
            ("send_to_user", a.context.user_id),
            ("send_to_thread", a.context.thread_id),
            ("emit_critical_event", "smd_probe"),
        ):
            tag, message = self._message()
            before = len(a.websocket.received)
            label = f"manager.{method}"
            if not await self._succeeds(label, getattr(a.manager, method), target, message):
                continue
            if not any(_mentions(item, tag) for item in a.websocket.received[before:]):
                self._fail(
                    f"{label}: a message sent through user A's manager never reached "
                    "user A's connection",
                    f"Deliver from {method} to every matching connection of the user, and "
                    "raise when a delivery fails instead of dropping the message.",
                    Concern.INTERFACE,
                )

    async def _check_isolation(self, a: _ProbeUser, b: _ProbeUser) -> None:
        leaks: list[str] = []
        for method, target, shown in (
            ("send_to_user", b.context.user_id, "send_to_user(user B)"),
            ("send_to_thread", b.context.thread_id, "send_to_thread(thread B)"),
            ("emit_critical_event", "smd_probe", "emit_critical_event"),
            ("send_to_user", a.context.user_id, "send_to_user(user A)"),
            ("send_to_thread", a.context.thread_id, "send_to_thread(thread A)"),
        ):
            before = len(a.websocket.received)
            outcome = await call_async(
                self._timeout, getattr(b.manager, method), target, self._message()[1]
            )
            if outcome.timed_out:
                self._fail_call(f"manager.{method}", outcome, Concern.INTERFACE)
            # Refusing (raising) is the right answer for user A's targets; only arrivals count.
            if len(a.websocket.received) > before:
                leaks.append(shown)
        if leaks:
            self._fail(
                f"isolation: user B's manager delivered to user A's connection via "
                f"{', '.join(leaks)}",
                _NO_SHARED_STATE,
                Concern.ISOLATION,
            )

    async def _check_health(self, b: _ProbeUser) -> None:
        label = "manager.is_connection_active"
        active = await call_sync(self._timeout, b.manager.is_connection_active, b.context.user_id)
        if not active.returned:
            self._fail_call(label, active, Concern.INTERFACE)
            return
        if active.value is not True:
            self._fail(
                f"{label}: returned {_short_repr(active.value)} for a user with a connection",
                "Report activity from the connections actually registered.",
                Concern.INTERFACE,
            )
        connection_id = b.connection.connection_id
        if not await self._succeeds(
            "manager.remove_connection", b.manager.remove_connection, connection_id
        ):
            return
        after = await call_sync(self._timeout, b.manager.is_connection_active, b.context.user_id)
        if after.returned and after.value is not False:
            self._fail(
                f"{label}: returned {_short_repr(after.value)} after the user's only "
                "connection was removed",
                "Report health from the connections actually registered; never return "
                "True unconditionally.",
                Concern.INTERFACE,
            )

    async def _check_failed_delivery(self, a: _ProbeUser) -> None:
        broken = WebSocketConnection(
            f"smd-probe-{self._nonce}-broken",
            a.context.user_id,
            BrokenProbeWebSocket(),
            thread_id=a.context.thread_id,
        )
        if not await self._succeeds("manager.add_connection", a.manager.add_connection, broken):
            return
        outcome = await call_async(
            self._timeout, a.manager.send_to_user, a.context.user_id, self._message()[1]
        )
        if outcome.timed_out:
            self._fail_call("manager.send_to_user", outcome, Concern.INTERFACE)
        elif outcome.returned:
            self._fail(
                "manager.send_to_user: a delivery to a failing connection raised nothing "
                "(reported as sent)",
                "Raise from send_to_user when any connection's send fails; never report a "
                "failed delivery as sent.",
                Concern.INTERFACE,
            )
        for connection in (broken, a.connection):
            await call_async(self._timeout, a.manager.remove_connection, connection.connection_id)
