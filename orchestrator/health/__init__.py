"""Health probes from the one state model: `/livez`, `/readyz`, `/startupz`.

The checks are plain functions of a boot's picture (`observe`): the running
boot once it exists, its progress (`BootProgress`, an event sink) or its plan
while it boots, so every answer carries the plan's fingerprint from the first
moment. `HealthApp` serves them as a dependency-free ASGI app, so the probes
work in any ASGI server; `orchestrator.asgi` mounts the same checks as
Starlette routes and answers them while the boot runs.

- `/livez`: the event loop runs; with a `LoopWatch`, it fails for a while
  after the loop was blocked longer than the watch's threshold.
- `/readyz`: READY or DEGRADED (unless `allow_degraded=False`), not draining.
- `/startupz`: the boot finished (READY or DEGRADED, including while draining).

Each answers JSON; `?verbose` gives Kubernetes' text (`[+]name ok` /
`[-]name failed: reason` per phase) and `Accept: application/health+json`
the health-check draft's document.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from typing import Any
from urllib.parse import parse_qsl

from .._model._plan import BootPlan
from ._loop_watch import LoopStall, LoopWatch
from ._probes import (
    HEALTH_JSON,
    PROBES,
    Check,
    ProbeName,
    ProbeResult,
    check_liveness,
    check_readiness,
    check_startup,
    describe_boot,
    run_probe,
)
from ._view import BootHealth, BootProgress, HealthSource, PhaseHealth, observe

__all__ = [
    "BootHealth",
    "BootProgress",
    "Check",
    "HealthApp",
    "HealthSource",
    "LoopStall",
    "LoopWatch",
    "PhaseHealth",
    "ProbeName",
    "ProbeResult",
    "answer_probe",
    "check_liveness",
    "check_readiness",
    "check_startup",
    "describe_boot",
    "observe",
    "run_probe",
]

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


def answer_probe(result: ProbeResult, *, query: str = "", accept: str = "") -> tuple[str, str]:
    """The body and media type to answer `result` with, as the client asked.

    Args:
        result: the probe's verdict.
        query: the request's query string; `verbose` (without a false value)
            asks for Kubernetes' text form.
        accept: the request's `Accept` header; `application/health+json` asks
            for the health-check document (it wins over `verbose`).

    Returns:
        (body, media type).
    """
    if _accepts_health_json(accept):
        return result.to_health_json(), HEALTH_JSON
    if _wants_verbose(query):
        return result.to_text(), "text/plain; charset=utf-8"
    return result.to_json(), "application/json"


def _accepts_health_json(accept: str) -> bool:
    for item in accept.split(","):
        media, *parameters = (part.strip() for part in item.split(";"))
        if media.lower() != HEALTH_JSON:
            continue
        quality = [p.partition("=")[2] for p in parameters if p.lower().startswith("q=")]
        try:
            return not quality or float(quality[0]) > 0
        except ValueError:
            return False
    return False


def _wants_verbose(query: str) -> bool:
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "verbose":
            return value.lower() not in ("0", "false", "no")
    return False


class HealthApp:
    """A standalone ASGI app answering `/livez`, `/readyz` and `/startupz`.

    Mount it in any ASGI app or serve it on its own port. Any other path is 404;
    methods other than GET and HEAD are 405.

    Args:
        get_running: returns what to describe: the running boot, its
            `BootProgress`, or None while nothing is running yet.
        plan: the boot's plan, described (every phase pending) while
            `get_running` has nothing, so the fingerprint is there from the start.
        allow_degraded: whether `/readyz` passes for a DEGRADED boot (default True).
        loop_watch: measures the event loop's lag for `/livez`.
    """

    def __init__(
        self,
        get_running: Callable[[], HealthSource],
        *,
        plan: BootPlan | None = None,
        allow_degraded: bool = True,
        loop_watch: LoopWatch | None = None,
    ) -> None:
        self._get_running = get_running
        self._plan = plan
        self._allow_degraded = allow_degraded
        self._loop_watch = loop_watch

    def __repr__(self) -> str:
        return f"<HealthApp allow_degraded={self._allow_degraded}>"

    def probe(self, probe: ProbeName) -> ProbeResult:
        """Run `probe` on the boot as it stands now."""
        source = self._get_running()
        return run_probe(
            probe,
            self._plan if source is None else source,
            allow_degraded=self._allow_degraded,
            loop_watch=self._loop_watch,
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        """Answer one HTTP request; ignore lifespan; refuse anything else."""
        if scope["type"] == "lifespan":
            await _ignore_lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        path, root = scope["path"], scope.get("root_path", "")
        if root and path.startswith(root):
            path = path[len(root) :]  # mounted: the probe is what follows the mount point
        probe = path.strip("/")
        if probe not in PROBES:
            await _respond(send, 404, '{"error":"not found"}', scope["method"])
            return
        if scope["method"] not in ("GET", "HEAD"):
            await _respond(send, 405, '{"error":"method not allowed"}', scope["method"])
            return
        result = self.probe(probe)
        query = scope.get("query_string", b"").decode("latin-1")
        accept = _header(scope, b"accept")
        body, media_type = answer_probe(result, query=query, accept=accept)
        await _respond(send, result.status_code, body, scope["method"], media_type)


def _header(scope: Scope, name: bytes) -> str:
    values = [value for key, value in scope.get("headers", ()) if key.lower() == name]
    return b",".join(values).decode("latin-1")


async def _respond(
    send: Send, status: int, body: str, method: str, media_type: str = "application/json"
) -> None:
    payload = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", media_type.encode()),
                (b"content-length", str(len(payload)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else payload})


async def _ignore_lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return
