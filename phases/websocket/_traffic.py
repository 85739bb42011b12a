"""The traffic probe: real messages through two users' managers, and what arrived where."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._connection import WebSocketConnection
from ._context import UserExecutionContext
from ._findings import Findings, short_repr
from ._probe import BrokenProbeWebSocket, ProbeWebSocket, call_async, call_sync
from ._result import Concern

_NO_SHARED_STATE = (
    "Keep connections on the manager instance, one manager per user context; "
    "no class-level or module-level registry shared between managers."
)


@dataclass(frozen=True, slots=True)
class ProbeUser:
    """One of the two synthetic users the probe sends traffic for."""

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


class TrafficProbe:
    """Sends tagged messages through user A's and user B's managers and checks arrivals.

    It checks that A's messages reach A's connection, that nothing B's manager
    is asked to do reaches A's connection, that activity follows the registered
    connections, and that a failed delivery raises.

    Args:
        findings: Where violations are recorded, with the per-call time bound.
        nonce: Makes the probe's ids and message tags unique to this run.
    """

    def __init__(self, findings: Findings, *, nonce: str) -> None:
        self._findings = findings
        self._nonce = nonce
        self._tags = itertools.count()

    def _message(self) -> tuple[str, dict[str, Any]]:
        tag = f"smd-probe-{self._nonce}-message-{next(self._tags)}"
        return tag, {"type": "smd_probe", "probe": tag}

    async def run(self, a: ProbeUser, b: ProbeUser) -> bool:
        """Send real messages through both managers; return False if a call failed early."""
        for user in (a, b):
            if not await self._findings.succeeds(
                "manager.add_connection", user.manager.add_connection, user.connection
            ):
                return False
        await self._check_delivery(a)
        await self._check_isolation(a, b)
        await self._check_health(b)
        await self._check_failed_delivery(a)
        return True

    async def _check_delivery(self, a: ProbeUser) -> None:
        for method, target in (
            ("send_to_user", a.context.user_id),
            ("send_to_thread", a.context.thread_id),
            ("emit_critical_event", "smd_probe"),
        ):
            tag, message = self._message()
            before = len(a.websocket.received)
            label = f"manager.{method}"
            if not await self._findings.succeeds(
                label, getattr(a.manager, method), target, message
            ):
                continue
            if not any(_mentions(item, tag) for item in a.websocket.received[before:]):
                self._findings.fail(
                    f"{label}: a message sent through user A's manager never reached "
                    "user A's connection",
                    f"Deliver from {method} to every matching connection of the user, and "
                    "raise when a delivery fails instead of dropping the message.",
                    Concern.INTERFACE,
                )

    async def _check_isolation(self, a: ProbeUser, b: ProbeUser) -> None:
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
                self._findings.timeout, getattr(b.manager, method), target, self._message()[1]
            )
            if outcome.timed_out:
                self._findings.fail_call(f"manager.{method}", outcome, Concern.INTERFACE)
            # Refusing (raising) is the right answer for user A's targets; only arrivals count.
            if len(a.websocket.received) > before:
                leaks.append(shown)
        if leaks:
            self._findings.fail(
                f"isolation: user B's manager delivered to user A's connection via "
                f"{', '.join(leaks)}",
                _NO_SHARED_STATE,
                Concern.ISOLATION,
            )

    async def _check_health(self, b: ProbeUser) -> None:
        label = "manager.is_connection_active"
        active = await call_sync(
            self._findings.timeout, b.manager.is_connection_active, b.context.user_id
        )
        if not active.returned:
            self._findings.fail_call(label, active, Concern.INTERFACE)
            return
        if active.value is not True:
            self._findings.fail(
                f"{label}: returned {short_repr(active.value)} for a user with a connection",
                "Report activity from the connections actually registered.",
                Concern.INTERFACE,
            )
        connection_id = b.connection.connection_id
        if not await self._findings.succeeds(
            "manager.remove_connection", b.manager.remove_connection, connection_id
        ):
            return
        after = await call_sync(
            self._findings.timeout, b.manager.is_connection_active, b.context.user_id
        )
        if not after.returned:
            self._findings.fail_call(label, after, Concern.INTERFACE)
        elif after.value is not False:
            self._findings.fail(
                f"{label}: returned {short_repr(after.value)} after the user's only "
                "connection was removed",
                "Report health from the connections actually registered; never return "
                "True unconditionally.",
                Concern.INTERFACE,
            )
        await self._check_health_report(b)

    async def _check_health_report(self, b: ProbeUser) -> None:
        label = "manager.get_connection_health"
        health = await call_sync(
            self._findings.timeout, b.manager.get_connection_health, b.context.user_id
        )
        if not health.returned:
            self._findings.fail_call(label, health, Concern.INTERFACE)
        elif not isinstance(health.value, Mapping):
            self._findings.fail(
                f"{label}: returned {short_repr(health.value)}, not a mapping describing "
                "the connections",
                "Return a dict built from the connections actually registered.",
                Concern.INTERFACE,
            )

    async def _check_failed_delivery(self, a: ProbeUser) -> None:
        broken = WebSocketConnection(
            f"smd-probe-{self._nonce}-broken",
            a.context.user_id,
            BrokenProbeWebSocket(),
            thread_id=a.context.thread_id,
        )
        if not await self._findings.succeeds(
            "manager.add_connection", a.manager.add_connection, broken
        ):
            return
        outcome = await call_async(
            self._findings.timeout, a.manager.send_to_user, a.context.user_id, self._message()[1]
        )
        if outcome.timed_out:
            self._findings.fail_call("manager.send_to_user", outcome, Concern.INTERFACE)
        elif outcome.returned:
            self._findings.fail(
                "manager.send_to_user: a delivery to a failing connection raised nothing "
                "(reported as sent)",
                "Raise from send_to_user when any connection's send fails; never report a "
                "failed delivery as sent.",
                Concern.INTERFACE,
            )
        for connection in (broken, a.connection):
            await call_async(
                self._findings.timeout, a.manager.remove_connection, connection.connection_id
            )
