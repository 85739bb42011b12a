"""A chat platform's boot: seven stages declared as one graph of phases.

    init          settings, settings_are_valid (gate)
    dependencies  dependencies_available (gate)
    database      database (SQLite, opened and migrated), schema_is_current (gate)
    cache         cache (in memory, with a TTL)
    services      services (the service registry)
    websocket     websocket_factory_validation (gate, after services), agent_websocket_bridge
    agent events  agent_event_queue, agent_event_pump (a service, restarted when it stops)
    finalize      finalize (a self-test through the bridge)

Run it with `smd run --once examples/chat_service.py`. It needs no environment;
`SMD_CHAT_*` variables override the defaults (see `ChatSettings.from_env`) and
`SMD_SIMULATE_LATENCY=1` makes each phase take as long as it would against real
services. `build_boot(factory)` is reused by examples/noncompliant_factory.py.
"""

from __future__ import annotations

import os
import sqlite3
import tempfile
import time
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import anyio

from orchestrator import Boot, GateResult, PhaseContext, Retry
from phases.websocket import (
    AgentWebSocketBridge,
    StandardizedWebSocketManagerFactory,
    UserExecutionContext,
    WebSocketConnection,
    websocket_phases,
)

SIMULATE_LATENCY = os.environ.get("SMD_SIMULATE_LATENCY", "") not in ("", "0")

# Seconds each phase takes against real services; slept only when SIMULATE_LATENCY is set.
LATENCY = {
    "settings": 0.05,
    "settings_are_valid": 0.05,
    "dependencies_available": 0.1,
    "database": 0.3,
    "schema_is_current": 0.05,
    "cache": 0.15,
    "services": 0.2,
    "agent_event_queue": 0.01,
    "agent_event_pump": 0.02,
    "finalize": 0.1,
}
ENVIRONMENTS = ("development", "staging", "production")
DEV_SECRET_KEY = "dev-only-secret-key-do-not-deploy"
MIN_SQLITE = (3, 24, 0)  # UPSERT, used by the message store
MIGRATIONS = (
    "CREATE TABLE users (id TEXT PRIMARY KEY, display_name TEXT NOT NULL)",
    "CREATE TABLE rooms (id TEXT PRIMARY KEY, title TEXT NOT NULL)",
    "CREATE TABLE messages (id INTEGER PRIMARY KEY, room_id TEXT NOT NULL REFERENCES rooms(id),"
    " user_id TEXT NOT NULL REFERENCES users(id), body TEXT NOT NULL, sent_at REAL NOT NULL)",
    "CREATE INDEX messages_by_room ON messages (room_id, sent_at)",
)


def delay(phase: str) -> float:
    """Seconds `phase` should pretend to wait (0 unless latency is simulated)."""
    return LATENCY[phase] if SIMULATE_LATENCY else 0.0


def expected(phase: str) -> float:
    """The `expected_duration` of `phase` in the current latency mode."""
    return LATENCY[phase] + 0.01 if SIMULATE_LATENCY else 0.01


def mask_url(url: str) -> str:
    """`url` with its password, if any, replaced by ***."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    host = parts.netloc.rpartition("@")[2]
    return urlunsplit(parts._replace(netloc=f"{parts.username or ''}:***@{host}"))


# --- init -------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True, repr=False)
class ChatSettings:
    """The service's configuration, read once from the environment."""

    environment: str
    data_dir: Path
    secret_key: str
    cache_url: str
    cache_ttl: float
    max_connections_per_user: int
    simulate_latency: bool = False

    def __repr__(self) -> str:
        return (
            f"ChatSettings(environment={self.environment!r}, data_dir='{self.data_dir}', "
            f"secret_key='***', cache_url={self.safe_cache_url!r}, cache_ttl={self.cache_ttl}, "
            f"max_connections_per_user={self.max_connections_per_user}, "
            f"simulate_latency={self.simulate_latency})"
        )

    @property
    def safe_cache_url(self) -> str:
        """The cache URL with its password masked: the form for logs."""
        return mask_url(self.cache_url)

    @property
    def database_path(self) -> Path:
        """Where the SQLite database lives."""
        return self.data_dir / "chat.sqlite3"

    @classmethod
    def from_env(cls, environ: Mapping[str, str] = os.environ) -> ChatSettings:
        """Read the settings; every variable has a development default.

        Raises:
            ValueError: listing every variable that cannot be parsed.
        """
        problems: list[str] = []

        def number(name: str, default: str, kind: type[int] | type[float]) -> Any:
            text = environ.get(name, default)
            try:
                return kind(text)
            except ValueError:
                problems.append(f"{name}={text!r} is not a {kind.__name__}")
                return kind(default)

        default_dir = Path(tempfile.gettempdir()) / "smd-chat-service"
        settings = cls(
            environment=environ.get("SMD_CHAT_ENV", "development"),
            data_dir=Path(environ.get("SMD_CHAT_DATA_DIR", str(default_dir))),
            secret_key=environ.get("SMD_CHAT_SECRET_KEY", DEV_SECRET_KEY),
            cache_url=environ.get("SMD_CHAT_CACHE_URL", "memory://chat:dev-only@local/0"),
            cache_ttl=number("SMD_CHAT_CACHE_TTL", "300", float),
            max_connections_per_user=number("SMD_CHAT_MAX_CONNECTIONS_PER_USER", "5", int),
            simulate_latency=SIMULATE_LATENCY,
        )
        if problems:
            raise ValueError("; ".join(problems))
        return settings


