"""Where a boot's time goes: `run_once` cut into its parts, then its cProfile, per backend.

Not part of `make bench` (a profile is not a comparison): run it when looking
for what to make faster next, e.g.

    .venv/bin/python -m benchmarks.profile_boot            # no-op phases
    .venv/bin/python -m benchmarks.profile_boot suspending # one checkpoint and timeout= each

The parts are timed by wrapping the lifecycle's own methods for the run (the
construction of the run, the start, the stop, the report), medians of 5 runs
after 2 warm-ups; the profile is one more run under cProfile, which inflates
every call, so read its shares, not its seconds.
"""

from __future__ import annotations

import cProfile
import functools
import io
import pstats
import statistics
import sys
import time
from collections.abc import Callable
from typing import Any

import anyio

from benchmarks.bench_boot import suspending_boot
from benchmarks.bench_scheduler import PHASES, build_boot, random_dag, versions
from orchestrator import Boot
from orchestrator._runtime import _lifecycle

PARTS = ("__init__", "start", "stop", "report")


def _timed_parts(spent: dict[str, list[float]]) -> Callable[[], None]:
    """Wrap the lifecycle's parts so that each call adds its seconds to `spent`; undo."""
    originals = {name: getattr(_lifecycle.Lifecycle, name) for name in PARTS}

    def wrap(name: str, function: Any) -> Any:
        if name in ("start", "stop"):

            @functools.wraps(function)
            async def timed_async(*args: Any, **kwargs: Any) -> Any:
                began = time.perf_counter()
                try:
                    return await function(*args, **kwargs)
                finally:
                    spent[name][-1] += time.perf_counter() - began

            return timed_async

        @functools.wraps(function)
        def timed(*args: Any, **kwargs: Any) -> Any:
            began = time.perf_counter()
            try:
                return function(*args, **kwargs)
            finally:
                spent[name][-1] += time.perf_counter() - began

        return timed

    for name, function in originals.items():
        setattr(_lifecycle.Lifecycle, name, wrap(name, function))

    def undo() -> None:
        for name, function in originals.items():
            setattr(_lifecycle.Lifecycle, name, function)

    return undo


async def _profile(boot: Boot) -> None:
    for _ in range(2):
        await boot.run_once(sinks=[])
    spent: dict[str, list[float]] = {name: [] for name in (*PARTS, "run_once")}
    undo = _timed_parts(spent)
    try:
        for _ in range(5):
            for values in spent.values():
                values.append(0.0)
            began = time.perf_counter()
            await boot.run_once(sinks=[])
            spent["run_once"][-1] = time.perf_counter() - began
    finally:
        undo()
    for name, values in spent.items():
        label = {"__init__": "building the run"}.get(name, name)
        median = statistics.median(values)
        print(f"  {label:18} {median * 1e3:8.1f} ms  {median / PHASES * 1e6:6.2f} µs/phase")
    profiler = cProfile.Profile()
    profiler.enable()
    await boot.run_once(sinks=[])
    profiler.disable()
    text = io.StringIO()
    pstats.Stats(profiler, stream=text).sort_stats("tottime").print_stats(15)
    print("\n".join(line for line in text.getvalue().splitlines() if line.strip())[:4000])


def main(kind: str = "noop") -> None:
    """Profile `run_once` of 10,000 phases of `kind` ("noop" or "suspending") on both backends."""
    graph = random_dag(PHASES)
    boot = suspending_boot(graph) if kind == "suspending" else build_boot(graph)
    print(f"\nwhere run_once's time goes: {PHASES} {kind} phases, no sinks")
    print(versions())
    for backend in ("asyncio", "trio"):
        print(f"\n{backend}:")
        anyio.run(_profile, boot, backend=backend)


if __name__ == "__main__":
    main(*sys.argv[1:2])
