"""systemd notify: READY, STATUS, EXTEND_TIMEOUT_USEC and STOPPING over a datagram socket."""

from __future__ import annotations

import math
import os
import signal
import socket
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest
from event_samples import every_event

from orchestrator import Boot, BootInterrupt, BootStopping, Retry, TeardownStarted
from orchestrator._model._events import (
    BootStateChanged,
    PhaseRecovered,
    PhaseRestarting,
    SignalReceived,
)
from orchestrator._model._status import BootState
from orchestrator.systemd import SystemdNotifier, notify


@pytest.fixture
def listener() -> Iterator[tuple[socket.socket, str]]:
    """A unix datagram socket standing in for systemd's notify socket (short path)."""
    directory = tempfile.mkdtemp(prefix="smd-", dir="/tmp")
    path = os.path.join(directory, "notify")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind(path)
        sock.setblocking(False)
        yield sock, path
    Path(path).unlink()
    os.rmdir(directory)


def _received(sock: socket.socket) -> list[str]:
    messages = []
    while True:
        try:
            messages.append(sock.recv(4096).decode())
        except BlockingIOError:
            return messages


def _boot() -> Boot:
    boot = Boot("notified")

    @boot.phase(timeout=2.5)
    async def database() -> object:
        yield "db"

    @boot.phase(expected_duration=0.5)
    async def cache(database: object) -> str:
        return "cache"

    @boot.phase()
    async def web(cache: str) -> str:
        return "web"

    return boot


