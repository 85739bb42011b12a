"""Boots whose phases sleep their declared `expected_duration`, for simulation tests."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from typing import Any

import anyio

from orchestrator import Boot, GateResult


def add_sleeper(
    boot: Boot,
    name: str,
    seconds: float,
    needs: Sequence[str] = (),
    *,
    kind: str = "phase",
    teardown: bool = False,
    **options: Any,
) -> None:
    """Declare `name`: it needs `needs`, sleeps `seconds`, and (with `teardown`) yields."""
    if teardown:

        async def run(**_: Any) -> Any:
            await anyio.sleep(seconds)
            yield name

    elif kind == "gate":

        async def run(**_: Any) -> Any:  # type: ignore[misc]
            await anyio.sleep(seconds)
            return GateResult(is_valid=True)

    else:

        async def run(**_: Any) -> Any:  # type: ignore[misc]
            await anyio.sleep(seconds)
            return name

    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(need, inspect.Parameter.KEYWORD_ONLY) for need in needs]
    )
    boot.add(run, kind=kind, name=name, expected_duration=seconds, **options)  # type: ignore[arg-type]


def service_boot() -> Boot:
    """Seven phases in three branches; `database` is the long pole."""
    boot = Boot("service")
    add_sleeper(boot, "settings", 0.02, teardown=True)
    add_sleeper(boot, "database", 0.05, ["settings"], teardown=True)
    add_sleeper(boot, "cache", 0.02, ["settings"], teardown=True)
    add_sleeper(boot, "schema", 0.02, ["database"], kind="gate")
    add_sleeper(boot, "queue", 0.03, ["cache"])
    add_sleeper(boot, "metrics", 0.02, critical=False)
    add_sleeper(boot, "api", 0.02, ["schema", "queue"], after=["metrics"])
    return boot
