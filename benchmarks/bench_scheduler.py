"""Scheduler overhead: smd against a bare anyio + graphlib ready-queue loop.

Both run the same random DAG of no-op async phases on the same backend in the
same process, alternating, and the table reports medians and their ratio. Two
limits run beside them: the backend's native task group with one task per
phase (what a task per phase costs at the least) and a direct await of every
phase in plan order (no task at all: the physical limit of calling them).
"""

from __future__ import annotations

import asyncio
import gc
import os
import platform
import random
import statistics
import time
from collections.abc import Awaitable, Callable
from graphlib import TopologicalSorter
from typing import Any

import anyio
import structlog
import trio

from orchestrator import Boot, StructlogSink

PHASES = int(os.environ.get("SMD_BENCH_PHASES", "10000"))
ROUNDS = int(os.environ.get("SMD_BENCH_ROUNDS", "5"))
SEED = 20261125


def random_dag(size: int, seed: int = SEED) -> dict[str, tuple[str, ...]]:
    """Each phase depends on 0-3 random earlier phases (a layered, realistic fan-in)."""
    rng = random.Random(seed)
    graph: dict[str, tuple[str, ...]] = {}
    for index in range(size):
        window = list(range(max(0, index - 200), index))
        picks = rng.sample(window, k=min(len(window), rng.randint(0, 3)))
        graph[f"p{index}"] = tuple(f"p{i}" for i in sorted(picks))
    return graph


def build_boot(graph: dict[str, tuple[str, ...]]) -> Boot:
    """A Boot whose phases are no-op coroutines taking their dependencies as parameters."""
    boot = Boot("bench")
    for name, needs in graph.items():
        namespace: dict[str, Any] = {}
        exec(f"async def {name}({', '.join(needs)}):\n    return None\n", namespace)
        boot.add(namespace[name])
    boot.plan()
    return boot


async def bare_loop(graph: dict[str, tuple[str, ...]]) -> None:
    """The baseline: graphlib's ready/done loop starting each ready node in a task group."""
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    values: dict[str, object] = {}

    async def noop(**_: object) -> None:
        return None

    async with anyio.create_task_group() as group:

        async def run(node: str) -> None:
            values[node] = await noop(**{d: values[d] for d in graph[node]})
            sorter.done(node)
            launch()

        def launch() -> None:
            for node in sorter.get_ready():
                group.start_soon(run, node)

        launch()


async def native_loop(graph: dict[str, tuple[str, ...]]) -> None:
    """The bare loop on the backend's own task group: one native task per phase."""
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    values: dict[str, object] = {}

    async def noop(**_: object) -> None:
        return None

    if anyio_backend() == "trio":
        async with trio.open_nursery() as nursery:

            async def run_trio(node: str) -> None:
                values[node] = await noop(**{d: values[d] for d in graph[node]})
                sorter.done(node)
                launch_trio()

            def launch_trio() -> None:
                for node in sorter.get_ready():
                    nursery.start_soon(run_trio, node)

            launch_trio()
        return
    async with asyncio.TaskGroup() as group:

        async def run_asyncio(node: str) -> None:
            values[node] = await noop(**{d: values[d] for d in graph[node]})
            sorter.done(node)
            launch_asyncio()

        def launch_asyncio() -> None:
            for node in sorter.get_ready():
                group.create_task(run_asyncio(node))

        launch_asyncio()


async def direct_await(graph: dict[str, tuple[str, ...]]) -> None:
    """No task at all: each phase awaited in turn, in a topological order."""
    values: dict[str, object] = {}

    async def noop(**_: object) -> None:
        return None

    for node in TopologicalSorter(graph).static_order():
        values[node] = await noop(**{d: values[d] for d in graph[node]})


