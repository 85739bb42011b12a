"""A catalogue of WebSocket manager factories written the way a careless developer or a
hurried migration writes them, and of correct factories of many shapes.

Each non-compliant entry names the fragment its violation line must contain. The
faults are grouped in families: scale and volume, id collisions, late and deferred
delivery, lifecycle and removal, modes, blocking, hostile code and lying queries.
Every factory keeps its shared state on the factory instance, so one validation
never leaks into the next.
"""

from __future__ import annotations

import asyncio
import functools
import json
import threading
import time
from collections.abc import Callable, Coroutine, Iterator, Mapping
from dataclasses import dataclass
from typing import Any
from unittest.mock import Mock

from phases.websocket import (
    FactoryValidationResult,
    StandardizedWebSocketManagerFactory,
    UserExecutionContext,
    WebSocketConnection,
    WebSocketManagerMode,
)

UNIFIED = WebSocketManagerMode.UNIFIED


def _drive(coroutine: Coroutine[Any, Any, Any]) -> None:
    """Run a coroutine to completion on a private loop (from a background thread)."""
    asyncio.run(coroutine)


# --- the correct base: one manager per user, state on the instance --------------------


class Manager:
    """A correct manager; the faulty ones below change one behaviour each."""

    def __init__(self, user_id: str, factory: Factory, mode: WebSocketManagerMode) -> None:
        self.user_id = user_id
        self.factory = factory
        self.mode = mode
        self._connections: dict[str, WebSocketConnection] = {}

    async def add_connection(self, connection: WebSocketConnection) -> None:
        if connection.user_id != self.user_id:
            raise PermissionError("connection of another user")
        self._connections[connection.connection_id] = connection

    async def remove_connection(self, connection_id: str) -> None:
        self._connections.pop(connection_id, None)

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        if user_id != self.user_id:
            raise PermissionError("message for another user")
        await self._deliver(self._targets(), message)

    async def send_to_thread(self, thread_id: str, message: dict[str, Any]) -> None:
        await self._deliver([c for c in self._targets() if c.thread_id == thread_id], message)

    async def emit_critical_event(self, event_type: str, data: dict[str, Any]) -> None:
        await self.send_to_user(self.user_id, {"type": event_type, "data": data})

    def get_user_connections(self, user_id: str) -> set[str]:
        return set(self._connections) if user_id == self.user_id else set()

    def is_connection_active(self, user_id: str) -> bool:
        return user_id == self.user_id and bool(self._connections)

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        own = user_id == self.user_id
        return {"user_id": user_id, "connections": sorted(self._connections) if own else []}

    async def close(self) -> None:
        self._connections.clear()

    def _targets(self) -> list[WebSocketConnection]:
        return list(self._connections.values())

    async def _deliver(self, targets: list[WebSocketConnection], message: dict[str, Any]) -> None:
        if not targets:
            raise LookupError("nobody is listening")
        failures: list[Exception] = []
        for connection in targets:
            try:
                await connection.websocket.send_json(message)
            except Exception as exc:  # Collected and raised together below.
                failures.append(exc)
        if failures:
            raise ExceptionGroup("delivery failed", failures)


class Factory:
    """A correct factory; it isolates users in every mode."""

    manager_class: type[Manager] = Manager

    def __init__(self) -> None:
        self.created = 0
        self.shared: dict[str, Any] = {}
        self.lock = threading.Lock()

    def create_manager(
        self,
        user_context: UserExecutionContext | None,
        mode: WebSocketManagerMode = UNIFIED,
        **kwargs: Any,
    ) -> Any:
        if user_context is None:
            raise ValueError("a user context is required")
        with self.lock:
            self.created += 1
        return self.make(user_context, mode)

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        return self.manager_class(context.user_id, self, mode)

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        if isinstance(manager, Manager):
            return FactoryValidationResult(is_valid=True, manager_type=type(manager).__name__)
        return FactoryValidationResult(is_valid=False, validation_errors=("not ours",))

    def supports_user_isolation(self) -> bool:
        return True


def _with_manager(manager_class: type[Manager], doc: str) -> type[Factory]:
    return type(
        f"{manager_class.__name__}Factory",
        (Factory,),
        {"manager_class": manager_class, "__doc__": doc, "__module__": __name__},
    )


# --- scale and volume -------------------------------------------------------------------


class PoolOfEightFactory(Factory):
    """Round-robin over a pool of eight managers."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        pool = self.shared.setdefault("pool", [])
        if len(pool) < 8:
            pool.append(Manager(context.user_id, self, mode))
        return pool[(self.created - 1) % 8]


class FirstTwelveOnlyFactory(Factory):
    """Isolates the first twelve users, then hands everyone else one overflow manager."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        if self.created <= 12:
            return super().make(context, mode)
        return self.shared.setdefault("overflow", Manager(context.user_id, self, mode))


class OverflowRegistryManager(Manager):
    """Beyond ten users, managers keep connections in one registry the overflow shares."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        if self.factory.created > 10:
            self.factory.shared.setdefault("overflow", {})[connection.connection_id] = connection

    def _targets(self) -> list[WebSocketConnection]:
        overflow = self.factory.shared.get("overflow", {})
        return [*self._connections.values(), *overflow.values()] if overflow else super()._targets()


class RecyclingManager(Manager):
    """Recycled from a pool of eight without forgetting the previous user's connections."""

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        await self._deliver(self._targets(), message)