@pytest.mark.anyio
async def test_boot_sends_status_extend_ready_and_stopping(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    boot = _boot()
    notifier = SystemdNotifier(boot.plan(), address=path)
    async with boot.start(sinks=[notifier]):
        during = _received(sock)
    after = _received(sock)
    assert during[0].startswith("STATUS=booting notified [")
    assert "STATUS=starting database\nEXTEND_TIMEOUT_USEC=3500000" in during
    assert "STATUS=starting cache\nEXTEND_TIMEOUT_USEC=1500000" in during
    assert "STATUS=starting web" in during
    assert during[-1] == "READY=1\nSTATUS=ready: notified is serving"
    assert after[:2] == ["STOPPING=1\nSTATUS=stopping", "STATUS=stopping: tearing down database"]
    assert notifier.errors == []


def test_abstract_socket_addresses_start_with_at() -> None:
    name = f"smd-test-{os.getpid()}"
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as sock:
        sock.bind("\0" + name)
        assert notify("READY=1", address="@" + name)
        assert sock.recv(64) == b"READY=1"


def test_without_notify_socket_nothing_is_sent(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("NOTIFY_SOCKET", raising=False)
    notifier = SystemdNotifier()
    assert not notifier.enabled
    assert notify("READY=1") is False
    notifier.stopping()
    assert notifier.sent == []


def test_notify_socket_is_read_from_the_environment(
    monkeypatch: pytest.MonkeyPatch, listener: tuple[socket.socket, str]
) -> None:
    sock, path = listener
    monkeypatch.setenv("NOTIFY_SOCKET", path)
    notifier = SystemdNotifier()
    notifier.stopping()
    notifier.stopping()
    assert _received(sock) == ["STOPPING=1\nSTATUS=stopping"]


def test_a_vanished_socket_is_recorded_not_raised() -> None:
    notifier = SystemdNotifier(address="/tmp/smd-no-such-socket")
    notifier.stopping()
    assert len(notifier.errors) == 1
    assert notifier.sent == []


@pytest.mark.anyio
async def test_failed_boot_reports_its_diagnostic_in_status(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    boot = Boot("broken")

    @boot.phase()
    async def database() -> None:
        raise ConnectionError("refused")

    from orchestrator import BootAborted

    with pytest.raises(BootAborted):
        async with boot.start(sinks=[SystemdNotifier(address=path)]):
            pass
    messages = _received(sock)
    assert any(m.startswith("STATUS=failed: phase_failed:") for m in messages)
    assert not any("READY=1" in m for m in messages)


@pytest.mark.anyio
async def test_a_retry_pause_extends_the_start_timeout(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    boot = Boot("flaky")
    calls: list[int] = []

    @boot.phase(retry=Retry(attempts=2, delay=0.01))
    async def database() -> str:
        calls.append(1)
        if len(calls) == 1:
            raise ConnectionError("not yet")
        return "db"

    async with boot.start(sinks=[SystemdNotifier(boot.plan(), address=path)]):
        messages = _received(sock)
    assert "STATUS=retrying database (attempt 1 failed)\nEXTEND_TIMEOUT_USEC=1010000" in messages


@pytest.mark.anyio
async def test_status_names_only_the_phases_still_running(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    boot = Boot("parallel")

    @boot.phase()
    async def quick() -> str:
        return "quick"

    @boot.phase()
    async def slow() -> str:
        await anyio.sleep(0.05)
        return "slow"

    async with boot.start(sinks=[SystemdNotifier(address=path)]):
        messages = _received(sock)
    statuses = [m for m in messages if m.startswith("STATUS=starting")]
    assert statuses == [
        "STATUS=starting quick",
        "STATUS=starting quick, slow",
        "STATUS=starting slow",
    ]


@pytest.mark.anyio
async def test_a_teardown_timeout_extends_the_stop_timeout(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    boot = Boot("closing")

    @boot.phase(teardown_timeout=4)
    async def database() -> object:
        yield "db"

    async with boot.start(sinks=[SystemdNotifier(boot.plan(), address=path)]):
        _received(sock)
    assert "STATUS=stopping: tearing down database\nEXTEND_TIMEOUT_USEC=5000000" in _received(sock)


def _next_message(sock: socket.socket) -> str:
    sock.settimeout(10)
    try:
        return sock.recv(4096).decode()
    finally:
        sock.setblocking(False)


@pytest.mark.slow
def test_serve_asgi_says_ready_then_stopping_as_soon_as_sigterm_starts_the_drain(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    tests = Path(__file__).parent
    env = {**os.environ, "NOTIFY_SOCKET": path}
    with subprocess.Popen(
        [sys.executable, "asgi_apps.py", "ok", "1.0"],
        cwd=tests,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    ) as process:
        try:
            while not (message := _next_message(sock)).startswith("READY=1"):
                pass
            process.send_signal(signal.SIGTERM)
            stopping = _next_message(sock)
            assert process.poll() is None  # still draining: STOPPING=1 came first
            assert process.wait(timeout=15) == 0
        finally:
            if process.poll() is None:
                process.kill()
    assert message == "READY=1\nSTATUS=ready: asgi-ok is serving"
    assert stopping == "STOPPING=1\nSTATUS=stopping"
    rest = _received(sock)
    assert "STATUS=stopping: tearing down database\nEXTEND_TIMEOUT_USEC=3000000" in rest


@pytest.mark.anyio
async def test_stopping_extends_the_stop_timeout_by_the_stop_budget(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    boot = _boot()
    notifier = SystemdNotifier(boot.plan(), address=path, stop_timeout=7)
    async with boot.start(sinks=[notifier], stop_timeout=7):
        _received(sock)
    after = _received(sock)
    assert after[0] == "STOPPING=1\nSTATUS=stopping\nEXTEND_TIMEOUT_USEC=8000000"


def _teardown_plan() -> Boot:
    boot = Boot("closing")

    @boot.phase(teardown_timeout=60)
    async def database() -> object:
        yield "db"

    return boot


def test_a_teardown_extension_never_reaches_past_the_stop_budget(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    notifier = SystemdNotifier(_teardown_plan().plan(), address=path, stop_timeout=5)
    notifier(BootStopping(boot="closing", at=10.0))
    notifier(TeardownStarted(boot="closing", at=12.0, phase="database"))
    assert _received(sock) == [
        "STOPPING=1\nSTATUS=stopping\nEXTEND_TIMEOUT_USEC=6000000",
        "STATUS=stopping: tearing down database\nEXTEND_TIMEOUT_USEC=4000000",
    ]


def test_a_drain_begun_before_the_stop_still_gets_the_stop_budget(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    notifier = SystemdNotifier(address=path, stop_timeout=5)
    notifier.stopping()  # what serve_asgi does when the drain begins
    notifier(BootStopping(boot="closing", at=10.0))
    assert _received(sock) == [
        "STOPPING=1\nSTATUS=stopping",
        "STATUS=stopping\nEXTEND_TIMEOUT_USEC=6000000",
    ]


@pytest.mark.parametrize(
    ("previous", "state", "status"),
    [
        (BootState.READY, BootState.DEGRADED, "STATUS=degraded: svc is serving: cache gave out"),
        (BootState.DEGRADED, BootState.READY, "STATUS=ready: svc recovered: cache gave out"),
    ],
)
def test_degrading_and_recovering_in_service_are_status_lines(
    listener: tuple[socket.socket, str], previous: BootState, state: BootState, status: str
) -> None:
    sock, path = listener
    notifier = SystemdNotifier(address=path)
    notifier(
        BootStateChanged(
            boot="svc", at=1.0, previous=previous, state=state, reason="cache gave out"
        )
    )
    assert _received(sock) == [status]


def test_a_signal_is_a_status_line_with_its_effect(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = SystemdNotifier(address=path)
    notifier(SignalReceived(boot="svc", at=1.0, signal="SIGTERM", effect="the service stops"))
    assert _received(sock) == ["STATUS=SIGTERM received: the service stops"]


def test_a_service_restart_and_a_recovery_are_status_lines(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    notifier = SystemdNotifier(address=path)
    notifier(
        PhaseRestarting(
            boot="svc", at=1.0, phase="pump", restart=2, delay=0.5, error="OSError: gone"
        )
    )
    notifier(PhaseRecovered(boot="svc", at=2.0, phase="cache", attempts=3))
    assert _received(sock) == [
        "STATUS=restarting service pump (restart 2, in 0.5s): OSError: gone",
        "STATUS=recovered cache after 3 attempts",
    ]


def test_the_notifier_handles_every_event(listener: tuple[socket.socket, str]) -> None:
    sock, path = listener
    notifier = SystemdNotifier(address=path, stop_timeout=5)
    messages = []
    for event in every_event():
        notifier(event)
        messages += _received(sock)  # the socket's queue is short: read as systemd would
    assert notifier.errors == []
    assert messages == notifier.sent
    assert "READY=1\nSTATUS=degraded: samples is serving" in messages
    assert any(m.startswith("STOPPING=1\n") for m in messages)


@pytest.mark.parametrize(
    ("stop_timeout", "error"), [(math.nan, ValueError), (0, ValueError), ("5", TypeError)]
)
def test_a_bad_stop_timeout_is_refused(stop_timeout: object, error: type[Exception]) -> None:
    with pytest.raises(error, match="stop_timeout"):
        SystemdNotifier(stop_timeout=stop_timeout)  # type: ignore[arg-type]


@pytest.mark.anyio
async def test_a_signal_in_service_says_so_then_stops_within_the_budget(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    boot = _boot()
    interrupt = BootInterrupt()
    notifier = SystemdNotifier(boot.plan(), address=path, stop_timeout=7)
    async with boot.start(sinks=[notifier], stop_timeout=7, interrupt=interrupt):
        _received(sock)
        interrupt.trigger(signal.SIGTERM)
        await anyio.sleep_forever()  # the signal's orderly stop cancels the service
    assert _received(sock)[:2] == [
        "STATUS=SIGTERM received: the service stops in order",
        "STOPPING=1\nSTATUS=stopping\nEXTEND_TIMEOUT_USEC=8000000",
    ]


# --- the watchdog ---------------------------------------------------------------------------


def test_watchdog_interval_is_half_of_watchdog_usec(
    monkeypatch: pytest.MonkeyPatch, listener: tuple[socket.socket, str]
) -> None:
    _, path = listener
    monkeypatch.setenv("WATCHDOG_USEC", "3000000")
    monkeypatch.delenv("WATCHDOG_PID", raising=False)
    assert SystemdNotifier(address=path).watchdog_interval == 1.5


@pytest.mark.parametrize(
    ("usec", "pid"),
    [
        pytest.param(None, None, id="no-watchdog"),
        pytest.param("0", None, id="zero"),
        pytest.param("soon", None, id="garbage"),
        pytest.param("3000000", "1", id="another-process"),
    ],
)
def test_no_watchdog_when_systemd_expects_no_pings_from_this_process(
    monkeypatch: pytest.MonkeyPatch,
    listener: tuple[socket.socket, str],
    usec: str | None,
    pid: str | None,
) -> None:
    _, path = listener
    for name, value in (("WATCHDOG_USEC", usec), ("WATCHDOG_PID", pid)):
        if value is None:
            monkeypatch.delenv(name, raising=False)
        else:
            monkeypatch.setenv(name, value)
    assert SystemdNotifier(address=path).watchdog_interval is None


def test_watchdog_pid_naming_this_process_enables_the_pings(
    monkeypatch: pytest.MonkeyPatch, listener: tuple[socket.socket, str]
) -> None:
    _, path = listener
    monkeypatch.setenv("WATCHDOG_USEC", "1000000")
    monkeypatch.setenv("WATCHDOG_PID", str(os.getpid()))
    assert SystemdNotifier(address=path).watchdog_interval == 0.5


def test_without_a_notify_socket_there_is_no_watchdog() -> None:
    assert SystemdNotifier(address="", watchdog_usec=1_000_000).watchdog_interval is None


@pytest.mark.anyio
async def test_keep_alive_sends_watchdog_pings_from_the_event_loop(
    listener: tuple[socket.socket, str],
) -> None:
    sock, path = listener
    notifier = SystemdNotifier(address=path, watchdog_usec=20_000)  # a ping every 10 ms
    received: list[bytes] = []
    async with anyio.create_task_group() as group:
        group.start_soon(notifier.keep_alive)
        while len(received) < 3:
            await anyio.wait_readable(sock)
            received.append(sock.recv(64))
        group.cancel_scope.cancel()
    assert received == [b"WATCHDOG=1"] * 3
    assert notifier.pings >= 3
    assert notifier.sent == []  # pings are counted, not kept


@pytest.mark.anyio
async def test_keep_alive_returns_at_once_without_a_watchdog(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("WATCHDOG_USEC", raising=False)
    notifier = SystemdNotifier(address="/tmp/smd-unused")
    with anyio.fail_after(5):
        await notifier.keep_alive()
    assert notifier.pings == 0


@pytest.mark.anyio
async def test_a_lost_socket_is_one_error_per_outage_not_one_per_ping() -> None:
    notifier = SystemdNotifier(address="/tmp/smd-no-such-socket", watchdog_usec=2_000)
    async with anyio.create_task_group() as group:
        group.start_soon(notifier.keep_alive)
        while True:
            await anyio.sleep(0.01)
            if notifier.errors:
                break
        await anyio.sleep(0.05)  # many more pings fail meanwhile
        group.cancel_scope.cancel()
    assert len(notifier.errors) == 1


def test_a_reader_that_is_behind_never_blocks_the_sender(
    listener: tuple[socket.socket, str],
) -> None:
    _, path = listener  # nobody reads it: its queue fills up
    notifier = SystemdNotifier(address=path)
    with pytest.raises(BlockingIOError):  # noqa: PT012  (sends until the queue is full)
        for _ in range(1_000_000):
            notify("STATUS=flooding", address=path)
    notifier.stopping()  # a sink records it and goes on
    assert isinstance(notifier.errors[-1], BlockingIOError)
