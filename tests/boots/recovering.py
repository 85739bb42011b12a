"""A non-critical cache that is down at boot and comes back: DEGRADED, then READY."""

from orchestrator import Boot, Retry

boot = Boot("cli-recovering")
calls: list[int] = []


@boot.phase(critical=False, recover=Retry(attempts=5, delay=0.05))
async def cache() -> str:
    calls.append(1)
    if len(calls) < 3:
        raise ConnectionRefusedError("cache not up yet")
    return "cache"


@boot.phase()
async def search(cache: str) -> str:
    return f"search on {cache}"
