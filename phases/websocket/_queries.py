"""The probe's questions to a manager: its own user's connections, and a stranger's.

The answers must follow the manager's own state (they change when connections
change; a constant answer is refused) and reveal nothing of another user.
"""

from __future__ import annotations

import functools
import inspect
import random
from dataclasses import dataclass

from ._answers import ids_of, mentions_any, snapshot, words_in
from ._findings import Findings, short_repr
from ._ledger import Ledger
from ._probe import (
    Abort,
    Outcome,
    Stage,
    call_here,
    call_sync,
    method_of,
)
from ._result import Concern
from ._scenario import ProbeUser

_QUERY_ACTION = (
    "Answer get_user_connections, is_connection_active and get_connection_health from the "
    "manager's own connections, as they are now."
)


@dataclass(slots=True)
class _Health:
    connected: tuple[int, object] | None = None


class QueryProbe:
    """Asks managers about their own user and about a stranger, and judges the answers.

    The first call of each query method per manager class runs in a worker thread,
    where a hang can be abandoned; later calls run on the event loop, as a server
    makes them, and may not block it.

    Args:
        findings: Where violations are recorded, with the per-call bounds.
        ledger: Where findings that depend on the users' state wait for the ledger.
        stage: Tells the probe sockets which call is in progress.
        rng: The probe's random source.
        users: Every probe user, whom no answer about another user may name.
    """

    def __init__(
        self,
        findings: Findings,
        ledger: Ledger,
        stage: Stage,
        rng: random.Random,
        users: list[ProbeUser],
    ) -> None:
        self._users = users
        self._findings = findings
        self._ledger = ledger
        self._stage = stage
        self._rng = rng
        self._vetted: set[tuple[type, str]] = set()
        self._health: dict[int, _Health] = {}

    # --- queries --------------------------------------------------------------------

    async def _query(self, user: ProbeUser, method: str, about: ProbeUser) -> Outcome:
        label = f"manager.{method}"
        function = functools.partial(method_of, user.manager, method)
        key = (type(user.manager), method)
        self._stage.actor = (user, f"{method}({about.short})")
        if key in self._vetted:
            outcome = call_here(function, about.context.user_id)
            if self._findings.too_slow(label, outcome.elapsed):
                self._findings.fail(
                    f"{label}: blocked the event loop for {outcome.elapsed:.2f}s",
                    f"Make {label} answer from memory; it is called on the event loop.",
                    Concern.INTERFACE,
                    kind=f"{label}:blocked",
                )
        else:
            # The first call of each query runs in a thread, where a hang can be abandoned.
            outcome = await call_sync(self._findings.timeout, function, about.context.user_id)
            self._vetted.add(key)
        self._stage.actor = None
        if outcome.timed_out:
            self._findings.fail_call(label, outcome, Concern.INTERFACE)
            raise Abort
        if outcome.returned and inspect.isawaitable(outcome.value):
            if inspect.iscoroutine(outcome.value):
                outcome.value.close()
            self._findings.fail(
                f"{label}: returned an awaitable; the protocol requires a plain method",
                f"Make {label} a plain method that answers at once.",
                Concern.INTERFACE,
                kind=f"{label}:awaitable",
            )
            return Outcome(error=TypeError("awaitable"))
        return outcome

    async def own(self, user: ProbeUser) -> None:
        """Ask `user`'s manager about `user`; the answers must match its connections now."""
        if not user.connections:
            return
        live = len(user.live)
        await self._check_connections(user)
        await self._check_activity(user, live)
        await self._check_health(user, live)

    async def _check_connections(self, user: ProbeUser) -> None:
        ids = sorted(c.connection_id for c in user.live)
        found = await self._query(user, "get_user_connections", user)
        if found.returned:
            self._check_others_unnamed(user, "get_user_connections", found.value)
            reported, problem = ids_of(found.value)
            if problem is not None:
                self._findings.fail(
                    f"manager.get_user_connections: returned {problem} for {user.name}, not "
                    "connection ids",
                    "Return the set of the user's connection ids.",
                    Concern.INTERFACE,
                    kind="connections:shape",
                )
            elif reported != set(ids):
                self._ledger.fail_later(
                    f"manager.get_user_connections: returned {_ids(reported)} for {user.name}, "
                    f"whose connections are {_ids(ids)}",
                    _QUERY_ACTION,
                    Concern.INTERFACE,
                    kind="connections:state",
                )
        elif not found.timed_out:
            self._findings.fail_call(
                "manager.get_user_connections", found, Concern.INTERFACE, f"for {user.name}"
            )

    async def _check_activity(self, user: ProbeUser, live: int) -> None:
        active = await self._query(user, "is_connection_active", user)
        if not active.returned:
            self._findings.fail_call(
                "manager.is_connection_active", active, Concern.INTERFACE, f"for {user.name}"
            )
        elif live and active.value is not True:
            self._ledger.fail_later(
                f"manager.is_connection_active: returned {short_repr(active.value)} for "
                f"{user.name}, who has {_connections(live)}",
                "Report activity from the connections actually registered.",
                Concern.INTERFACE,
                kind="active:connected",
            )
        elif not live and active.value is not False:
            self._findings.fail(
                f"manager.is_connection_active: returned {short_repr(active.value)} for "
                f"{user.name} after all of its connections were removed",
                "Report activity from the connections actually registered; never return "
                "True unconditionally.",
                Concern.INTERFACE,
                kind="active:empty",
            )

    async def _check_health(self, user: ProbeUser, live: int) -> None:
        label = "manager.get_connection_health"
        health = await self._query(user, "get_connection_health", user)
        if not health.returned:
            self._findings.fail_call(label, health, Concern.INTERFACE, f"for {user.name}")
            return
        self._check_others_unnamed(user, "get_connection_health", health.value)
        reading, problem = snapshot(health.value)
        if problem is not None:
            self._findings.fail(
                f"{label}: returned {problem}, not a mapping describing the connections",
                "Return a dict built from the connections actually registered.",
                Concern.INTERFACE,
                kind="health:shape",
            )
            return
        record = self._health.setdefault(user.index, _Health())
        if live:
            record.connected = (live, reading)
        elif record.connected is not None:
            count, before = record.connected
            if before == reading:
                self._findings.fail(
                    f"{label}: gave the same answer for {user.name} with {_connections(count)} "
                    "and with none",
                    "Describe the connections as they are; a constant report hides every "
                    "dead connection.",
                    Concern.INTERFACE,
                    kind="health:constant",
                )

    def _check_others_unnamed(self, user: ProbeUser, method: str, answer: object) -> None:
        """An answer about `user` may name no other user, nor a connection only another holds."""
        words = words_in(answer)
        if not words:
            return
        for other in self._users:
            if other is user:
                continue
            theirs = {c.connection_id for c in other.connections} - set(user.connection_ids)
            if other.context.user_id in words or not words.isdisjoint(theirs):
                self._ledger.fail_later(
                    f"isolation: {user.name}'s manager revealed {other.name} via "
                    f"{method}({user.short})",
                    f"{_QUERY_ACTION} Report the manager's own user only. Keep connections on "
                    "the manager instance, one manager per user context; no class-level or "
                    "module-level registry shared between managers.",
                    Concern.ISOLATION,
                    kind="reveal:own",
                )
                return

    async def stranger(self, user: ProbeUser, stranger: ProbeUser) -> None:
        """Ask `user`'s manager about `stranger`: it may refuse, never reveal their connections."""
        theirs = {c.connection_id for c in stranger.live} - set(user.connection_ids)
        if not theirs:
            return
        reported: list[str] = []
        for method in ("get_user_connections", "get_connection_health"):
            outcome = await self._query(user, method, stranger)
            if outcome.returned and mentions_any(outcome.value, theirs):
                reported.append(f"{method}({stranger.short})")
        active = await self._query(user, "is_connection_active", stranger)
        if active.returned and active.value is True and not await self._always_active(user):
            reported.insert(1 if reported[:1] else 0, f"is_connection_active({stranger.short})")
        if reported:
            self._ledger.fail_later(
                f"isolation: {user.name}'s manager reported {stranger.name}'s connection via "
                f"{', '.join(reported)}",
                f"{_QUERY_ACTION} Keep connections on the manager instance, one manager per "
                "user context; no class-level or module-level registry shared between managers.",
                Concern.ISOLATION,
                kind="reveal",
            )

    async def _always_active(self, user: ProbeUser) -> bool:
        # Saying yes even for a user nobody has heard of is the activity check's finding,
        # not proof of shared state.
        stranger = f"{user.context.user_id}-{self._rng.getrandbits(24):06x}"
        outcome = call_here(method_of, user.manager, "is_connection_active", stranger)
        return outcome.returned and outcome.value is True


def _connections(count: int) -> str:
    return f"{count} connection{'' if count == 1 else 's'}"


def _ids(ids: set[str] | list[str]) -> str:
    shown = sorted(ids)
    text = ", ".join(repr(item) for item in shown[:4])
    return "{" + text + (", ..." if len(shown) > 4 else "") + "}"