def anyio_backend() -> str:
    """The backend the current event loop runs on."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return "trio"
    return "asyncio"


def versions() -> str:
    """The versions every figure depends on (anyio's own cost changes between releases)."""
    from importlib.metadata import version

    return (
        f"python {platform.python_version()}, anyio {version('anyio')}, "
        f"trio {version('trio')}, networkx {version('networkx')}"
    )


def configure_json_logging() -> None:
    """structlog rendering JSON to a null stream: the cost of logging without the I/O."""
    structlog.configure(
        processors=[
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.JSONRenderer(),
        ],
        logger_factory=structlog.PrintLoggerFactory(file=open(os.devnull, "w")),  # noqa: SIM115
        cache_logger_on_first_use=True,
    )


async def timed(function: Callable[[], Awaitable[object]]) -> float:
    """Seconds `function` takes, started from a collected heap.

    Every side of a comparison leaves garbage (the task groups' cycles, a boot's
    reports) that some later allocation pays a full collection for: collected
    first, no side pays for what another side left.
    """
    gc.collect()
    started = time.perf_counter()
    await function()
    return time.perf_counter() - started


async def compare(boot: Boot, graph: dict[str, tuple[str, ...]]) -> dict[str, float]:
    """Median seconds per boot: the bare loop, the two limits, smd without sinks and with JSON."""
    samples: dict[str, list[float]] = {
        "bare": [],
        "native": [],
        "direct": [],
        "smd": [],
        "smd+json": [],
    }
    sink = StructlogSink()
    for _ in range(ROUNDS):
        samples["bare"].append(await timed(lambda: bare_loop(graph)))
        samples["native"].append(await timed(lambda: native_loop(graph)))
        samples["direct"].append(await timed(lambda: direct_await(graph)))
        samples["smd"].append(await timed(lambda: boot.run_once(sinks=[])))
        samples["smd+json"].append(await timed(lambda: boot.run_once(sinks=[sink])))
    return {key: statistics.median(values) for key, values in samples.items()}


def sleeping_boot(graph: dict[str, tuple[str, ...]], seed: int = SEED) -> tuple[Boot, float]:
    """Phases that sleep 1-5 ms, and the length of the graph's critical path in seconds."""
    rng = random.Random(seed)
    durations = {name: rng.uniform(0.001, 0.005) for name in graph}
    boot = Boot("sleepers")
    for name, needs in graph.items():
        namespace: dict[str, Any] = {"anyio": anyio, "seconds": durations[name]}
        source = f"async def {name}({', '.join(needs)}):\n    await anyio.sleep(seconds)\n"
        exec(source, namespace)
        boot.add(namespace[name])
    finish: dict[str, float] = {}
    for name in TopologicalSorter(graph).static_order():
        finish[name] = max((finish[d] for d in graph[name]), default=0.0) + durations[name]
    return boot, max(finish.values())


def critical_path_ratio(size: int = 1000) -> list[dict[str, object]]:
    """Boot time over the critical path for phases that really wait (1.0 is ideal)."""
    boot, critical = sleeping_boot(random_dag(size))
    print(f"\nboot time over critical path: {size} phases sleeping 1-5 ms, median of {ROUNDS}")
    print(versions())
    print(f"{'backend':8} {'critical path s':>16} {'boot s':>8} {'ratio':>6}")
    rows = []
    for backend in ("asyncio", "trio"):

        async def boots() -> float:
            times = [await timed(lambda: boot.run_once(sinks=[])) for _ in range(ROUNDS)]
            return statistics.median(times)

        took = anyio.run(boots, backend=backend)
        rows.append({"backend": backend, "critical": critical, "boot": took})
        print(f"{backend:8} {critical:16.3f} {took:8.3f} {took / critical:6.2f}")
    return rows


def main() -> list[dict[str, object]]:
    """Run the comparison on asyncio and trio; print and return the rows."""
    configure_json_logging()
    graph = random_dag(PHASES)
    edges = sum(len(needs) for needs in graph.values())
    started = time.perf_counter()
    boot = build_boot(graph)
    declare = time.perf_counter() - started
    rows = []
    print(f"\nscheduler overhead: {PHASES} no-op phases, {edges} edges, median of {ROUNDS}")
    print(f"(declaring and planning the boot took {declare:.2f} s once)")
    print(versions())
    header = f"{'backend':8} {'bare µs/phase':>14} {'smd µs/phase':>13} {'ratio':>6}"
    header += f" {'smd+json µs/phase':>18} {'ratio':>6}"
    header += f" {'native ratio':>13} {'direct ratio':>13}"
    print(header)
    for backend in ("asyncio", "trio"):
        medians = anyio.run(compare, boot, graph, backend=backend)
        per_phase = {key: value / PHASES * 1e6 for key, value in medians.items()}
        row = {
            "backend": backend,
            "bare_us": per_phase["bare"],
            "smd_us": per_phase["smd"],
            "smd_ratio": medians["smd"] / medians["bare"],
            "json_us": per_phase["smd+json"],
            "json_ratio": medians["smd+json"] / medians["bare"],
            "native_us": per_phase["native"],
            "native_ratio": medians["native"] / medians["bare"],
            "direct_us": per_phase["direct"],
            "direct_ratio": medians["direct"] / medians["bare"],
        }
        rows.append(row)
        print(
            f"{backend:8} {row['bare_us']:14.1f} {row['smd_us']:13.1f} {row['smd_ratio']:6.2f}"
            f" {row['json_us']:18.1f} {row['json_ratio']:6.2f}"
            f" {row['native_ratio']:13.2f} {row['direct_ratio']:13.2f}"
        )
    return rows + critical_path_ratio()


if __name__ == "__main__":
    main()
