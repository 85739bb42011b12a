"""The simulation replays the engine's scheduling rules on a virtual clock."""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from typing import Any

import networkx as nx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sleeping_boot import add_sleeper, service_boot

from orchestrator import (
    Boot,
    BootAborted,
    GateFailed,
    GateResult,
    PhaseStatus,
    Retry,
    TeardownOutcome,
)
from orchestrator._analysis._chain import critical_chain
from orchestrator._analysis._simulator import simulate
from orchestrator.testing import inject_fault


def test_predicts_the_critical_path_from_expected_durations() -> None:
    result = simulate(service_boot().plan())
    assert result.duration == pytest.approx(0.11)
    assert result.chain.names == ("settings", "database", "schema", "api")


def test_max_concurrency_one_starts_phases_in_plan_order() -> None:
    plan = service_boot().plan()
    assert simulate(plan, max_concurrency=1).order == plan.order


def test_max_concurrency_one_adds_up_every_duration() -> None:
    result = simulate(service_boot().plan(), max_concurrency=1)
    assert result.duration == pytest.approx(0.18)


def test_durations_from_a_mapping_override_expected_durations() -> None:
    result = simulate(service_boot().plan(), durations={"cache": 0.2})
    assert result.chain.names == ("settings", "cache", "queue", "api")


def test_static_when_false_skips_the_phase_and_what_needs_it() -> None:
    boot = Boot("conditional")
    add_sleeper(boot, "feature", 0.01, when=False)
    add_sleeper(boot, "uses_feature", 0.01, ["feature"])
    add_sleeper(boot, "after_feature", 0.01, after=["feature"])
    result = simulate(boot.plan())
    assert result.skipped == ("feature", "uses_feature")
    assert result["after_feature"].status is PhaseStatus.COMPLETED


def test_critical_failure_blocks_unstarted_and_cancels_in_flight() -> None:
    result = simulate(service_boot().plan(), fail={"queue"})
    assert (result.cancelled, result.blocked) == (("database",), ("schema", "api"))
    assert (result.root_cause, result.exit_code) == ("queue", 69)


def test_an_aborted_prediction_is_diagnosed_as_the_engine_would() -> None:
    result = simulate(service_boot().plan(), fail={"queue"}, max_concurrency=1)
    assert result.diagnostic is not None
    assert (result.diagnostic.summary, result.diagnostic.teardown) == (
        "phase 'queue' failed",
        (("cache", "torn_down"), ("database", "torn_down"), ("settings", "torn_down")),
    )
    assert result.to_report().diagnostic == {**result.diagnostic.to_dict(), "simulated": True}


def test_failed_gate_predicts_the_gate_exit_code() -> None:
    result = simulate(service_boot().plan(), fail={"schema"})
    assert (result.failure_kind, result.exit_code) == ("gate_failed", 78)


def test_phase_slower_than_its_timeout_is_predicted_to_time_out() -> None:
    boot = Boot("slow")
    add_sleeper(boot, "slow", 5.0, timeout=1.0, retry=Retry(attempts=2, delay=0.5))
    result = simulate(boot.plan())
    assert (result["slow"].status, result.duration, result.exit_code) == (
        PhaseStatus.TIMED_OUT,
        2.5,
        75,
    )


def test_timeout_is_attempted_once_when_the_retry_does_not_retry_timeouts() -> None:
    boot = Boot("slow")
    retry = Retry(attempts=3, delay=0.5, on=(ConnectionError,))
    add_sleeper(boot, "slow", 5.0, timeout=1.0, retry=retry)
    result = simulate(boot.plan())
    assert (result["slow"].attempts, result.duration) == (1, 1.0)


def test_failure_later_than_the_timeout_is_a_timeout() -> None:
    boot = Boot("slow")
    add_sleeper(boot, "slow", 0.1, timeout=1.0)
    result = simulate(boot.plan(), fail={"slow": 2.5})
    assert (result["slow"].status, result.duration, result.exit_code) == (
        PhaseStatus.TIMED_OUT,
        1.0,
        75,
    )


def test_durations_come_only_from_phases_that_completed() -> None:
    failed = simulate(service_boot().plan(), fail={"queue": 0.001}).to_report()
    result = simulate(service_boot().plan(), durations=failed)
    assert (result["database"].end, result["queue"].end) == (
        pytest.approx(0.07),
        pytest.approx(0.07),
    )


def test_non_critical_failure_degrades_and_blocks_only_its_dependents() -> None:
    boot = Boot("optional")
    add_sleeper(boot, "extra", 0.01, critical=False)
    add_sleeper(boot, "needs_extra", 0.01, ["extra"])
    add_sleeper(boot, "after_extra", 0.01, after=["extra"])
    result = simulate(boot.plan(), fail={"extra"})
    assert (result.outcome.value, result.blocked, result.exit_code) == (
        "degraded",
        ("needs_extra",),
        0,
    )


