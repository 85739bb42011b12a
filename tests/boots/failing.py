"""Boots that fail in each way the CLI reports."""

import os
import threading

from orchestrator import Boot, GateResult

phase_fails = Boot("cli-phase-fails")


@phase_fails.phase()
async def database():  # type: ignore[no-untyped-def]
    yield "db"


@phase_fails.phase()
async def cache(database: str) -> None:
    raise ConnectionError("redis://:s3cr3t@cache:6379 refused")


@phase_fails.phase()
async def api(cache: None) -> None: ...


gate_refuses = Boot("cli-gate-refuses")


@gate_refuses.gate()
def config_is_complete() -> GateResult:
    return GateResult(False, ("SECRET_KEY is not set",), ("export SECRET_KEY",))


invalid = Boot("cli-invalid")


@invalid.phase()
def first(second: None) -> None: ...


@invalid.phase()
def second(first: None) -> None: ...


@invalid.phase()
def third(missing_dependency: None) -> None: ...


stuck = Boot("cli-stuck-thread")


@stuck.phase(timeout=0.2)
def hangs() -> None:
    threading.Event().wait()


serving = Boot("cli-serving")


@serving.phase()
async def server():  # type: ignore[no-untyped-def]
    print(f"ready pid={os.getpid()}", flush=True)
    yield "listening"
    print("server stopped", flush=True)


not_a_boot = 42
