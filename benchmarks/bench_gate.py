"""The WebSocket factory gate's own run, for the reference factory, against its budget.

The gate runs on every boot, so its probe (16+ users, a few hundred tagged
messages, every mode, a settling pause) must stay under 250 ms. Each backend
runs the validation ROUNDS times with different seeds; the table gives the
median, the slowest run and the ratio of the median to the budget, and how much
of it is the fixed settling pause.
"""

from __future__ import annotations

import importlib.metadata
import os
import platform
import statistics
import time

import anyio

from phases.websocket import StandardizedWebSocketManagerFactory, WebSocketManagerFactoryValidator

BUDGET = 0.250
ROUNDS = int(os.environ.get("SMD_BENCH_GATE_ROUNDS", "15"))


async def _one(seed: int) -> float:
    factory = StandardizedWebSocketManagerFactory()
    start = time.perf_counter()
    result = await WebSocketManagerFactoryValidator.validate_factory(factory, seed=seed)
    elapsed = time.perf_counter() - start
    if not result.is_valid:
        msg = f"the reference factory was refused (seed {seed}): {result.validation_errors}"
        raise AssertionError(msg)
    return elapsed


async def _rounds() -> list[float]:
    await _one(0)  # warm imports and thread pools once
    return [await _one(seed) for seed in range(1, ROUNDS + 1)]


def _version(name: str) -> str:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return "absent"


def main() -> None:
    """Print the gate's median run per backend and its ratio to the 250 ms budget."""
    print(
        f"\nfactory gate (reference factory, {ROUNDS} seeds per backend): python "
        f"{platform.python_version()}, anyio {_version('anyio')}, trio {_version('trio')}"
    )
    settle = WebSocketManagerFactoryValidator.SETTLE_PAUSE
    print(f"{'backend':<8} {'median':>9} {'slowest':>9} {'budget':>8} {'median/budget':>14}")
    for backend in ("asyncio", "trio"):
        times = anyio.run(_rounds, backend=backend)
        median = statistics.median(times)
        print(
            f"{backend:<8} {median * 1000:>7.1f}ms {max(times) * 1000:>7.1f}ms "
            f"{BUDGET * 1000:>6.0f}ms {median / BUDGET:>13.2f}x"
        )
    print(f"(each run includes the settling pause of {settle * 1000:.0f} ms)")


if __name__ == "__main__":
    main()
