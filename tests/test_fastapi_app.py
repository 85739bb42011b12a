"""The FastAPI example boots through its ASGI lifespan and serves its routes and probes."""

from __future__ import annotations

import importlib.util
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from types import ModuleType
from typing import Any

import anyio
import httpx
import pytest

from orchestrator import BootState

EXAMPLE = Path(__file__).parent.parent / "examples" / "fastapi_app.py"


@pytest.fixture
def fastapi_app() -> ModuleType:
    """A fresh copy of the example module: its lifespan boots once."""
    spec = importlib.util.spec_from_file_location("fastapi_app_example", EXAMPLE)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@asynccontextmanager
async def booted(app: Any) -> AsyncIterator[httpx.AsyncClient]:
    """Run `app`'s lifespan startup, yield a client to it, then its shutdown."""
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
                yield client
            await to_app.send({"type": "lifespan.shutdown"})
            assert (await from_app.receive())["type"] == "lifespan.shutdown.complete"


@pytest.mark.anyio
async def test_fastapi_route_reads_the_values_of_the_boot(fastapi_app: ModuleType) -> None:
    async with booted(fastapi_app.app) as client:
        hello = await client.get("/hello")
    assert hello.json() == {"greeting": "hello", "database": "db-connection"}


@pytest.mark.anyio
async def test_fastapi_app_answers_the_probes_once_ready(fastapi_app: ModuleType) -> None:
    async with booted(fastapi_app.app) as client:
        statuses = [(await client.get(path)).status_code for path in ("/livez", "/readyz")]
        assert fastapi_app.smd.running.state is BootState.READY
    assert statuses == [200, 200]


@pytest.mark.anyio
async def test_fastapi_app_tears_the_boot_down_at_shutdown(fastapi_app: ModuleType) -> None:
    async with booted(fastapi_app.app):
        pass
    assert fastapi_app.smd.running.state is BootState.STOPPED