def test_teardown_after_failure_runs_in_reverse_plan_order_for_generators_only() -> None:
    result = simulate(service_boot().plan(), fail={"api"})
    assert result.torn_down == ("cache", "database", "settings")


SERVICE_TEARDOWNS = {"settings": 0.01, "database": 0.03, "cache": 0.02}


def test_rollback_tears_down_independent_phases_at_the_same_time() -> None:
    result = simulate(service_boot().plan(), fail={"api"}, teardown_durations=SERVICE_TEARDOWNS)
    failed_at = result["api"].end
    assert (result["database"].teardown_start, result["cache"].teardown_start) == (
        failed_at,
        failed_at,
    )
    assert result["settings"].teardown_start == pytest.approx(result.duration + 0.03)
    assert result.torn_down == ("cache", "database", "settings")


def test_rollback_one_at_a_time_is_reverse_plan_order_back_to_back() -> None:
    result = simulate(
        service_boot().plan(),
        fail={"api"},
        teardown_durations=SERVICE_TEARDOWNS,
        max_concurrency=1,
    )
    assert result.torn_down == ("cache", "database", "settings")
    assert result.stop_duration == pytest.approx(0.06)


def test_a_ready_boot_has_no_predicted_stop_unless_asked() -> None:
    result = simulate(service_boot().plan(), teardown_durations=SERVICE_TEARDOWNS)
    assert (result.teardown_order, result.stopped_at, result["settings"].teardown_start) == (
        (),
        None,
        None,
    )


def test_the_orderly_stop_is_predicted_as_a_graph_from_the_ready_moment() -> None:
    result = simulate(service_boot().plan(), teardown_durations=SERVICE_TEARDOWNS, stop=True)
    assert result.stopped_at == result.duration
    assert [name for name, _ in result.teardown_order] == ["cache", "database", "settings"]
    assert result.stop_duration == pytest.approx(0.04)
    assert (result.torn_down, result.exit_code) == ((), 0)


def test_a_teardown_slower_than_its_teardown_timeout_fails_and_the_stop_exits_1() -> None:
    boot = Boot("slow_stop")
    add_sleeper(boot, "database", 0.01, teardown=True, teardown_timeout=0.5)
    result = simulate(boot.plan(), teardown_durations={"database": 2.0}, stop=True)
    assert (result["database"].teardown, result.stop_duration, result.exit_code) == (
        TeardownOutcome.TEARDOWN_FAILED,
        0.5,
        1,
    )


def test_a_spent_stop_timeout_fails_every_teardown_not_finished() -> None:
    result = simulate(
        service_boot().plan(),
        teardown_durations=SERVICE_TEARDOWNS,
        stop=True,
        stop_timeout=0.025,
    )
    assert [(name, outcome.value) for name, outcome in result.teardown_order] == [
        ("cache", "torn_down"),
        ("database", "teardown_failed"),
        ("settings", "teardown_failed"),
    ]
    assert (result.stop_duration, result.exit_code) == (pytest.approx(0.025), 1)


def test_a_phase_cancelled_between_retries_counts_only_the_attempts_begun() -> None:
    boot = Boot("retrying")
    add_sleeper(boot, "flaky", 0.5, retry=Retry(attempts=5, delay=1.0))
    add_sleeper(boot, "broken", 2.5)
    result = simulate(boot.plan(), fail={"flaky": 0.5, "broken": 2.5})
    assert (result["flaky"].status, result["flaky"].attempts) == (PhaseStatus.CANCELLED, 2)
    assert [pause.end for pause in result["flaky"].retry_pauses] == [
        1.5,
        2.5,
    ]  # the second pause is cut by the abort


def test_a_passed_deadline_cancels_what_runs_and_times_the_boot_out() -> None:
    result = simulate(service_boot().plan(), deadline=0.05)
    assert (result.cancelled, result.blocked) == (("database", "queue"), ("schema", "api"))
    assert (result.root_cause, result.failure_kind, result.exit_code) == (
        "database",
        "timed_out",
        75,
    )
    assert (result.duration, result.torn_down) == (0.05, ("cache", "settings"))


def test_attempts_and_retry_pauses_reach_the_report() -> None:
    boot = Boot("slow")
    add_sleeper(boot, "slow", 5.0, timeout=1.0, retry=Retry(attempts=2, delay=0.5))
    record = simulate(boot.plan()).to_report().phases[0]
    assert [(a.start, a.end, a.outcome) for a in record.attempt_log] == [
        (0.0, 1.0, "timed_out"),
        (1.5, 2.5, "timed_out"),
    ]
    assert [(p.start, p.end) for p in record.retry_pauses] == [(1.0, 1.5)]


