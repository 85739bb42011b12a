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
from orchestrator.health import (
    HEALTH_JSON,
    BootProgress,
    HealthApp,
    LoopWatch,
    check_liveness,
    check_readiness,
    check_startup,
)


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


async def _get(
    app: Any, path: str, method: str = "GET", headers: dict[str, str] | None = None
) -> httpx.Response:
    transport = httpx.ASGITransport(app=app)
    async with httpx.AsyncClient(transport=transport, base_url="http://probe") as client:
        return await client.request(method, path, headers=headers)


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
async def test_degraded_is_ready_by_default_and_not_when_opted_out() -> None:
    async with _boot(degraded=True).start(sinks=[]) as running:
        assert running.state.value == "degraded"
        assert check_readiness(running).status_code == 200
        assert check_readiness(running).body["degraded"] == ["optional"]
        assert check_readiness(running, allow_degraded=False).status_code == 503
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


# --- the forms a probe answers in ------------------------------------------------------


@pytest.mark.anyio
async def test_verbose_readyz_has_one_kubernetes_line_per_phase_and_the_verdict() -> None:
    async with _boot(degraded=True).start(sinks=[]) as running:
        response = await _get(HealthApp(lambda: running), "/readyz?verbose")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/plain")
    assert response.text.splitlines() == [
        "[+]config ok",
        "[-]optional failed: RuntimeError: optional cache is down",
        "readyz check passed",
    ]


@pytest.mark.anyio
async def test_an_error_with_line_breaks_stays_on_its_phase_line_in_verbose() -> None:
    boot = Boot("forged")

    @boot.phase(critical=False)
    async def cache() -> str:
        raise RuntimeError("down\n[+]cache ok\nreadyz check passed\x1b[2J")

    async with boot.start(sinks=[]) as running:
        running.begin_draining()
        text = (await _get(HealthApp(lambda: running), "/readyz?verbose")).text
    assert text.splitlines() == [
        "[-]cache failed: RuntimeError: down\\n[+]cache ok\\nreadyz check passed\\x1b[2J",
        "[-]shutdown failed: draining",
        "readyz check failed",
    ]


@pytest.mark.parametrize(
    "accept",
    [
        "application/health+json;q=abc",
        "application/health+json;q=0.0",
        "text/html, application/health+jsonx",
        "",
        "application/health+json;" + "q=1;" * 10_000,
    ],
)
def test_an_odd_accept_header_never_fails_the_probe(accept: str) -> None:
    from orchestrator.health import answer_probe

    body, media_type = answer_probe(check_startup(None), accept=accept)
    assert media_type in ("application/json", HEALTH_JSON)
    assert json.loads(body)


@pytest.mark.anyio
async def test_verbose_readyz_while_draining_names_the_shutdown(running: RunningBoot) -> None:
    running.begin_draining()
    response = await _get(HealthApp(lambda: running), "/readyz?verbose=1")
    assert response.status_code == 503
    assert response.text.splitlines()[-2:] == [
        "[-]shutdown failed: draining",
        "readyz check failed",
    ]


@pytest.mark.anyio
async def test_verbose_false_keeps_the_json_form(running: RunningBoot) -> None:
    response = await _get(HealthApp(lambda: running), "/readyz?verbose=false")
    assert response.headers["content-type"] == "application/json"


@pytest.mark.anyio
async def test_health_json_has_status_and_one_check_per_phase_when_asked() -> None:
    async with _boot(degraded=True).start(sinks=[]) as running:
        accept = {"accept": f"application/json;q=0.5, {HEALTH_JSON}"}
        response = await _get(HealthApp(lambda: running), "/readyz", headers=accept)
        document = response.json()
        fingerprint = running.plan.fingerprint
    assert response.headers["content-type"] == HEALTH_JSON
    assert document["status"] == "warn"  # ready, but degraded
    assert document["releaseId"] == fingerprint
    assert document["checks"]["config"] == [
        {"componentType": "phase", "status": "pass", "observedValue": "completed"}
    ]
    assert document["checks"]["optional"][0]["status"] == "warn"
    assert document["checks"]["optional"][0]["output"] == "RuntimeError: optional cache is down"


@pytest.mark.anyio
async def test_health_json_fails_when_the_probe_fails(running: RunningBoot) -> None:
    running.begin_draining()
    headers = {"accept": HEALTH_JSON}
    document = (await _get(HealthApp(lambda: running), "/readyz", headers=headers)).json()
    assert (document["status"], document["output"]) == (
        "fail",
        "draining: the service is shutting down",
    )


@pytest.mark.anyio
async def test_health_json_refused_with_q_zero_gives_plain_json(running: RunningBoot) -> None:
    headers = {"accept": f"{HEALTH_JSON};q=0"}
    response = await _get(HealthApp(lambda: running), "/readyz", headers=headers)
    assert response.headers["content-type"] == "application/json"


@pytest.mark.anyio
async def test_a_ready_boot_is_pass_in_health_json(running: RunningBoot) -> None:
    headers = {"accept": HEALTH_JSON}
    document = (await _get(HealthApp(lambda: running), "/startupz", headers=headers)).json()
    assert document["status"] == "pass"
    assert set(document["checks"]) == {"config", "optional"}


# --- before the boot has a RunningBoot ----------------------------------------------------