class RecyclingPoolFactory(Factory):
    """Keeps eight managers and rebinds the oldest to each new user, connections and all."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        pool: list[RecyclingManager] = self.shared.setdefault("pool", [])
        if len(pool) < 8:
            pool.append(RecyclingManager(context.user_id, self, mode))
            return pool[-1]
        recycled = pool.pop(0)
        fresh = RecyclingManager(context.user_id, self, mode)
        fresh._connections = recycled._connections  # the recycled registry, unflushed
        pool.append(fresh)
        return fresh


class QuotaManager(Manager):
    """Delivers the first fifty messages of the factory's life, then drops silently."""

    async def _deliver(self, targets: list[WebSocketConnection], message: dict[str, Any]) -> None:
        with self.factory.lock:
            sent = self.factory.shared["sent"] = self.factory.shared.get("sent", 0) + 1
        if sent <= 50:
            await super()._deliver(targets, message)


class TwoConnectionCapManager(Manager):
    """Ignores a user's third connection without saying so."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        if len(self._connections) < 2:
            await super().add_connection(connection)


# --- id collisions ------------------------------------------------------------------------


class KeyedRegistryManager(Manager):
    """Keeps connections in a factory-wide registry under a key derived from the user."""

    def key(self, user_id: str) -> str:
        return user_id

    def _registry(self) -> dict[str, dict[str, WebSocketConnection]]:
        registry: dict[str, dict[str, WebSocketConnection]] = self.factory.shared.setdefault(
            "registry", {}
        )
        return registry

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        bucket = self._registry().setdefault(self.key(connection.user_id), {})
        bucket[f"{connection.user_id}/{connection.connection_id}"] = connection

    async def remove_connection(self, connection_id: str) -> None:
        await super().remove_connection(connection_id)
        bucket = self._registry().get(self.key(self.user_id), {})
        bucket.pop(f"{self.user_id}/{connection_id}", None)

    def _targets(self) -> list[WebSocketConnection]:
        return list(self._registry().get(self.key(self.user_id), {}).values())


class CaseFoldingManager(KeyedRegistryManager):
    """Registry keyed by the case-folded user id: `Ana` and `ana` merge."""

    def key(self, user_id: str) -> str:
        return user_id.casefold()


class TenantStrippingManager(KeyedRegistryManager):
    """Registry keyed by the user id without its tenant prefix: `acme:7` and `globex:7` merge."""

    def key(self, user_id: str) -> str:
        return user_id.rsplit(":", 1)[-1]


class ThreadKeyedManager(Manager):
    """send_to_thread looks the thread up in a factory-wide index: shared threads merge."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        index = self.factory.shared.setdefault("threads", {})
        index.setdefault(connection.thread_id, {})[id(connection)] = connection

    async def remove_connection(self, connection_id: str) -> None:
        gone = self._connections.get(connection_id)
        await super().remove_connection(connection_id)
        if gone is not None:
            self.factory.shared.get("threads", {}).get(gone.thread_id, {}).pop(id(gone), None)

    async def send_to_thread(self, thread_id: str, message: dict[str, Any]) -> None:
        index = self.factory.shared.get("threads", {})
        await self._deliver(list(index.get(thread_id, {}).values()), message)


class ConnectionIdRegistryManager(Manager):
    """Keeps every connection in a factory-wide dict keyed by connection id alone."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        self.factory.shared.setdefault("by_id", {})[connection.connection_id] = connection

    async def remove_connection(self, connection_id: str) -> None:
        await super().remove_connection(connection_id)
        self.factory.shared.get("by_id", {}).pop(connection_id, None)

    def _targets(self) -> list[WebSocketConnection]:
        by_id = self.factory.shared.get("by_id", {})
        return [by_id[key] for key in self._connections if key in by_id]


class TenantWaryManager(Manager):
    """Refuses connections of tenant-prefixed users (`acme:7`), as a migration that forgot them."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        if ":" in connection.user_id:
            raise PermissionError("unknown user id format")
        await super().add_connection(connection)


class GlobalRemovalManager(Manager):
    """remove_connection removes the id from every manager of the factory."""

    def __init__(self, user_id: str, factory: Factory, mode: WebSocketManagerMode) -> None:
        super().__init__(user_id, factory, mode)
        factory.shared.setdefault("managers", []).append(self)

    async def remove_connection(self, connection_id: str) -> None:
        for manager in self.factory.shared["managers"]:
            manager._connections.pop(connection_id, None)


class CaseFoldedCacheFactory(Factory):
    """Caches managers by the case-folded user id."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        cache = self.shared.setdefault("cache", {})
        return cache.setdefault(context.user_id.casefold(), Manager(context.user_id, self, mode))


class TenantStrippedCacheFactory(Factory):
    """Caches managers by the user id without its tenant prefix."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        cache = self.shared.setdefault("cache", {})
        key = context.user_id.rsplit(":", 1)[-1]
        return cache.setdefault(key, Manager(context.user_id, self, mode))


class ThreadCacheFactory(Factory):
    """Caches managers by thread id: two users of one thread share a manager."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        cache = self.shared.setdefault("cache", {})
        return cache.setdefault(context.thread_id, Manager(context.user_id, self, mode))


class CaseFoldingQueryManager(Manager):
    """Answers get_user_connections from a factory-wide index keyed by the case-folded id."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        index = self.factory.shared.setdefault("index", {})
        index.setdefault(connection.user_id.casefold(), set()).add(connection.connection_id)

    def get_user_connections(self, user_id: str) -> set[str]:
        own = super().get_user_connections(user_id)
        return own | self.factory.shared.get("index", {}).get(user_id.casefold(), set())


# --- late and deferred delivery ------------------------------------------------------------


