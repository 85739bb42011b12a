"""The probe's cast: users whose ids look the way real systems make them, drawn from a seed.

Every run draws a different number of users (at least 16) and ids from the
seed, so a refusal can be replayed with the same seed. Users come in pairs that
real id schemes produce: the same name in another case, the same id under
another tenant, two users in one thread; connection ids collide across users
(`ws-1` for everyone) except for a few users whose ids are unique.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field
from typing import Any

from ._connection import WebSocketConnection
from ._context import UserExecutionContext
from ._mode import WebSocketManagerMode
from ._probe import ProbeWebSocket

MIN_USERS = 16
MAX_USERS = 22
_FIRST = ("maria", "li", "ahmed", "sofia", "kenji", "olga", "noah", "amara", "ivan", "lucia")
_LAST = ("lopez", "wang", "khan", "rossi", "sato", "novak", "smith", "diallo", "berg", "costa")
_TENANTS = ("acme", "globex", "initech", "umbrella", "hooli", "stark")
_FAMILIES = ("case", "tenant", "thread", "plain")
# Two users per mode asked for by name; a factory may refuse any of them by raising.
_MODE_USERS = (
    (WebSocketManagerMode.ISOLATED,) * 2
    + (WebSocketManagerMode.EMERGENCY,) * 2
    + (WebSocketManagerMode.DEGRADED,) * 2
)


@dataclass(slots=True, eq=False)
class ProbeConnection:
    """One probe socket registered with a user's manager."""

    user: ProbeUser
    connection: WebSocketConnection
    socket: ProbeWebSocket
    ordinal: int
    removed_at: float | None = None

    @property
    def connection_id(self) -> str:
        """The id the manager knows the connection by."""
        return self.connection.connection_id


@dataclass(slots=True, eq=False)
class ProbeUser:
    """One synthetic user: its context, its planned connections, and its manager once made.

    Attributes:
        index: Position in the cast; violation lines name users by letter.
        label: The letter(s) naming the user in violation lines.
        context: The user context given to `create_manager`.
        mode: The mode its manager is asked for.
        connection_ids: The ids of the connections it will open, in order.
        late: Whether it connects only after traffic has flowed.
        empties: Whether it removes all of its connections.
        partner: The index of the user its manager is asked to reach.
    """

    index: int
    label: str
    context: UserExecutionContext
    mode: WebSocketManagerMode
    connection_ids: tuple[str, ...]
    late: bool
    empties: bool
    partner: int
    manager: Any = None
    connections: list[ProbeConnection] = field(default_factory=list)
    emit_unified: bool | None = None

    @property
    def short(self) -> str:
        """`user A`."""
        return f"user {self.label}"

    @property
    def name(self) -> str:
        """`user A`, or `user V (EMERGENCY)` for a user whose mode was asked for by name."""
        if self.mode is WebSocketManagerMode.UNIFIED:
            return self.short
        return f"{self.short} ({self.mode.name})"

    @property
    def live(self) -> list[ProbeConnection]:
        """The connections added and not removed."""
        return [c for c in self.connections if c.removed_at is None]


def label_of(index: int) -> str:
    """A, B, ..., Z, A2, B2, ..."""
    letter = chr(ord("A") + index % 26)
    return letter if index < 26 else f"{letter}{index // 26 + 1}"


class _Ids:
    def __init__(self, rng: random.Random) -> None:
        self._rng = rng
        self._used: set[str] = set()

    def hex(self, digits: int) -> str:
        return f"{self._rng.getrandbits(4 * digits):0{digits}x}"

    def uuid(self) -> str:
        return str(uuid.UUID(int=self._rng.getrandbits(128), version=4))

    def person(self) -> tuple[str, str, int]:
        rng = self._rng
        return rng.choice(_FIRST), rng.choice(_LAST), rng.randrange(1, 999)

    def user(self) -> str:
        first, last, number = self.person()
        shapes = (
            self.uuid(),
            str(self._rng.randrange(10**5, 10**9)),
            f"{first}.{last}{number}@example.org",
            f"usr_{self.hex(10)}",
            f"{first.title()}{last.title()}{number}",
        )
        return self.unique(self._rng.choice(shapes))

    def unique(self, candidate: str) -> str:
        while candidate in self._used:
            candidate = f"{candidate}{self._rng.randrange(10)}"
        self._used.add(candidate)
        return candidate

    def thread(self) -> str:
        return self._rng.choice((f"thread-{self.hex(12)}", self.uuid(), f"t_{self.hex(8)}"))


def _pair_ids(family: str, ids: _Ids, rng: random.Random) -> tuple[tuple[str, str], str | None]:
    if family == "case":
        first, last, number = ids.person()
        name = f"{first.title()}.{last.title()}{number}"
        return (ids.unique(name), ids.unique(name.lower())), None
    if family == "tenant":
        left, right = rng.sample(_TENANTS, 2)
        local = ids.user().split("@")[0]
        return (ids.unique(f"{left}:{local}"), ids.unique(f"{right}:{local}")), None
    shared = ids.thread() if family == "thread" else None
    return (ids.user(), ids.user()), shared


def plan_users(rng: random.Random) -> list[ProbeUser]:
    """Draw the cast: `MIN_USERS` to `MAX_USERS` users in pairs, then two per mode named.

    Users A and B are each other's partners; every later pair shares a trait
    real id schemes produce (see the module docstring). A few users join late,
    two remove all of their connections, every user opens two or three.
    """
    ids = _Ids(rng)
    count = rng.randrange(MIN_USERS, MAX_USERS + 1, 2)
    families = ["plain", *_FAMILIES[:3]]
    families += [rng.choice(_FAMILIES) for _ in range(count // 2 - len(families))]
    rest = families[1:]
    rng.shuffle(rest)
    families = [families[0], *rest]
    plans: list[tuple[str, str | None, WebSocketManagerMode]] = []
    for family in families:
        pair, shared_thread = _pair_ids(family, ids, rng)
        plans += [(user_id, shared_thread, WebSocketManagerMode.UNIFIED) for user_id in pair]
    plans += [(ids.user(), None, mode) for mode in _MODE_USERS]
    ordinary = list(range(2, count))
    late = set(rng.sample(ordinary, rng.randint(3, 5)))
    empties = set(rng.sample([i for i in ordinary if i not in late], 2))
    users: list[ProbeUser] = []
    for index, (user_id, shared_thread, mode) in enumerate(plans):
        unique_ids = index % 3 == 0
        total = rng.choice((2, 3))
        if unique_ids:
            connection_ids = tuple(ids.unique(f"{ids.hex(8)}-{ids.hex(4)}") for _ in range(total))
        else:
            connection_ids = tuple(f"ws-{number}" for number in range(1, total + 1))
        context = UserExecutionContext(
            user_id=user_id,
            thread_id=shared_thread or ids.thread(),
            run_id=f"run-{ids.hex(12)}",
        )
        users.append(
            ProbeUser(
                index=index,
                label=label_of(index),
                context=context,
                mode=mode,
                connection_ids=connection_ids,
                late=index in late,
                empties=index in empties,
                partner=index ^ 1,
            )
        )
    return users
