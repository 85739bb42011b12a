"""A boot that retries once and loses a non-critical phase: READY as DEGRADED."""

from orchestrator import Boot, Retry

boot = Boot("cli-degraded")
calls: list[int] = []


@boot.phase(retry=Retry(attempts=2, delay=0.01))
async def database() -> str:
    calls.append(1)
    if len(calls) == 1:
        raise ConnectionRefusedError("first attempt refused")
    return "db"


@boot.phase(critical=False)
async def metrics() -> None:
    raise ConnectionError("statsd unreachable")