def settings(ctx: PhaseContext) -> ChatSettings:
    time.sleep(delay("settings"))
    loaded = ChatSettings.from_env()
    ctx.log.info("settings loaded", settings=repr(loaded))
    return loaded


def settings_are_valid(settings: ChatSettings) -> GateResult:
    time.sleep(delay("settings_are_valid"))
    errors: list[str] = []
    actions: list[str] = []
    if settings.environment not in ENVIRONMENTS:
        errors.append(f"SMD_CHAT_ENV={settings.environment!r} is not one of {ENVIRONMENTS}")
        actions.append(f"Set SMD_CHAT_ENV to one of {', '.join(ENVIRONMENTS)}.")
    if settings.environment != "development" and settings.secret_key == DEV_SECRET_KEY:
        errors.append(f"SMD_CHAT_SECRET_KEY is the development default in {settings.environment}")
        actions.append("Set SMD_CHAT_SECRET_KEY to a random value of at least 32 characters.")
    elif len(settings.secret_key) < 32:
        errors.append(f"SMD_CHAT_SECRET_KEY has {len(settings.secret_key)} characters, not 32+")
        actions.append("Set SMD_CHAT_SECRET_KEY to a random value of at least 32 characters.")
    if urlsplit(settings.cache_url).scheme != "memory":
        errors.append(f"SMD_CHAT_CACHE_URL={settings.safe_cache_url!r}: only memory:// is built in")
        actions.append("Use a memory:// cache URL, or add a phase for your cache server.")
    if settings.cache_ttl <= 0 or settings.max_connections_per_user < 1:
        errors.append("SMD_CHAT_CACHE_TTL and SMD_CHAT_MAX_CONNECTIONS_PER_USER must be positive")
        actions.append("Give both a positive value.")
    return GateResult(not errors, tuple(errors), tuple(actions))


# --- dependencies -----------------------------------------------------------------------


def dependencies_available(settings: ChatSettings) -> GateResult:
    time.sleep(delay("dependencies_available"))
    errors: list[str] = []
    actions: list[str] = []
    if sqlite3.sqlite_version_info < MIN_SQLITE:
        errors.append(f"SQLite {sqlite3.sqlite_version} is older than 3.24 (no UPSERT)")
        actions.append("Use a Python linked against SQLite 3.24 or newer.")
    try:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
        probe = settings.data_dir / ".write-probe"
        probe.write_text("ok")
        probe.unlink()
    except OSError as exc:
        errors.append(f"data directory {settings.data_dir} is not writable: {exc.strerror}")
        actions.append("Point SMD_CHAT_DATA_DIR at a writable directory.")
    return GateResult(not errors, tuple(errors), tuple(actions))


# --- database ---------------------------------------------------------------------------


def migrate(connection: sqlite3.Connection) -> int:
    """Apply the migrations not applied yet; returns the schema version reached."""
    connection.execute("PRAGMA foreign_keys = ON")
    (version,) = connection.execute("PRAGMA user_version").fetchone()
    for number, statement in enumerate(MIGRATIONS[version:], start=version + 1):
        with connection:
            connection.execute(statement)
            connection.execute(f"PRAGMA user_version = {number}")
    return len(MIGRATIONS)


