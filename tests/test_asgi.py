"""The ASGI lifespan, on a real uvicorn server and on the bare lifespan protocol.

uvicorn runs only on asyncio, so the tests that start a real server (in this
process or in a child process) run on asyncio only; the lifespan protocol and
the WebSocket drain are exercised on asyncio and trio.
"""

from __future__ import annotations

import os
import re
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import anyio
import httpx
import pytest
import uvicorn

from orchestrator import BootState
from orchestrator._model._events import PhaseStarted
from orchestrator.asgi import (
    BootLifespan,
    StartupRefused,
    WebSocketClosedByDrain,
    WebSocketDrain,
    health_routes,
)
from orchestrator.asgi._front import BootFront
from orchestrator.health import BootProgress
from orchestrator.systemd import SystemdNotifier

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


@dataclass
class Served:
    """An `asgi_apps.py` process: its port once it listens, its stderr lines, its stdout file."""

    process: subprocess.Popen[str]
    stdout: Path
    lines: list[str] = field(default_factory=list)
    port: int = 0
    listening: threading.Event = field(default_factory=threading.Event)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def get(self, path: str, **options: Any) -> httpx.Response:
        return httpx.get(self.url(path), timeout=10, **options)

    def release(self) -> None:
        """Let a held phase or teardown go on (it waits for a line on stdin)."""
        assert self.process.stdin is not None
        self.process.stdin.write("go\n")
        self.process.stdin.flush()

    def wait_until(self, path: str, status: int) -> httpx.Response:
        """Poll `path` (another process) until it answers `status`."""
        while (response := self.get(path)).status_code != status:
            time.sleep(0.01)
        return response

    def wait_for_line(self, text: str) -> None:
        while not any(text in line for line in self.lines):
            assert self.process.poll() is None, "".join(self.lines)
            time.sleep(0.01)


@contextmanager
def served(
    tmp_path: Path, kind: str, *arguments: str, env: dict[str, str] | None = None
) -> Iterator[Served]:
    stdout = tmp_path / "stdout.log"
    with stdout.open("w") as out:
        process = subprocess.Popen(
            [PYTHON, "asgi_apps.py", kind, *arguments],
            cwd=HERE,
            env={**os.environ, **(env or {})},
            stdin=subprocess.PIPE,
            stdout=out,
            stderr=subprocess.PIPE,
            text=True,
        )
    server = Served(process, stdout)

    def read() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            server.lines.append(line)
            if match := re.search(r"http://127\.0\.0\.1:(\d+)", line):
                server.port = int(match.group(1))
                server.listening.set()

    reader = threading.Thread(target=read, daemon=True)
    reader.start()
    try:
        assert server.listening.wait(timeout=30), "".join(server.lines)
        yield server
    finally:
        if process.poll() is None:
            process.kill()
        process.wait(timeout=10)
        reader.join(timeout=10)
        for pipe in (process.stdin, process.stderr):
            if pipe is not None:
                pipe.close()


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
def test_while_booting_startupz_is_503_naming_the_phases_running_and_pending(
    tmp_path: Path,
) -> None:
    with served(tmp_path, "held") as server:
        plan = asgi_apps.held_boot().plan()
        while (startup := server.get("/startupz").json())["running"] != ["warm_up"]:
            time.sleep(0.01)
        assert server.get("/startupz").status_code == 503
        assert startup["pending"] == ["database"]
        assert startup["fingerprint"] == plan.fingerprint
        assert startup["reason"] == "booting (running: warm_up; pending: database)"
        verbose = server.get("/startupz?verbose").text.splitlines()
        assert verbose == [
            "[+]config ok",
            "[-]warm_up failed: running",
            "[-]database failed: pending",
            "startupz check failed",
        ]
        assert server.get("/readyz").status_code == 503
        assert server.get("/livez").status_code == 200
        server.release()


@pytest.mark.slow
def test_while_booting_other_routes_are_503_with_retry_after(tmp_path: Path) -> None:
    with served(tmp_path, "held") as server:
        hello = server.get("/hello")
        assert hello.status_code == 503
        assert hello.headers["retry-after"] == "5"
        assert hello.json()["state"] == "starting"
        server.release()


@pytest.mark.slow
def test_at_ready_the_app_takes_over_without_a_gap(tmp_path: Path) -> None:
    with served(tmp_path, "held") as server:
        seen: list[tuple[int, str | None]] = []
        with httpx.Client(base_url=server.url(""), timeout=10) as client:
            while len(seen) < 5:
                response = client.get("/hello")
                seen.append((response.status_code, response.headers.get("retry-after")))
            server.release()
            while seen[-1][0] != 200:  # every request answered: never a refused connection
                response = client.get("/hello")
                seen.append((response.status_code, response.headers.get("retry-after")))
            assert client.get("/hello").json()["database"] == "db-connection"
            assert client.get("/startupz").status_code == 200
        statuses = [status for status, _ in seen]
        first_ok = statuses.index(200)
        assert set(statuses[:first_ok]) == {503}
        assert all(retry == "5" for _, retry in seen[:first_ok])
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0


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
def test_a_second_signal_cuts_the_grace_short_and_still_tears_down(tmp_path: Path) -> None:
    with served(tmp_path, "ok", "60") as server:
        server.wait_until("/startupz", 200)
        server.process.send_signal(signal.SIGTERM)
        server.wait_until("/readyz", 503)  # the first signal was taken
        server.process.send_signal(signal.SIGTERM)
        assert server.process.wait(timeout=30) == 0  # well inside the 60 s grace
    assert "teardown.completed" in server.stdout.read_text()
    assert "Traceback" not in "".join(server.lines)


