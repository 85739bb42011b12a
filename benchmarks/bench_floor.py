"""Boot time over the floor: how much longer than its critical chain a sleeping boot takes.

The floor is the critical chain of the DAG slept alone, one sleep after the
other on the same backend (every sleep overshoots a little, and the floor
includes that). Each phase depends on 0-3 phases chosen uniformly among all
earlier ones and sleeps uniform 1-20 ms (seed 11). The floor and the boot run
alternately, and the table reports the median time to READY over the median
floor.
"""

from __future__ import annotations

import os
import random
import statistics
import time
from typing import Any

import anyio

from benchmarks.bench_scheduler import versions
from orchestrator import Boot

RUNS = int(os.environ.get("SMD_BENCH_FLOOR_RUNS", "9"))
SIZES = (1_000, 5_000)
SEED = 11


def sleeping_dag(
    size: int, seed: int = SEED
) -> tuple[dict[str, tuple[str, ...]], dict[str, float]]:
    """Each phase needs 0-3 uniformly chosen earlier phases and sleeps 1-20 ms."""
    rng = random.Random(seed)
    graph: dict[str, tuple[str, ...]] = {}
    durations: dict[str, float] = {}
    for index in range(size):
        picks = rng.sample(range(index), k=min(index, rng.randint(0, 3)))
        graph[f"p{index}"] = tuple(f"p{i}" for i in sorted(picks))
        durations[f"p{index}"] = rng.uniform(0.001, 0.020)
    return graph, durations


def critical_chain(graph: dict[str, tuple[str, ...]], durations: dict[str, float]) -> list[float]:
    """The sleeps of the longest chain, in order (the graph is in topological order)."""
    finish: dict[str, float] = {}
    before: dict[str, str | None] = {}
    for name, needs in graph.items():
        last = max(needs, key=finish.__getitem__, default=None)
        before[name] = last
        finish[name] = (finish[last] if last else 0.0) + durations[name]
    chain: list[float] = []
    current: str | None = max(finish, key=finish.__getitem__)
    while current is not None:
        chain.append(durations[current])
        current = before[current]
    return chain[::-1]


def sleeping_boot(graph: dict[str, tuple[str, ...]], durations: dict[str, float]) -> Boot:
    boot = Boot("floor")
    for name, needs in graph.items():
        namespace: dict[str, Any] = {"sleep": anyio.sleep, "seconds": durations[name]}
        exec(f"async def {name}({', '.join(needs)}):\n    await sleep(seconds)\n", namespace)
        boot.add(namespace[name])
    boot.plan()
    return boot


async def slept_alone(chain: list[float]) -> float:
    started = time.perf_counter()
    for seconds in chain:
        await anyio.sleep(seconds)
    return time.perf_counter() - started


async def time_to_ready(boot: Boot) -> float:
    started = time.perf_counter()
    async with boot.start(sinks=[]):
        ready = time.perf_counter()
    return ready - started


async def alternate(boot: Boot, chain: list[float]) -> tuple[float, float]:
    floors, boots = [], []
    for _ in range(RUNS):
        floors.append(await slept_alone(chain))
        boots.append(await time_to_ready(boot))
    return statistics.median(floors), statistics.median(boots)


def main() -> list[dict[str, object]]:
    """Run every size on asyncio and trio; print and return the rows."""
    print(f"\nboot time over the floor: sleeps 1-20 ms, seed {SEED}, median of {RUNS}")
    print(versions())
    print(f"{'backend':8} {'phases':>7} {'chain':>6} {'floor s':>8} {'ready s':>8} {'ratio':>6}")
    rows = []
    for size in SIZES:
        graph, durations = sleeping_dag(size)
        chain = critical_chain(graph, durations)
        boot = sleeping_boot(graph, durations)
        for backend in ("asyncio", "trio"):
            floor, ready = anyio.run(alternate, boot, chain, backend=backend)
            print(
                f"{backend:8} {size:7} {len(chain):6} {floor:8.3f} {ready:8.3f}"
                f" {ready / floor:6.3f}"
            )
            rows.append({"backend": backend, "phases": size, "ratio": ready / floor})
    return rows


if __name__ == "__main__":
    main()
