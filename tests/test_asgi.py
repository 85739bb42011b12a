"""The ASGI lifespan, on a real uvicorn server and on the bare lifespan protocol.

uvicorn runs only on asyncio, so the tests that start a real server (in this
process or in a child process) run on asyncio only; the lifespan protocol and
the WebSocket drain are exercised on asyncio and trio.
"""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn

from orchestrator import BootState
from orchestrator.asgi import StartupRefused, WebSocketClosedByDrain, WebSocketDrain

sys.path.insert(0, str(Path(__file__).parent))
import asgi_apps

HERE = Path(__file__).parent
PYTHON = sys.executable


@pytest.fixture
def loopback_socket() -> Iterator[socket.socket]:
    """A listening socket on a free 127.0.0.1 port, handed to uvicorn (no port race)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        yield sock


@pytest.mark.slow
@pytest.mark.parametrize("anyio_backend", ["asyncio"])
@pytest.mark.anyio
async def test_uvicorn_serves_only_after_boot_and_tears_down_after(
    loopback_socket: socket.socket,
) -> None:
    asgi_apps.TEARDOWNS.clear()
    app, smd = asgi_apps.create_app(asgi_apps.ok_boot())
    server = uvicorn.Server(uvicorn.Config(app, lifespan="on", log_level="warning"))
    port = loopback_socket.getsockname()[1]
    async with anyio.create_task_group() as group:
        group.start_soon(server.serve, [loopback_socket])
        while not server.started:  # noqa: ASYNC110  (uvicorn exposes a flag, not an event)
            await anyio.sleep(0.01)
        assert smd.running is not None
        assert smd.running.state is BootState.READY
        async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as client:
            hello = (await client.get("/hello")).json()
            ready = await client.get("/readyz")
        assert hello == {"greeting": "hello", "database": "db-connection", "same": True}
        assert ready.json()["fingerprint"] == smd.running.plan.fingerprint
        assert asgi_apps.TEARDOWNS == []
        server.should_exit = True
    assert asgi_apps.TEARDOWNS == ["database"]
    assert smd.running.state is BootState.STOPPED


@pytest.mark.anyio
async def test_lifespan_protocol_boots_on_startup_and_tears_down_on_shutdown() -> None:
    asgi_apps.TEARDOWNS.clear()
    app, smd = asgi_apps.create_app(asgi_apps.ok_boot())
    to_app, app_receives = anyio.create_memory_object_stream[dict[str, Any]](4)
    app_sends, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)
    state: dict[str, Any] = {}
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": state}
    with to_app, app_receives, app_sends, from_app:
        async with anyio.create_task_group() as group:
            group.start_soon(app, scope, app_receives.receive, app_sends.send)
            await to_app.send({"type": "lifespan.startup"})
            assert (await from_app.receive())["type"] == "lifespan.startup.complete"
            assert state["smd"] is app.state.smd is smd.running
            assert state["smd"].ready
            await to_app.send({"type": "lifespan.shutdown"})
            assert (await from_app.receive())["type"] == "lifespan.shutdown.complete"
    assert asgi_apps.TEARDOWNS == ["database"]
    assert state["smd"].draining


@pytest.mark.anyio
async def test_refused_boot_fails_lifespan_startup_with_one_line() -> None:
    app, smd = asgi_apps.create_app(asgi_apps.failing_boot())
    shown: list[str] = []
    smd._on_failure = lambda diagnostic: shown.append(diagnostic.kind)
    to_app, app_receives = anyio.create_memory_object_stream[dict[str, Any]](4)
    app_sends, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    with to_app, app_receives, app_sends, from_app:
        await to_app.send({"type": "lifespan.startup"})
        with pytest.raises(StartupRefused) as refused:
            await app(scope, app_receives.receive, app_sends.send)
        assert (await from_app.receive())["type"] == "lifespan.startup.failed"
    assert shown == ["phase_failed"]
    assert refused.value.exit_code == 69
    assert smd.refused is refused.value
    assert "hunter2" not in str(refused.value)


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [PYTHON, *arguments], capture_output=True, text=True, timeout=30, cwd=HERE, check=False
    )


@pytest.mark.slow
def test_serve_asgi_exits_with_the_diagnostic_code_printed_once() -> None:
    result = _run("asgi_apps.py", "failing")
    assert result.returncode == 69
    assert result.stderr.count("BOOT FAILED TO START") == 1
    assert "Traceback" not in result.stderr
    assert "hunter2" not in result.stderr + result.stdout
    assert "StartupRefused: boot 'asgi-failing' refused to start" in result.stderr


@pytest.mark.slow
def test_plain_uvicorn_prints_the_diagnostic_once_without_a_traceback() -> None:
    result = _run("-m", "uvicorn", "asgi_apps:failing_app", "--host", "127.0.0.1", "--port", "0")
    assert result.returncode == 3  # uvicorn's own code for a failed startup
    assert result.stderr.count("BOOT FAILED TO START") == 1
    assert "Traceback" not in result.stderr


@pytest.mark.slow
def test_sigterm_during_boot_aborts_it_as_interrupted_and_exits_143() -> None:
    with subprocess.Popen(
        [PYTHON, "asgi_apps.py", "slow"],
        cwd=HERE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        assert process.stderr is not None
        for line in process.stderr:
            if "warming up" in line:
                break
        process.send_signal(signal.SIGTERM)
        assert process.wait(timeout=10) == 143
        stderr = process.stderr.read()
        assert stderr.count("BOOT INTERRUPTED") == 1
        assert "Exit code:   143 (interrupted)" in stderr
        assert "Traceback" not in stderr


@pytest.mark.slow
def test_a_second_sigint_cuts_the_grace_short_and_still_tears_down() -> None:
    with subprocess.Popen(
        [PYTHON, "asgi_apps.py", "ok", "60"],
        cwd=HERE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    ) as process:
        try:
            assert process.stderr is not None
            for line in process.stderr:
                if match := re.search(r"http://127\.0\.0\.1:(\d+)", line):
                    break
            assert match is not None
            readyz = f"http://127.0.0.1:{match.group(1)}/readyz"
            process.send_signal(signal.SIGTERM)
            while httpx.get(readyz).status_code == 200:  # the first signal was taken
                time.sleep(0.01)
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=30) == 0  # well inside the 60 s grace
        finally:
            if process.poll() is None:
                process.kill()
        stdout, stderr = process.communicate()
    assert "teardown.completed" in stdout
    assert "Traceback" not in stderr


class _FakeWebSocketApp:
    """Accepts a WebSocket, then keeps sending until the drain stops it."""

    def __init__(self) -> None:
        self.stopped_by: BaseException | None = None

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "websocket.accept"})
        try:
            while True:
                await send({"type": "websocket.send", "text": "tick"})
                await anyio.sleep(0.01)
        except WebSocketClosedByDrain as exc:
            self.stopped_by = exc


@pytest.mark.anyio
async def test_drain_closes_open_websockets_with_1001() -> None:
    inner = _FakeWebSocketApp()
    drain = WebSocketDrain(inner)
    sent: list[dict[str, Any]] = []
    accepted = anyio.Event()

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)
        if message["type"] == "websocket.accept":
            accepted.set()

    async def receive() -> dict[str, Any]:
        await anyio.sleep_forever()
        raise AssertionError

    async with anyio.create_task_group() as group:
        group.start_soon(drain, {"type": "websocket"}, receive, send)
        await accepted.wait()
        assert drain.open_connections == 1
        assert await drain.close_all() == 1
    assert sent[-1] == {"type": "websocket.close", "code": 1001, "reason": "server shutting down"}
    assert isinstance(inner.stopped_by, WebSocketClosedByDrain)
    assert drain.open_connections == 0
