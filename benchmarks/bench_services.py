"""What supervising a service costs the boot: time to READY with and without one.

Two boots of the same PHASES cheap async phases (each awaits one checkpoint,
in chains of ten); one adds a plain phase `pump`, the other declares `pump` as a
service (launched in the host group, supervised, its start ending at
`ctx.started`). Rounds alternate between the two so drift hits both alike; the
table gives each median and their ratio, which must stay at most 1.03.
"""

from __future__ import annotations

import os
import statistics
import time

import anyio
import anyio.lowlevel

from orchestrator import Boot, PhaseContext

PHASES = int(os.environ.get("SMD_BENCH_SERVICES_PHASES", "200"))
ROUNDS = int(os.environ.get("SMD_BENCH_SERVICES_ROUNDS", "41"))
LIMIT = 1.03


def _boot(*, service: bool) -> Boot:
    boot = Boot("bench-services")
    for index in range(PHASES):

        async def phase(**_: object) -> int:
            await anyio.lowlevel.checkpoint()
            return 0

        boot.add(phase, name=f"p{index}", after=() if index % 10 == 0 else f"p{index - 1}")
    if service:

        async def pump(ctx: PhaseContext) -> None:
            ctx.started("pump")
            await anyio.sleep_forever()

        boot.add(pump, kind="service", name="pump")
    else:

        async def plain(ctx: PhaseContext) -> str:
            return "pump"

        boot.add(plain, name="pump")
    boot.plan()
    return boot


async def _to_ready(boot: Boot) -> float:
    start = time.perf_counter()
    async with boot.start(sinks=[]):
        ready = time.perf_counter()
    return ready - start


async def _rounds() -> tuple[list[float], list[float]]:
    plain, supervised = _boot(service=False), _boot(service=True)
    await _to_ready(plain)  # warm both once
    await _to_ready(supervised)
    without: list[float] = []
    with_service: list[float] = []
    for _ in range(ROUNDS):
        without.append(await _to_ready(plain))
        with_service.append(await _to_ready(supervised))
    return without, with_service


def main() -> None:
    """Print the median time to READY with and without one service, and their ratio."""
    print(f"\nservices: time to READY, {PHASES} phases + `pump`, {ROUNDS} alternating rounds")
    print(f"{'backend':<8} {'plain pump':>11} {'service':>11} {'ratio':>7} {'limit':>6}")
    for backend in ("asyncio", "trio"):
        without, with_service = anyio.run(_rounds, backend=backend)
        base, supervised = statistics.median(without), statistics.median(with_service)
        ratio = supervised / base
        verdict = "ok" if ratio <= LIMIT else "OVER"
        print(
            f"{backend:<8} {base * 1000:>9.2f}ms {supervised * 1000:>9.2f}ms "
            f"{ratio:>6.3f}x {LIMIT:>5.2f}x {verdict}"
        )


if __name__ == "__main__":
    main()
