"""The traffic probe: production-like traffic through every probe user's manager, one ledger.

Users connect two or three sockets each, some join late, some leave, messages
are tagged and every arrival is recorded with the call in progress; the ledger
is read once the run is over and a settling pause has passed, so a delivery
that is deferred, batched, replayed or retried to the wrong user is caught.
"""

from __future__ import annotations

import random
import time
from typing import Any

import anyio

from ._connection import WebSocketConnection
from ._findings import Findings
from ._ledger import Ledger, Sent
from ._probe import (
    Abort,
    BrokenProbeWebSocket,
    Outcome,
    ProbeWebSocket,
    Stage,
    call_async,
    method_of,
)
from ._queries import QueryProbe
from ._result import Concern
from ._scenario import ProbeConnection, ProbeUser


class TrafficProbe:
    """Runs the traffic of the probe users through their managers and reads the ledger.

    Args:
        findings: Where violations are recorded, with the per-call bounds.
        users: The probe users, each with the manager the factory created for it.
        rng: The probe's random source (from its seed): which connections go.
        settle: Seconds to wait after the last call before the ledger is read.
    """

    def __init__(
        self, findings: Findings, users: list[ProbeUser], *, rng: random.Random, settle: float
    ) -> None:
        self._findings = findings
        self._users = users
        self._rng = rng
        self._settle = settle
        self._stage = Stage()
        self._ledger = Ledger()
        self._queries = QueryProbe(findings, self._ledger, self._stage, rng, users)
        self._by_index = {user.index: user for user in users}
        self._tags = 0

    async def run(self) -> bool:
        """Run every step, then read the ledger after the settling pause.

        The ledger's lines come before the lines found along the way: a message
        that reached another user is the most fundamental fault there is.
        """
        start = len(self._findings.violations)
        try:
            await self._steps()
        except Abort:
            return False
        await anyio.sleep(self._settle)
        along_the_way = self._findings.violations[start:]
        del self._findings.violations[start:]
        for violation, kind in self._ledger.evaluate(self._users):
            self._findings.fail(violation.detail, violation.action, violation.concern, kind=kind)
        for violation in along_the_way:
            if violation not in self._findings.violations:
                self._findings.violations.append(violation)
        return True

    async def _steps(self) -> None:
        users = self._users
        for user in users:
            if not user.late:
                await self._connect(user, 2)
        await self._round(cross=True, strangers=True)
        for user in users:
            await self._connect(user, 3 if not user.late else 2)
        await self._round(cross=False, strangers=False)
        await self._remove()
        await self._round(cross=True, strangers=False)
        # A user whose only connection fails, then one whose other connections work.
        for user in (*[u for u in users if u.empties][:1], users[0]):
            await self._check_failed_delivery(user)

    # --- connections ----------------------------------------------------------------

    async def _connect(self, user: ProbeUser, upto: int) -> None:
        for connection_id in user.connection_ids[len(user.connections) : upto]:
            socket = ProbeWebSocket(self._stage)
            probe = ProbeConnection(
                user,
                WebSocketConnection(
                    connection_id, user.context.user_id, socket, thread_id=user.context.thread_id
                ),
                socket,
                ordinal=len(user.connections) + 1,
            )
            shown = f"add_connection({connection_id!r})"
            outcome = await self._call(user, "add_connection", shown, probe.connection)
            if outcome.returned:
                user.connections.append(probe)
            else:
                self._findings.fail_call(
                    "manager.add_connection",
                    outcome,
                    Concern.INTERFACE,
                    f"for {user.name}'s own connection {connection_id}",
                )

    async def _remove(self) -> None:
        for user in self._users:
            partner = self._by_index.get(user.partner)
            if partner is None:
                continue
            foreign = [c for c in partner.live if c.connection_id not in user.connection_ids]
            if foreign:
                # A manager must not be able to disconnect another user's connection.
                await self._removal(user, foreign[0].connection_id, owner=None)
        for user in self._users:
            live = user.live
            if not live:
                continue  # Its manager refused its connections: a line of its own already.
            doomed = live if user.empties else live[self._rng.randrange(len(live)) :][:1]
            if len(live) < 2 and not user.empties:
                continue
            for connection in list(doomed):
                await self._removal(user, connection.connection_id, owner=connection)

    async def _removal(
        self, user: ProbeUser, connection_id: str, *, owner: ProbeConnection | None
    ) -> None:
        shown = f"remove_connection({connection_id!r})"
        outcome = await self._call(user, "remove_connection", shown, connection_id)
        if owner is not None:
            owner.removed_at = time.perf_counter()
            if not outcome.returned:
                self._findings.fail_call(
                    "manager.remove_connection", outcome, Concern.INTERFACE, f"for {user.name}"
                )
        # Whoever else holds a connection of that id must still be reached through it.
        holders = [
            other
            for other in self._users
            if other is not user and any(c.connection_id == connection_id for c in other.live)
        ]
        for other in holders[:2]:
            if len(other.live) > 1:
                sent = await self._send(
                    other, "send_to_user", f"send_to_user({other.short})", other.context.user_id
                )
                sent.after_removal = (user, connection_id)

    # --- traffic --------------------------------------------------------------------

    async def _round(self, *, cross: bool, strangers: bool) -> None:
        for user in self._users:
            await self._own_traffic(user)
            partner = self._by_index.get(user.partner)
            if cross and partner is not None:
                await self._cross_traffic(user, partner)
        for user in self._users:
            await self._queries.own(user)
            partner = self._by_index.get(user.partner)
            if strangers and partner is not None:
                await self._queries.stranger(user, partner)

    async def _own_traffic(self, user: ProbeUser) -> None:
        context = user.context
        live = user.live
        if not live and not user.connections:
            return
        if not live:
            await self._check_nobody_listening(user)
            return
        await self._send(user, "send_to_user", f"send_to_user({user.short})", context.user_id)
        await self._send(
            user, "send_to_thread", f"send_to_thread(thread {user.label})", context.thread_id
        )
        await self._emit(user, user)

    async def _cross_traffic(self, user: ProbeUser, partner: ProbeUser) -> None:
        pcontext = partner.context
        await self._send(
            user, "send_to_user", f"send_to_user({partner.short})", pcontext.user_id, to=partner
        )
        shared = pcontext.thread_id == user.context.thread_id
        await self._send(
            user,
            "send_to_thread",
            f"send_to_thread(thread {partner.label})",
            pcontext.thread_id,
            to=user if shared else partner,
        )
        if user.emit_unified:
            await self._emit(user, partner)

    def _tag(self) -> str:
        self._tags += 1
        return f"msg-{self._rng.getrandbits(32):08x}{self._tags:04x}"

    def _message(self, tag: str, addressee: ProbeUser) -> dict[str, Any]:
        context = addressee.context
        return {
            "type": "agent_thinking",
            "id": tag,
            "user_id": context.user_id,
            "thread_id": context.thread_id,
            "run_id": context.run_id,
            "reasoning": f"step {self._tags}",
        }

    async def _send(
        self,
        user: ProbeUser,
        method: str,
        shown: str,
        target: str,
        *,
        to: ProbeUser | None = None,
        tolerate: bool = False,
    ) -> Sent:
        addressee = to or user
        tag = self._tag()
        message = self._message(tag, addressee)
        return await self._deliver(
            user,
            method,
            shown=shown,
            addressee=addressee,
            tag=tag,
            args=(target, message),
            tolerate=tolerate,
        )

    async def _emit(self, user: ProbeUser, addressee: ProbeUser) -> None:
        tag = self._tag()
        data = self._message(tag, addressee)
        if user.emit_unified:
            shown = f"emit_critical_event({addressee.short}, ...)"
            args: tuple[object, ...] = (addressee.context.user_id, "agent_completed", data)
            await self._deliver(
                user, "emit_critical_event", shown=shown, addressee=addressee, tag=tag, args=args
            )
            return
        shown = "emit_critical_event"
        sent = await self._deliver(
            user,
            "emit_critical_event",
            shown=shown,
            addressee=addressee,
            tag=tag,
            args=("agent_completed", data),
        )
        if user.emit_unified is None and isinstance(sent.outcome.error, TypeError):
            # Declared with *args: the call decides which of the two forms it takes.
            user.emit_unified = True
            self._ledger.forget(sent)
            await self._emit(user, addressee)
        elif user.emit_unified is None:
            user.emit_unified = False

    async def _deliver(
        self,
        user: ProbeUser,
        method: str,
        *,
        shown: str,
        addressee: ProbeUser,
        tag: str,
        args: tuple[object, ...],
        tolerate: bool = False,
    ) -> Sent:
        if method == "send_to_thread":
            expected = (
                tuple(c for c in addressee.live if c.connection.thread_id == args[0])
                if addressee is user
                else ()
            )
        else:
            expected = tuple(user.live) if addressee is user else ()
        sent = Sent(tag, user, method, shown, addressee, expected, time.perf_counter())
        sent.tolerates_error = tolerate
        outcome = await self._call(user, method, shown, *args)
        self._ledger.record(sent, outcome)
        if expected and not outcome.returned and not sent.tolerates_error:
            self._findings.fail_call(
                f"manager.{method}", outcome, Concern.INTERFACE, f"for {user.name}"
            )
        return sent

    async def _check_nobody_listening(self, user: ProbeUser) -> None:
        sent = await self._send(
            user, "send_to_user", f"send_to_user({user.short})", user.context.user_id
        )
        if sent.outcome.returned:
            self._ledger.fail_later(
                f"manager.send_to_user: returned for {user.name}, who has no connection, "
                "instead of raising",
                "Raise from send_to_user when the user has no connection to deliver to; a "
                "message nobody received was not sent.",
                Concern.INTERFACE,
                kind="nobody-listening",
            )

    async def _check_failed_delivery(self, user: ProbeUser) -> None:
        broken = WebSocketConnection(
            f"{user.connection_ids[0]}-retry",
            user.context.user_id,
            BrokenProbeWebSocket(),
            thread_id=user.context.thread_id,
        )
        outcome = await self._call(
            user, "add_connection", "add_connection(a failing socket)", broken
        )
        if not outcome.returned:
            self._findings.fail_call("manager.add_connection", outcome, Concern.INTERFACE)
            return
        sent = await self._send(
            user,
            "send_to_user",
            f"send_to_user({user.short})",
            user.context.user_id,
            tolerate=True,
        )
        if sent.outcome.returned:
            self._findings.fail(
                "manager.send_to_user: a delivery to a failing connection raised nothing "
                "(reported as sent)",
                "Raise from send_to_user when any connection's send fails; never report a "
                "failed delivery as sent.",
                Concern.INTERFACE,
            )
        await self._call(
            user, "remove_connection", "remove_connection(a failing socket)", broken.connection_id
        )

    # --- one call -------------------------------------------------------------------

    async def _call(self, user: ProbeUser, method: str, shown: str, *args: object) -> Outcome:
        self._stage.actor = (user, shown)
        try:
            outcome = await call_async(
                self._findings.timeout, method_of, user.manager, method, *args
            )
        finally:
            self._stage.actor = None
        if outcome.timed_out:
            self._findings.fail_call(f"manager.{method}", outcome, Concern.INTERFACE)
            raise Abort
        return outcome
