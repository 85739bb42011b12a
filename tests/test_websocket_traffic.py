"""The traffic probe: a manager that shares state with another user's fails, whichever of
its methods the sharing shows through, and a strict but correct manager passes."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest
import websocket_catalogue as catalogue
import websocket_fakes as fakes

from phases.websocket import (
    UserExecutionContext,
    WebSocketConnection,
    WebSocketManagerFactoryValidator,
    WebSocketManagerMode,
)

pytestmark = pytest.mark.anyio


async def errors_of(factory: object) -> tuple[str, ...]:
    result = await WebSocketManagerFactoryValidator.validate_factory(
        factory, call_timeout=0.2, seed=5
    )
    assert not result.is_valid
    assert not result.user_context_isolated
    return result.validation_errors


class ThreadRegistryManager(fakes.ThirdPartyManager):
    """Isolated for send_to_user; send_to_thread falls back to a registry all managers share."""

    threads: ClassVar[dict[str, list[WebSocketConnection]]] = {}

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        self.threads.setdefault(connection.thread_id or "", []).append(connection)

    async def send_to_thread(self, thread_id: str, message: dict[str, Any]) -> None:
        own = [c for c in self._connections.values() if c.thread_id in (None, thread_id)]
        await self._broadcast(own or self.threads.get(thread_id, []), message)


class ThreadRegistryFactory(fakes.ThirdPartyFactory):
    manager_class = ThreadRegistryManager


class ConnectionIndexManager(fakes.ThirdPartyManager):
    """Sends only to its own connections, but indexes every manager's connections by id."""

    index: ClassVar[dict[str, tuple[WebSocketConnection, ConnectionIndexManager]]] = {}

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        self.index[connection.connection_id] = (connection, self)

    async def remove_connection(self, connection_id: str) -> None:
        _, owner = self.index.pop(connection_id, (None, self))
        owner._connections.pop(connection_id, None)

    def get_user_connections(self, user_id: str) -> set[str]:
        return {key for key, (c, _) in self.index.items() if c.user_id == user_id}

    def is_connection_active(self, user_id: str) -> bool:
        return bool(self.get_user_connections(user_id))


class ConnectionIndexFactory(fakes.ThirdPartyFactory):
    manager_class = ConnectionIndexManager


class AddresseeBlindManager(fakes.ThirdPartyManager):
    """Sends everything to its own connections, whoever the message is addressed to."""

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        await self._broadcast(list(self._connections.values()), message)

    async def send_to_thread(self, thread_id: str, message: dict[str, Any]) -> None:
        await self._broadcast(list(self._connections.values()), message)


class AddresseeBlindFactory(fakes.ThirdPartyFactory):
    manager_class = AddresseeBlindManager


class ChainedManager(fakes.ThirdPartyManager):
    """Reaches the users of every manager created after it: sharing in one direction only."""

    def __init__(self, user_id: str) -> None:
        super().__init__(user_id)
        self.later: list[ChainedManager] = []

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        for manager in (self, *self.later):
            if manager._user_id == user_id:
                await manager._broadcast(list(manager._connections.values()), message)
                return
        raise PermissionError("message for another user")


class ChainedFactory(fakes.ThirdPartyFactory):
    def __init__(self) -> None:
        self._made: list[ChainedManager] = []

    def create_manager(
        self,
        user_context: UserExecutionContext | None,
        mode: WebSocketManagerMode = WebSocketManagerMode.UNIFIED,
        **kwargs: Any,
    ) -> ChainedManager:
        if user_context is None:
            raise ValueError("a user context is required")
        manager = ChainedManager(user_context.user_id)
        for earlier in self._made:
            earlier.later.append(manager)
        self._made.append(manager)
        return manager


class StrictManager(fakes.ThirdPartyManager):
    """Correct and unforgiving: raises for anything about another user or connection."""

    def get_user_connections(self, user_id: str) -> set[str]:
        if user_id != self._user_id:
            raise PermissionError("another user's connections")
        return set(self._connections)

    def is_connection_active(self, user_id: str) -> bool:
        if user_id != self._user_id:
            raise PermissionError("another user's connections")
        return bool(self._connections)

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        own = user_id == self._user_id
        return {"user_id": user_id, "connection_ids": sorted(self._connections) if own else []}

    async def remove_connection(self, connection_id: str) -> None:
        if connection_id not in self._connections:
            raise KeyError(connection_id)
        del self._connections[connection_id]


class StrictFactory(fakes.ThirdPartyFactory):
    manager_class = StrictManager


async def test_sharing_that_shows_only_through_send_to_thread_fails() -> None:
    errors = await errors_of(ThreadRegistryFactory())
    assert errors == (
        "isolation: user B's manager delivered to user A's connection via send_to_thread(thread A)",
    )


async def test_a_shared_connection_index_that_never_misdelivers_still_fails() -> None:
    errors = await errors_of(ConnectionIndexFactory())
    assert (
        "isolation: user B's manager reported user A's connection via "
        "get_user_connections(user A), is_connection_active(user A)"
    ) in errors
    assert any(
        error.startswith("isolation: user B's manager disconnected user A's connection ")
        for error in errors
    )


async def test_a_manager_delivering_mail_for_another_user_to_its_own_fails() -> None:
    errors = await errors_of(AddresseeBlindFactory())
    assert errors == (
        "isolation: user B's manager delivered messages addressed to user A to user B's own "
        "connection via send_to_user(user A), send_to_thread(thread A)",
    )


async def test_sharing_in_one_direction_only_fails() -> None:
    errors = await errors_of(ChainedFactory())
    assert errors == (
        "isolation: user A's manager delivered to user B's connection via send_to_user(user B)",
    )


async def test_a_strict_manager_that_raises_about_other_users_passes() -> None:
    result = await WebSocketManagerFactoryValidator.validate_factory(StrictFactory())
    assert result.is_production_ready, result.validation_errors


class RecordingFactory(fakes.ThirdPartyFactory):
    """A correct factory that keeps every context and connection id it is shown."""

    def __init__(self) -> None:
        self.seen: list[str] = []

    def create_manager(
        self,
        user_context: UserExecutionContext | None,
        mode: WebSocketManagerMode = WebSocketManagerMode.UNIFIED,
        **kwargs: Any,
    ) -> fakes.ThirdPartyManager:
        manager = super().create_manager(user_context)
        assert user_context is not None
        self.seen += [user_context.user_id, user_context.thread_id, user_context.run_id]
        return manager


async def test_the_probe_users_look_like_ordinary_users() -> None:
    factory = RecordingFactory()
    await WebSocketManagerFactoryValidator.validate_factory(factory)
    users, runs = factory.seen[0::3], factory.seen[2::3]
    assert len(users) >= 16
    assert len(set(users)) == len(users)
    assert len(set(runs)) == len(runs)
    assert not any("probe" in seen or "smd" in seen for seen in factory.seen)


async def test_a_line_counts_one_connection_in_the_singular() -> None:
    class NeedsTwoManager(catalogue.Manager):
        """Says a user with a single connection is not connected."""

        def is_connection_active(self, user_id: str) -> bool:
            return user_id == self.user_id and len(self._connections) > 1

    class NeedsTwoFactory(catalogue.Factory):
        manager_class = NeedsTwoManager

    result = await WebSocketManagerFactoryValidator.validate_factory(
        NeedsTwoFactory(), call_timeout=0.2, seed=5
    )
    line = next(e for e in result.validation_errors if "is_connection_active" in e)
    assert line.endswith(", who has 1 connection"), line