def test_teardown_durations_come_from_a_report() -> None:
    stopped = simulate(service_boot().plan(), teardown_durations=SERVICE_TEARDOWNS, stop=True)
    result = simulate(service_boot().plan(), durations=stopped.to_report(), stop=True)
    assert result.stop_duration == pytest.approx(stopped.stop_duration)


def test_a_refusing_gate_is_retried_only_if_its_retry_covers_gate_failed() -> None:
    boot = Boot("gated")
    add_sleeper(boot, "covered", 0.01, kind="gate", retry=Retry(attempts=3))
    add_sleeper(boot, "uncovered", 0.01, kind="gate", retry=Retry(on=(ConnectionError,)))
    result = simulate(boot.plan(), fail={"covered", "uncovered"}, max_concurrency=2)
    assert (result["covered"].attempts, result["uncovered"].attempts) == (3, 1)


def test_a_gate_that_times_out_is_a_timeout_not_a_refusal() -> None:
    boot = Boot("gated")
    add_sleeper(boot, "schema", 2.0, kind="gate", timeout=1.0)
    result = simulate(boot.plan())
    assert (result.failure_kind, result.exit_code) == ("timed_out", 75)


@pytest.mark.parametrize(
    "arguments",
    [
        {"durations": {"cache": -1.0}},
        {"fail": {"cache": float("nan")}},
        {"teardown_durations": {"cache": float("inf")}},
        {"stop_timeout": 0},
        {"max_concurrency": 0},
    ],
    ids=["negative duration", "nan failure time", "infinite teardown", "zero stop", "zero limit"],
)
def test_bad_numbers_are_refused_by_name(arguments: dict[str, Any]) -> None:
    name = next(iter(arguments))
    with pytest.raises(ValueError, match=name):
        simulate(service_boot().plan(), **arguments)


def test_unknown_phase_to_fail_is_refused() -> None:
    with pytest.raises(ValueError, match="unknown phase"):
        simulate(service_boot().plan(), fail={"nope"})


def test_prediction_converts_to_a_report() -> None:
    report = simulate(service_boot().plan(), fail={"queue"}).to_report()
    assert report.by_status(PhaseStatus.BLOCKED) == ("schema", "api")


def test_ten_thousand_phase_simulation_finishes_at_the_longest_path() -> None:
    boot = Boot("wide")
    durations: dict[str, float] = {}
    for i in range(10_000):
        needs = [f"p{i - 1}", f"p{i // 2}"] if i > 1 else ([] if i == 0 else ["p0"])
        durations[f"p{i}"] = 0.001 * (i % 7)
        add_sleeper(boot, f"p{i}", durations[f"p{i}"], sorted(set(needs)))
    plan = boot.plan()
    graph = plan.graph
    for u, v in graph.edges:
        graph.edges[u, v]["weight"] = durations[v]
    longest = nx.dag_longest_path_length(graph, weight="weight") + durations["p0"]
    result = simulate(plan)
    assert len(result.order) == 10_000
    assert result.duration == pytest.approx(longest)


@pytest.mark.anyio
async def test_simulation_matches_a_real_run_one_at_a_time() -> None:
    boot = service_boot()
    predicted = simulate(boot.plan(), max_concurrency=1)
    report = await boot.run_once(sinks=[], max_concurrency=1)
    started = sorted((r.start or 0.0, r.name) for r in report.phases)
    assert tuple(name for _, name in started) == predicted.order


@pytest.mark.anyio
async def test_simulated_chain_matches_a_real_concurrent_run() -> None:
    # How close the predicted time comes to the real one is measured in
    # benchmarks/bench_analysis.py; here: the same chain, and never a faster boot
    # than its critical path (every phase sleeps at least its declared duration).
    boot = service_boot()
    predicted = simulate(boot.plan())
    report = await boot.run_once(sinks=[])
    assert critical_chain(report).names == predicted.chain.names
    assert report.duration >= predicted.duration


@pytest.mark.anyio
async def test_simulated_failure_matches_a_real_injected_fault() -> None:
    boot = service_boot()
    predicted = simulate(boot.plan(), fail={"queue"})
    with (
        inject_fault("queue", error=RuntimeError("broker down")),
        pytest.raises(BootAborted) as caught,
    ):
        await boot.run_once(sinks=[])
    diagnostic = caught.value.diagnostic
    assert (diagnostic.blocked, diagnostic.cancelled, diagnostic.exit_code) == (
        predicted.blocked,
        predicted.cancelled,
        predicted.exit_code,
    )
    assert tuple(name for name, _ in diagnostic.teardown) == predicted.torn_down


