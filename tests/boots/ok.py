"""A small valid boot used by the CLI tests."""

from orchestrator import Boot, GateResult

boot = Boot("cli-ok")


@boot.phase(description="read the configuration")
def settings() -> dict[str, str]:
    return {"dsn": "postgresql://app:s3cr3t@db/chat"}


@boot.phase(timeout=5)
async def database(settings: dict[str, str]):  # type: ignore[no-untyped-def]
    yield "db"
    print("database closed", flush=True)


@boot.gate()
def schema(database: str) -> GateResult:
    return GateResult(True)