def test_the_plan_alone_gives_the_fingerprint_and_every_phase_pending() -> None:
    plan = _boot().plan()
    result = check_startup(plan)
    assert (result.status_code, result.body["fingerprint"]) == (503, plan.fingerprint)
    assert result.body["pending"] == ["config", "optional"]
    assert result.reason == "booting (pending: config, optional)"


@pytest.mark.anyio
async def test_health_app_with_a_plan_answers_with_its_fingerprint_before_the_boot() -> None:
    plan = _boot().plan()
    response = await _get(HealthApp(lambda: None, plan=plan), "/livez")
    assert (response.status_code, response.json()["fingerprint"]) == (200, plan.fingerprint)


@pytest.mark.anyio
async def test_progress_names_the_phases_running_and_pending_during_the_boot() -> None:
    boot = Boot("progress")
    followed: list[BootProgress] = []
    seen: list[dict[str, Any]] = []

    @boot.phase()
    async def config() -> str:
        return "cfg"

    @boot.phase()
    async def database(config: str) -> str:
        seen.append(check_startup(followed[0]).body)
        return "db"

    @boot.phase()
    async def web(database: str) -> str:
        return "web"

    progress = BootProgress(boot.plan())
    followed.append(progress)
    async with boot.start(sinks=[progress]) as running:
        assert check_startup(progress).ok
        assert progress.observe().phases == check_startup(running).health.phases
    (during,) = seen
    assert (during["state"], during["running"], during["pending"]) == (
        "starting",
        ["database"],
        ["web"],
    )
    assert during["phases"]["config"] == "completed"


@pytest.mark.anyio
async def test_progress_records_a_failure_with_its_error() -> None:
    boot = _boot(degraded=True)
    progress = BootProgress(boot.plan())
    async with boot.start(sinks=[progress]):
        phases = {phase.name: phase for phase in progress.observe().phases}
    assert phases["optional"].status.value == "failed"
    assert phases["optional"].reason == "RuntimeError: optional cache is down"
    assert progress.state.value == "stopped"


# --- liveness and the event loop's lag ------------------------------------------------------


class FakeClock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def test_a_loop_that_beats_on_time_is_alive() -> None:
    clock = FakeClock()
    watch = LoopWatch(threshold=2, memory=10, interval=0.5, clock=clock)
    for _ in range(10):
        clock.now += 0.5
        watch.check()
        watch.beat()
    assert watch.stall() is None
    assert check_liveness(None, loop_watch=watch).ok


def test_a_blocked_loop_seen_by_the_watcher_fails_livez_saying_how_long() -> None:
    clock = FakeClock()
    watch = LoopWatch(threshold=2, memory=10, interval=0.5, clock=clock)
    clock.now += 3.0  # no beat for 3 s: 2.5 s late
    watch.check()
    assert watch.blocked.is_set()
    ongoing = watch.stall()
    assert ongoing is not None
    assert ongoing.ongoing
    clock.now += 1.5
    watch.beat()  # the loop runs again: blocked from 100.5 to 104.5
    clock.now += 1.0
    result = check_liveness(None, loop_watch=watch)
    assert result.status_code == 503
    assert result.reason == "event loop blocked for 4.0 s, 1.0 s ago (threshold 2 s)"
    assert result.body["event_loop"] == result.reason


def test_a_stall_is_forgotten_after_the_memory() -> None:
    clock = FakeClock()
    watch = LoopWatch(threshold=2, memory=10, interval=0.5, clock=clock)
    clock.now += 5.0
    watch.check()
    watch.beat()
    clock.now += 10.0
    assert not check_liveness(None, loop_watch=watch).ok
    clock.now += 0.1
    assert check_liveness(None, loop_watch=watch).ok


def test_a_stall_the_watcher_missed_is_measured_by_the_late_beat() -> None:
    clock = FakeClock()
    watch = LoopWatch(threshold=2, memory=10, interval=0.5, clock=clock)
    clock.now += 3.5  # the watcher thread was starved too: only the beat sees it
    watch.beat()
    stall = watch.stall()
    assert stall is not None
    assert (stall.seconds, stall.ended) == (3.0, clock.now)


def test_a_lag_under_the_threshold_is_not_a_stall() -> None:
    clock = FakeClock()
    watch = LoopWatch(threshold=2, memory=10, interval=0.5, clock=clock)
    clock.now += 2.4
    watch.check()
    watch.beat()
    assert watch.stall() is None


@pytest.mark.parametrize("bad", [0, -1, float("nan"), float("inf")])
def test_loop_watch_refuses_a_bad_threshold(bad: float) -> None:
    with pytest.raises(ValueError, match="threshold"):
        LoopWatch(threshold=bad)


@pytest.mark.anyio
async def test_the_watcher_thread_sees_a_really_blocked_loop() -> None:
    import anyio

    watch = LoopWatch(threshold=0.05, memory=60, interval=0.01)
    async with anyio.create_task_group() as group:
        await group.start(watch.run)
        # Block the loop itself until the watcher thread has seen it blocked.
        assert watch.blocked.wait(timeout=30)
        # The beat, overdue by more than the threshold, runs before this sleep ends.
        await anyio.sleep(watch.interval)
        group.cancel_scope.cancel()
    stall = watch.stall()
    assert stall is not None
    assert not stall.ongoing
    assert stall.seconds > watch.threshold
    assert not check_liveness(None, loop_watch=watch).ok
