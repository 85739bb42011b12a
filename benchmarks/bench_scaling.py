"""Per-phase cost from 1,000 to 100,000 phases: it should stay flat.

The same kind of random DAG of no-op phases at each size, smd's `run_once`
beside the bare anyio + graphlib loop, alternating; the table reports µs per
phase and their ratio at each size, so growth in either shows. The last column
runs smd again with the garbage collector off: where it grows as much as smd
does, the growth is not the collector's but memory's (more phases than fit in
the caches).
"""

from __future__ import annotations

import gc
import os
import statistics

import anyio

from benchmarks.bench_scheduler import bare_loop, build_boot, random_dag, timed, versions
from orchestrator import Boot

SIZES = tuple(
    int(size) for size in os.environ.get("SMD_BENCH_SIZES", "1000,10000,100000").split(",")
)
ROUNDS = int(os.environ.get("SMD_BENCH_SCALING_ROUNDS", "3"))


async def per_phase(boot: Boot, graph: dict[str, tuple[str, ...]]) -> tuple[float, float, float]:
    """µs per phase: the bare loop, smd, and smd with the garbage collector off."""
    bare, smd, uncollected = [], [], []
    for _ in range(ROUNDS):
        bare.append(await timed(lambda: bare_loop(graph)))
        smd.append(await timed(lambda: boot.run_once(sinks=[])))
        gc.collect()
        gc.disable()
        try:
            uncollected.append(await timed(lambda: boot.run_once(sinks=[])))
        finally:
            gc.enable()
    size = len(graph)
    return (
        statistics.median(bare) / size * 1e6,
        statistics.median(smd) / size * 1e6,
        statistics.median(uncollected) / size * 1e6,
    )


def main() -> list[dict[str, object]]:
    """Run every size on asyncio and trio; print and return the rows."""
    print(f"\nper-phase cost by size: no-op phases, no sinks, median of {ROUNDS}")
    print(versions())
    print(
        f"{'backend':8} {'phases':>7} {'bare µs/phase':>14} {'smd µs/phase':>13} {'ratio':>6}"
        f" {'smd, collector off':>19}"
    )
    rows = []
    for size in SIZES:
        graph = random_dag(size)
        boot = build_boot(graph)
        for backend in ("asyncio", "trio"):
            bare, smd, uncollected = anyio.run(per_phase, boot, graph, backend=backend)
            print(
                f"{backend:8} {size:7} {bare:14.1f} {smd:13.1f} {smd / bare:6.2f}"
                f" {uncollected:19.1f}"
            )
            rows.append({"backend": backend, "phases": size, "smd_us": smd, "ratio": smd / bare})
    return rows


if __name__ == "__main__":
    main()
