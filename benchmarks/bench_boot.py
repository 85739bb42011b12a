"""A whole boot against its limits: suspending phases, `run_once` end to end, and planning.

Each table runs smd and its reference side by side in one process, alternating,
and reports medians and their ratio:

- phases that really suspend (one checkpoint each, with `timeout=`) against the
  bare anyio + graphlib loop running the same checkpointing phases;
- `boot.run_once()` with planning, teardown and the report included, the
  default structlog sink filtered below WARNING, against the bare loop;
- planning 10,000 phases (validation, order, edges, fingerprint) against
  building the networkx graph once plus its lexicographic topological sort;
- declaring them (`boot.add`) against reading each one's `inspect.signature`.
"""

from __future__ import annotations

import inspect
import logging
import statistics
import time
from collections.abc import Awaitable, Callable
from graphlib import TopologicalSorter
from typing import Any

import anyio
import anyio.lowlevel
import networkx as nx
import structlog

from benchmarks.bench_scheduler import (
    PHASES,
    ROUNDS,
    bare_loop,
    build_boot,
    random_dag,
    timed,
    versions,
)
from orchestrator import Boot

Graph = dict[str, tuple[str, ...]]


def suspending_boot(graph: Graph) -> Boot:
    """Phases that each await one checkpoint and carry a `timeout=`."""
    boot = Boot("suspending")
    for name, needs in graph.items():
        namespace: dict[str, Any] = {"checkpoint": anyio.lowlevel.checkpoint}
        source = f"async def {name}({', '.join(needs)}):\n    await checkpoint()\n"
        exec(source, namespace)
        boot.add(namespace[name], timeout=30.0)
    boot.plan()
    return boot


async def bare_suspending_loop(graph: Graph) -> None:
    """The bare loop with phases that each await one checkpoint (no timeout of its own)."""
    sorter = TopologicalSorter(graph)
    sorter.prepare()
    values: dict[str, object] = {}

    async def phase(**_: object) -> None:
        await anyio.lowlevel.checkpoint()

    async with anyio.create_task_group() as group:

        async def run(node: str) -> None:
            values[node] = await phase(**{d: values[d] for d in graph[node]})
            sorter.done(node)
            launch()

        def launch() -> None:
            for node in sorter.get_ready():
                group.start_soon(run, node)

        launch()


def filter_below_warning() -> None:
    """The default structlog sink, with structlog dropping everything below WARNING."""
    structlog.configure(
        wrapper_class=structlog.make_filtering_bound_logger(logging.WARNING),
        cache_logger_on_first_use=True,
    )


def fresh(boot: Boot) -> Boot:
    """The same declaration in a new Boot, so its next run plans it again."""
    again = Boot(boot.name)
    again.include(boot)
    return again


async def median_pair(
    reference: Callable[[], Awaitable[object]], smd: Callable[[], Awaitable[object]]
) -> tuple[float, float]:
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(ROUNDS):
        samples[0].append(await timed(reference))
        samples[1].append(await timed(smd))
    return statistics.median(samples[0]), statistics.median(samples[1])


def print_row(label: str, reference: float, smd: float) -> None:
    print(
        f"{label:8} {reference / PHASES * 1e6:16.1f} {smd / PHASES * 1e6:13.1f}"
        f" {smd / reference:6.2f}"
    )


def suspending(graph: Graph) -> list[dict[str, object]]:
    boot = suspending_boot(graph)
    print(f"\nphases that suspend: {PHASES} phases, one checkpoint each, timeout=, no sinks")
    print(versions())
    print(f"{'backend':8} {'bare µs/phase':>16} {'smd µs/phase':>13} {'ratio':>6}")
    rows = []
    for backend in ("asyncio", "trio"):
        bare, smd = anyio.run(
            median_pair,
            lambda: bare_suspending_loop(graph),
            lambda: boot.run_once(sinks=[]),
            backend=backend,
        )
        print_row(backend, bare, smd)
        rows.append({"table": "suspending", "backend": backend, "ratio": smd / bare})
    return rows


def whole_run(graph: Graph, boot: Boot) -> list[dict[str, object]]:
    filter_below_warning()
    print(
        f"\nrun_once end to end: {PHASES} no-op phases, planning, teardown and report "
        "included, structlog below WARNING"
    )
    print(versions())
    print(f"{'backend':8} {'bare µs/phase':>16} {'smd µs/phase':>13} {'ratio':>6}")
    rows = []
    for backend in ("asyncio", "trio"):
        bare, smd = anyio.run(
            median_pair,
            lambda: bare_loop(graph),
            lambda: fresh(boot).run_once(),
            backend=backend,
        )
        print_row(backend, bare, smd)
        rows.append({"table": "run_once", "backend": backend, "ratio": smd / bare})
    return rows


def networkx_order(boot: Boot) -> None:
    """The reference for planning: the networkx graph built once, sorted lexicographically."""
    graph = nx.DiGraph()
    for index, spec in enumerate(boot.phases):
        graph.add_node(spec.name, index=index)
    for spec in boot.phases:
        for dependency in spec.waits_for:
            graph.add_edge(dependency, spec.name)
    index = nx.get_node_attributes(graph, "index")
    list(nx.lexicographical_topological_sort(graph, key=index.__getitem__))


def planning(boot: Boot) -> list[dict[str, object]]:
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(ROUNDS):
        started = time.perf_counter()
        networkx_order(boot)
        samples[0].append(time.perf_counter() - started)
        again = fresh(boot)
        started = time.perf_counter()
        again.plan()
        samples[1].append(time.perf_counter() - started)
    reference, smd = statistics.median(samples[0]), statistics.median(samples[1])
    print(f"\nplanning {PHASES} phases against networkx (graph once + lexicographic sort)")
    print(versions())
    print(f"{'':8} {'networkx ms':>16} {'smd plan ms':>13} {'ratio':>6}")
    print(f"{'plan':8} {reference * 1e3:16.1f} {smd * 1e3:13.1f} {smd / reference:6.2f}")
    return [{"table": "planning", "ratio": smd / reference}]


def declaration(boot: Boot) -> list[dict[str, object]]:
    """Declaring every phase again against reading each one's signature with `inspect`."""
    targets = [spec.target for spec in boot.phases]
    samples: tuple[list[float], list[float]] = ([], [])
    for _ in range(ROUNDS):
        started = time.perf_counter()
        for target in targets:
            inspect.signature(target)
        samples[0].append(time.perf_counter() - started)
        again = Boot(boot.name)
        started = time.perf_counter()
        for target in targets:
            again.add(target)
        samples[1].append(time.perf_counter() - started)
    reference, smd = statistics.median(samples[0]), statistics.median(samples[1])
    print(f"\ndeclaring {PHASES} phases (boot.add) against inspect.signature of each")
    print(versions())
    print(f"{'':8} {'signature µs':>16} {'boot.add µs':>13} {'ratio':>6}")
    print_row("declare", reference, smd)
    return [{"table": "declaration", "ratio": smd / reference}]


def main() -> list[dict[str, object]]:
    """Run every table; print and return the rows."""
    graph = random_dag(PHASES)
    boot = build_boot(graph)
    return [*suspending(graph), *whole_run(graph, boot), *planning(boot), *declaration(boot)]


if __name__ == "__main__":
    main()
