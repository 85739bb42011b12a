"""The chat server example, run as a real process on a loopback port with real WebSocket clients.

uvicorn and the `websockets` client run only on asyncio, so these tests run on
asyncio only.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import websockets
from websockets.exceptions import ConnectionClosed

EXAMPLES = Path(__file__).parent.parent / "examples"
sys.path.insert(0, str(EXAMPLES))
from chat_server import (  # noqa: E402  (examples/ is not a package)
    LOOP_STALL_MEMORY,
    LOOP_STALL_THRESHOLD,
    MAX_FRAME_BYTES,
    MAX_JSON_DEPTH,
    MAX_PROMPT_LENGTH,
    MAX_TOKEN_LIFETIME,
    STOP_TIMEOUT,
    issue_token,
    parse_request,
    verify_token,
)
from chat_service import DEV_SECRET_KEY  # noqa: E402

CLIENTS = 100
EVENT_TYPES = [
    "agent_started",
    "agent_thinking",
    "tool_executing",
    "tool_completed",
    "agent_completed",
]

pytestmark = pytest.mark.slow


@pytest.fixture
def anyio_backend() -> str:
    """asyncio only: the `websockets` client and uvicorn have no trio support."""
    return "asyncio"


@dataclass
class ChatServer:
    """A chat_server.py process: its port, its output, and its process."""

    process: subprocess.Popen[str]
    stdout_path: Path
    port: int = 0
    stderr_lines: list[str] = field(default_factory=list)
    reader: threading.Thread | None = None

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def ws(self) -> str:
        return f"ws://127.0.0.1:{self.port}/ws"


def _start(tmp: Path, drain_grace: float) -> ChatServer:
    env = {**os.environ, "SMD_CHAT_DATA_DIR": str(tmp / "data"), "PYTHONUNBUFFERED": "1"}
    env.pop("NOTIFY_SOCKET", None)
    stdout_path = tmp / "stdout.log"
    with stdout_path.open("w") as stdout:
        process = subprocess.Popen(
            [sys.executable, "chat_server.py", "--port", "0", "--drain-grace", str(drain_grace)],
            cwd=EXAMPLES,
            env=env,
            stdout=stdout,
            stderr=subprocess.PIPE,
            text=True,
        )
    server = ChatServer(process, stdout_path)
    found = threading.Event()

    def read_stderr() -> None:
        assert process.stderr is not None
        for line in process.stderr:
            server.stderr_lines.append(line)
            match = re.search(r"http://127\.0\.0\.1:(\d+)", line)
            if match:
                server.port = int(match.group(1))
                found.set()

    server.reader = threading.Thread(target=read_stderr, daemon=True)
    server.reader.start()
    if not found.wait(timeout=15):
        process.kill()
        raise AssertionError("".join(server.stderr_lines))
    # The server listens before the boot: the probes answer while it runs. Wait for READY.
    while httpx.get(f"{server.http}/startupz", timeout=10).status_code != 200:
        if process.poll() is not None:
            raise AssertionError("".join(server.stderr_lines))
        time.sleep(0.01)
    return server


def _stop(server: ChatServer) -> None:
    if server.process.poll() is None:
        server.process.kill()
    server.process.wait(timeout=10)
    if server.reader is not None:
        server.reader.join(timeout=5)
    if server.process.stderr is not None:
        server.process.stderr.close()


@pytest.fixture(scope="module")
def chat_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[ChatServer]:
    server = _start(tmp_path_factory.mktemp("chat"), drain_grace=0.5)
    yield server
    _stop(server)


def _headers(token: str | None, scheme: str = "Bearer") -> dict[str, str]:
    return {} if token is None else {"Authorization": f"{scheme} {token}"}


async def _run_one(
    server: ChatServer, user_id: str, *, scheme: str = "Bearer"
) -> list[dict[str, Any]]:
    token = issue_token(DEV_SECRET_KEY, user_id)
    headers = _headers(token, scheme)
    async with websockets.connect(server.ws(), additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "run", "prompt": f"question of {user_id}"}))
        received = [json.loads(await ws.recv()) for _ in EVENT_TYPES]
        with pytest.raises(TimeoutError):
            await asyncio.wait_for(ws.recv(), 0.2)  # and nothing more
        return received


@pytest.mark.anyio
async def test_hundred_clients_each_receive_exactly_their_own_events_in_order(
    chat_server: ChatServer,
) -> None:
    users = [f"user-{n:03d}" for n in range(CLIENTS)]
    results = await asyncio.gather(*(_run_one(chat_server, user) for user in users))
    for user, events in zip(users, results, strict=True):
        assert [event["type"] for event in events] == EVENT_TYPES
        assert {event["user_id"] for event in events} == {user}
        assert len({event["run_id"] for event in events}) == 1
        assert events[0]["prompt"] == f"question of {user}"


def _tampered() -> str:
    payload, signature = issue_token(DEV_SECRET_KEY, "alice").split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["sub"] = "mallory"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{forged}.{signature}"


@pytest.mark.anyio
@pytest.mark.parametrize(
    "token",
    [
        pytest.param(issue_token("another-secret-of-at-least-32-chars!", "alice"), id="forged"),
        pytest.param(issue_token(DEV_SECRET_KEY, "alice", now=time.time() - 600), id="expired"),
        pytest.param(_tampered(), id="tampered-user-id"),
        pytest.param(None, id="missing"),
        pytest.param("not-a-token", id="garbage"),
        pytest.param("abc.d\u00e9f", id="non-ascii-signature"),
    ],
)
async def test_bad_tokens_receive_nothing_and_get_1008(
    chat_server: ChatServer, token: str | None
) -> None:
    async with websockets.connect(chat_server.ws(), additional_headers=_headers(token)) as ws:
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None
    assert closed.value.rcvd.code == 1008


@pytest.mark.anyio
async def test_sigterm_drains_then_closes_websockets_and_tears_down(tmp_path: Path) -> None:
    grace = 1.0
    server = _start(tmp_path, drain_grace=grace)
    try:
        sockets = [
            await websockets.connect(
                server.ws(), additional_headers=_headers(issue_token(DEV_SECRET_KEY, f"u-{n}"))
            )
            for n in range(CLIENTS)
        ]
        await asyncio.gather(*(ws.send('{"type": "run", "prompt": "hi"}') for ws in sockets))
        for ws in sockets:
            assert [json.loads(await ws.recv())["type"] for _ in EVENT_TYPES] == EVENT_TYPES
        async with httpx.AsyncClient(base_url=server.http) as client:
            assert (await client.get("/readyz")).status_code == 200
            sent_at = time.monotonic()
            server.process.send_signal(signal.SIGTERM)
            while (ready := await client.get("/readyz")).status_code == 200:  # noqa: ASYNC110  (polling another process)
                await asyncio.sleep(0.01)
        assert ready.status_code == 503
        assert ready.json()["draining"] is True
        assert all(ws.close_code is None for ws in sockets)  # still open while not ready

        async def close_code(ws: Any) -> int | None:
            with pytest.raises(ConnectionClosed) as closed:
                await ws.recv()
            return closed.value.rcvd.code if closed.value.rcvd else None

        codes = await asyncio.gather(*(close_code(ws) for ws in sockets))
        closed_at = time.monotonic()
        assert codes == [1001] * CLIENTS
        assert closed_at - sent_at >= grace  # the grace period was served, not skipped
        exit_code = await asyncio.to_thread(server.process.wait, grace + 10)
        assert exit_code == 0
        assert time.monotonic() - sent_at < grace + 5
    finally:
        _stop(server)
    log = server.stdout_path.read_text()
    torn_down = re.findall(r"teardown\.completed .*phase=(\w+)", log)
    # The pump first (it uses both); its queue and the bridge are independent of each other.
    assert torn_down[0] == "agent_event_pump"
    assert sorted(torn_down[1:3]) == ["agent_event_queue", "agent_websocket_bridge"]
    assert torn_down[3:] == ["cache", "database"]
    assert "boot.stopped" in log
    assert "Traceback" not in "".join(server.stderr_lines)


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("frame", "why"),
    [
        pytest.param("not json{", "invalid JSON", id="invalid-json"),
        pytest.param(b"\x00\x01", "binary frame", id="binary"),
        pytest.param("[1, 2]", "not an object", id="json-array"),
    ],
)
async def test_a_frame_that_is_not_a_json_object_closes_with_1003_without_a_traceback(
    chat_server: ChatServer, frame: str | bytes, why: str
) -> None:
    headers = _headers(issue_token(DEV_SECRET_KEY, "frames"))
    async with websockets.connect(chat_server.ws(), additional_headers=headers) as ws:
        await ws.send(frame)
        with pytest.raises(ConnectionClosed) as closed:
            await ws.recv()
    assert closed.value.rcvd is not None, why
    assert closed.value.rcvd.code == 1003
    assert "Traceback" not in "".join(chat_server.stderr_lines)


@pytest.mark.anyio
async def test_a_client_leaving_mid_run_leaves_no_traceback(chat_server: ChatServer) -> None:
    headers = _headers(issue_token(DEV_SECRET_KEY, "leaver"))
    for _ in range(5):
        ws = await websockets.connect(chat_server.ws(), additional_headers=headers)
        await ws.send('{"type": "run", "prompt": "bye"}')
        ws.transport.abort()
    await _run_one(chat_server, "stayer")  # the server still serves
    assert "Traceback" not in "".join(chat_server.stderr_lines)


# --- the server's own limits ---------------------------------------------------------------


async def _closed_by_server(ws: Any) -> tuple[int, str]:
    """Wait for the server to close `ws`; its close code and reason (nothing else arrives)."""
    with pytest.raises(ConnectionClosed) as closed:
        await asyncio.wait_for(ws.recv(), 30)  # a bound so that a server that never closes fails
    assert closed.value.rcvd is not None
    return closed.value.rcvd.code, closed.value.rcvd.reason


@pytest.mark.anyio
@pytest.mark.parametrize("scheme", ["bearer", "BEARER", "bEaReR"])
async def test_the_bearer_scheme_is_case_insensitive(chat_server: ChatServer, scheme: str) -> None:
    events = await _run_one(chat_server, f"scheme-{scheme}", scheme=scheme)
    assert [event["type"] for event in events] == EVENT_TYPES


@pytest.mark.anyio
@pytest.mark.parametrize(
    "thread",
    [
        pytest.param("", id="empty"),
        pytest.param("%20padded", id="padded"),
        pytest.param("null", id="placeholder"),
        pytest.param("t" * 129, id="too-long"),
    ],
)
async def test_a_bad_thread_parameter_is_refused_with_its_own_reason(
    chat_server: ChatServer, thread: str
) -> None:
    headers = _headers(issue_token(DEV_SECRET_KEY, "threaded"))
    url = f"{chat_server.ws()}?thread={thread}"
    async with websockets.connect(url, additional_headers=headers) as ws:
        code, reason = await _closed_by_server(ws)
    assert code == 1008
    assert reason.startswith("invalid thread")


@pytest.mark.anyio
async def test_a_good_thread_parameter_is_the_thread_of_every_event(
    chat_server: ChatServer,
) -> None:
    headers = _headers(issue_token(DEV_SECRET_KEY, "threaded"))
    url = f"{chat_server.ws()}?thread=thread-42"
    async with websockets.connect(url, additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "run", "prompt": "hi"}))
        events = [json.loads(await ws.recv()) for _ in EVENT_TYPES]
    assert {event["thread_id"] for event in events} == {"thread-42"}


@pytest.mark.anyio
async def test_a_user_cannot_hold_more_connections_than_the_limit(
    chat_server: ChatServer,
) -> None:
    limit = 5  # SMD_CHAT_MAX_CONNECTIONS_PER_USER's default
    headers = _headers(issue_token(DEV_SECRET_KEY, "crowd"))
    held = [
        await websockets.connect(chat_server.ws(), additional_headers=headers) for _ in range(limit)
    ]
    try:
        async with websockets.connect(chat_server.ws(), additional_headers=headers) as extra:
            code, reason = await _closed_by_server(extra)
        assert (code, reason) == (1008, f"user already has {limit} open connections")
        await _run_one(chat_server, "not-crowd")  # another user is not affected
        await held[0].send(json.dumps({"type": "run", "prompt": "still served"}))
        assert json.loads(await held[0].recv())["type"] == "agent_started"
    finally:
        for ws in held:
            await ws.close()


@pytest.mark.anyio
async def test_a_closed_connection_frees_its_place_under_the_limit(
    chat_server: ChatServer,
) -> None:
    headers = _headers(issue_token(DEV_SECRET_KEY, "returning"))
    held = [
        await websockets.connect(chat_server.ws(), additional_headers=headers) for _ in range(5)
    ]
    await held.pop().close()
    # The server frees the place once it has seen the close; no sleep, just try again.
    for _ in range(200):
        ws = await websockets.connect(chat_server.ws(), additional_headers=headers)
        await ws.send(json.dumps({"type": "run", "prompt": "back"}))
        try:
            first = json.loads(await ws.recv())
        except ConnectionClosed:
            continue
        finally:
            await ws.close()
        assert first["type"] == "agent_started"
        break
    else:
        raise AssertionError("the closed connection never freed its place")
    for ws in held:
        await ws.close()


@pytest.mark.anyio
@pytest.mark.parametrize(
    "prompt_length",
    [
        pytest.param(MAX_PROMPT_LENGTH + 1, id="over-the-prompt-limit"),
        pytest.param(MAX_FRAME_BYTES, id="over-the-frame-limit"),
        pytest.param(4 * 1024 * 1024, id="4-MiB"),
    ],
)
async def test_a_prompt_over_the_limit_closes_with_1009_before_any_event(
    chat_server: ChatServer, prompt_length: int
) -> None:
    headers = _headers(issue_token(DEV_SECRET_KEY, "verbose"))
    request = json.dumps({"type": "run", "prompt": "x" * prompt_length})
    async with websockets.connect(
        chat_server.ws(), additional_headers=headers, max_size=None
    ) as ws:
        await ws.send(request)
        code, _ = await _closed_by_server(ws)
    assert code == 1009
    assert "Traceback" not in "".join(chat_server.stderr_lines)


def test_the_frame_limit_counts_bytes_not_characters() -> None:
    # 20,000 four-byte characters: within the limit in characters, 80 KiB on the wire.
    text = json.dumps({"type": "ping", "note": "\U0001f600" * 20_000}, ensure_ascii=False)
    assert len(text) < MAX_FRAME_BYTES < len(text.encode())
    refusal = parse_request(text)
    assert getattr(refusal, "code", None) == 1009


@pytest.mark.anyio
async def test_a_prompt_at_the_limit_is_answered(chat_server: ChatServer) -> None:
    headers = _headers(issue_token(DEV_SECRET_KEY, "verbose-enough"))
    async with websockets.connect(chat_server.ws(), additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "run", "prompt": "x" * MAX_PROMPT_LENGTH}))
        events = [json.loads(await ws.recv()) for _ in EVENT_TYPES]
    assert events[0]["prompt"] == "x" * MAX_PROMPT_LENGTH


@pytest.mark.anyio
@pytest.mark.parametrize(
    "depth",
    [
        pytest.param(MAX_JSON_DEPTH + 1, id="just-over-the-limit"),
        pytest.param(5000, id="past-the-recursion-limit"),
    ],
)
async def test_deeply_nested_json_closes_with_1009_without_a_traceback(
    chat_server: ChatServer, depth: int
) -> None:
    headers = _headers(issue_token(DEV_SECRET_KEY, "nested"))
    nested = "[" * (depth - 1) + "]" * (depth - 1)
    async with websockets.connect(chat_server.ws(), additional_headers=headers) as ws:
        await ws.send(f'{{"type": "run", "prompt": "hi", "extra": {nested}}}')
        code, reason = await _closed_by_server(ws)
    assert (code, reason) == (1009, f"JSON nested deeper than {MAX_JSON_DEPTH} levels")
    assert "Traceback" not in "".join(chat_server.stderr_lines)


@pytest.mark.anyio
async def test_a_prompt_that_is_not_a_string_closes_with_1003(chat_server: ChatServer) -> None:
    headers = _headers(issue_token(DEV_SECRET_KEY, "typed"))
    async with websockets.connect(chat_server.ws(), additional_headers=headers) as ws:
        await ws.send(json.dumps({"type": "run", "prompt": ["not", "text"]}))
        code, _ = await _closed_by_server(ws)
    assert code == 1003


def test_token_claims_must_be_well_formed_and_the_expiry_near() -> None:
    secret = DEV_SECRET_KEY
    now = 1_000_000.0

    def signed(claims: object) -> str:
        payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
        return f"{payload}.{issue_token(secret, 'x').split('.')[1]}"

    def resigned(claims: object) -> str:
        from chat_server import _b64, _sign

        payload = _b64(json.dumps(claims).encode())
        return f"{payload}.{_sign(secret, payload)}"

    assert verify_token(secret, issue_token(secret, "alice", now=now), now=now + 1) == "alice"
    assert verify_token(secret, signed({"sub": "alice", "exp": now + 60}), now=now) is None
    assert verify_token(secret, resigned([1, 2]), now=now) is None
    assert verify_token(secret, resigned({"sub": "alice", "exp": True}), now=now) is None
    assert verify_token(secret, resigned({"sub": "alice", "exp": "9e99"}), now=now) is None
    assert verify_token(secret, resigned({"sub": "", "exp": now + 60}), now=now) is None
    for unbounded in (float("nan"), float("inf")):
        assert verify_token(secret, resigned({"sub": "alice", "exp": unbounded}), now=now) is None
    far = now + MAX_TOKEN_LIFETIME + 60
    assert verify_token(secret, resigned({"sub": "alice", "exp": far}), now=now) is None
    assert verify_token(secret, issue_token(secret, "alice", now=now), now=now + 301) is None
    with pytest.raises(ValueError, match="ttl"):
        issue_token(secret, "alice", ttl=MAX_TOKEN_LIFETIME * 2)


def test_refused_boot_exits_78_and_writes_the_termination_message(tmp_path: Path) -> None:
    log = tmp_path / "termination-log"
    env = {
        **os.environ,
        "SMD_CHAT_DATA_DIR": str(tmp_path / "data"),
        "SMD_CHAT_ENV": "production",  # with the development secret key: the gate refuses
        "SMD_TERMINATION_LOG": str(log),
    }
    result = subprocess.run(
        [sys.executable, "chat_server.py", "--port", "0"],
        cwd=EXAMPLES,
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert result.returncode == 78
    assert result.stderr.count("BOOT REFUSED BY A GATE") == 1
    assert "Traceback" not in result.stderr
    message = json.loads(log.read_text())
    assert (message["kind"], message["phase"]) == ("gate_failed", "settings_are_valid")


def test_kubernetes_manifest_probes_and_grace_match_the_server() -> None:
    manifest = (EXAMPLES / "k8s" / "deployment.yaml").read_text()
    paths = set(re.findall(r"path: (/\w+)", manifest))
    assert paths == {"/livez", "/readyz", "/startupz"}
    grace = int(re.search(r"terminationGracePeriodSeconds: (\d+)", manifest).group(1))  # type: ignore[union-attr]
    drain = float(re.search(r"--drain-grace=([\d.]+)", manifest).group(1))  # type: ignore[union-attr]
    pre_stop = int(re.search(r'command: \["sleep", "(\d+)"\]', manifest).group(1))  # type: ignore[union-attr]
    stop_budget = float(re.search(r"stop budget \(stop_timeout\) +(\d+) s", manifest).group(1))  # type: ignore[union-attr]
    close_timeout, boot_deadline, margin = 5, 30, 5
    assert stop_budget == STOP_TIMEOUT
    assert pre_stop + drain + close_timeout + STOP_TIMEOUT + margin <= grace
    assert "terminationMessagePath: /dev/termination-log" in manifest
    assert "SMD_TERMINATION_LOG, value: /dev/termination-log" in manifest
    startup = re.search(
        r"startupProbe:.*?periodSeconds: (\d+)\s+failureThreshold: (\d+)", manifest, re.S
    )
    assert startup is not None
    assert int(startup.group(1)) * int(startup.group(2)) > boot_deadline


def test_one_loop_stall_that_ends_never_restarts_the_pod_but_a_blocked_loop_does() -> None:
    manifest = (EXAMPLES / "k8s" / "deployment.yaml").read_text()
    liveness = re.search(
        r"livenessProbe:.*?periodSeconds: (\d+)\s+failureThreshold: (\d+)\s+timeoutSeconds: (\d+)",
        manifest,
        re.S,
    )
    assert liveness is not None
    period, failures, timeout = (int(group) for group in liveness.groups())
    # /livez fails for LOOP_STALL_MEMORY after a stall: fewer than `failures` probes in a row.
    assert (failures - 1) * period > LOOP_STALL_MEMORY
    # A loop blocked for good fails every probe (it times out): the pod is restarted.
    assert timeout < period
    assert failures * period > LOOP_STALL_THRESHOLD


@pytest.mark.anyio
async def test_the_chat_server_probes_answer_verbose_and_health_json(
    tmp_path: Path,
) -> None:
    server = _start(tmp_path, drain_grace=0.5)
    try:
        async with httpx.AsyncClient(base_url=server.http) as client:
            verbose = (await client.get("/readyz?verbose")).text.splitlines()
            accept = {"accept": "application/health+json"}
            document = (await client.get("/readyz", headers=accept)).json()
            live = await client.get("/livez")
    finally:
        _stop(server)
    assert verbose[-1] == "readyz check passed"
    assert "[+]agent_websocket_bridge ok" in verbose
    assert document["status"] == "pass"
    assert "agent_websocket_bridge" in document["checks"]
    assert (live.status_code, live.json()["event_loop"]) == (200, None)
