"""Every Python code block of README.md and docs/ runs, as a user would copy it.

A block that is a fragment of a larger program (it uses a `boot` declared
elsewhere on the page) runs after a short setup written here; a block that
defines tests runs under pytest in a file of its own; a block that serves
runs the app in Starlette's test client instead of binding a port. A new
block needs no entry here if it runs on its own.

The shell blocks that run `smd` run too, each command with the exit code the
page shows; those that cannot run here are skipped with their reason.
"""

from __future__ import annotations

import ast
import inspect
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from types import CodeType
from typing import Any

import anyio
import httpx
import pytest
import structlog

import orchestrator.asgi

ROOT = Path(__file__).parent.parent
PAGES = (ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md")))
FENCE = re.compile(r"^```python\n(.*?)^```", re.DOTALL | re.MULTILINE)
DEFINES_TESTS = re.compile(r"^(async )?def test_", re.MULTILINE)


@dataclass(frozen=True)
class Block:
    page: Path
    line: int
    code: str

    @property
    def name(self) -> str:
        return f"{self.page.name}:{self.line}"

    @property
    def opening(self) -> str:
        return self.code.splitlines()[0]


def blocks() -> list[Block]:
    found = []
    for page in PAGES:
        text = page.read_text(encoding="utf-8")
        for match in FENCE.finditer(text):
            line = text.count("\n", 0, match.start()) + 2  # the block's first line of code
            found.append(Block(page, line, match.group(1)))
    return found


@dataclass(frozen=True)
class Setup:
    """What a fragment needs: code run before it, a check run after it, how it ends."""

    before: str = ""
    after: str = ""
    serves: tuple[str, ...] = ()  # it ends in serve_asgi: these paths must answer 200
    tests_fail: str | None = None  # a test it defines is meant to fail, with this in the output


CHAT_BOOT = """
from orchestrator import Boot, Retry


class Settings:
    dsn = "postgres://app:s3cret@db/app"

    @classmethod
    def from_env(cls):
        return cls()


class Database:
    async def pending_migrations(self):
        return []

    async def close(self):
        pass


async def connect(dsn):
    return Database()
"""
README_BOOT = next(
    b.code for b in blocks() if b.opening.startswith("from orchestrator import Boot, GateResult")
)
SERVICES = """
@boot.phase()
def services(database): ...
"""
SMALL_BOOT = """
import pytest

from orchestrator import Boot

boot = Boot("docs")


@boot.phase()
async def database():
    return "db"


@boot.phase()
async def cache():
    return "cache"


@boot.phase()
async def api(database): ...
"""
RUNS_READY = """
report = await boot.run_once(sinks=[])
assert report.outcome.value == "ready", report.outcome
"""
USER_AND_BRIDGE = """
from phases.websocket import (
    AgentWebSocketBridge,
    StandardizedWebSocketManagerFactory,
    UserExecutionContext,
    WebSocketConnection,
)


class Inbox:
    def __init__(self):
        self.received = []

    async def send_json(self, message):
        self.received.append(message)


bridge = AgentWebSocketBridge(StandardizedWebSocketManagerFactory())
user = UserExecutionContext(user_id="user-1", thread_id="thread-1", run_id="run-1")
"""

SETUPS: dict[str, Setup] = {
    # README.md
    "from orchestrator import Boot, GateResult, Retry": Setup(CHAT_BOOT, RUNS_READY),
    "async with boot.start() as running:  # boots, or raises BootAborted": Setup(
        CHAT_BOOT + README_BOOT
    ),
    "from phases.websocket import StandardizedWebSocketManagerFactory, websocket_phases": Setup(
        CHAT_BOOT + README_BOOT + SERVICES, RUNS_READY
    ),
    "from starlette.applications import Starlette": Setup(
        CHAT_BOOT + README_BOOT, serves=("/readyz",)
    ),
    # docs/analysis.md
    "from orchestrator import StructlogSink": Setup(SMALL_BOOT),
    # docs/ci.md: the chat service's module is on the path, as in the user's project
    "import chat_service  # the module that declares the boot": Setup(),
    # docs/concepts.md
    "@boot.service(restart=Retry(": (
        Setup(
            """
from contextlib import asynccontextmanager

import anyio

from orchestrator import Boot, Retry

boot = Boot("orders")
handled = []


class Broker:
    @asynccontextmanager
    async def subscribe(self, topic):
        send, receive = anyio.create_memory_object_stream(1)
        async with send, receive:
            await send.send({"topic": topic, "id": 1})
            yield receive


async def handle(order):
    handled.append(order)


@boot.phase()
async def broker():
    return Broker()
""",
            """
async with boot.start(sinks=[]) as running:
    assert running.state.value == "ready"
    assert running.resources["consumer"] is not None
""",
        )
    ),
    'postgres = Boot("postgres")': Setup(
        """
from orchestrator import Boot


class PgSettings: ...


def redis_phases():
    redis = Boot("redis")

    @redis.phase()
    def settings(): ...

    @redis.phase()
    async def client(settings): ...

    redis.export("client")
    return redis
""",
        """
report = await app.run_once(sinks=[])
assert report.outcome.value == "ready", report.outcome
assert "db_pool" in [phase.name for phase in report.phases]
""",
    ),
    "from orchestrator.plugins import load_library": Setup(
        CHAT_BOOT
        + README_BOOT
        + SERVICES
        + "\nfrom phases.websocket import StandardizedWebSocketManagerFactory\n"
        + "my_factory = StandardizedWebSocketManagerFactory()\n",
        RUNS_READY,
    ),
    # docs/fleet.md
    "from starlette.applications import Starlette\nfrom starlette.responses": Setup(
        SMALL_BOOT, serves=("/readyz", "/hello")
    ),
    "from fastapi import FastAPI, Request": Setup(SMALL_BOOT, serves=("/readyz", "/hello")),
    "from orchestrator import StructlogSink\nfrom orchestrator.systemd": Setup(SMALL_BOOT),
    # docs/migrating.md: the seed's own test is refused, which is the page's point
    "# before: startup": Setup(
        USER_AND_BRIDGE
        + """
import logging
from unittest.mock import AsyncMock, Mock

from phases.websocket import (
    WebSocketManagerFactoryValidator,
    WebSocketManagerMode,
    get_standardized_websocket_manager_factory,
)

log = logging.getLogger("seed")
""",
        tests_fail="1 failed",
    ),
    "# after: startup, as phases of the boot": Setup(
        CHAT_BOOT + README_BOOT + SERVICES, RUNS_READY
    ),
    "# after: where the service sends an event": Setup(USER_AND_BRIDGE),
    "# a script or a synchronous test: no event loop running": Setup(
        "from phases.websocket import StandardizedWebSocketManagerFactory as MyFactory, "
        "WebSocketManagerFactoryValidator\n"
    ),
    "# async code": Setup(
        "from phases.websocket import StandardizedWebSocketManagerFactory as MyFactory, "
        "WebSocketManagerFactoryValidator\n"
    ),
    # docs/testing.md
    "import pytest\nfrom orchestrator import BootAborted, PhaseBlocked": Setup(SMALL_BOOT),
    "from orchestrator.testing import BootTestFailure, Fault, booted": Setup(SMALL_BOOT),
}


def setup_for(block: Block) -> Setup:
    for opening, setup in SETUPS.items():
        if block.code.startswith(opening):
            return setup
    return Setup()


def compiled(code: str, name: str) -> CodeType:
    return compile(code, name, "exec", flags=ast.PyCF_ALLOW_TOP_LEVEL_AWAIT, dont_inherit=True)


def awaits(code: CodeType) -> bool:
    return bool(code.co_flags & inspect.CO_COROUTINE)


def cases() -> Iterator[Any]:
    for block in blocks():
        setup = setup_for(block)
        if DEFINES_TESTS.search(block.code):
            yield pytest.param(block, None, id=f"{block.name}-pytest")
            continue
        parts = [setup.before, block.code, setup.after]
        if setup.serves or any(awaits(compiled(part, block.name)) for part in parts):
            for backend in ("asyncio", "trio"):
                yield pytest.param(block, backend, id=f"{block.name}-{backend}")
        else:
            yield pytest.param(block, None, id=block.name)


def serving_without_a_port(backend: str, paths: tuple[str, ...]) -> Any:
    """A stand-in for `serve_asgi`: the app boots, answers `paths` with 200, stops."""

    async def serve(app: Any) -> None:
        to_app, app_receives = anyio.create_memory_object_stream[dict[str, Any]](4)
        app_sends, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)
        scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
        with to_app, app_receives, app_sends, from_app:
            async with anyio.create_task_group() as group:
                group.start_soon(app, scope, app_receives.receive, app_sends.send)
                await to_app.send({"type": "lifespan.startup"})
                assert (await from_app.receive())["type"] == "lifespan.startup.complete"
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url="http://app") as client:
                    for path in paths:
                        response = await client.get(path)
                        assert response.status_code == 200, (path, response.text)
                await to_app.send({"type": "lifespan.shutdown"})
                assert (await from_app.receive())["type"] == "lifespan.shutdown.complete"

    def serve_asgi(app: Any, lifespan: Any, **options: Any) -> int:
        anyio.run(serve, app, backend=backend)
        return 0

    return serve_asgi


