"""The OpenTelemetry sink: one span per phase under one boot span."""

from __future__ import annotations

import sys

import pytest
from event_samples import every_event
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import StatusCode
from sleeping_boot import service_boot

from orchestrator import Boot, BootAborted, BootReady, BootStarted, Retry
from orchestrator._model._events import (
    BootStateChanged,
    BudgetExceeded,
    SignalReceived,
    SinkFailed,
)
from orchestrator._model._status import BootState
from orchestrator.otel import MissingExtraError, OpenTelemetrySink
from orchestrator.testing import inject_fault


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


@pytest.fixture
def sink(exporter: InMemorySpanExporter) -> OpenTelemetrySink:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return OpenTelemetrySink(provider.get_tracer("test"), plan=service_boot().plan())


def by_name(exporter: InMemorySpanExporter) -> dict[str, ReadableSpan]:
    return {span.name: span for span in exporter.get_finished_spans()}


@pytest.mark.anyio
async def test_one_span_per_phase_under_the_boot_span(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    await service_boot().run_once(sinks=[sink])
    spans = by_name(exporter)
    boot = spans["smd.boot service"]
    phases = [s for s in spans.values() if s.attributes and "smd.kind" in s.attributes]
    assert len(phases) == 7
    assert {s.parent.span_id for s in phases if s.parent} == {boot.context.span_id}


@pytest.mark.anyio
async def test_phase_span_carries_phase_kind_attempt_and_status(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    await service_boot().run_once(sinks=[sink])
    attributes = dict(by_name(exporter)["schema"].attributes or {})
    assert attributes == {
        "smd.phase": "schema",
        "smd.kind": "gate",
        "smd.attempt": 1,
        "smd.status": "completed",
    }


@pytest.mark.anyio
async def test_failed_phase_span_has_error_status(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    with inject_fault("queue", error=RuntimeError("down")), pytest.raises(BootAborted):
        await service_boot().run_once(sinks=[sink])
    span = by_name(exporter)["queue"]
    assert (span.status.status_code, span.status.description) == (
        StatusCode.ERROR,
        "RuntimeError: down",
    )


@pytest.mark.anyio
async def test_blocked_phases_get_a_zero_length_span(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    with inject_fault("queue", error=RuntimeError("down")), pytest.raises(BootAborted):
        await service_boot().run_once(sinks=[sink])
    span = by_name(exporter)["api"]
    assert (dict(span.attributes or {})["smd.status"], span.start_time) == (
        "blocked",
        span.end_time,
    )


@pytest.mark.anyio
async def test_teardowns_are_spans_too(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    await service_boot().run_once(sinks=[sink])
    assert {"smd.teardown settings", "smd.teardown database"} <= set(by_name(exporter))


def test_missing_extra_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "opentelemetry", None)
    with pytest.raises(MissingExtraError, match=r"smd-orchestrator\[otel\]"):
        OpenTelemetrySink()


def test_smd_run_traces_only_when_a_tracer_provider_is_set(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider

    from orchestrator.otel import OpenTelemetrySink, sink_if_configured

    monkeypatch.setattr(trace, "get_tracer_provider", trace.ProxyTracerProvider)
    assert sink_if_configured() is None
    monkeypatch.setattr(trace, "get_tracer_provider", TracerProvider)
    assert isinstance(sink_if_configured(), OpenTelemetrySink)


def test_the_sink_handles_every_event(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    for event in every_event():
        sink(event)
    spans = by_name(exporter)
    assert {"smd.boot samples", "smd.stop samples", "smd.teardown database"} <= set(spans)
    assert not any(span.end_time is None for span in spans.values())


@pytest.mark.anyio
async def test_the_stop_is_a_span_holding_the_teardowns(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    await service_boot().run_once(sinks=[sink])
    spans = by_name(exporter)
    stop = spans["smd.stop service"]
    teardowns = [s for name, s in spans.items() if name.startswith("smd.teardown ")]
    assert teardowns
    assert {s.parent.span_id for s in teardowns if s.parent} == {stop.context.span_id}
    assert stop.parent is not None
    assert stop.parent.span_id == spans["smd.boot service"].context.span_id


def test_a_signal_during_the_boot_is_an_event_on_the_boot_span(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    sink(BootStarted(boot="b", at=0.0, fingerprint="f", phases=1))
    sink(SignalReceived(boot="b", at=0.5, signal="SIGINT", effect="the boot is aborted"))
    sink(BootReady(boot="b", at=1.0, state=BootState.READY, duration=1.0))
    (boot,) = exporter.get_finished_spans()
    (event,) = boot.events
    assert (event.name, dict(event.attributes or {})) == (
        "boot.signal",
        {"smd.signal": "SIGINT", "smd.effect": "the boot is aborted"},
    )


def test_in_service_a_state_change_is_a_zero_length_span(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    sink(BootStarted(boot="b", at=0.0, fingerprint="f", phases=1))
    sink(BootReady(boot="b", at=1.0, state=BootState.READY, duration=1.0))
    sink(
        BootStateChanged(
            boot="b", at=5.0, previous=BootState.READY, state=BootState.DEGRADED, reason="cache"
        )
    )
    span = by_name(exporter)["smd.boot.state_changed"]
    assert span.start_time == span.end_time
    assert dict(span.attributes or {}) == {
        "smd.previous": "ready",
        "smd.state": "degraded",
        "smd.reason": "cache",
    }


def test_in_service_a_failed_sink_is_an_error_span(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    sink(SinkFailed(boot="b", at=5.0, sink="<broken>", error="RuntimeError: x"))
    span = by_name(exporter)["smd.sink.failed"]
    assert (span.status.status_code, span.status.description) == (
        StatusCode.ERROR,
        "RuntimeError: x",
    )


def flaky_boot(fail_first: int) -> Boot:
    """`database` fails its first `fail_first` attempts, then connects."""
    boot = Boot("flaky")
    calls = {"n": 0}

    @boot.phase(retry=Retry(attempts=3, delay=0.001))
    async def database() -> str:
        calls["n"] += 1
        if calls["n"] <= fail_first:
            raise ConnectionError(f"refused {calls['n']}")
        return "db"

    return boot


def children_of(exporter: InMemorySpanExporter, parent: ReadableSpan) -> list[ReadableSpan]:
    found = [
        span
        for span in exporter.get_finished_spans()
        if span.parent is not None and span.parent.span_id == parent.context.span_id
    ]
    return sorted(found, key=lambda span: span.start_time or 0)


@pytest.mark.anyio
async def test_each_attempt_is_a_child_span_of_its_phase_with_its_outcome(
    exporter: InMemorySpanExporter,
) -> None:
    boot = flaky_boot(fail_first=1)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    await boot.run_once(sinks=[OpenTelemetrySink(provider.get_tracer("test"), plan=boot.plan())])
    attempts = [
        span
        for span in children_of(exporter, by_name(exporter)["database"])
        if span.name.startswith("attempt")
    ]
    assert [(span.name, (span.attributes or {})["smd.outcome"]) for span in attempts] == [
        ("attempt 1", "failed"),
        ("attempt 2", "completed"),
    ]
    assert attempts[0].status.description == "ConnectionError: refused 1"


@pytest.mark.anyio
async def test_a_retry_pause_is_a_span_between_two_attempts(
    exporter: InMemorySpanExporter,
) -> None:
    boot = flaky_boot(fail_first=2)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    await boot.run_once(sinks=[OpenTelemetrySink(provider.get_tracer("test"), plan=boot.plan())])
    children = children_of(exporter, by_name(exporter)["database"])
    assert [span.name for span in children] == [
        "attempt 1",
        "retry pause",
        "attempt 2",
        "retry pause",
        "attempt 3",
    ]
    pause = children[1]
    assert (pause.attributes or {})["smd.after_attempt"] == 1
    assert children[0].end_time == pause.start_time
    assert pause.end_time == children[2].start_time


@pytest.mark.anyio
async def test_attempt_spans_do_not_count_as_phase_spans(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    await service_boot().run_once(sinks=[sink])
    attempts = [s for s in exporter.get_finished_spans() if s.name == "attempt 1"]
    assert len(attempts) == 7
    assert not any("smd.kind" in (s.attributes or {}) for s in attempts)


def test_a_budget_overrun_in_service_is_a_span_naming_what_is_over(
    sink: OpenTelemetrySink, exporter: InMemorySpanExporter
) -> None:
    sink(BootStarted(boot="b", at=0.0, fingerprint="0" * 12, phases=1))
    sink(BootReady(boot="b", at=1.0, state=BootState.READY, duration=1.0))
    sink(BudgetExceeded(boot="b", at=1.0, overruns=(("(boot)", 0.5, 1.0),)))
    span = by_name(exporter)["smd.boot.over_budget"]
    assert dict(span.attributes or {}) == {
        "smd.over": ("(boot)",),
        "smd.budget": (0.5,),
        "smd.spent": (1.0,),
    }
