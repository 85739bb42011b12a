"""Health probes from the one state model: `/livez`, `/readyz`, `/startupz`.

The checks are plain functions of a `RunningBoot` (or None while the boot has
not yielded one); `HealthApp` serves them as a dependency-free ASGI app, so the
probes work in any ASGI server and need no web framework. `orchestrator.asgi`
mounts the same checks as Starlette routes.

- `/livez`: the event loop answers. Never looks at phases or external systems,
  so a slow database cannot make Kubernetes restart a healthy process.
- `/readyz`: READY (or DEGRADED when `allow_degraded`) and not draining.
- `/startupz`: the boot finished (READY or DEGRADED, including while draining).
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass, field
from typing import Any, Literal

from ._model._status import BootState
from ._runtime._running import RunningBoot

__all__ = [
    "HealthApp",
    "ProbeName",
    "ProbeResult",
    "check_liveness",
    "check_readiness",
    "check_startup",
    "describe_boot",
    "run_probe",
]

ProbeName = Literal["livez", "readyz", "startupz"]

PROBES: tuple[ProbeName, ...] = ("livez", "readyz", "startupz")

_BOOTED = (BootState.READY, BootState.DEGRADED)

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe's verdict: the HTTP status and the JSON body to answer with.

    Attributes:
        probe: which probe was asked.
        ok: whether it passed (status 200) or not (status 503).
        body: what the probe saw: state, fingerprint, per-phase status.
    """

    probe: ProbeName
    ok: bool
    body: dict[str, Any] = field(default_factory=dict)

    @property
    def status_code(self) -> int:
        """200 when the probe passed, 503 otherwise."""
        return 200 if self.ok else 503

    def to_json(self) -> str:
        """The body as compact JSON with sorted keys."""
        return json.dumps(self.body, sort_keys=True, separators=(",", ":"))


def describe_boot(running: RunningBoot | None) -> dict[str, Any]:
    """What every probe reports: boot, state, fingerprint, draining, phases by status.

    Args:
        running: the running boot, or None while it has not finished booting.

    Returns:
        Plain data; `phases` maps each phase name to its status, in plan order.
    """
    if running is None:
        return {"state": BootState.STARTING.value, "draining": False, "phases": {}}
    report = running.report
    return {
        "boot": running.plan.boot,
        "fingerprint": running.plan.fingerprint,
        "state": running.state.value,
        "draining": running.draining,
        "running": list(running.running_phases),
        "phases": {record.name: record.status.value for record in report.phases},
    }


def check_liveness(running: RunningBoot | None) -> ProbeResult:
    """Pass whenever this code runs: the process and its event loop answer."""
    state = BootState.STARTING.value if running is None else running.state.value
    return ProbeResult("livez", ok=True, body={"probe": "livez", "ok": True, "state": state})


def check_readiness(running: RunningBoot | None, *, allow_degraded: bool = False) -> ProbeResult:
    """Pass when the boot is READY (or DEGRADED if allowed) and not draining.

    Args:
        running: the running boot, or None while booting.
        allow_degraded: whether a DEGRADED boot may take traffic.
    """
    accepted = _BOOTED if allow_degraded else (BootState.READY,)
    ok = running is not None and running.state in accepted and not running.draining
    return _result("readyz", ok, running)


def check_startup(running: RunningBoot | None) -> ProbeResult:
    """Pass once the boot has finished (READY or DEGRADED), draining or not."""
    ok = running is not None and (running.state in _BOOTED or running.draining)
    return _result("startupz", ok, running)


def run_probe(
    probe: ProbeName, running: RunningBoot | None, *, allow_degraded: bool = False
) -> ProbeResult:
    """Run the probe named `probe` (`livez`, `readyz` or `startupz`)."""
    if probe == "livez":
        return check_liveness(running)
    if probe == "readyz":
        return check_readiness(running, allow_degraded=allow_degraded)
    return check_startup(running)


def _result(probe: ProbeName, ok: bool, running: RunningBoot | None) -> ProbeResult:
    return ProbeResult(probe, ok=ok, body={"probe": probe, "ok": ok, **describe_boot(running)})


class HealthApp:
    """A standalone ASGI app answering `/livez`, `/readyz` and `/startupz`.

    Mount it in any ASGI app or serve it on its own port. Any other path is 404;
    methods other than GET and HEAD are 405.

    Args:
        get_running: returns the running boot, or None while it is booting.
        allow_degraded: whether `/readyz` passes for a DEGRADED boot.
    """

    def __init__(
        self, get_running: Callable[[], RunningBoot | None], *, allow_degraded: bool = False
    ) -> None:
        self._get_running = get_running
        self._allow_degraded = allow_degraded

    def __repr__(self) -> str:
        return f"<HealthApp allow_degraded={self._allow_degraded}>"

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
        result = run_probe(probe, self._get_running(), allow_degraded=self._allow_degraded)
        await _respond(send, result.status_code, result.to_json(), scope["method"])


async def _respond(send: Send, status: int, body: str, method: str) -> None:
    payload = body.encode()
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"application/json"),
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
