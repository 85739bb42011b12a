"""A boot whose non-critical phase fails with escape sequences in its message."""

from orchestrator import Boot, Retry

boot = Boot("cli-hostile-error")
calls: list[int] = []


@boot.phase(retry=Retry(attempts=2, delay=0))
async def database() -> str:
    calls.append(1)
    if len(calls) == 1:
        raise ConnectionRefusedError("refused\x1b[2J")
    return "db"


@boot.phase(critical=False)
async def metrics() -> None:
    raise ConnectionError("down\x1b]0;pwned\x07")
