"""The chat service's boot with the seed system's WebSocket factory: it must refuse to start.

The factory below passes every `hasattr` check the seed system relied on, and
even a `Mock`-proof protocol check, yet it is wrong in three ways the seed
system shipped:

- its managers keep connections in one registry shared by all of them, so user
  B's manager can deliver to user A;
- its `validate_manager_instance` checks `hasattr`, so it accepts anything;
- its `is_connection_active` says yes whatever the state.

Run `smd run --once examples/noncompliant_factory.py`: the factory gate names
each violation with what to change, the boot exits with code 78 (gate_failed),
`agent_websocket_bridge` and everything after it is blocked, and the phases that
had already started (the database, the cache) are torn down.
"""

from __future__ import annotations

from typing import Any, ClassVar

from chat_service import build_boot

from phases.websocket import (
    FactoryValidationResult,
    UserExecutionContext,
    WebSocketConnection,
    WebSocketManagerMode,
)


class SharedRegistryManager:
    """Has every method of the manager protocol; all instances share one registry."""

    # Shared on purpose: a class-level registry is the fault this example shows.
    registry: ClassVar[dict[str, list[WebSocketConnection]]] = {}

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
        return True  # The seed system's health check: always yes.

    def get_connection_health(self, user_id: str) -> dict[str, Any]:
        return {"connections": len(self.registry.get(user_id, [])), "healthy": True}


class SeedSystemFactory:
    """The seed system's factory: right names, right signatures, wrong behaviour."""

    def create_manager(
        self,
        user_context: UserExecutionContext | None,
        mode: WebSocketManagerMode = WebSocketManagerMode.UNIFIED,
        **kwargs: Any,
    ) -> SharedRegistryManager:
        if user_context is None:
            raise ValueError("a user context is required")
        return SharedRegistryManager(user_context.user_id)

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        # The seed system's validation: any object with the right attribute names passes.
        return FactoryValidationResult(is_valid=hasattr(manager, "send_to_user"))

    def supports_user_isolation(self) -> bool:
        return True


boot = build_boot(SeedSystemFactory(), name="chat-service-noncompliant")
