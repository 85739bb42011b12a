"""Each example runs through the `smd` command exactly as its docstring says."""

from __future__ import annotations

import importlib
import os
import sqlite3
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import anyio
import pytest

from orchestrator import BootReport, PhaseStatus

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
SECRET_KEY = "k9-very-long-production-secret-value-0123456789"
CACHE_PASSWORD = "hunter2-cache-pass"


def smd_run(
    example: str, tmp_path: Path, **env: str
) -> tuple[subprocess.CompletedProcess[str], BootReport]:
    """`smd run --once examples/EXAMPLE` with its data under `tmp_path`, and its report."""
    environ = {key: value for key, value in os.environ.items() if not key.startswith("SMD_")}
    environ |= {"SMD_CHAT_DATA_DIR": str(tmp_path / "data"), **env}
    report_path = tmp_path / "report.json"
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "orchestrator.cli",
            "run",
            "--once",
            f"examples/{example}",
            "--report",
            str(report_path),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        cwd=ROOT,
        env=environ,
    )
    assert "Traceback" not in result.stdout + result.stderr
    return result, BootReport.from_json(report_path.read_text())


def line_starting(text: str, prefix: str) -> str:
    return next(line for line in text.splitlines() if line.startswith(prefix))


@pytest.fixture
def chat_service(monkeypatch: pytest.MonkeyPatch) -> ModuleType:
    """The chat_service example, imported the way `smd` imports it."""
    monkeypatch.syspath_prepend(str(EXAMPLES))
    return importlib.import_module("chat_service")


# --- chat_service -------------------------------------------------------------------------


def test_chat_service_boots_every_phase_and_prints_its_timings(tmp_path: Path) -> None:
    result, report = smd_run("chat_service.py", tmp_path)
    assert result.returncode == 0, result.stderr
    assert all(record.status is PhaseStatus.COMPLETED for record in report.phases)
    assert [record.name for record in report.phases][-5:] == [
        "websocket_factory_validation",
        "agent_websocket_bridge",
        "agent_event_queue",
        "agent_event_pump",
        "finalize",
    ]
    assert "boot 'chat-service'" in result.stdout
    assert "finalize" in result.stdout


