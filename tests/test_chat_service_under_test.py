"""The chat service tested through smd's pytest plugin: the example in docs/testing.md."""

from __future__ import annotations

import importlib
from pathlib import Path
from types import ModuleType

import pytest

from orchestrator import Boot, Event, PhaseCompleted, RunningBoot
from orchestrator.testing import BootTestFailure, Fault, booted
from phases.websocket import (
    StandardizedWebSocketManagerFactory,
    UserExecutionContext,
    WebSocketConnection,
)

EXAMPLES = Path(__file__).parent.parent / "examples"


class Inbox:
    """A websocket client that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, object]] = []

    async def send_json(self, message: dict[str, object]) -> None:
        self.received.append(message)


@pytest.fixture
def chat_service(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    monkeypatch.syspath_prepend(str(EXAMPLES))
    return importlib.import_module("chat_service")


@pytest.fixture
def smd_boot(chat_service: ModuleType, tmp_path: Path) -> Boot:
    """The chat service with its settings fixed for the test: data under tmp_path."""
    boot: Boot = chat_service.build_boot(StandardizedWebSocketManagerFactory())
    test_settings = chat_service.ChatSettings.from_env({"SMD_CHAT_DATA_DIR": str(tmp_path)})
    return boot.override(settings=test_settings)


@pytest.mark.anyio
async def test_an_agent_event_reaches_only_its_own_user(smd_running: RunningBoot) -> None:
    bridge = smd_running.resources["agent_websocket_bridge"]
    alice = UserExecutionContext(user_id="alice", thread_id="t-alice", run_id="r-alice")
    bob = UserExecutionContext(user_id="bob", thread_id="t-bob", run_id="r-bob")
    alice_inbox, bob_inbox = Inbox(), Inbox()
    await bridge.manager_for(alice).add_connection(WebSocketConnection("a1", "alice", alice_inbox))
    await bridge.manager_for(bob).add_connection(WebSocketConnection("b1", "bob", bob_inbox))
    await bridge.notify_agent_started(alice, "planner")
    assert [m["type"] for m in alice_inbox.received] == ["agent_started"]
    assert bob_inbox.received == []


@pytest.mark.anyio
async def test_the_overridden_settings_phase_never_ran(
    smd_running: RunningBoot, smd_events: list[Event]
) -> None:
    completed = {e.phase for e in smd_events if isinstance(e, PhaseCompleted)}
    assert "finalize" in completed
    assert [o.phase for o in smd_running.report.overrides] == ["settings"]


@pytest.mark.anyio
async def test_a_cache_that_is_down_stops_the_boot_with_its_diagnostic(smd_boot: Boot) -> None:
    with pytest.raises(BootTestFailure, match="phase 'cache' failed") as failure:
        async with booted(smd_boot, faults=[Fault("cache", error=ConnectionError("down"))]):
            pass
    assert failure.value.diagnostic is not None
    assert "services" in failure.value.diagnostic.blocked
