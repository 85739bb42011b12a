"""The slack of a report listed in plan order is what the general graph walk computes."""

from __future__ import annotations

import dataclasses
import inspect
import random
from collections.abc import Callable
from typing import Any

from orchestrator import Boot
from orchestrator._analysis._chain import latest_finishes
from orchestrator._analysis._simulator import simulate


def _phase(name: str, needs: list[str]) -> Callable[..., Any]:
    def start(**_: Any) -> None:
        return None

    start.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(need, inspect.Parameter.KEYWORD_ONLY) for need in needs]
    )
    start.__name__ = name
    return start


def random_boot(count: int, seed: int) -> Boot:
    chosen = random.Random(seed)
    boot = Boot("random")
    for i in range(count):
        needs = sorted(
            {f"p{chosen.randrange(i)}" for _ in range(chosen.randint(0, 3))} if i else []
        )
        duration = chosen.uniform(0.001, 0.02)
        boot.add(_phase(f"p{i}", needs), name=f"p{i}", expected_duration=duration)
    return boot


def test_latest_finishes_in_plan_order_match_the_graph_walk() -> None:
    for seed in range(5):
        report = simulate(random_boot(60, seed).plan(), max_concurrency=3).to_report()
        # Listed backwards, a report is no plan order: the general walk over the graph runs.
        backwards = dataclasses.replace(report, phases=tuple(reversed(report.phases)))
        finished = max(r.end for r in report.phases if r.end is not None)
        assert latest_finishes(report, finished) == latest_finishes(backwards, finished)