@pytest.mark.slow
def test_signals_during_the_teardown_never_skip_it(tmp_path: Path) -> None:
    with served(tmp_path, "held-teardown") as server:
        server.wait_until("/startupz", 200)
        server.process.send_signal(signal.SIGTERM)
        server.wait_for_line("tearing down database")
        for sig in (signal.SIGINT, signal.SIGTERM, signal.SIGINT):
            server.process.send_signal(sig)
        server.release()
        assert server.process.wait(timeout=30) == 0
    log = server.stdout.read_text()
    assert re.search(r"teardown\.completed .*phase=database", log)
    assert "boot.stopped" in log
    assert "Traceback" not in "".join(server.lines)


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


@pytest.mark.slow
def test_a_critical_service_spent_in_service_stops_the_server_with_exit_69(
    tmp_path: Path,
) -> None:
    with served(tmp_path, "crashing-service") as server:
        server.wait_until("/startupz", 200)
        server.release()  # the first crash: restarted
        server.release()  # the second: its restarts are spent
        assert server.process.wait(timeout=30) == 69
    stderr = "".join(server.lines)
    assert stderr.count("phase_failed") == 1
    assert "BOOT FAILED IN SERVICE" in stderr
    assert "BOOT FAILED TO START" not in stderr
    assert "Traceback" not in stderr
    assert re.search(r"teardown\.completed .*phase=database", server.stdout.read_text())


@pytest.mark.slow
def test_a_recovery_from_degraded_to_ready_shows_in_readyz_and_in_status(
    tmp_path: Path,
) -> None:
    flag = tmp_path / "cache-up"
    directory = Path(tempfile.mkdtemp(prefix="smd-", dir="/tmp"))
    address = str(directory / "notify")
    messages: list[str] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(address)
        reader = threading.Thread(target=_read_datagrams, args=(systemd, messages), daemon=True)
        reader.start()
        env = {"SMD_TEST_CACHE_UP": str(flag), "NOTIFY_SOCKET": address}
        with served(tmp_path, "recovering", env=env) as server:
            server.wait_until("/startupz", 200)
            degraded = server.get("/readyz")
            assert degraded.status_code == 200  # DEGRADED is ready by default
            assert degraded.json()["state"] == "degraded"
            assert degraded.json()["degraded"] == ["cache"]
            verbose = server.get("/readyz?verbose").text.splitlines()
            assert "[-]cache failed: ConnectionError: cache is down" in verbose
            flag.touch()
            while (ready := server.get("/readyz").json())["state"] != "ready":
                time.sleep(0.01)
            assert ready["degraded"] == []
            assert server.get("/readyz?verbose").text.splitlines()[1] == "[+]cache ok"
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=30) == 0
        systemd.shutdown(socket.SHUT_RDWR)
        reader.join(timeout=10)
    Path(address).unlink()
    directory.rmdir()
    states = [m for m in messages if m.startswith(("READY=1", "STATUS=ready", "STATUS=degraded"))]
    assert states[0].startswith("READY=1\nSTATUS=degraded")
    assert any(m.startswith("STATUS=ready: asgi-recovering recovered") for m in states)


def _read_datagrams(sock: socket.socket, into: list[str]) -> None:
    while message := sock.recv(4096):
        into.append(message.decode())


@pytest.mark.slow
def test_livez_says_how_long_a_handler_blocked_the_event_loop(tmp_path: Path) -> None:
    env = {"SMD_TEST_STALL_THRESHOLD": "0.2"}
    with served(tmp_path, "ok", env=env) as server:
        server.wait_until("/startupz", 200)
        assert server.get("/livez").status_code == 200
        assert server.get("/block", params={"seconds": "1.5"}).json() == {"blocked": 1.5}
        live = server.get("/livez")
        verbose = server.get("/livez?verbose").text.splitlines()
    assert live.status_code == 503
    said = re.fullmatch(
        r"event loop blocked for (\d+\.\d) s, \d+\.\d s ago \(threshold 0\.2 s\)",
        live.json()["event_loop"],
    )
    assert said is not None
    assert float(said.group(1)) >= 1.4  # it was blocked at least that long, however loaded
    assert verbose[0].startswith("[-]event_loop failed: event loop blocked for ")
    assert verbose[-1] == "livez check failed"


