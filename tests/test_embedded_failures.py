"""The embedded path never turns a clear refusal into a traceback; the drain says when it starts."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import anyio
import pytest
import structlog
from starlette.applications import Starlette

from orchestrator.asgi import StartupRefused, WebSocketDrain, lifespan

sys.path.insert(0, str(Path(__file__).parent))
import asgi_apps

pytestmark = pytest.mark.anyio


async def start_lifespan(app: Starlette) -> StartupRefused:
    to_app, app_receives = anyio.create_memory_object_stream[dict[str, Any]](4)
    app_sends, from_app = anyio.create_memory_object_stream[dict[str, Any]](4)
    scope = {"type": "lifespan", "asgi": {"version": "3.0"}, "state": {}}
    with to_app, app_receives, app_sends, from_app:
        await to_app.send({"type": "lifespan.startup"})
        with pytest.raises(StartupRefused) as refused:
            await app(scope, app_receives.receive, app_sends.send)
    return refused.value


async def test_an_unwritable_termination_log_is_a_warning_and_the_exit_code_stands(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    unwritable = tmp_path / "no-such-folder" / "termination-log"
    smd = lifespan(asgi_apps.failing_boot(), sinks=[], termination_log=unwritable)
    smd._on_failure = lambda diagnostic: None
    refused = await start_lifespan(Starlette(lifespan=smd))
    assert refused.exit_code == 69
    assert f"smd: warning: cannot write the termination log {unwritable}" in capsys.readouterr().err


async def test_an_embedded_refusal_names_the_location_in_the_users_code() -> None:
    smd = lifespan(asgi_apps.failing_boot(), sinks=[])
    smd._on_failure = lambda diagnostic: None
    refused = await start_lifespan(Starlette(lifespan=smd))
    assert refused.diagnostic.location is not None
    assert refused.diagnostic.location.endswith(" in database")


async def test_the_drain_logs_when_it_starts_and_what_it_closed() -> None:
    async def app(scope: Any, receive: Any, send: Any) -> None: ...

    drain = WebSocketDrain(app)
    with structlog.testing.capture_logs() as logs:
        drain.log_started(5.0)
        await drain.close_all(within=1.0)
    assert [entry["event"] for entry in logs] == ["drain.started", "drain.closing", "drain.closed"]
    assert logs[0]["grace_s"] == 5.0
