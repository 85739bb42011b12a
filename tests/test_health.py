"""Health probes: one state model answering /livez, /readyz and /startupz."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from starlette.applications import Starlette

from orchestrator import Boot, RunningBoot
from orchestrator.asgi import health_routes
from orchestrator.health import HealthApp, check_liveness, check_readiness, check_startup


def _boot(*, degraded: bool = False) -> Boot:
    boot = Boot("health")

    @boot.phase()
    async def config() -> str:
        return "cfg"

    @boot.phase(critical=False)
    async def optional(config: str) -> str:
        if degraded:
            raise RuntimeError("optional cache is down")
        return "ok"

    return boot


async def _get(app: Any, path: str, method: str = "GET") -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        return await client.request(method, path)


@pytest.fixture
async def running() -> AsyncIterator[RunningBoot]:
    async with _boot().start(sinks=[]) as booted:
        yield booted


def test_liveness_passes_before_the_boot_exists() -> None:
    result = check_liveness(None)
    assert (result.status_code, result.body["state"]) == (200, "starting")


def test_readiness_and_startup_fail_while_booting() -> None:
    assert check_readiness(None).status_code == 503
    assert check_startup(None).status_code == 503
    assert check_startup(None).body["state"] == "starting"


@pytest.mark.anyio
async def test_a_ready_boot_passes_every_probe(running: RunningBoot) -> None:
    for check in (check_liveness, check_readiness, check_startup):
        assert check(running).ok


@pytest.mark.anyio
async def test_draining_fails_readiness_but_not_startup_or_liveness(running: RunningBoot) -> None:
    running.begin_draining()
    assert check_readiness(running).status_code == 503
    assert check_readiness(running).body["draining"] is True
    assert check_startup(running).ok
    assert check_liveness(running).ok


@pytest.mark.anyio
async def test_degraded_is_ready_only_when_allowed() -> None:
    async with _boot(degraded=True).start(sinks=[]) as running:
        assert running.state.value == "degraded"
        assert check_readiness(running).status_code == 503
        assert check_readiness(running, allow_degraded=True).status_code == 200
        assert check_startup(running).ok


@pytest.mark.anyio
async def test_body_has_state_fingerprint_and_each_phase_status(running: RunningBoot) -> None:
    body = check_readiness(running).body
    assert body["fingerprint"] == running.plan.fingerprint
    assert body["state"] == "ready"
    assert body["phases"] == {"config": "completed", "optional": "completed"}


@pytest.mark.anyio
async def test_health_app_serves_json_with_status_codes(running: RunningBoot) -> None:
    app = HealthApp(lambda: running)
    ready = await _get(app, "/readyz")
    assert ready.status_code == 200
    assert ready.headers["content-type"] == "application/json"
    assert json.loads(ready.text)["probe"] == "readyz"
    running.begin_draining()
    assert (await _get(app, "/readyz")).status_code == 503
    assert (await _get(app, "/livez")).status_code == 200


@pytest.mark.anyio
async def test_health_app_refuses_unknown_paths_and_methods() -> None:
    app = HealthApp(lambda: None)
    assert (await _get(app, "/metrics")).status_code == 404
    assert (await _get(app, "/livez", "POST")).status_code == 405
    head = await _get(app, "/livez", "HEAD")
    assert (head.status_code, head.content) == (200, b"")


@pytest.mark.anyio
async def test_health_routes_mount_in_a_starlette_app_under_a_prefix(running: RunningBoot) -> None:
    app = Starlette(routes=health_routes(lambda: running, prefix="/health"))
    assert (await _get(app, "/health/startupz")).status_code == 200
    assert (await _get(app, "/readyz")).status_code == 404


@pytest.mark.anyio
async def test_health_routes_without_a_boot_report_starting() -> None:
    app = Starlette(routes=health_routes())
    response = await _get(app, "/readyz")
    assert (response.status_code, response.json()["state"]) == (503, "starting")


@pytest.mark.anyio
async def test_health_app_answers_only_its_own_paths_when_mounted(running: RunningBoot) -> None:
    from starlette.routing import Mount

    app = Starlette(routes=[Mount("/ops", app=HealthApp(lambda: running))])
    assert (await _get(app, "/ops/livez")).status_code == 200
    assert (await _get(app, "/ops/x/livez")).status_code == 404
    assert (await _get(HealthApp(lambda: running), "/x/livez")).status_code == 404
