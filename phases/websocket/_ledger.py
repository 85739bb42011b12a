"""One ledger of the probe's tagged messages, read after the run: who got what, and when.

Every message the probe sends carries a tag; every probe socket records each
tag it receives, when, and which probe call was in progress. Read at the end
(after a settling pause), the ledger shows messages that reached another user
(at once, after a pause, batched into another call, replayed or retried), mail
for another user kept by the sender, removed connections still receiving,
connections another user's manager disconnected, and deliveries that never
happened or happened only after the call had returned.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import cast

from ._probe import Outcome
from ._result import Concern, Violation
from ._scenario import ProbeConnection, ProbeUser

_NO_SHARED_STATE = (
    "Keep connections on the manager instance, one manager per user context; "
    "no class-level or module-level registry shared between managers."
)


@dataclass(slots=True, eq=False)
class Sent:
    """One tagged message the probe sent through a manager, and what it expected."""

    tag: str
    sender: ProbeUser
    method: str
    shown: str
    addressee: ProbeUser
    expected: tuple[ProbeConnection, ...]
    at: float
    returned_at: float = 0.0
    outcome: Outcome = field(default_factory=Outcome)
    missing_at_return: tuple[ProbeConnection, ...] = ()
    tolerates_error: bool = False
    after_removal: tuple[ProbeUser, str] | None = None


@dataclass(slots=True)
class _Line:
    detail: str
    action: str
    concern: Concern
    kind: str


class Ledger:
    """The messages sent, the removals made, and the lines that depend on the users' state."""

    def __init__(self) -> None:
        self._sent: dict[str, Sent] = {}
        self._later: list[_Line] = []
        self._lines: list[_Line] = []

    def record(self, sent: Sent, outcome: Outcome) -> None:
        """Enter a message once its call is over, noting which deliveries had not happened."""
        sent.outcome = outcome
        sent.returned_at = time.perf_counter()
        sent.missing_at_return = tuple(c for c in sent.expected if sent.tag not in c.socket.tags)
        self._sent[sent.tag] = sent

    def forget(self, sent: Sent) -> None:
        """Drop a message whose call was refused for its form, not its content."""
        self._sent.pop(sent.tag, None)

    def fail_later(self, detail: str, action: str, concern: Concern, *, kind: str) -> None:
        """Note a finding about a user's state; shared state already proven makes it moot."""
        self._later.append(_Line(detail, action, concern, kind))

    def evaluate(self, users: list[ProbeUser]) -> list[tuple[Violation, str]]:
        """Read the ledger; return each violation with its kind, most fundamental first.

        A message that reached another user proves shared state; the findings
        that read a user's own state would only restate it, so they are dropped.
        """
        self._lines = []
        if not self._check_leaks(users):
            self._check_closes(users)
            self._check_misaddressed(users)
            self._check_removed(users)
            self._check_missing()
            self._lines.extend(self._later)
        return [(Violation(x.detail, x.action, x.concern), x.kind) for x in self._lines]

    def _fail(self, detail: str, action: str, concern: Concern, kind: str) -> None:
        self._lines.append(_Line(detail, action, concern, kind))

    def _arrivals(self, users: list[ProbeUser]) -> list[tuple[ProbeConnection, object, Sent]]:
        found: list[tuple[ProbeConnection, object, Sent]] = []
        for user in users:
            for connection in user.connections:
                for arrival in list(connection.socket.arrivals):
                    sent = self._sent.get(arrival.tag)
                    if sent is not None:
                        found.append((connection, arrival.actor, sent))
        return found

    def _check_leaks(self, users: list[ProbeUser]) -> bool:
        leaks: dict[tuple[int, int], list[str]] = {}
        own_calls: dict[tuple[int, int], bool] = {}
        for connection, actor, sent in self._arrivals(users):
            receiver, owner = connection.user, sent.sender
            if receiver is owner:
                continue
            if actor is None:
                via, by_owner = f"{sent.shown} after the call returned", True
            else:
                caller, shown = cast("tuple[ProbeUser, str]", actor)
                by_owner = caller is owner
                via = shown if by_owner else f"{caller.short}'s {shown}"
            key = (receiver.index, owner.index)
            vias = leaks.setdefault(key, [])
            if via not in vias:
                vias.append(via)
            own_calls[key] = own_calls.get(key, True) and by_owner
        if not leaks:
            return False
        key = min(leaks)
        by_index = {user.index: user for user in users}
        receiver, owner = by_index[key[0]], by_index[key[1]]
        verb = "manager delivered to" if own_calls[key] else "messages reached"
        self._fail(
            f"isolation: {owner.name}'s {verb} {receiver.name}'s connection via "
            f"{', '.join(leaks[key])}",
            _NO_SHARED_STATE,
            Concern.ISOLATION,
            "leak",
        )
        return True

    def _check_closes(self, users: list[ProbeUser]) -> None:
        for user in users:
            for connection in user.connections:
                for actor in connection.socket.closed_by:
                    if actor is None or cast("tuple[ProbeUser, str]", actor)[0] is user:
                        continue
                    caller, shown = cast("tuple[ProbeUser, str]", actor)
                    self._fail(
                        f"isolation: {caller.name}'s manager closed {user.name}'s connection "
                        f"{connection.connection_id} via {shown}",
                        "Close only the manager's own connections. " + _NO_SHARED_STATE,
                        Concern.ISOLATION,
                        "closed",
                    )
                    return

    def _check_misaddressed(self, users: list[ProbeUser]) -> None:
        kept: dict[tuple[int, int], list[str]] = {}
        for connection, _, sent in self._arrivals(users):
            if connection.user is sent.sender and sent.addressee is not sent.sender:
                shown = kept.setdefault((sent.addressee.index, sent.sender.index), [])
                if sent.shown not in shown:
                    shown.append(sent.shown)
        if kept:
            addressee_index, sender_index = min(kept)
            by_index = {user.index: user for user in users}
            sender, addressee = by_index[sender_index], by_index[addressee_index]
            self._fail(
                f"isolation: {sender.name}'s manager delivered messages addressed to "
                f"{addressee.name} to {sender.name}'s own connection via "
                f"{', '.join(kept[(addressee_index, sender_index)])}",
                "Deliver only to the user and thread a message is addressed to; refuse (raise "
                "for) a user or thread the manager does not serve.",
                Concern.ISOLATION,
                "misaddressed",
            )

    def _check_removed(self, users: list[ProbeUser]) -> None:
        for connection, _, sent in self._arrivals(users):
            removed = connection.removed_at
            if connection.user is sent.sender and removed is not None and removed <= sent.at:
                self._fail(
                    f"manager.remove_connection: {sent.sender.name}'s connection "
                    f"{connection.connection_id} still received {sent.shown} after it was removed",
                    "Stop delivering to a connection once remove_connection returns.",
                    Concern.INTERFACE,
                    "removed",
                )
                return

    def _check_missing(self) -> None:
        cut: set[int] = set()
        for sent in self._sent.values():
            if sent.after_removal is not None and sent.outcome.returned:
                self._check_disconnected(sent, cut)
        seen: set[str] = set()
        for sent in self._sent.values():
            if not sent.outcome.returned or sent.tolerates_error:
                continue
            for connection in sent.expected:
                if id(connection) in cut:
                    continue
                label = f"manager.{sent.method}"
                where = (
                    f"{sent.sender.name}'s connection {connection.connection_id} "
                    f"(connection {connection.ordinal} of {len(sent.sender.connection_ids)})"
                )
                if sent.tag not in connection.socket.tags:
                    kind = f"never:{sent.method}"
                    detail = (
                        f"{label}: {where} never received a message sent through "
                        f"{sent.sender.name}'s manager"
                    )
                elif connection in sent.missing_at_return:
                    kind = f"late:{sent.method}"
                    detail = f"{label}: returned before the message reached {where}"
                else:
                    continue
                if kind not in seen:
                    seen.add(kind)
                    self._fail(
                        detail,
                        f"Deliver from {sent.method} to every matching connection of the user "
                        "before returning, and raise when a delivery fails.",
                        Concern.INTERFACE,
                        kind,
                    )

    def _check_disconnected(self, sent: Sent, cut: set[int]) -> None:
        remover, connection_id = sent.after_removal  # type: ignore[misc]
        received = [c for c in sent.expected if sent.tag in c.socket.tags]
        for connection in sent.expected:
            if (
                connection.connection_id == connection_id
                and received
                and connection not in received
            ):
                cut.add(id(connection))
                self._fail(
                    f"isolation: {remover.name}'s manager disconnected "
                    f"{sent.sender.name}'s connection {connection_id} via "
                    f"remove_connection({connection_id!r})",
                    "Remove only the manager's own connections. " + _NO_SHARED_STATE,
                    Concern.ISOLATION,
                    "disconnected",
                )