class LateCopyManager(Manager):
    """After each send, a timer thread copies the message to the previous user's connections."""

    def __init__(self, user_id: str, factory: Factory, mode: WebSocketManagerMode) -> None:
        super().__init__(user_id, factory, mode)
        managers = factory.shared.setdefault("managers", [])
        self.previous: Manager | None = managers[-1] if managers else None
        managers.append(self)

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        await super().send_to_user(user_id, message)
        previous = self.previous
        if previous is not None and previous._connections:
            target = next(iter(previous._connections.values()))
            timer = threading.Timer(0.001, _drive, (target.websocket.send_json(message),))
            timer.daemon = True
            timer.start()


class BatchingManager(Manager):
    """Buffers messages in a factory-wide batch, flushed to whoever sends the fifth."""

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        if user_id != self.user_id:
            raise PermissionError("message for another user")
        if not self._connections:
            raise LookupError("nobody is listening")
        batch: list[dict[str, Any]] = self.factory.shared.setdefault("batch", [])
        batch.append(message)
        if len(batch) >= 5:
            self.factory.shared["batch"] = []
            for queued in batch:
                await self._deliver(self._targets(), queued)


class ReplayingManager(Manager):
    """Replays the factory-wide recent history to every newly added connection."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        for message in self.factory.shared.get("history", [])[-20:]:
            await connection.websocket.send_json(message)

    async def _deliver(self, targets: list[WebSocketConnection], message: dict[str, Any]) -> None:
        self.factory.shared.setdefault("history", []).append(message)
        await super()._deliver(targets, message)


class WrongRetryManager(Manager):
    """Retries a failed send on the last connection that worked, whoever's it is."""

    async def _deliver(self, targets: list[WebSocketConnection], message: dict[str, Any]) -> None:
        if not targets:
            raise LookupError("nobody is listening")
        for connection in targets:
            try:
                await connection.websocket.send_json(message)
            except Exception:  # Retried below, on the wrong connection.
                fallback = self.factory.shared.get("last_good")
                if fallback is not None:
                    await fallback.websocket.send_json(message)
            else:
                self.factory.shared["last_good"] = connection


class FireAndForgetManager(Manager):
    """Returns at once and delivers from a background thread."""

    async def _deliver(self, targets: list[WebSocketConnection], message: dict[str, Any]) -> None:
        if not targets:
            raise LookupError("nobody is listening")

        def deliver() -> None:
            for connection in targets:
                try:
                    _drive(connection.websocket.send_json(message))
                except Exception:  # Nobody is told: the fault this entry shows.
                    continue

        worker = threading.Timer(0.001, deliver)
        worker.daemon = True
        worker.start()


class NextCallManager(Manager):
    """Delivers each message when the next one is sent: always one message behind."""

    async def _deliver(self, targets: list[WebSocketConnection], message: dict[str, Any]) -> None:
        pending = self.factory.shared.pop(id(self), None)
        self.factory.shared[id(self)] = (targets, message)
        if pending is not None:
            await super()._deliver(*pending)
        elif not targets:
            raise LookupError("nobody is listening")


class MonitorCopyManager(Manager):
    """Also copies every message to the first connection the factory ever saw (a 'monitor')."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        self.factory.shared.setdefault("monitor", connection)

    def _targets(self) -> list[WebSocketConnection]:
        monitor = self.factory.shared.get("monitor")
        own = super()._targets()
        return own if monitor is None or monitor in own else [*own, monitor]


# --- lifecycle and removal ------------------------------------------------------------------


class StickyRemovalManager(Manager):
    """remove_connection marks the connection gone; every query honours the mark, delivery not."""

    def __init__(self, user_id: str, factory: Factory, mode: WebSocketManagerMode) -> None:
        super().__init__(user_id, factory, mode)
        self._removed: set[str] = set()

    async def remove_connection(self, connection_id: str) -> None:
        self._removed.add(connection_id)

    def get_user_connections(self, user_id: str) -> set[str]:
        return super().get_user_connections(user_id) - self._removed

    def is_connection_active(self, user_id: str) -> bool:
        return bool(self.get_user_connections(user_id))

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        return {"user_id": user_id, "connections": sorted(self.get_user_connections(user_id))}

    def _targets(self) -> list[WebSocketConnection]:
        live = [c for c in super()._targets() if c.connection_id not in self._removed]
        return live and super()._targets()


class NoopRemovalManager(Manager):
    """remove_connection does nothing at all."""

    async def remove_connection(self, connection_id: str) -> None:
        return None


class FirstConnectionOnlyManager(Manager):
    """Delivers to the user's first connection only."""

    def _targets(self) -> list[WebSocketConnection]:
        return super()._targets()[:1]


class LatestConnectionOnlyManager(Manager):
    """Delivers to the user's most recent connection only."""

    def _targets(self) -> list[WebSocketConnection]:
        return super()._targets()[-1:]


class RemoveAllManager(Manager):
    """Removing one connection silently stops delivery to all of the user's connections."""

    async def remove_connection(self, connection_id: str) -> None:
        await super().remove_connection(connection_id)
        self.cut = True

    async def _deliver(self, targets: list[WebSocketConnection], message: dict[str, Any]) -> None:
        if not getattr(self, "cut", False):
            await super()._deliver(targets, message)


class ThreadSlotManager(Manager):
    """One delivery slot per thread: a second connection on the thread replaces the first."""

    def __init__(self, user_id: str, factory: Factory, mode: WebSocketManagerMode) -> None:
        super().__init__(user_id, factory, mode)
        self._slots: dict[str | None, WebSocketConnection] = {}

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        self._slots[connection.thread_id] = connection

    def _targets(self) -> list[WebSocketConnection]:
        return [c for c in self._slots.values() if c.connection_id in self._connections]


