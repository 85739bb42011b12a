"""Writing your own phases: every style a phase can take, and the options that matter.

Run it with `smd run --once examples/custom_phase.py` (or `smd plan` / `smd graph`).

- `config`          a plain `def`: runs in a worker thread, its return value is its value
- `config_is_sane`  a gate returning `GateResult`: a violation refuses the boot (exit 78)
- `workspace`       a generator: yields its value once, cleans up after the yield
- `upstream`        an `async def` with `retry=Retry(...)`: fails twice, then connects
- `http_server`     an object with `async start(...)` / `async stop()`
- `metrics`         `when=`: skipped unless SMD_EXAMPLE_METRICS=1
- `recommendations` `critical=False`: if it fails (SMD_EXAMPLE_RECOMMENDER_DOWN=1) the
                    boot is DEGRADED instead of aborted, and `warm_cache`, which needs
                    its value, is BLOCKED
"""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import anyio.lowlevel

from orchestrator import Boot, GateResult, PhaseContext, Retry

boot = Boot("custom-phases")


@dataclass(frozen=True, slots=True)
class AppConfig:
    """What the other phases are configured with."""

    port: int
    workers: int
    recommender_down: bool


@boot.phase(description="read the configuration from the environment")
def config() -> AppConfig:
    # A plain def runs in a worker thread, so blocking I/O here is fine.
    return AppConfig(
        port=int(os.environ.get("SMD_EXAMPLE_PORT", "8080")),
        workers=int(os.environ.get("SMD_EXAMPLE_WORKERS", "4")),
        recommender_down=os.environ.get("SMD_EXAMPLE_RECOMMENDER_DOWN") == "1",
    )


@boot.gate(description="refuse a configuration that cannot work")
def config_is_sane(config: AppConfig) -> GateResult:
    # Report every violation at once, each with what to do about it.
    errors: list[str] = []
    actions: list[str] = []
    if not 1024 <= config.port <= 65535:
        errors.append(f"port {config.port} is outside 1024-65535")
        actions.append("Set SMD_EXAMPLE_PORT to an unprivileged port.")
    if config.workers < 1:
        errors.append(f"workers is {config.workers}")
        actions.append("Set SMD_EXAMPLE_WORKERS to 1 or more.")
    return GateResult(not errors, tuple(errors), tuple(actions))


@boot.phase(description="a scratch directory, removed at teardown", teardown_timeout=5)
def workspace(config_is_sane: GateResult, ctx: PhaseContext) -> Iterator[Path]:
    # Naming the gate as a parameter makes this phase wait for it; `after=` would too.
    path = Path(tempfile.mkdtemp(prefix="smd-example-"))
    ctx.log.info("workspace created", path=str(path))
    yield path
    shutil.rmtree(path)
    ctx.log.info("workspace removed", path=str(path))


@boot.phase(
    description="connect to an upstream that needs a moment to come up",
    timeout=1,
    retry=Retry(attempts=3, delay=0.05, backoff=2.0, on=(ConnectionError,)),
)
async def upstream(config: AppConfig, ctx: PhaseContext) -> str:
    if ctx.attempt < 3:  # Like a service still starting: refuse the first two attempts.
        raise ConnectionError(f"upstream refused attempt {ctx.attempt}")
    return f"session-{ctx.attempt}"


class HttpServer:
    """A component: `start` names its dependencies like a phase function; `stop` undoes it."""

    def __init__(self, host: str) -> None:
        self.host = host
        self.url: str | None = None

    async def start(self, config: AppConfig, workspace: Path, upstream: str) -> HttpServer:
        await anyio.lowlevel.checkpoint()  # Binding the socket would happen here.
        self.url = f"http://{self.host}:{config.port}"
        return self

    async def stop(self) -> None:
        self.url = None


boot.add(HttpServer("127.0.0.1"), name="http_server", timeout=5, description="serve HTTP")


@boot.phase(
    description="export metrics (only when SMD_EXAMPLE_METRICS=1)",
    when=lambda: os.environ.get("SMD_EXAMPLE_METRICS") == "1",
)
async def metrics(http_server: HttpServer) -> str:
    return f"{http_server.url}/metrics"


@boot.phase(description="load recommendations; the service runs without them", critical=False)
async def recommendations(config: AppConfig, upstream: str) -> dict[str, list[str]]:
    if config.recommender_down:
        raise ConnectionError("recommender unreachable")
    return {"general": ["welcome", "getting-started"]}


@boot.phase(description="prefetch the recommended pages")
async def warm_cache(recommendations: dict[str, list[str]], http_server: HttpServer) -> int:
    return sum(len(pages) for pages in recommendations.values())