# -- the simulation against real boots, on random graphs --------------------------------


@dataclass(frozen=True)
class Shape:
    """One random phase: what it needs, waits for, and how it is declared."""

    needs: tuple[int, ...]
    after: tuple[int, ...]
    gate: bool
    critical: bool
    teardown: bool
    skip: bool
    retried: bool


@st.composite
def boot_shapes(draw: st.DrawFn) -> tuple[tuple[Shape, ...], int | None]:
    """Up to seven phases over earlier ones, and the phase to fail (or None)."""
    count = draw(st.integers(1, 7))
    shapes = []
    for i in range(count):
        earlier = list(range(i))
        needs = draw(st.lists(st.sampled_from(earlier), unique=True, max_size=3)) if i else []
        rest = [j for j in earlier if j not in needs]
        after = draw(st.lists(st.sampled_from(rest), unique=True, max_size=2)) if rest else []
        gate = draw(st.booleans())
        shapes.append(
            Shape(
                needs=tuple(sorted(needs)),
                after=tuple(sorted(after)),
                gate=gate,
                critical=gate or draw(st.booleans()),
                teardown=draw(st.booleans()),
                skip=draw(st.integers(0, 5)) == 0,
                retried=draw(st.integers(0, 3)) == 0,
            )
        )
    failing = draw(st.none() | st.integers(0, count - 1))
    return tuple(shapes), failing


def instant_phase(name: str, needs: Sequence[str], *, gate: bool, teardown: bool) -> Any:
    """A phase that returns (or yields) at once: a valid gate result for a gate."""
    value: Any = GateResult(is_valid=True) if gate else name
    if teardown:

        async def run(**_: Any) -> Any:
            yield value

    else:

        async def run(**_: Any) -> Any:  # type: ignore[misc]
            return value

    run.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(need, inspect.Parameter.KEYWORD_ONLY) for need in needs]
    )
    return run


def build_random_boot(shapes: Sequence[Shape]) -> Boot:
    boot = Boot("random")
    for i, shape in enumerate(shapes):
        boot.add(
            instant_phase(
                f"p{i}", [f"p{j}" for j in shape.needs], gate=shape.gate, teardown=shape.teardown
            ),
            kind="gate" if shape.gate else "phase",
            name=f"p{i}",
            after=[f"p{j}" for j in shape.after],
            critical=shape.critical,
            when=False if shape.skip else None,
            retry=Retry(attempts=2) if shape.retried else None,
        )
    return boot


@pytest.mark.anyio
@settings(
    max_examples=80, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(boot_shapes())
async def test_simulation_predicts_what_a_real_boot_does_on_random_graphs(
    drawn: tuple[tuple[Shape, ...], int | None],
) -> None:
    shapes, failing = drawn
    boot = build_random_boot(shapes)
    fail = {f"p{failing}"} if failing is not None else set()
    predicted = simulate(boot.plan(), max_concurrency=1, fail=fail)
    error: BaseException = (
        GateFailed("refused") if failing is not None and shapes[failing].gate else RuntimeError("x")
    )
    with ExitStack() as stack:
        if failing is not None:
            stack.enter_context(inject_fault(f"p{failing}", error=error))
        try:
            report = await boot.run_once(sinks=[], max_concurrency=1)
        except BootAborted as aborted:
            report, diagnostic = aborted.report, aborted.diagnostic
        else:
            diagnostic = None
    real = {r.name: (r.status, r.attempts) for r in report.phases}
    assert real == {p.name: (p.status, p.attempts) for p in predicted.phases}
    assert report.outcome is predicted.outcome
    started = sorted((r.start, r.name) for r in report.phases if r.start is not None)
    assert tuple(name for _, name in started) == predicted.order
    if diagnostic is None:
        assert predicted.exit_code == 0
    else:
        assert (diagnostic.phase, diagnostic.exit_code) == (
            predicted.root_cause,
            predicted.exit_code,
        )
        assert (diagnostic.blocked, diagnostic.cancelled) == (
            predicted.blocked,
            predicted.cancelled,
        )
        assert tuple(name for name, _ in diagnostic.teardown) == predicted.torn_down


def test_a_failure_retried_only_on_some_types_is_diagnosed_as_retried() -> None:
    boot = Boot("narrow-retry")

    @boot.phase(retry=Retry(attempts=2, on=(ConnectionError,)))
    def database() -> None: ...

    predicted = simulate(boot.plan(), fail=["database"])
    assert predicted["database"].attempts == 2
    assert predicted.diagnostic is not None
    assert "give its retry= more than 2 attempts" in predicted.diagnostic.action
    assert "is not retried now" not in predicted.diagnostic.action