def database(settings: ChatSettings, ctx: PhaseContext) -> Iterator[sqlite3.Connection]:
    # A plain generator: opening and migrating block, so they run in a worker thread.
    time.sleep(delay("database"))
    # Teardown may run on another worker thread than the one that opened the connection.
    connection = sqlite3.connect(settings.database_path, check_same_thread=False)
    try:
        version = migrate(connection)
    except BaseException:
        connection.close()
        raise
    ctx.log.info("database ready", path=str(settings.database_path), schema_version=version)
    yield connection
    connection.close()
    ctx.log.info("database closed", path=str(settings.database_path))


def schema_is_current(database: sqlite3.Connection) -> GateResult:
    time.sleep(delay("schema_is_current"))
    (version,) = database.execute("PRAGMA user_version").fetchone()
    if version == len(MIGRATIONS):
        return GateResult(True)
    return GateResult(
        False,
        (f"schema version {version}, this code needs {len(MIGRATIONS)}",),
        ("Deploy the code that matches the database, or restore a matching backup.",),
    )


# --- cache ------------------------------------------------------------------------------


class TTLCache:
    """An in-memory cache whose entries expire `ttl` seconds after they are set."""

    def __init__(self, ttl: float) -> None:
        self.ttl = ttl
        self._entries: dict[str, tuple[float, Any]] = {}

    def set(self, key: str, value: Any) -> None:
        self._entries[key] = (time.monotonic() + self.ttl, value)

    def get(self, key: str, default: Any = None) -> Any:
        expires, value = self._entries.get(key, (0.0, default))
        if expires and expires < time.monotonic():
            del self._entries[key]
            return default
        return value

    def clear(self) -> None:
        self._entries.clear()


async def cache(settings: ChatSettings, ctx: PhaseContext) -> AsyncIterator[TTLCache]:
    await anyio.sleep(delay("cache"))
    store = TTLCache(settings.cache_ttl)
    ctx.log.info("cache ready", url=settings.safe_cache_url, ttl=settings.cache_ttl)
    yield store
    store.clear()


# --- services ---------------------------------------------------------------------------


class MessageStore:
    """Rooms, users and messages, kept in the SQLite database."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._connection = connection

    def post(self, room_id: str, user_id: str, body: str) -> int:
        with self._connection as db:
            db.execute("INSERT INTO rooms VALUES (?, ?) ON CONFLICT DO NOTHING", (room_id, room_id))
            db.execute("INSERT INTO users VALUES (?, ?) ON CONFLICT DO NOTHING", (user_id, user_id))
            cursor = db.execute(
                "INSERT INTO messages (room_id, user_id, body, sent_at) VALUES (?, ?, ?, ?)",
                (room_id, user_id, body, time.time()),
            )
        return int(cursor.lastrowid or 0)


class PresenceTracker:
    """Who is online: an entry per user in the cache, expiring with its TTL."""

    def __init__(self, store: TTLCache) -> None:
        self._store = store

    def seen(self, user_id: str) -> None:
        self._store.set(f"presence:{user_id}", True)

    def is_online(self, user_id: str) -> bool:
        return bool(self._store.get(f"presence:{user_id}", False))


@dataclass(frozen=True, slots=True)
class ServiceRegistry:
    """The application's services by name, built once at boot."""

    services: Mapping[str, object] = field(default_factory=dict)

    def get(self, name: str) -> object:
        return self.services[name]


async def services(database: sqlite3.Connection, cache: TTLCache) -> ServiceRegistry:
    await anyio.sleep(delay("services"))
    return ServiceRegistry({"messages": MessageStore(database), "presence": PresenceTracker(cache)})


# --- agent events ---------------------------------------------------------------------------

AgentEvent = tuple[UserExecutionContext, str, dict[str, Any]]
"""Whom to tell, which bridge notification (`agent_started`, ...), and its fields."""


class AgentEventQueue:
    """Agent events waiting for delivery; it outlives the pump, so a restart loses none."""

    def __init__(self, size: int = 1024) -> None:
        self._send, self.receive = anyio.create_memory_object_stream[AgentEvent](size)

    async def submit(self, user: UserExecutionContext, kind: str, **fields: Any) -> None:
        """Queue one notification for `user`; waits while the queue is full."""
        await self._send.send((user, kind, fields))

    def close(self) -> None:
        self._send.close()
        self.receive.close()


