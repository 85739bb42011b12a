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

from orchestrator import BootAborted, BootReady, BootStarted
from orchestrator._model._events import BootStateChanged, SignalReceived, SinkFailed
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