def record_delays(
    chat_service: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path, *, simulate: bool
) -> dict[str, float]:
    """The latency each phase asks to wait for, recorded instead of slept."""
    monkeypatch.setenv("SMD_CHAT_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.setattr(chat_service, "SIMULATE_LATENCY", simulate)
    asked: dict[str, float] = {}
    real_delay = chat_service.delay

    def recorded(phase: str) -> float:
        asked[phase] = real_delay(phase)
        return 0.0

    monkeypatch.setattr(chat_service, "delay", recorded)
    return asked


@pytest.mark.anyio
async def test_chat_service_waits_for_nothing_without_simulated_latency(
    chat_service: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked = record_delays(chat_service, monkeypatch, tmp_path, simulate=False)
    await chat_service.boot.run_once(sinks=[])
    assert asked == dict.fromkeys(chat_service.LATENCY, 0.0)


def test_chat_service_creates_and_migrates_its_sqlite_database(tmp_path: Path) -> None:
    smd_run("chat_service.py", tmp_path)
    with sqlite3.connect(tmp_path / "data" / "chat.sqlite3") as db:
        (version,) = db.execute("PRAGMA user_version").fetchone()
        tables = {row[0] for row in db.execute("SELECT name FROM sqlite_master")}
    assert version == 4
    assert {"users", "rooms", "messages", "messages_by_room"} <= tables


def test_chat_service_applies_each_migration_once_across_boots(tmp_path: Path) -> None:
    first, _ = smd_run("chat_service.py", tmp_path)
    second, _ = smd_run("chat_service.py", tmp_path)
    assert (first.returncode, second.returncode) == (0, 0), second.stderr


def test_chat_service_tears_down_the_database_cache_and_bridge(tmp_path: Path) -> None:
    _, report = smd_run("chat_service.py", tmp_path)
    torn_down = [r.name for r in report.phases if r.teardown.value == "torn_down"]
    assert torn_down == [
        "database",
        "cache",
        "agent_websocket_bridge",
        "agent_event_queue",
        "agent_event_pump",
    ]


@pytest.mark.anyio
async def test_chat_service_agent_event_pump_is_restarted_after_a_failed_delivery(
    chat_service: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    from phases.websocket import (
        StandardizedWebSocketManagerFactory,
        UserExecutionContext,
        WebSocketConnection,
    )

    monkeypatch.setenv("SMD_CHAT_DATA_DIR", str(tmp_path))
    restarted = anyio.Event()
    delivered = anyio.Event()

    def sink(event: object) -> None:
        if getattr(event, "name", "") == "phase.restarting":
            restarted.set()

    class Inbox:
        async def send_json(self, message: dict[str, object]) -> None:
            delivered.set()

    boot = chat_service.build_boot(StandardizedWebSocketManagerFactory())
    async with boot.start(sinks=[sink]) as running:
        service = running.resources["finalize"]
        user = UserExecutionContext(user_id="ada", thread_id="t-1", run_id="r-1")
        manager = service.bridge.manager_for(user)
        await manager.add_connection(WebSocketConnection("c-1", "ada", Inbox()))
        await service.agent_events.submit(user, "no_such_notification")
        await restarted.wait()
        await service.agent_events.submit(user, "agent_started", agent_name="helper")
        await delivered.wait()
        assert running.report["agent_event_pump"].restarts[0].error.startswith("AttributeError")


def test_chat_service_never_logs_its_secrets(tmp_path: Path) -> None:
    result, _ = smd_run(
        "chat_service.py",
        tmp_path,
        SMD_CHAT_SECRET_KEY=SECRET_KEY,
        SMD_CHAT_CACHE_URL=f"memory://chat:{CACHE_PASSWORD}@local/0",
    )
    assert result.returncode == 0, result.stderr
    assert "memory://chat:***@local/0" in result.stderr
    assert SECRET_KEY not in result.stdout + result.stderr
    assert CACHE_PASSWORD not in result.stdout + result.stderr


def test_chat_service_refuses_production_with_the_development_secret(tmp_path: Path) -> None:
    result, _ = smd_run("chat_service.py", tmp_path, SMD_CHAT_ENV="production")
    assert result.returncode == 78
    assert "SMD_CHAT_SECRET_KEY is the development default in production" in result.stderr


@pytest.mark.anyio
async def test_chat_service_simulated_latency_makes_each_phase_wait_its_latency(
    chat_service: ModuleType, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    asked = record_delays(chat_service, monkeypatch, tmp_path, simulate=True)
    await chat_service.boot.run_once(sinks=[])
    assert asked == chat_service.LATENCY


def test_chat_service_reads_simulated_latency_from_the_environment(tmp_path: Path) -> None:
    result, report = smd_run("chat_service.py", tmp_path, SMD_SIMULATE_LATENCY="1")
    assert result.returncode == 0, result.stderr
    assert "simulate_latency=True" in result.stderr
    assert all(record.status is PhaseStatus.COMPLETED for record in report.phases)


def test_chat_settings_repr_masks_the_secret_and_the_cache_password(
    chat_service: ModuleType,
) -> None:
    settings = chat_service.ChatSettings.from_env(
        {
            "SMD_CHAT_SECRET_KEY": SECRET_KEY,
            "SMD_CHAT_CACHE_URL": f"memory://chat:{CACHE_PASSWORD}@local/0",
        }
    )
    assert SECRET_KEY not in repr(settings)
    assert CACHE_PASSWORD not in repr(settings)
    assert "cache_url='memory://chat:***@local/0'" in repr(settings)


def test_chat_settings_report_every_unparseable_variable(chat_service: ModuleType) -> None:
    with pytest.raises(ValueError, match="SMD_CHAT_CACHE_TTL='soon'") as caught:
        chat_service.ChatSettings.from_env(
            {"SMD_CHAT_CACHE_TTL": "soon", "SMD_CHAT_MAX_CONNECTIONS_PER_USER": "many"}
        )
    assert "SMD_CHAT_MAX_CONNECTIONS_PER_USER='many'" in str(caught.value)


def test_chat_service_phases_all_have_a_description_and_expected_duration(
    chat_service: ModuleType,
) -> None:
    for spec in chat_service.boot.plan().phases:
        assert spec.description, spec.name
        assert spec.expected_duration is not None, spec.name


# --- noncompliant_factory -----------------------------------------------------------------


def test_noncompliant_factory_is_refused_with_exit_78(tmp_path: Path) -> None:
    result, report = smd_run("noncompliant_factory.py", tmp_path)
    assert result.returncode == 78
    assert "BOOT REFUSED BY A GATE" in result.stderr
    assert report.diagnostic is not None
    assert report.diagnostic["phase"] == "websocket_factory_validation"


def test_noncompliant_factory_diagnostic_names_each_violation(tmp_path: Path) -> None:
    result, report = smd_run("noncompliant_factory.py", tmp_path)
    assert report.diagnostic is not None
    details = report.diagnostic["details"]
    assert [detail.split(":")[0] for detail in details] == [
        "validate_manager_instance",
        "isolation",
        "manager.is_connection_active",
    ]
    for detail in details:
        assert f"  - {detail}" in result.stderr
    assert len(report.diagnostic["action"].splitlines()) == len(details)


def test_noncompliant_factory_blocks_the_bridge_and_lists_what_was_torn_down(
    tmp_path: Path,
) -> None:
    result, _ = smd_run("noncompliant_factory.py", tmp_path)
    blocked = line_starting(result.stderr, "Blocked:")
    torn_down = line_starting(result.stderr, "Torn down:")
    assert "agent_websocket_bridge" in blocked
    assert "finalize" in blocked
    assert "cache (torn_down)" in torn_down
    assert "database (torn_down)" in torn_down


# --- custom_phase -------------------------------------------------------------------------


def test_custom_phase_boots_ready_with_metrics_skipped(tmp_path: Path) -> None:
    result, report = smd_run("custom_phase.py", tmp_path)
    statuses = {record.name: record.status for record in report.phases}
    assert result.returncode == 0, result.stderr
    assert report.outcome is not None
    assert report.outcome.value == "ready"
    assert statuses["metrics"] is PhaseStatus.SKIPPED
    assert next(r for r in report.phases if r.name == "upstream").attempts == 3


def test_custom_phase_runs_degraded_when_the_optional_phase_fails(tmp_path: Path) -> None:
    result, report = smd_run(
        "custom_phase.py", tmp_path, SMD_EXAMPLE_RECOMMENDER_DOWN="1", SMD_EXAMPLE_METRICS="1"
    )
    statuses = {record.name: record.status for record in report.phases}
    assert result.returncode == 0, result.stderr
    assert report.outcome is not None
    assert report.outcome.value == "degraded"
    assert statuses["recommendations"] is PhaseStatus.FAILED
    assert statuses["warm_cache"] is PhaseStatus.BLOCKED
    assert statuses["metrics"] is PhaseStatus.COMPLETED


def test_custom_phase_gate_refuses_a_privileged_port(tmp_path: Path) -> None:
    result, _ = smd_run("custom_phase.py", tmp_path, SMD_EXAMPLE_PORT="80")
    assert result.returncode == 78
    assert "port 80 is outside 1024-65535" in result.stderr
