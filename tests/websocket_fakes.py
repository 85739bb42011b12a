"""Fakes shared by the WebSocket tests (and examples): probes, a correct third-party
factory written without our base classes, and a catalogue of non-compliant factories,
each wrong in exactly one way."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import anyio.lowlevel

from phases.websocket import (
    FactoryValidationResult,
    UserExecutionContext,
    WebSocketConnection,
    WebSocketManagerMode,
)


class RecordingWebSocket:
    """An in-memory client that records every message sent to it.

    Each send yields to the scheduler first, so concurrent senders really interleave.
    """

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def send_json(self, message: dict[str, Any]) -> None:
        await anyio.lowlevel.checkpoint()
        self.received.append(message)


class BrokenWebSocket:
    """A client whose every send fails, like one that vanished mid-conversation."""

    async def send_json(self, message: dict[str, Any]) -> None:
        raise ConnectionResetError("client went away")


class StalledWebSocket:
    """A client whose send never completes."""

    async def send_json(self, message: dict[str, Any]) -> None:
        await anyio.sleep_forever()


def make_context(name: str) -> UserExecutionContext:
    """A context whose ids all derive from `name`."""
    return UserExecutionContext(
        user_id=f"user-{name}", thread_id=f"thread-{name}", run_id=f"run-{name}"
    )


# --- A correct factory, written by someone else --------------------------------------


class ThirdPartyManager:
    """A correct manager that shares no code with phases.websocket's own."""

    def __init__(self, user_id: str) -> None:
        self._user_id = user_id
        self._connections: dict[str, WebSocketConnection] = {}

    async def add_connection(self, connection: WebSocketConnection) -> None:
        if connection.user_id != self._user_id:
            raise PermissionError("connection belongs to another user")
        self._connections[connection.connection_id] = connection

    async def remove_connection(self, connection_id: str) -> None:
        self._connections.pop(connection_id, None)

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        if user_id != self._user_id:
            raise PermissionError("message for another user")
        await self._broadcast(list(self._connections.values()), message)

    async def send_to_thread(self, thread_id: str, message: dict[str, Any]) -> None:
        targets = [c for c in self._connections.values() if c.thread_id in (None, thread_id)]
        await self._broadcast(targets, message)

    async def emit_critical_event(self, event_type: str, data: dict[str, Any]) -> None:
        await self.send_to_user(self._user_id, {"event": event_type, "payload": data})

    def get_user_connections(self, user_id: str) -> set[str]:
        return set(self._connections) if user_id == self._user_id else set()

    def is_connection_active(self, user_id: str) -> bool:
        return user_id == self._user_id and bool(self._connections)

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        return {"connections": len(self.get_user_connections(user_id))}

    async def _broadcast(self, targets: list[WebSocketConnection], message: dict[str, Any]) -> None:
        if not targets:
            raise LookupError("nobody is listening")
        failures: list[Exception] = []
        for connection in targets:
            try:
                await connection.websocket.send_json(message)
            except Exception as exc:  # Collected and re-raised together below.
                failures.append(exc)
        if failures:
            raise ExceptionGroup("delivery failed", failures)


class ThirdPartyFactory:
    """A correct factory that shares no code with phases.websocket's own."""

    manager_class: type[ThirdPartyManager] = ThirdPartyManager

    def create_manager(
        self,
        user_context: UserExecutionContext | None,
        mode: WebSocketManagerMode = WebSocketManagerMode.UNIFIED,
        **kwargs: Any,
    ) -> ThirdPartyManager:
        if user_context is None:
            raise ValueError("a user context is required")
        return self.manager_class(user_context.user_id)

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        if isinstance(manager, ThirdPartyManager):
            return FactoryValidationResult(is_valid=True, manager_type="ThirdPartyManager")
        return FactoryValidationResult(is_valid=False, validation_errors=("not ours",))

    def supports_user_isolation(self) -> bool:
        return True


# --- Non-compliant factories, one fault each ------------------------------------------


