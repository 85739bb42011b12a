"""Analysis of a 10,000-phase report and simulation of a 10,000-phase boot, timed."""

from __future__ import annotations

import functools
import inspect
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio

from orchestrator import Boot
from orchestrator._analysis._chain import blame, critical_chain
from orchestrator._analysis._chart import render_svg
from orchestrator._analysis._simulator import simulate

PHASES = 10_000


def _phase(name: str, needs: list[str]) -> Callable[..., Any]:
    def start(**_: Any) -> None:
        return None

    start.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(need, inspect.Parameter.KEYWORD_ONLY) for need in needs]
    )
    start.__name__ = name
    return start


def build_boot(count: int = PHASES) -> Boot:
    """A layered boot: each phase needs its predecessor and one phase half as far in."""
    boot = Boot("bench")
    for i in range(count):
        needs = sorted({f"p{i - 1}", f"p{i // 2}"}) if i > 1 else ([] if i == 0 else ["p0"])
        boot.add(_phase(f"p{i}", needs), name=f"p{i}", expected_duration=0.001 * (1 + i % 7))
    return boot


def _timed(function: Callable[[], Any]) -> tuple[float, Any]:
    began = time.perf_counter()
    result = function()
    return time.perf_counter() - began, result


def main() -> list[tuple[str, float]]:
    """Time each step; print a table; return (step, seconds) rows."""
    plan_time, plan = _timed(lambda: build_boot().plan())
    rows = [(f"declare + plan {PHASES} phases", plan_time)]
    sim_time, unlimited = _timed(lambda: simulate(plan))
    rows.append((f"simulate {PHASES} phases, no limit", sim_time))
    limited_time, _ = _timed(lambda: simulate(plan, max_concurrency=8))
    rows.append((f"simulate {PHASES} phases, max_concurrency=8", limited_time))
    fail_time, _ = _timed(lambda: simulate(plan, fail={f"p{PHASES // 2}"}))
    rows.append((f"simulate {PHASES} phases, one failure", fail_time))
    report = unlimited.to_report()
    rows.append(("blame of the report", _timed(lambda: blame(report))[0]))
    rows.append(("critical chain + slack of the report", _timed(lambda: critical_chain(report))[0]))
    rows.append(("SVG Gantt chart of the report", _timed(lambda: render_svg(report))[0]))
    predicted, real = _prediction_against_a_real_boot()
    rows.append(("service boot: predicted duration", predicted))
    rows.append(("service boot: real duration (sleeping phases)", real))
    width = max(len(step) for step, _ in rows)
    print(f"{'step':<{width}}  seconds")
    for step, seconds in rows:
        print(f"{step:<{width}}  {seconds:8.3f}")
    print(f"real / predicted service boot: {real / predicted:.3f}")
    return rows


def _prediction_against_a_real_boot() -> tuple[float, float]:
    """The simulated and the real duration of a boot whose phases sleep their expected time."""
    sys.path.insert(0, str(Path(__file__).parent.parent / "tests"))
    from sleeping_boot import service_boot  # the tests' helper: phases that sleep

    boot = service_boot()
    report = anyio.run(functools.partial(boot.run_once, sinks=[]))
    return simulate(boot.plan()).duration, report.duration


if __name__ == "__main__":
    main()