class SnapshotRecipientsManager(Manager):
    """Freezes its recipients at the first send: later connections never receive."""

    def _targets(self) -> list[WebSocketConnection]:
        if not hasattr(self, "frozen"):
            self.frozen = super()._targets()
        return [c for c in self.frozen if c.connection_id in self._connections]


# --- modes ----------------------------------------------------------------------------------


class SharedEmergencyFactory(Factory):
    """The seed system: in EMERGENCY mode everyone gets one shared manager."""

    fallback = WebSocketManagerMode.EMERGENCY

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        if mode is self.fallback:
            return self.shared.setdefault("fallback", Manager(context.user_id, self, mode))
        return super().make(context, mode)


class SharedDegradedFactory(SharedEmergencyFactory):
    """In DEGRADED mode everyone gets one shared manager."""

    fallback = WebSocketManagerMode.DEGRADED


class BroadcastEmergencyManager(Manager):
    """In EMERGENCY mode, delivers to every connection any emergency manager holds."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        if self.mode is WebSocketManagerMode.EMERGENCY:
            self.factory.shared.setdefault("all", []).append(connection)

    def _targets(self) -> list[WebSocketConnection]:
        if self.mode is WebSocketManagerMode.EMERGENCY:
            return list(self.factory.shared.get("all", []))
        return super()._targets()


class SilentDegradedManager(Manager):
    """In DEGRADED mode, drops every message and reports it sent."""

    async def _deliver(self, targets: list[WebSocketConnection], message: dict[str, Any]) -> None:
        if self.mode is not WebSocketManagerMode.DEGRADED:
            await super()._deliver(targets, message)


class MockInDegradedFactory(Factory):
    """In DEGRADED mode, hands out a Mock as the manager."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        if mode is WebSocketManagerMode.DEGRADED:
            return Mock()
        return super().make(context, mode)


# --- blocking ----------------------------------------------------------------------------


class SleepingFactory(Factory):
    """create_manager sleeps for a tenth of a second: it blocks whatever thread calls it."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        time.sleep(0.1)
        return super().make(context, mode)


def _in_event_loop() -> bool:
    # The tests' event loop runs in the main thread; worker threads are others.
    return threading.current_thread() is threading.main_thread()


class LoopSleepingFactory(Factory):
    """Fast in a worker thread, but sleeps when called on the event loop (as the bridge does)."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        if _in_event_loop():
            time.sleep(0.1)
        return super().make(context, mode)


class LazyHealthManager(Manager):
    """Its first health checks on the event loop wait 80 ms for a lazily opened metrics client."""

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        if _in_event_loop():
            with self.factory.lock:
                waits = self.factory.shared["waits"] = self.factory.shared.get("waits", 0) + 1
            if waits <= 2:
                time.sleep(0.08)
        return super().get_connection_health(user_id)


class CoroutineHealthManager(Manager):
    """get_connection_health is a plain function that returns a coroutine."""

    async def _health(self, user_id: str) -> dict[str, Any]:
        return super().get_connection_health(user_id)

    def get_connection_health(self, user_id: str) -> Any:
        return self._health(user_id)


# --- hostile code ---------------------------------------------------------------------------


class UnprintableError(Exception):
    """An exception whose str() and repr() raise."""

    def __str__(self) -> str:
        raise RuntimeError("cannot render")

    def __repr__(self) -> str:
        raise RuntimeError("cannot render")


