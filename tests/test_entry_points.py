"""Every entry point ends a failure smd can describe with its diagnostic, never a traceback.

The entry points are the library (`Boot.run_once`), the CLI (`smd run --once`),
the ASGI lifespan (driven through the lifespan protocol in this process) and
`serve_asgi` (a child process); the failures are a raising phase, a gate
refusal, a timeout and an interrupt, each a boot of `tests/boots/entry_points.py`.

An import error applies only where the entry point imports the target, the
CLI. The library, the lifespan and `serve_asgi` are handed a `Boot` the user's
own module has already built: when that module fails to import, no smd code has
run yet, so the error is Python's to report, not smd's. A signal that arrives
while the CLI imports its target is tested in `tests/test_cli_location.py`.

The `phase.failed` log line carries the failed phase's masked traceback on
purpose (a log pipeline alone must say where it failed); without a structlog
configuration, structlog writes it to stdout. What must never show a traceback
is what the entry point ends with: the diagnostic on stderr, and under `smd
run` (JSON logs when not on a terminal) everything it prints.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
from starlette.applications import Starlette

from orchestrator import BootAborted, BootInterrupt
from orchestrator.asgi import StartupRefused, lifespan

BOOTS = Path(__file__).parent / "boots"
sys.path.insert(0, str(BOOTS))
import entry_points  # noqa: E402  (found through the path set just above)

CASES = {"raising": 69, "refused": 78, "timeout": 75, "interrupted": 143}
KINDS = {
    "raising": "phase_failed",
    "refused": "gate_failed",
    "timeout": "timed_out",
    "interrupted": "interrupted",
}


def _run(*arguments: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, *arguments], capture_output=True, text=True, timeout=60, check=False
    )


@pytest.mark.parametrize("case", CASES)
@pytest.mark.anyio
async def test_the_library_raises_boot_aborted_with_the_diagnostic(
    case: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    interrupt = BootInterrupt()
    monkeypatch.setattr(entry_points, "deliver", lambda: interrupt.trigger(signal.SIGTERM))
    with pytest.raises(BootAborted) as aborted:
        await entry_points.BOOTS[case].run_once(interrupt=interrupt)
    assert aborted.value.diagnostic.kind == KINDS[case]
    assert aborted.value.exit_code == CASES[case]
    assert "Traceback" not in str(aborted.value.diagnostic)


@pytest.mark.parametrize("case", CASES)
@pytest.mark.anyio
async def test_the_asgi_lifespan_fails_startup_with_the_diagnostic(
    case: str, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    smd = lifespan(entry_points.BOOTS[case])
    monkeypatch.setattr(entry_points, "deliver", lambda: smd.interrupt(signal.SIGTERM))
    to_app, app_receives = anyio.create_memory_object_stream[dict[str, Any]](4)
    app_sends, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    app = Starlette(lifespan=smd)
    with to_app, app_receives, app_sends, from_app:
        await to_app.send({"type": "lifespan.startup"})
        with pytest.raises(StartupRefused) as refused:
            await app(scope, app_receives.receive, app_sends.send)
        assert (await from_app.receive())["type"] == "lifespan.startup.failed"
    assert refused.value.exit_code == CASES[case]
    assert refused.value.diagnostic is not None
    assert refused.value.diagnostic.kind == KINDS[case]
    output = capsys.readouterr()
    assert f"({KINDS[case]})" in output.err
    assert "Traceback" not in output.err


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_smd_run_once_exits_with_the_diagnostic_code(case: str) -> None:
    result = _run("-m", "orchestrator.cli", "run", "--once", f"{BOOTS}/entry_points.py:{case}")
    assert result.returncode == CASES[case], result.stderr
    assert f"({KINDS[case]})" in result.stdout + result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("target", ["raises_on_import.py", "imports_missing.py"])
def test_smd_run_once_reports_a_target_that_fails_to_import(target: str) -> None:
    result = _run("-m", "orchestrator.cli", "run", "--once", f"{BOOTS}/{target}")
    assert result.returncode == 64, result.stderr
    assert "(invalid_target)" in result.stdout + result.stderr
    assert f"Location:    {BOOTS}/{target}:" in result.stderr
    assert "Traceback" not in result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.parametrize("case", CASES)
def test_serve_asgi_exits_with_the_diagnostic_code(case: str) -> None:
    result = _run(str(BOOTS / "entry_points.py"), case)
    assert result.returncode == CASES[case], result.stderr
    assert f"({KINDS[case]})" in result.stderr
    assert "Traceback" not in result.stderr
