"""Properties of the scheduler over random graphs and random faults (hypothesis)."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import Boot, BootAborted, PhaseStatus
from orchestrator.testing import inject_fault

Graph = dict[str, tuple[str, ...]]


@st.composite
def dags(draw: st.DrawFn) -> Graph:
    size = draw(st.integers(min_value=1, max_value=12))
    graph: Graph = {}
    for index in range(size):
        earlier = [f"p{i}" for i in range(index)]
        needs = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if earlier else []
        graph[f"p{index}"] = tuple(needs)
    return graph


def build(graph: Graph, log: list[tuple[str, str]]) -> Boot:
    boot = Boot("random")
    for name, needs in reversed(graph.items()):  # declaration order differs from index order

        async def phase(_name: str = name, **_: Any):  # type: ignore[no-untyped-def]
            log.append(("start", _name))
            await anyio.lowlevel.checkpoint()
            log.append(("end", _name))
            yield _name
            log.append(("teardown", _name))

        namespace: dict[str, Any] = {"inner": phase}
        exec(
            f"def make(inner):\n"
            f"    async def {name}({', '.join(needs)}):\n"
            f"        async for value in inner():\n"
            f"            yield value\n"
            f"    return {name}\n",
            namespace,
        )
        boot.add(namespace["make"](phase))
    return boot


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=dags())
def test_every_phase_starts_only_after_its_dependencies_ended(backend: str, graph: Graph) -> None:
    log: list[tuple[str, str]] = []
    anyio.run(lambda: build(graph, log).run_once(sinks=[]), backend=backend)
    ended: set[str] = set()
    for what, name in log:
        if what == "start":
            assert set(graph[name]) <= ended
        elif what == "end":
            ended.add(name)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=dags())
def test_max_concurrency_one_follows_the_plan_order(backend: str, graph: Graph) -> None:
    log: list[tuple[str, str]] = []
    boot = build(graph, log)
    anyio.run(lambda: boot.run_once(max_concurrency=1, sinks=[]), backend=backend)
    assert [name for what, name in log if what == "start"] == list(boot.plan().order)


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(graph=dags(), data=st.data())
def test_after_any_fault_exactly_the_completed_phases_are_torn_down_in_reverse(
    backend: str, graph: Graph, data: st.DataObject
) -> None:
    victim = data.draw(st.sampled_from(sorted(graph)))
    log: list[tuple[str, str]] = []
    boot = build(graph, log)

    async def attempt() -> BootAborted:
        with inject_fault(victim, error=RuntimeError("injected")):
            try:
                await boot.run_once(sinks=[], max_concurrency=1)
            except BootAborted as aborted:
                return aborted
        raise AssertionError("the boot should have aborted")

    aborted = anyio.run(attempt, backend=backend)
    completed = aborted.report.by_status(PhaseStatus.COMPLETED)
    torn = [name for what, name in log if what == "teardown"]
    assert torn == list(reversed(completed))
    assert aborted.diagnostic.phase == victim
    for record in aborted.report.phases:
        if victim in record.depends_on:
            assert record.status is PhaseStatus.BLOCKED
