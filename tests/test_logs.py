"""Logs alone say what failed and where: the exception in `phase.failed`, the diagnostic in
`boot.failed`, masked and without local variables."""

from __future__ import annotations

import io
import json
from collections.abc import Iterator
from typing import Any

import pytest
import structlog

from orchestrator import Boot, BootAborted, StructlogSink

pytestmark = pytest.mark.anyio


@pytest.fixture
def json_lines() -> Iterator[io.StringIO]:
    """structlog configured as a JSON pipeline into a buffer, as `smd run` does when piped."""
    saved = structlog.get_config()
    buffer = io.StringIO()
    structlog.configure(
        processors=[structlog.processors.JSONRenderer(sort_keys=True)],
        logger_factory=structlog.PrintLoggerFactory(file=buffer),
        cache_logger_on_first_use=False,
    )
    try:
        yield buffer
    finally:
        structlog.configure(**saved)


def failing_boot() -> Boot:
    boot = Boot("logged")

    @boot.phase()
    async def database() -> None:
        dsn = "postgres://app:hunter2@db/app"
        raise ConnectionError(f"cannot reach {dsn}")

    return boot


def line(buffer: io.StringIO, event: str) -> dict[str, Any]:
    for text in buffer.getvalue().splitlines():
        data = json.loads(text)
        if data["event"] == event:
            return data  # type: ignore[no-any-return]
    raise AssertionError(f"no {event} line")


async def run(boot: Boot) -> None:
    with pytest.raises(BootAborted):
        await boot.run_once(sinks=[StructlogSink()])


async def test_phase_failed_carries_the_structured_traceback_in_json(
    json_lines: io.StringIO,
) -> None:
    await run(failing_boot())
    exception = line(json_lines, "phase.failed")["exception"]
    assert exception[0]["exc_type"] == "ConnectionError"
    assert exception[0]["frames"][-1]["name"] == "database"


async def test_the_logged_traceback_has_no_locals_and_no_secret(json_lines: io.StringIO) -> None:
    await run(failing_boot())
    exception = line(json_lines, "phase.failed")["exception"]
    assert all("locals" not in frame for frame in exception[0]["frames"])
    assert "hunter2" not in json_lines.getvalue()


async def test_boot_failed_carries_the_whole_diagnostic(json_lines: io.StringIO) -> None:
    await run(failing_boot())
    diagnostic = line(json_lines, "boot.failed")["diagnostic"]
    assert diagnostic["schema"] == "smd.diagnostic/1"
    assert diagnostic["location"].endswith(" in database")
    assert diagnostic["action"].startswith("Fix the cause in 'database'")


async def test_boot_failed_carries_the_kind_summary_and_exit_code(
    json_lines: io.StringIO,
) -> None:
    await run(failing_boot())
    failed = line(json_lines, "boot.failed")
    diagnostic = failed["diagnostic"]
    assert (failed["kind"], failed["summary"], failed["exit_code"]) == (
        "phase_failed",
        diagnostic["summary"],
        69,
    )


async def test_a_console_pipeline_gets_the_traceback_as_masked_text() -> None:
    with structlog.testing.capture_logs() as logs:
        await run(failing_boot())
    failed = next(entry for entry in logs if entry["event"] == "phase.failed")
    assert failed["exception"].startswith("Traceback (most recent call last):")
    assert "hunter2" not in failed["exception"]