async def agent_event_queue() -> AsyncIterator[AgentEventQueue]:
    await anyio.sleep(delay("agent_event_queue"))
    queue = AgentEventQueue()
    yield queue
    queue.close()


async def agent_event_pump(
    agent_event_queue: AgentEventQueue,
    agent_websocket_bridge: AgentWebSocketBridge,
    ctx: PhaseContext,
) -> None:
    """Deliver queued agent events through the bridge, one at a time, in order."""
    await anyio.sleep(delay("agent_event_pump"))
    ctx.started(agent_event_queue)
    async for user, kind, fields in agent_event_queue.receive:
        notify = getattr(agent_websocket_bridge, f"notify_{kind}")
        await notify(user, **fields)  # a failed delivery stops the pump: it is restarted


# --- finalize ---------------------------------------------------------------------------


class SelfTestInbox:
    """An in-memory websocket client that keeps what it receives."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    async def send_json(self, message: dict[str, Any]) -> None:
        self.received.append(message)


@dataclass(frozen=True, slots=True)
class ChatService:
    """The booted service: what the rest of the application is handed."""

    settings: ChatSettings
    services: ServiceRegistry
    bridge: AgentWebSocketBridge
    agent_events: AgentEventQueue


async def finalize(
    settings: ChatSettings,
    services: ServiceRegistry,
    agent_websocket_bridge: AgentWebSocketBridge,
    agent_event_pump: AgentEventQueue,
    ctx: PhaseContext,
) -> ChatService:
    # Deliver one agent event end to end before declaring the service ready.
    await anyio.sleep(delay("finalize"))
    user = UserExecutionContext(
        user_id="boot-self-test", thread_id="boot-self-test-thread", run_id="boot-self-test-run"
    )
    inbox = SelfTestInbox()
    manager = agent_websocket_bridge.manager_for(user)
    await manager.add_connection(WebSocketConnection("self-test", user.user_id, inbox))
    await agent_websocket_bridge.notify_agent_started(user, "boot-self-test")
    await manager.remove_connection("self-test")
    if [message["type"] for message in inbox.received] != ["agent_started"]:
        raise RuntimeError(f"the self-test message was not delivered: {inbox.received!r}")
    ctx.log.info("chat service ready", environment=settings.environment)
    return ChatService(settings, services, agent_websocket_bridge, agent_event_pump)


# --- the boot ---------------------------------------------------------------------------


def build_boot(factory: object, *, name: str = "chat-service") -> Boot:
    """The chat service's boot, with `factory` behind its WebSocket layer."""
    boot = Boot(name)

    def add(target: object, description: str, **options: Any) -> None:
        phase = getattr(target, "__name__", "")
        boot.add(target, description=description, expected_duration=expected(phase), **options)

    add(settings, "init: read ChatSettings from the environment", timeout=5)
    add(settings_are_valid, "init: refuse invalid or unsafe settings", kind="gate")
    add(
        dependencies_available,
        "dependencies: SQLite is recent enough, the data directory is writable",
        kind="gate",
        after=("settings_are_valid",),
    )
    add(
        database,
        "database: open the SQLite database and apply migrations",
        after=("dependencies_available",),
        timeout=10,
        retry=Retry(attempts=3, delay=0.1, backoff=2.0, on=(sqlite3.OperationalError,)),
        teardown_timeout=5,
    )
    add(schema_is_current, "database: the schema matches this code", kind="gate")
    add(
        cache,
        "cache: in-memory cache with a TTL",
        after=("settings_are_valid",),
        timeout=5,
        teardown_timeout=5,
    )
    add(services, "services: build the service registry", after=("schema_is_current",))
    boot.include(websocket_phases(factory, after="services"))
    add(agent_event_queue, "agent events: the queue of notifications waiting for delivery")
    add(
        agent_event_pump,
        "agent events: deliver queued notifications through the bridge",
        kind="service",
        restart=Retry(attempts=5, delay=0.1, backoff=2.0, max_delay=5.0),
        reset_after=60.0,
    )
    add(finalize, "finalize: deliver one agent event end to end", timeout=5)
    return boot


boot = build_boot(StandardizedWebSocketManagerFactory())