@pytest.mark.slow
def test_serve_asgi_pings_the_systemd_watchdog_from_its_event_loop(tmp_path: Path) -> None:
    directory = Path(tempfile.mkdtemp(prefix="smd-", dir="/tmp"))
    address = str(directory / "notify")
    messages: list[str] = []
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as systemd:
        systemd.bind(address)
        reader = threading.Thread(target=_read_datagrams, args=(systemd, messages), daemon=True)
        reader.start()
        env = {"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "100000"}
        with served(tmp_path, "ok", env=env) as server:
            server.wait_until("/startupz", 200)
            while not _pinged_after_ready(messages):
                time.sleep(0.01)
            server.process.send_signal(signal.SIGTERM)
            assert server.process.wait(timeout=30) == 0
        systemd.shutdown(socket.SHUT_RDWR)
        reader.join(timeout=10)
    Path(address).unlink()
    directory.rmdir()
    assert messages.count("WATCHDOG=1") >= 1


def _pinged_after_ready(messages: list[str]) -> bool:
    seen = list(messages)
    ready = [i for i, m in enumerate(seen) if m.startswith("READY=1")]
    return bool(ready) and "WATCHDOG=1" in seen[ready[0] :]


# --- what the server answers before READY (BootFront), on both backends --------------------


async def _request(app: Any, path: str, headers: dict[str, str] | None = None) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://front") as client:
        return await client.get(path, headers=headers)


def _front(prefix: str = "") -> tuple[BootFront, BootLifespan, list[dict[str, Any]]]:
    from starlette.applications import Starlette
    from starlette.requests import Request
    from starlette.responses import JSONResponse
    from starlette.routing import Route

    scopes: list[dict[str, Any]] = []

    async def hello(request: Request) -> JSONResponse:
        scopes.append(dict(request.scope))
        return JSONResponse({"state": sorted(request.state._state)})

    app = Starlette(routes=[Route("/hello", hello)])
    smd = BootLifespan(asgi_apps.held_boot(), loop_watch=False)
    return BootFront(app, smd, health_prefix=prefix, retry_after=7), smd, scopes


@pytest.mark.anyio
async def test_before_ready_the_front_answers_probes_with_the_plan() -> None:
    front, smd, _ = _front(prefix="/health")
    response = await _request(front, "/health/startupz")
    assert response.status_code == 503
    assert response.json()["fingerprint"] == smd.boot.plan().fingerprint
    assert response.json()["pending"] == ["config", "warm_up", "database"]
    assert (await _request(front, "/health/livez")).status_code == 200


@pytest.mark.anyio
async def test_before_ready_the_front_refuses_other_requests_with_retry_after() -> None:
    front, _, scopes = _front()
    response = await _request(front, "/hello")
    assert (response.status_code, response.headers["retry-after"]) == (503, "7")
    assert response.json()["error"] == "the service is booting"
    assert (await _request(front, "/startupz")).status_code == 503  # no prefix: at the root
    assert scopes == []


@pytest.mark.anyio
async def test_before_ready_a_websocket_is_closed_with_1013() -> None:
    front, _, _ = _front()
    sent: list[dict[str, Any]] = []

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    async def receive() -> dict[str, Any]:
        return {"type": "websocket.connect"}

    await front({"type": "websocket", "path": "/ws"}, receive, send)
    assert sent == [{"type": "websocket.close", "code": 1013, "reason": "booting"}]


@pytest.mark.anyio
async def test_once_open_the_front_hands_requests_to_the_app_with_the_lifespan_state() -> None:
    front, _, scopes = _front()
    front.open({"smd": "the running boot"})
    response = await _request(front, "/hello")
    assert (response.status_code, response.json()) == (200, {"state": ["smd"]})
    assert scopes[0]["state"]["smd"] == "the running boot"


@pytest.mark.anyio
async def test_health_routes_describe_the_boot_in_progress_through_its_lifespan() -> None:
    from starlette.applications import Starlette

    smd = BootLifespan(asgi_apps.held_boot(), loop_watch=False)
    app = Starlette(routes=health_routes())
    app.state.smd_lifespan = smd
    smd.progress = BootProgress(smd.boot.plan())
    smd.progress(PhaseStarted(boot="asgi-held", at=0.0, phase="config", attempt=1))
    body = (await _request(app, "/startupz")).json()
    assert (body["running"], body["fingerprint"]) == (["config"], smd.boot.plan().fingerprint)


def test_a_signal_before_the_boot_starts_still_aborts_it() -> None:
    smd = BootLifespan(asgi_apps.ok_boot())
    smd.interrupt(signal.SIGTERM)
    assert smd._interrupt is not None
    assert smd._interrupt.signal_number == signal.SIGTERM


@pytest.mark.anyio
async def test_the_lifespan_pings_the_watchdog_while_it_runs() -> None:
    name = f"smd-watchdog-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        sock.setblocking(False)
        notifier = SystemdNotifier(address="@" + name, watchdog_usec=20_000)
        smd = BootLifespan(asgi_apps.ok_boot(), sinks=[notifier], loop_watch=False)
        async with smd(object()) as state:
            assert state["smd"].ready
            received: list[bytes] = []
            while b"WATCHDOG=1" not in received:
                await anyio.wait_readable(sock)
                received.append(sock.recv(4096))
    assert notifier.pings >= 1