class FactoryMissingIsolationClaim:
    """Has no supports_user_isolation at all."""

    def __init__(self) -> None:
        self._inner = ThirdPartyFactory()

    def create_manager(self, user_context: Any, mode: Any = None, **kwargs: Any) -> Any:
        return self._inner.create_manager(user_context)

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        return self._inner.validate_manager_instance(manager)


class FactoryWithoutUserContextParameter(ThirdPartyFactory):
    """create_manager takes no user context: it cannot bind a manager to a user."""

    def create_manager(self) -> ThirdPartyManager:  # type: ignore[override]
        return ThirdPartyManager("everyone")


class FactoryWithAsyncCreate(ThirdPartyFactory):
    """create_manager is a coroutine function where the protocol wants a plain method."""

    async def create_manager(  # type: ignore[override]
        self, user_context: Any, mode: Any = None, **kwargs: Any
    ) -> ThirdPartyManager:
        return ThirdPartyManager(user_context.user_id)


class FactoryDenyingIsolation(ThirdPartyFactory):
    """Says plainly that its managers are not isolated."""

    def supports_user_isolation(self) -> bool:
        return False


class SyncSendManager(ThirdPartyManager):
    """send_to_user is a plain method where the protocol wants async def."""

    def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:  # type: ignore[override]
        return None


class FactoryWithSyncSend(ThirdPartyFactory):
    manager_class = SyncSendManager


class MisshapenSendManager(ThirdPartyManager):
    """send_to_user forgot its user_id parameter."""

    async def send_to_user(self, message: dict[str, Any]) -> None:  # type: ignore[override]
        return None


class FactoryWithMisshapenSend(ThirdPartyFactory):
    manager_class = MisshapenSendManager


class SharedInstanceFactory(ThirdPartyFactory):
    """Hands every user the same manager."""

    def __init__(self) -> None:
        self._shared: ThirdPartyManager | None = None

    def create_manager(
        self, user_context: Any, mode: Any = WebSocketManagerMode.UNIFIED, **kwargs: Any
    ) -> ThirdPartyManager:
        if self._shared is None:
            self._shared = super().create_manager(user_context)
        return self._shared


class SharedRegistryManager:
    """Passes every hasattr check; keeps connections in a registry all instances share."""

    registry: dict[str, list[WebSocketConnection]] = {}  # noqa: RUF012 - shared on purpose: it is the fault.

    def __init__(self, user_id: str) -> None:
        self.user_id = user_id

    async def add_connection(self, connection: WebSocketConnection) -> None:
        self.registry.setdefault(connection.user_id, []).append(connection)

    async def remove_connection(self, connection_id: str) -> None:
        for connections in self.registry.values():
            connections[:] = [c for c in connections if c.connection_id != connection_id]

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        for connection in self.registry.get(user_id, []):
            await connection.websocket.send_json(message)

    async def send_to_thread(self, thread_id: str, message: dict[str, Any]) -> None:
        for connections in self.registry.values():
            for connection in connections:
                if connection.thread_id == thread_id:
                    await connection.websocket.send_json(message)

    async def emit_critical_event(self, event_type: str, data: dict[str, Any]) -> None:
        await self.send_to_user(self.user_id, {"type": event_type, "data": data})

    def get_user_connections(self, user_id: str) -> set[str]:
        return {c.connection_id for c in self.registry.get(user_id, [])}

    def is_connection_active(self, user_id: str) -> bool:
        return bool(self.registry.get(user_id))

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        return {"connections": len(self.registry.get(user_id, []))}


class SharedRegistryFactory(ThirdPartyFactory):
    """Distinct managers over one shared registry: user B's manager can reach user A."""

    def create_manager(
        self, user_context: Any, mode: Any = WebSocketManagerMode.UNIFIED, **kwargs: Any
    ) -> Any:
        if user_context is None:
            raise ValueError("a user context is required")
        return SharedRegistryManager(user_context.user_id)

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        return FactoryValidationResult(is_valid=isinstance(manager, SharedRegistryManager))


