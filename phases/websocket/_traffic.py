"""The traffic probe: real messages through two users' managers, and what arrived where."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from ._connection import WebSocketConnection
from ._context import UserExecutionContext
from ._findings import Findings, short_repr
from ._probe import BrokenProbeWebSocket, ProbeWebSocket, call_async, call_sync, ordinary_id
from ._result import Concern

_CRITICAL_EVENT = "agent_completed"
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
    if isinstance(value, list | tuple | set | frozenset):
        return any(_mentions(item, tag) for item in value)
    return False


class TrafficProbe:
    """Sends tagged messages through user A's and user B's managers and checks arrivals.

    It checks that A's messages reach A's connection; that nothing either
    user's manager is asked to do reaches the other user's connection, nor
    delivers a message addressed to the other user to its own; that B's manager
    neither reports nor disconnects A's connection; that activity follows the
    registered connections; and that a failed delivery raises.

    Args:
        findings: Where violations are recorded, with the per-call time bound.
    """

    def __init__(self, findings: Findings) -> None:
        self._findings = findings

    def _message(self) -> tuple[str, dict[str, Any]]:
        tag = ordinary_id("step")
        return tag, {"type": "agent_thinking", "reasoning": tag}

    async def run(self, a: ProbeUser, b: ProbeUser) -> bool:
        """Send real messages through both managers; return False if a call failed early."""
        for user in (a, b):
            if not await self._findings.succeeds(
                "manager.add_connection", user.manager.add_connection, user.connection
            ):
                return False
        delivers = await self._check_delivery(a)
        # A delivery leak already proves shared state; the finer checks would only repeat it.
        if await self._check_isolation(a, b):
            if await self._check_misaddressed(sender=b, addressee=a):
                await self._check_misaddressed(sender=a, addressee=b)
            await self._check_reports(sender=b, owner=a)
            if delivers:
                await self._check_removal(sender=b, owner=a)
        await self._check_health(b)
        await self._check_failed_delivery(a)
        return True

    async def _reaches(self, user: ProbeUser, method: str, target: str) -> bool | None:
        """Send a tagged message through `user`'s manager; None if the call failed."""
        tag, message = self._message()
        before = len(user.websocket.received)
        label = f"manager.{method}"
        if not await self._findings.succeeds(label, getattr(user.manager, method), target, message):
            return None
        return any(_mentions(item, tag) for item in user.websocket.received[before:])

    async def _check_delivery(self, a: ProbeUser) -> bool:
        """Check A's own traffic arrives; return whether send_to_user delivered."""
        delivered: dict[str, bool | None] = {}
        for method, target in (
            ("send_to_user", a.context.user_id),
            ("send_to_thread", a.context.thread_id),
            ("emit_critical_event", _CRITICAL_EVENT),
        ):
            label = f"manager.{method}"
            delivered[method] = await self._reaches(a, method, target)
            if delivered[method] is False:
                self._findings.fail(
                    f"{label}: a message sent through user A's manager never reached "
                    "user A's connection",
                    f"Deliver from {method} to every matching connection of the user, and "
                    "raise when a delivery fails instead of dropping the message.",
                    Concern.INTERFACE,
                )
        return delivered["send_to_user"] is True

    async def _leaks(self, sender: ProbeUser, victim: ProbeUser) -> list[str]:
        """Everything `sender`'s manager is asked to do; return what reached `victim`."""
        leaks: list[str] = []
        for method, target, shown in (
            ("send_to_user", sender.context.user_id, f"send_to_user(user {sender.label})"),
            ("send_to_thread", sender.context.thread_id, f"send_to_thread(thread {sender.label})"),
            ("emit_critical_event", _CRITICAL_EVENT, "emit_critical_event"),
            ("send_to_user", victim.context.user_id, f"send_to_user(user {victim.label})"),
            ("send_to_thread", victim.context.thread_id, f"send_to_thread(thread {victim.label})"),
        ):
            before = len(victim.websocket.received)
            outcome = await call_async(
                self._findings.timeout, getattr(sender.manager, method), target, self._message()[1]
            )
            if outcome.timed_out:
                self._findings.fail_call(f"manager.{method}", outcome, Concern.INTERFACE)
            # Refusing (raising) is the right answer for the victim's targets; only arrivals count.
            if len(victim.websocket.received) > before:
                leaks.append(shown)
        return leaks

    async def _check_isolation(self, a: ProbeUser, b: ProbeUser) -> bool:
        """Check nothing crosses between the users; return True when nothing did."""
        # The reverse direction catches one-way sharing (a registry only earlier managers see).
        for sender, victim in ((b, a), (a, b)):
            leaks = await self._leaks(sender, victim)
            if leaks:
                self._findings.fail(
                    f"isolation: user {sender.label}'s manager delivered to user "
                    f"{victim.label}'s connection via {', '.join(leaks)}",
                    _NO_SHARED_STATE,
                    Concern.ISOLATION,
                )
                return False
        return True

    async def _check_misaddressed(self, *, sender: ProbeUser, addressee: ProbeUser) -> bool:
        """Check `sender`'s manager keeps mail for `addressee` off its own connection."""
        wrong: list[str] = []
        for method, target, shown in (
            ("send_to_user", addressee.context.user_id, f"send_to_user(user {addressee.label})"),
            (
                "send_to_thread",
                addressee.context.thread_id,
                f"send_to_thread(thread {addressee.label})",
            ),
        ):
            before = len(sender.websocket.received)
            await call_async(
                self._findings.timeout, getattr(sender.manager, method), target, self._message()[1]
            )
            if len(sender.websocket.received) > before:
                wrong.append(shown)
        if wrong:
            self._findings.fail(
                f"isolation: user {sender.label}'s manager delivered messages addressed to "
                f"user {addressee.label} to user {sender.label}'s own connection via "
                f"{', '.join(wrong)}",
                "Deliver only to the user and thread a message is addressed to; refuse (raise "
                "for) a user or thread the manager does not serve.",
                Concern.ISOLATION,
            )
        return not wrong

    async def _check_reports(self, *, sender: ProbeUser, owner: ProbeUser) -> None:
        connection_id = owner.connection.connection_id
        reported: list[str] = []
        for method in ("get_user_connections", "is_connection_active", "get_connection_health"):
            outcome = await call_sync(
                self._findings.timeout, getattr(sender.manager, method), owner.context.user_id
            )
            if outcome.timed_out:
                self._findings.fail_call(f"manager.{method}", outcome, Concern.INTERFACE)
            # Raising is a fine answer about a user the manager does not serve.
            elif outcome.returned and (
                _mentions(outcome.value, connection_id)
                or (
                    method == "is_connection_active"
                    and outcome.value is True
                    and not await self._always_active(sender)
                )
            ):
                reported.append(f"{method}(user {owner.label})")
        if reported:
            self._findings.fail(
                f"isolation: user {sender.label}'s manager reported user {owner.label}'s "
                f"connection via {', '.join(reported)}",
                "Answer get_user_connections, is_connection_active and get_connection_health "
                "from the manager's own connections only. " + _NO_SHARED_STATE,
                Concern.ISOLATION,
            )

    async def _always_active(self, user: ProbeUser) -> bool:
        # An is_connection_active that says True even for a stranger is the health check's
        # finding, not proof of shared state.
        stranger = ordinary_id("user")
        outcome = await call_sync(
            self._findings.timeout, user.manager.is_connection_active, stranger
        )
        return outcome.returned and outcome.value is True

    async def _check_removal(self, *, sender: ProbeUser, owner: ProbeUser) -> None:
        connection_id = owner.connection.connection_id
        outcome = await call_async(
            self._findings.timeout, sender.manager.remove_connection, connection_id
        )
        if outcome.timed_out:
            self._findings.fail_call("manager.remove_connection", outcome, Concern.INTERFACE)
            return
        tag, message = self._message()
        before = len(owner.websocket.received)
        await call_async(
            self._findings.timeout, owner.manager.send_to_user, owner.context.user_id, message
        )
        if not any(_mentions(item, tag) for item in owner.websocket.received[before:]):
            self._findings.fail(
                f"isolation: user {sender.label}'s manager disconnected user {owner.label}'s "
                f"connection via remove_connection(user {owner.label}'s connection id)",
                "Remove only the manager's own connections. " + _NO_SHARED_STATE,
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
            ordinary_id("conn"),
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
