"""A boot for the signal tests: it says where it is on stdout, and its stop is slow.

`SMD_TEST_LOG` names a file where each teardown appends its phase's name, so a
test can count teardowns after the process ended, however it ended.
`SMD_TEST_BOOT_DELAY` makes the last phase take that long to start.
"""

from __future__ import annotations

import os

import anyio

from orchestrator import Boot

boot = Boot("slow-stop")
LOG = os.environ.get("SMD_TEST_LOG", os.devnull)
BOOT_DELAY = float(os.environ.get("SMD_TEST_BOOT_DELAY", "0"))


def _record(name: str) -> None:
    with open(LOG, "a") as log:
        log.write(name + "\n")


@boot.phase()
async def database():  # type: ignore[no-untyped-def]
    yield "db"
    await anyio.sleep(0.3)
    _record("database")


@boot.phase()
async def cache(database: str):  # type: ignore[no-untyped-def]
    yield "cache"
    print("stopping", flush=True)
    await anyio.sleep(0.6)
    _record("cache")


@boot.phase()
async def server(cache: str):  # type: ignore[no-untyped-def]
    if BOOT_DELAY:
        print("booting", flush=True)
        await anyio.sleep(BOOT_DELAY)
    yield "server"
    _record("server")