class DroppingManager(ThirdPartyManager):
    """Reports success and sends nothing."""

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        return None


class DroppingFactory(ThirdPartyFactory):
    manager_class = DroppingManager


class SwallowingManager(ThirdPartyManager):
    """Hides failed deliveries, as the seed system's managers did."""

    async def send_to_user(self, user_id: str, message: dict[str, Any]) -> None:
        try:
            await super().send_to_user(user_id, message)
        except ExceptionGroup:
            return


class SwallowingFactory(ThirdPartyFactory):
    manager_class = SwallowingManager


class AlwaysActiveManager(ThirdPartyManager):
    """Its health check says yes whatever the state."""

    def is_connection_active(self, user_id: str) -> bool:
        return True


class AlwaysActiveFactory(ThirdPartyFactory):
    manager_class = AlwaysActiveManager


class HasattrValidatingFactory(ThirdPartyFactory):
    """validate_manager_instance checks hasattr, which any Mock passes."""

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        return FactoryValidationResult(is_valid=hasattr(manager, "send_to_user"))


class SelfRejectingFactory(ThirdPartyFactory):
    """validate_manager_instance rejects even the managers the factory made."""

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        return FactoryValidationResult(is_valid=False, validation_errors=("never good enough",))


class ContextlessFactory(ThirdPartyFactory):
    """Gives a manager to a caller without a user context."""

    def create_manager(
        self, user_context: Any, mode: Any = WebSocketManagerMode.UNIFIED, **kwargs: Any
    ) -> ThirdPartyManager:
        if user_context is None:
            return ThirdPartyManager("anonymous-everyone")
        return super().create_manager(user_context)


class SharedAnonymousManagerFactory(ThirdPartyFactory):
    """Declares a context optional, then shares one manager between contextless callers."""

    require_user_context = False

    def __init__(self) -> None:
        self._anonymous = ThirdPartyManager("anonymous-everyone")

    def create_manager(
        self, user_context: Any, mode: Any = WebSocketManagerMode.UNIFIED, **kwargs: Any
    ) -> ThirdPartyManager:
        if user_context is None:
            return self._anonymous
        return super().create_manager(user_context)


class RaisingFactory(ThirdPartyFactory):
    """create_manager fails for every user."""

    def __init__(self, message: str = "manager pool exhausted") -> None:
        self._message = message

    def create_manager(
        self, user_context: Any, mode: Any = WebSocketManagerMode.UNIFIED, **kwargs: Any
    ) -> ThirdPartyManager:
        raise RuntimeError(self._message)


class FactoryWithRaisingProperty(ThirdPartyFactory):
    """Looking up supports_user_isolation raises instead of giving a method."""

    @property
    def supports_user_isolation(self) -> Any:  # type: ignore[override]
        raise RuntimeError("not configured")


class HangingFactory(ThirdPartyFactory):
    """create_manager blocks its thread until `release` is set."""

    def __init__(self, release: threading.Event) -> None:
        self._release = release

    def create_manager(
        self, user_context: Any, mode: Any = WebSocketManagerMode.UNIFIED, **kwargs: Any
    ) -> ThirdPartyManager:
        if user_context is None:
            raise ValueError("a user context is required")
        self._release.wait()
        return super().create_manager(user_context)


class HangingConnectManager(ThirdPartyManager):
    """add_connection awaits forever."""

    async def add_connection(self, connection: WebSocketConnection) -> None:
        await anyio.sleep_forever()


class HangingAsyncFactory(ThirdPartyFactory):
    manager_class = HangingConnectManager


class BooleanHealthManager(ThirdPartyManager):
    """Its health report is a bare True, as the seed system's was."""

    def get_connection_health(self, user_id: str) -> Any:
        return True


class BooleanHealthFactory(ThirdPartyFactory):
    manager_class = BooleanHealthManager