def _raising_factory(error: Callable[[], BaseException], doc: str) -> type[Factory]:
    def make(self: Factory, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        raise error()

    return type(
        "".join(word.capitalize() for word in doc.split()) + "Factory",
        (Factory,),
        {"make": make, "__doc__": doc, "__module__": __name__},
    )


class InterruptingSendManager(Manager):
    """send_to_user raises KeyboardInterrupt."""

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        raise KeyboardInterrupt


class SelfContainingListFactory(Factory):
    """create_manager returns a list that contains itself."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        hostile: list[Any] = []
        hostile.append(hostile)
        return hostile


class HostileMapping(Mapping[str, Any]):
    """A mapping whose every read raises."""

    def keys(self) -> Any:
        raise RuntimeError("keys() is not for you")

    def __getitem__(self, key: str) -> Any:
        raise RuntimeError("not for you")

    def __iter__(self) -> Iterator[str]:
        raise RuntimeError("not for you")

    def __len__(self) -> int:
        raise RuntimeError("not for you")


class HostileHealthManager(Manager):
    """get_connection_health returns a mapping whose keys() raises."""

    def get_connection_health(self, user_id: str) -> Any:
        return HostileMapping()


class SelfContainingConnectionsManager(Manager):
    """get_user_connections returns a list that contains itself."""

    def get_user_connections(self, user_id: str) -> Any:
        hostile: list[Any] = []
        hostile.append(hostile)
        return hostile


class SystemExitIsolationClaimFactory(Factory):
    """supports_user_isolation raises SystemExit."""

    def supports_user_isolation(self) -> bool:
        raise SystemExit(3)


class InterruptingValidationFactory(Factory):
    """validate_manager_instance raises KeyboardInterrupt."""

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        raise KeyboardInterrupt


class ExitingPropertyManager(Manager):
    """Looking up emit_critical_event raises SystemExit."""

    @property
    def emit_critical_event(self) -> Any:  # type: ignore[override]
        raise SystemExit(1)


class CancellingConnectManager(Manager):
    """add_connection raises a CancelledError nobody asked for."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        raise asyncio.CancelledError


# --- lying queries --------------------------------------------------------------------------


class ConstantHealthManager(Manager):
    """get_connection_health is a constant {"healthy": True}."""

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        return {"healthy": True}


class LeakyConnectionsManager(Manager):
    """get_user_connections answers from a factory-wide index, whoever asks."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        index = self.factory.shared.setdefault("index", {})
        index.setdefault(connection.user_id, set()).add(connection.connection_id)

    async def remove_connection(self, connection_id: str) -> None:
        await super().remove_connection(connection_id)
        self.factory.shared.get("index", {}).get(self.user_id, set()).discard(connection_id)

    def get_user_connections(self, user_id: str) -> set[str]:
        return set(self.factory.shared.get("index", {}).get(user_id, set()))


class OnlineUsersHealthManager(Manager):
    """Health lists every user online on the server, as a status page would."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        self.factory.shared.setdefault("online", set()).add(connection.user_id)

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        if user_id != self.user_id:
            raise PermissionError("another user's connections")
        online = sorted(self.factory.shared.get("online", ()))
        return {"connections": sorted(self._connections), "online": online}


class ServerWideConnectionsManager(Manager):
    """Health of its own user, plus a debug dump of the server's `user/connection` keys."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        registry = self.factory.shared.setdefault("all", {})
        registry[f"{connection.user_id}/{connection.connection_id}"] = connection

    async def remove_connection(self, connection_id: str) -> None:
        await super().remove_connection(connection_id)
        self.factory.shared.get("all", {}).pop(f"{self.user_id}/{connection_id}", None)

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        if user_id != self.user_id:
            raise PermissionError("another user's connections")
        dump = sorted(self.factory.shared.get("all", {}))
        return {"connections": sorted(self._connections), "debug": {"server": dump}}


class AlwaysActiveManager(Manager):
    """is_connection_active says yes whatever the state."""

    def is_connection_active(self, user_id: str) -> bool:
        return True


class NeverActiveManager(Manager):
    """is_connection_active says no whatever the state."""

    def is_connection_active(self, user_id: str) -> bool:
        return False


class EmptyConnectionsManager(Manager):
    """get_user_connections always answers with nothing."""

    def get_user_connections(self, user_id: str) -> set[str]:
        return set()


class QuietNoConnectionManager(Manager):
    """A send to a user with no connection returns as if delivered."""

    async def _deliver(self, targets: list[WebSocketConnection], message: dict[str, Any]) -> None:
        if targets:
            await super()._deliver(targets, message)


class AlwaysValidFactory(Factory):
    """validate_manager_instance accepts anything."""

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        return FactoryValidationResult(is_valid=True)


class ClassNameValidatingFactory(Factory):
    """validate_manager_instance trusts the class name, which anyone can copy."""

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        return FactoryValidationResult(is_valid=type(manager).__name__ == "Manager")


class EscapeRaisingFactory(Factory):
    """create_manager raises with terminal escape sequences in its message."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        raise RuntimeError("\x1b[2J\x1b[31mall good\x1b]0;owned\x07")


# --- interface, and the seed system's habits ----------------------------------------------


class ClosingRemovalManager(Manager):
    """remove_connection closes every socket of that id the factory has seen, whoever's."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await super().add_connection(connection)
        self.factory.shared.setdefault("sockets", []).append(connection)

    async def remove_connection(self, connection_id: str) -> None:
        await super().remove_connection(connection_id)
        for connection in self.factory.shared.get("sockets", []):
            if connection.connection_id == connection_id:
                await connection.websocket.close()  # type: ignore[attr-defined]


class AddresseeBlindManager(Manager):
    """Sends everything to its own connections, whoever the message is addressed to."""

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        await self._deliver(self._targets(), message)

    async def send_to_thread(self, thread_id: str, message: dict[str, Any]) -> None:
        await self._deliver(self._targets(), message)


class SwallowingManager(Manager):
    """Hides failed deliveries, as the seed system's managers did."""

    async def _deliver(self, targets: list[WebSocketConnection], message: dict[str, Any]) -> None:
        try:
            await super()._deliver(targets, message)
        except ExceptionGroup:
            return


def _undecorated(method: Callable[..., Any]) -> Callable[..., Any]:
    # A decorator written without functools.wraps: the method no longer declares itself async.
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    return wrapper


class UndeclaredAsyncManager(Manager):
    """send_to_user is a plain function returning a coroutine, not declared async."""

    send_to_user = _undecorated(Manager.send_to_user)  # type: ignore[assignment]


class NoKwargsFactory(Factory):
    """create_manager takes no **kwargs, so a caller's extra option breaks it."""

    def create_manager(  # type: ignore[override]
        self, user_context: UserExecutionContext | None, mode: WebSocketManagerMode = UNIFIED
    ) -> Any:
        return super().create_manager(user_context, mode)


class ContextlessFactory(Factory):
    """Hands a caller without a user context a manager (the seed system's anonymous path)."""

    def create_manager(
        self,
        user_context: UserExecutionContext | None,
        mode: WebSocketManagerMode = UNIFIED,
        **kwargs: Any,
    ) -> Any:
        if user_context is None:
            return Manager("anonymous-everyone", self, mode)
        return super().create_manager(user_context, mode)


class SingleManager(Manager):
    """Serves every user from one instance, routing by user id."""

    def __init__(self, user_id: str, factory: Factory, mode: WebSocketManagerMode) -> None:
        super().__init__(user_id, factory, mode)
        self._by_user: dict[str, dict[str, WebSocketConnection]] = {}

    async def add_connection(self, connection: WebSocketConnection) -> None:
        self._by_user.setdefault(connection.user_id, {})[connection.connection_id] = connection

    async def remove_connection(self, connection_id: str) -> None:
        for connections in self._by_user.values():
            connections.pop(connection_id, None)

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        await self._deliver(list(self._by_user.get(user_id, {}).values()), message)

    async def send_to_thread(self, thread_id: str, message: dict[str, Any]) -> None:
        targets = [c for cs in self._by_user.values() for c in cs.values()]
        await self._deliver([c for c in targets if c.thread_id == thread_id], message)

    async def emit_critical_event(  # type: ignore[override]
        self, user_id: str, event_type: str, data: dict[str, Any]
    ) -> None:
        await self.send_to_user(user_id, {"type": event_type, "data": data})

    def get_user_connections(self, user_id: str) -> set[str]:
        return set(self._by_user.get(user_id, {}))

    def is_connection_active(self, user_id: str) -> bool:
        return bool(self._by_user.get(user_id))

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        return {"user_id": user_id, "connections": sorted(self._by_user.get(user_id, {}))}


class SingleManagerFactory(Factory):
    """One manager for every user, routing by user id: no user has a manager of its own."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        return self.shared.setdefault("single", SingleManager(context.user_id, self, mode))


class WrappingSlotsFactory(Factory):
    """A slot table that wraps after three: the fourth user gets the first user's manager.

    The shared manager routes every message, question and removal by user id, and
    the two users it serves are never asked to reach each other and hold no
    connection id in common, so no message, answer or removal of theirs goes
    astray: only the identity of their managers shows the sharing.
    """

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        slots: list[SingleManager] = self.shared.setdefault("slots", [])
        if self.created == 4:
            return slots[0]
        slots.append(SingleManager(context.user_id, self, mode))
        return slots[-1]


class IsolationDenyingFactory(Factory):
    """Says plainly that its managers are not isolated."""

    def supports_user_isolation(self) -> bool:
        return False


@dataclass(frozen=True)
class Entry:
    """A non-compliant factory and the fragment its refusal must contain."""

    family: str
    make: Callable[[], object]
    fault: str

    @property
    def name(self) -> str:
        """The family and the factory's class name, as a test id."""
        return f"{self.family}-{getattr(self.make, '__name__', 'factory')}"


def _entry(family: str, factory: type[Factory], fault: str) -> Entry:
    return Entry(family, factory, fault)


SAME = "received the same manager instance"
LEAK = "isolation: user "

NONCOMPLIANT: tuple[Entry, ...] = (
    # scale and volume
    _entry("scale", PoolOfEightFactory, SAME),
    _entry("scale", FirstTwelveOnlyFactory, SAME),
    _entry("scale", _with_manager(OverflowRegistryManager, "Overflow registry"), LEAK),
    _entry("scale", RecyclingPoolFactory, LEAK),
    _entry("scale", _with_manager(QuotaManager, "Drops after fifty"), "never received"),
    _entry("scale", _with_manager(TwoConnectionCapManager, "Caps at two"), "never received"),
    # id collisions
    _entry("ids", _with_manager(CaseFoldingManager, "Case-folded registry"), LEAK),
    _entry("ids", _with_manager(TenantStrippingManager, "Tenant-stripped registry"), LEAK),
    _entry("ids", _with_manager(ThreadKeyedManager, "Thread-keyed index"), LEAK),
    _entry("ids", _with_manager(ConnectionIdRegistryManager, "ws-1 registry"), "isolation"),
    _entry("ids", _with_manager(GlobalRemovalManager, "Global removal"), "disconnected"),
    _entry(
        "ids",
        _with_manager(TenantWaryManager, "Tenant-wary"),
        "manager.add_connection: raised PermissionError: unknown user id format for user ",
    ),
    _entry("ids", CaseFoldedCacheFactory, SAME),
    _entry("ids", TenantStrippedCacheFactory, SAME),
    _entry("ids", ThreadCacheFactory, SAME),
    _entry("ids", _with_manager(CaseFoldingQueryManager, "Case-folded query"), "reported user"),
    # late and deferred delivery
    _entry("late", _with_manager(LateCopyManager, "Late copy"), "after the call returned"),
    _entry("late", _with_manager(BatchingManager, "Batching"), LEAK),
    _entry("late", _with_manager(ReplayingManager, "Replaying"), LEAK),
    _entry("late", _with_manager(WrongRetryManager, "Wrong retry"), LEAK),
    _entry("late", _with_manager(FireAndForgetManager, "Fire and forget"), "returned before"),
    _entry("late", _with_manager(NextCallManager, "One behind"), "returned before"),
    _entry("late", _with_manager(MonitorCopyManager, "Monitor copy"), LEAK),
    # lifecycle and removal
    _entry("removal", _with_manager(StickyRemovalManager, "Sticky"), "after it was removed"),
    _entry("removal", _with_manager(NoopRemovalManager, "No-op removal"), "after it was removed"),
    _entry("removal", _with_manager(FirstConnectionOnlyManager, "First only"), "never received"),
    _entry("removal", _with_manager(LatestConnectionOnlyManager, "Latest only"), "never received"),
    _entry("removal", _with_manager(RemoveAllManager, "Remove all"), "never received"),
    _entry("removal", _with_manager(ThreadSlotManager, "Thread slot"), "never received"),
    _entry("removal", _with_manager(SnapshotRecipientsManager, "Snapshot"), "never received"),
    # modes
    _entry("modes", SharedEmergencyFactory, "create_manager(mode=EMERGENCY): users"),
    _entry("modes", SharedDegradedFactory, "create_manager(mode=DEGRADED): users"),
    _entry("modes", _with_manager(BroadcastEmergencyManager, "Broadcast emergency"), LEAK),
    _entry("modes", _with_manager(SilentDegradedManager, "Silent degraded"), "never received"),
    _entry("modes", MockInDegradedFactory, "manager.send_to_user: is a plain method"),
    # blocking
    _entry("blocking", SleepingFactory, "create_manager: blocked"),
    _entry("blocking", LoopSleepingFactory, "create_manager: blocked the event loop"),
    _entry(
        "blocking",
        _with_manager(LazyHealthManager, "Lazy health"),
        "manager.get_connection_health: blocked the event loop for ",
    ),
    _entry(
        "queries",
        _with_manager(CoroutineHealthManager, "Coroutine health"),
        "manager.get_connection_health: returned an awaitable",
    ),
    # hostile code
    _entry(
        "hostile",
        _raising_factory(asyncio.CancelledError, "Raises CancelledError"),
        "create_manager: raised CancelledError",
    ),
    _entry(
        "hostile",
        _raising_factory(lambda: SystemExit(2), "Raises SystemExit"),
        "create_manager: raised SystemExit",
    ),
    _entry(
        "hostile",
        _raising_factory(GeneratorExit, "Raises GeneratorExit"),
        "create_manager: raised GeneratorExit",
    ),
    _entry(
        "hostile",
        _raising_factory(KeyboardInterrupt, "Raises KeyboardInterrupt"),
        "create_manager: raised KeyboardInterrupt",
    ),
    _entry(
        "hostile",
        _raising_factory(UnprintableError, "Raises an unprintable error"),
        "create_manager: raised UnprintableError",
    ),
    _entry("hostile", EscapeRaisingFactory, "create_manager: raised RuntimeError: \\x1b[2J"),
    _entry(
        "hostile",
        _with_manager(InterruptingSendManager, "Interrupting send"),
        "manager.send_to_user: raised KeyboardInterrupt",
    ),
    _entry(
        "hostile",
        _with_manager(CancellingConnectManager, "Cancelling connect"),
        "manager.add_connection: raised CancelledError",
    ),
    _entry("hostile", SelfContainingListFactory, "manager.add_connection: method missing"),
    _entry(
        "hostile",
        _with_manager(ExitingPropertyManager, "Exiting property"),
        "manager.emit_critical_event: looking it up raised SystemExit",
    ),
    _entry(
        "hostile",
        _with_manager(HostileHealthManager, "Hostile health"),
        "manager.get_connection_health: ",
    ),
    _entry(
        "hostile",
        _with_manager(SelfContainingConnectionsManager, "Self-containing connections"),
        "manager.get_user_connections: ",
    ),
    _entry(
        "hostile", SystemExitIsolationClaimFactory, "supports_user_isolation: raised SystemExit"
    ),
    _entry(
        "hostile",
        InterruptingValidationFactory,
        "validate_manager_instance: raised KeyboardInterrupt",
    ),
    # lying queries
    _entry(
        "queries",
        _with_manager(ConstantHealthManager, "Constant health"),
        "manager.get_connection_health: gave the same answer",
    ),
    _entry("queries", _with_manager(LeakyConnectionsManager, "Leaky query"), "reported user"),
    _entry(
        "queries",
        _with_manager(OnlineUsersHealthManager, "Online users"),
        "manager revealed user ",
    ),
    _entry(
        "queries",
        _with_manager(ServerWideConnectionsManager, "Server-wide connections"),
        "manager revealed user ",
    ),
    _entry(
        "queries",
        _with_manager(AlwaysActiveManager, "Always active"),
        "manager.is_connection_active: returned True",
    ),
    _entry(
        "queries",
        _with_manager(NeverActiveManager, "Never active"),
        "manager.is_connection_active: returned False",
    ),
    _entry(
        "queries",
        _with_manager(EmptyConnectionsManager, "Empty connections"),
        "manager.get_user_connections: returned",
    ),
    _entry(
        "queries",
        _with_manager(QuietNoConnectionManager, "Quiet when nobody listens"),
        "who has no connection",
    ),
    _entry("queries", AlwaysValidFactory, "validate_manager_instance: accepted"),
    _entry("queries", ClassNameValidatingFactory, "impostor with the class name"),
    _entry("queries", IsolationDenyingFactory, "supports_user_isolation: returned False"),
    # removal, delivery and interface faults the seed system shipped
    _entry("removal", _with_manager(ClosingRemovalManager, "Closes others"), "closed user"),
    _entry("ids", _with_manager(AddresseeBlindManager, "Addressee-blind"), "addressed to"),
    _entry(
        "late",
        _with_manager(SwallowingManager, "Swallowing"),
        "a delivery to a failing connection raised nothing",
    ),
    _entry(
        "interface",
        _with_manager(UndeclaredAsyncManager, "Undeclared async"),
        "manager.send_to_user: is a plain method",
    ),
    _entry("interface", NoKwargsFactory, "create_manager: signature"),
    _entry("modes", ContextlessFactory, "missing user context"),
    _entry("scale", SingleManagerFactory, SAME),
    _entry("scale", WrappingSlotsFactory, "create_manager: users A and D received the same"),
)


# --- correct factories of different shapes ------------------------------------------------


class UnifiedEmitManager(Manager):
    """Declares the seed system's unified emit_critical_event(user_id, event_type, data)."""

    async def emit_critical_event(  # type: ignore[override]
        self, user_id: str, event_type: str, data: dict[str, Any]
    ) -> None:
        await self.send_to_user(user_id, {"type": event_type, "data": data})


class DelegatingManager:
    """Declares every method with *args/**kwargs and delegates to an inner manager."""

    def __init__(self, user_id: str, factory: Factory, mode: WebSocketManagerMode) -> None:
        self._inner = Manager(user_id, factory, mode)

    async def add_connection(self, *args: Any, **kwargs: Any) -> None:
        await self._inner.add_connection(*args, **kwargs)

    async def remove_connection(self, *args: Any, **kwargs: Any) -> None:
        await self._inner.remove_connection(*args, **kwargs)

    async def send_to_user(self, *args: Any, **kwargs: Any) -> None:
        await self._inner.send_to_user(*args, **kwargs)

    async def send_to_thread(self, *args: Any, **kwargs: Any) -> None:
        await self._inner.send_to_thread(*args, **kwargs)

    async def emit_critical_event(self, *args: Any, **kwargs: Any) -> None:
        await self._inner.emit_critical_event(*args, **kwargs)

    def get_user_connections(self, *args: Any, **kwargs: Any) -> set[str]:
        return self._inner.get_user_connections(*args, **kwargs)

    def is_connection_active(self, *args: Any, **kwargs: Any) -> bool:
        return self._inner.is_connection_active(*args, **kwargs)

    def get_connection_health(self, *args: Any, **kwargs: Any) -> dict[str, Any]:
        return self._inner.get_connection_health(*args, **kwargs)


class DelegatingFactory(Factory):
    """Managers declared with *args/**kwargs."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        return DelegatingManager(context.user_id, self, mode)

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        return FactoryValidationResult(is_valid=isinstance(manager, DelegatingManager))


def traced(method: Callable[..., Any]) -> Callable[..., Any]:
    """An ordinary decorator: a plain function that returns what the method returns."""

    @functools.wraps(method)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return method(*args, **kwargs)

    return wrapper


class DecoratedManager(Manager):
    """Every async method wrapped by a functools.wraps decorator."""

    add_connection = traced(Manager.add_connection)  # type: ignore[assignment]
    remove_connection = traced(Manager.remove_connection)  # type: ignore[assignment]
    send_to_user = traced(Manager.send_to_user)  # type: ignore[assignment]
    send_to_thread = traced(Manager.send_to_thread)  # type: ignore[assignment]
    emit_critical_event = traced(Manager.emit_critical_event)  # type: ignore[assignment]
    get_connection_health = traced(Manager.get_connection_health)  # type: ignore[assignment]


class TextPayloadManager(Manager):
    """Sends JSON text frames (send_text) and bytes for critical events, in its own envelope."""

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        if user_id != self.user_id:
            raise PermissionError("message for another user")
        await self._send_text(self._targets(), {"envelope": 1, "body": message})

    async def send_to_thread(self, thread_id: str, message: dict[str, Any]) -> None:
        targets = [c for c in self._targets() if c.thread_id == thread_id]
        await self._send_text(targets, {"envelope": 1, "thread": thread_id, "body": message})

    async def emit_critical_event(self, event_type: str, data: dict[str, Any]) -> None:
        frame = json.dumps({"event": event_type, "payload": data}).encode()
        targets = self._targets()
        if not targets:
            raise LookupError("nobody is listening")
        for connection in targets:
            await connection.websocket.send_bytes(frame)  # type: ignore[attr-defined]

    async def _send_text(self, targets: list[WebSocketConnection], body: dict[str, Any]) -> None:
        if not targets:
            raise LookupError("nobody is listening")
        for connection in targets:
            await connection.websocket.send_text(json.dumps(body))  # type: ignore[attr-defined]


class ModeRefusingFactory(Factory):
    """Refuses the EMERGENCY and DEGRADED modes by raising."""

    def make(self, context: UserExecutionContext, mode: WebSocketManagerMode) -> Any:
        if mode in (WebSocketManagerMode.EMERGENCY, WebSocketManagerMode.DEGRADED):
            raise ValueError(f"mode {mode.value} is not served")
        return super().make(context, mode)


class LockingManager(Manager):
    """Guards its connections with a lock, for callers on several threads."""

    def __init__(self, user_id: str, factory: Factory, mode: WebSocketManagerMode) -> None:
        super().__init__(user_id, factory, mode)
        self._lock = threading.RLock()

    async def add_connection(self, connection: WebSocketConnection) -> None:
        with self._lock:
            await super().add_connection(connection)

    async def remove_connection(self, connection_id: str) -> None:
        with self._lock:
            self._connections.pop(connection_id, None)

    def _targets(self) -> list[WebSocketConnection]:
        with self._lock:
            return list(self._connections.values())

    def get_user_connections(self, user_id: str) -> set[str]:
        with self._lock:
            return super().get_user_connections(user_id)


class StrictManager(Manager):
    """Raises for any question about another user, and for removing what is not there."""

    def get_user_connections(self, user_id: str) -> set[str]:
        if user_id != self.user_id:
            raise PermissionError("another user's connections")
        return set(self._connections)

    def is_connection_active(self, user_id: str) -> bool:
        if user_id != self.user_id:
            raise PermissionError("another user's connections")
        return bool(self._connections)

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        if user_id != self.user_id:
            raise PermissionError("another user's connections")
        return {"connections": len(self._connections), "checked_at": time.monotonic()}


CORRECT: tuple[tuple[str, Callable[[], object]], ...] = (
    ("reference", StandardizedWebSocketManagerFactory),
    ("isolates every mode", Factory),
    ("unified emit_critical_event", _with_manager(UnifiedEmitManager, "Unified emit")),
    ("*args/**kwargs manager", DelegatingFactory),
    ("functools.wraps methods", _with_manager(DecoratedManager, "Decorated")),
    ("text and bytes payloads", _with_manager(TextPayloadManager, "Text payloads")),
    ("refuses EMERGENCY and DEGRADED", ModeRefusingFactory),
    ("thread-safe locking", _with_manager(LockingManager, "Locking")),
    ("strict about strangers", _with_manager(StrictManager, "Strict")),
)

BY_NAME: dict[str, Entry] = {entry.name: entry for entry in NONCOMPLIANT}