@pytest.fixture(autouse=True)
def logging_left_as_found() -> Iterator[None]:
    yield
    structlog.reset_defaults()


def run_script(block: Block, setup: Setup, backend: str | None) -> None:
    namespace: dict[str, Any] = {"__name__": "__docs__"}
    parts = [
        compiled(setup.before, f"setup of {block.name}"),
        compiled(block.code, block.name),
        compiled(setup.after, f"check of {block.name}"),
    ]

    async def run_all() -> None:
        for part in parts:
            result = eval(part, namespace)
            if inspect.iscoroutine(result):
                await result

    if backend is None:
        for part in parts:
            exec(part, namespace)
    else:
        anyio.run(run_all, backend=backend)


CONFTEST = """
import pytest


@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param
"""


def run_tests(block: Block, setup: Setup, tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(CONFTEST, encoding="utf-8")
    (tmp_path / "test_block.py").write_text(setup.before + "\n" + block.code, encoding="utf-8")
    paths = [str(ROOT / "examples"), str(ROOT), os.environ.get("PYTHONPATH", "")]
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_block.py"],
        cwd=tmp_path,
        env={**os.environ, "PYTHONPATH": os.pathsep.join(p for p in paths if p)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    if setup.tests_fail is None:
        assert result.returncode == 0, result.stdout + result.stderr
    else:
        assert setup.tests_fail in result.stdout, result.stdout + result.stderr


@pytest.mark.parametrize(("block", "backend"), list(cases()))
def test_the_code_block_runs(
    block: Block, backend: str | None, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    setup = setup_for(block)
    monkeypatch.chdir(tmp_path)
    monkeypatch.syspath_prepend(str(ROOT / "examples"))
    if DEFINES_TESTS.search(block.code):
        run_tests(block, setup, tmp_path)
        return
    if setup.serves:
        assert backend is not None
        serving = serving_without_a_port(backend, setup.serves)
        monkeypatch.setattr(orchestrator.asgi, "serve_asgi", serving)
        with pytest.raises(SystemExit) as exited:
            run_script(block, setup, None)
        assert exited.value.code == 0
    else:
        run_script(block, setup, backend)


def test_every_block_is_found() -> None:
    assert len(blocks()) >= 20


# Shell blocks: each `smd ...` command a page shows runs here, in a scratch
# directory that sees the repository's examples, and must exit as the page says
# (`echo $?` after it), 0 otherwise. A block that cannot run here is listed
# below, keyed by its first line, with the reason.
SHELL_LANGUAGES = ("", "sh", "console", "bash")
RUNS_SMD = re.compile(r"^(\$ )?([A-Z_]+=\S+ )*smd ", re.MULTILINE)
ECHO_STATUS = "; echo $?"
SHELL_SKIPS: dict[str, str] = {
    "smd analyze boot.json blame": "needs boot.json, a report not in the repository, and a TARGET",
    "smd run examples/chat_service.py": "serves until a signal; the other lines name a TARGET",
    "$ smd analyze boot.json blame": "needs boot.json, a report not in the repository",
    "$ smd analyze boot.json critical-chain": "needs boot.json, a report not in the repository",
    "$ smd simulate app.py": "needs app.py and boot.json, which are not in the repository",
    "$ smd stats before.json boot-*.json": "needs boot-*.json, reports of earlier boots",
    "$ SMD_SIMULATE_LATENCY=1 smd simulate": "needs stats.json from the smd stats block",
    "$ smd plot before.json boot-*.json": "needs boot-*.json, reports of earlier boots",
    "$ smd analyze after.json budget": "needs after.json and smd-budget.json, not in the repo",
    "$ smd analyze before.json trace": "needs before.json from the smd diff block",
}


@dataclass(frozen=True)
class Command:
    line: str
    exit_code: int


def shell_blocks() -> list[Block]:
    """The shell blocks (no language, sh, console or bash) that run `smd`."""
    found = []
    for page in PAGES:
        lines = page.read_text(encoding="utf-8").splitlines()
        opened: tuple[int, str] | None = None
        for number, line in enumerate(lines, start=1):
            if not line.startswith("```"):
                continue
            if opened is None:
                opened = (number, line.removeprefix("```").strip())
                continue
            start, language = opened
            opened = None
            code = "\n".join(lines[start : number - 1]) + "\n"
            if language in SHELL_LANGUAGES and RUNS_SMD.search(code):
                found.append(Block(page, start + 1, code))
    return found


def commands(block: Block) -> list[Command]:
    """The block's commands with the exit code each must give (`echo $?` shows it)."""
    lines = block.code.splitlines()
    if not any(line.startswith("$ ") for line in lines):  # a script: every line a command
        return [Command(line.split("  #")[0].strip(), 0) for line in lines if line.strip()]
    found: list[Command] = []
    for index, line in enumerate(lines):
        if not line.startswith("$ "):
            continue
        command = line.removeprefix("$ ")
        shown = lines[index + 1] if index + 1 < len(lines) else ""
        if command == "echo $?":
            found[-1] = Command(found[-1].line, int(shown))
        elif command.endswith(ECHO_STATUS):
            found.append(Command(command.removesuffix(ECHO_STATUS), int(shown)))
        else:
            found.append(Command(command, 0))
    return found


def shell_skip(block: Block) -> str | None:
    """Why the block cannot run here, or None."""
    return next((why for key, why in SHELL_SKIPS.items() if block.opening.startswith(key)), None)


@pytest.mark.slow
@pytest.mark.parametrize("block", shell_blocks(), ids=lambda block: block.name)
def test_the_shell_block_exits_as_the_page_says(block: Block, tmp_path: Path) -> None:
    if reason := shell_skip(block):
        pytest.skip(reason)
    (tmp_path / "examples").symlink_to(ROOT / "examples")
    path = os.pathsep.join((str(Path(sys.executable).parent), os.environ.get("PATH", "")))
    for command in commands(block):
        result = subprocess.run(
            ["bash", "-c", command.line],
            cwd=tmp_path,
            env={**os.environ, "PATH": path, "SMD_CHAT_DATA_DIR": str(tmp_path / "data")},
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert result.returncode == command.exit_code, (command.line, result.stderr[-2000:])
        assert "Traceback" not in result.stdout + result.stderr, command.line


def test_every_shell_skip_names_a_block() -> None:
    openings = [block.opening for block in shell_blocks()]
    assert [key for key in SHELL_SKIPS if not any(o.startswith(key) for o in openings)] == []
