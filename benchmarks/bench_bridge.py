"""Bridge overhead: `AgentWebSocketBridge.notify_*` against sending the same envelopes directly.

Both paths build the same envelope and hand it to the same sockets, whose
`send_json` serialises the message with `json.dumps` (what a real socket pays
at least); they alternate in one process on one backend, and the table reports
medians per notification and their ratio. Time is this thread's CPU time, so
other processes on a shared machine do not blur the comparison (nothing here
waits for I/O). The bridge path is the standard
factory's: admission already done, one `IsolatedWebSocketManager` per user,
delivery with its time bounds.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import platform
import statistics
import time
from importlib.metadata import version
from typing import Any

import anyio

from phases.websocket import (
    AgentWebSocketBridge,
    StandardizedWebSocketManagerFactory,
    UserExecutionContext,
    WebSocketConnection,
)

USERS = int(os.environ.get("SMD_BENCH_BRIDGE_USERS", "500"))
ROUNDS = int(os.environ.get("SMD_BENCH_ROUNDS", "15"))
CONNECTIONS_PER_USER = (1, 3)
AGENT = "research-agent"


class SerialisingSocket:
    """A socket that serialises each message, as a real one must, and keeps only its size."""

    def __init__(self) -> None:
        self.sent_bytes = 0

    async def send_json(self, message: dict[str, Any]) -> None:
        self.sent_bytes += len(json.dumps(message))


async def build(
    connections: int,
) -> tuple[AgentWebSocketBridge, dict[UserExecutionContext, list[SerialisingSocket]]]:
    """A bridge whose users each have `connections` sockets, registered and admitted."""
    bridge = AgentWebSocketBridge(StandardizedWebSocketManagerFactory())
    sockets: dict[UserExecutionContext, list[SerialisingSocket]] = {}
    for index in range(USERS):
        user = UserExecutionContext(f"user-{index}", f"thread-{index}", f"run-{index}")
        manager = bridge.manager_for(user)
        sockets[user] = [SerialisingSocket() for _ in range(connections)]
        for number, socket in enumerate(sockets[user]):
            await manager.add_connection(WebSocketConnection(f"ws-{number}", user.user_id, socket))
    return bridge, sockets


async def send_directly(sockets: dict[UserExecutionContext, list[SerialisingSocket]]) -> None:
    """The baseline: the bridge's envelope, built inline and sent to each socket."""
    for user, targets in sockets.items():
        message = {
            "type": "agent_started",
            "user_id": user.user_id,
            "thread_id": user.thread_id,
            "run_id": user.run_id,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            "agent_name": AGENT,
            "step": 1,
        }
        for socket in targets:
            await socket.send_json(message)


async def notify(
    bridge: AgentWebSocketBridge, sockets: dict[UserExecutionContext, list[SerialisingSocket]]
) -> None:
    """The same envelopes through the bridge."""
    for user in sockets:
        await bridge.notify_agent_started(user, AGENT, step=1)


async def compare(connections: int) -> dict[str, float]:
    """Median µs per notification for both paths, alternating which goes first."""
    bridge, sockets = await build(connections)
    samples: dict[str, list[float]] = {"direct": [], "bridge": []}
    runs = {"direct": lambda: send_directly(sockets), "bridge": lambda: notify(bridge, sockets)}
    for round_number in range(ROUNDS):
        order = ("direct", "bridge") if round_number % 2 == 0 else ("bridge", "direct")
        for name in order:
            started = time.thread_time()
            await runs[name]()
            samples[name].append((time.thread_time() - started) / USERS * 1e6)
    await bridge.close()
    return {name: statistics.median(values) for name, values in samples.items()}


def main() -> list[dict[str, object]]:
    """Run the comparison on asyncio and trio; print and return the rows."""
    print(
        f"\nbridge overhead: {USERS} users, median of {ROUNDS} rounds "
        f"(python {platform.python_version()}, anyio {version('anyio')}, trio {version('trio')})"
    )
    print(f"{'backend':8} {'sockets/user':>12} {'direct µs':>10} {'bridge µs':>10} {'ratio':>6}")
    print("(µs of CPU per notification; ratio = bridge / direct)")
    rows: list[dict[str, object]] = []
    for backend in ("asyncio", "trio"):
        for connections in CONNECTIONS_PER_USER:
            medians = anyio.run(compare, connections, backend=backend)
            ratio = medians["bridge"] / medians["direct"]
            rows.append({"backend": backend, "connections": connections, **medians})
            print(
                f"{backend:8} {connections:12} {medians['direct']:10.2f} "
                f"{medians['bridge']:10.2f} {ratio:6.2f}"
            )
    return rows


if __name__ == "__main__":
    main()
