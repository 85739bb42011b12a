"""OpenTelemetry traces of a boot: one span per phase under one span for the boot.

Install the extra (`pip install smd-orchestrator[otel]`) and pass the sink::

    from orchestrator.otel import OpenTelemetrySink

    await boot.run_once(sinks=[OpenTelemetrySink()])

Span times come from the events' own clock, so a span lasts exactly as long as
the report says. Phases that never ran (skipped, blocked) get a zero-length
span with their reason, so the trace shows every phase of the plan.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any

from ._events import (
    BootFailed,
    BootReady,
    BootStarted,
    BootStopped,
    Event,
    PhaseBlocked,
    PhaseCancelled,
    PhaseCompleted,
    PhaseFailed,
    PhaseRetrying,
    PhaseSkipped,
    PhaseStarted,
    TeardownCompleted,
    TeardownFailed,
    TeardownStarted,
)

if TYPE_CHECKING:
    from ._plan import BootPlan


class MissingExtraError(ImportError):
    """opentelemetry-api is not installed."""


def _trace_api() -> Any:
    try:
        from opentelemetry import trace
    except ImportError as exc:
        raise MissingExtraError(
            "orchestrator.otel needs opentelemetry-api: pip install 'smd-orchestrator[otel]'"
        ) from exc
    return trace


def sink_if_configured(plan: BootPlan | None = None) -> OpenTelemetrySink | None:
    """An `OpenTelemetrySink` when opentelemetry is installed and a tracer provider is set.

    `smd run` calls this, so a boot run under `opentelemetry-instrument` (or any
    process that set a provider) is traced without another flag; otherwise None.
    """
    try:
        trace = _trace_api()
    except MissingExtraError:
        return None
    if isinstance(trace.get_tracer_provider(), trace.ProxyTracerProvider):
        return None
    return OpenTelemetrySink(plan=plan)


class OpenTelemetrySink:
    """An event sink that turns a boot into OpenTelemetry spans.

    The boot span (`smd.boot <name>`) starts with `BootStarted` and ends when the
    boot is ready or failed; each phase's span (named after the phase) carries
    `smd.phase`, `smd.kind`, `smd.attempt` and `smd.status`; teardowns are
    spans of their own (`smd.teardown <phase>`) under the boot span.

    Args:
        tracer: an OpenTelemetry tracer; by default `trace.get_tracer("smd")`.
        plan: the boot's plan, so gates get `smd.kind="gate"` (events do not say).

    Raises:
        MissingExtraError: opentelemetry-api is not installed.
    """

    def __init__(self, tracer: Any | None = None, *, plan: BootPlan | None = None) -> None:
        self._trace = _trace_api()
        self._tracer = tracer if tracer is not None else self._trace.get_tracer("smd")
        self._origin_ns = 0
        self._boot_span: Any | None = None
        self._context: Any | None = None
        self._kinds = {spec.name: spec.kind for spec in plan.phases} if plan else {}
        self._spans: dict[str, Any] = {}
        self._teardowns: dict[str, Any] = {}

    def _ns(self, at: float) -> int:
        return self._origin_ns + int(at * 1e9)

    def _start(self, name: str, at: float, attributes: dict[str, Any]) -> Any:
        return self._tracer.start_span(
            name, context=self._context, start_time=self._ns(at), attributes=attributes
        )

    def __call__(self, event: Event) -> None:
        handler = getattr(self, f"_on_{type(event).__name__}", None)
        if handler is not None:
            handler(event)

    def _on_BootStarted(self, event: BootStarted) -> None:
        self._origin_ns = time.time_ns() - int(event.at * 1e9)
        self._boot_span = self._tracer.start_span(
            f"smd.boot {event.boot}",
            start_time=self._origin_ns,
            attributes={
                "smd.boot": event.boot,
                "smd.fingerprint": event.fingerprint,
                "smd.phases": event.phases,
            },
        )
        self._context = self._trace.set_span_in_context(self._boot_span)

    def _phase_span(self, phase: str, at: float) -> Any:
        span = self._spans.get(phase)
        if span is None:
            kind = self._kinds.get(phase, "phase")
            span = self._start(phase, at, {"smd.phase": phase, "smd.kind": kind})
            self._spans[phase] = span
        return span

    def _on_PhaseStarted(self, event: PhaseStarted) -> None:
        span = self._phase_span(event.phase, event.at)
        span.set_attribute("smd.attempt", event.attempt)
        if event.attempt > 1:
            span.add_event("attempt", {"smd.attempt": event.attempt}, timestamp=self._ns(event.at))

    def _on_PhaseRetrying(self, event: PhaseRetrying) -> None:
        span = self._phase_span(event.phase, event.at)
        span.add_event(
            "retrying",
            {"smd.attempt": event.attempt, "smd.delay": event.delay, "smd.error": event.error},
            timestamp=self._ns(event.at),
        )

    def _finish(self, phase: str, at: float, status: str, error: str | None = None) -> None:
        span = self._spans.pop(phase, None) or self._phase_span(phase, at)
        self._spans.pop(phase, None)
        span.set_attribute("smd.status", status)
        status_code = self._trace.StatusCode
        if error is not None:
            span.set_status(self._trace.Status(status_code.ERROR, error))
        elif status == "completed":
            span.set_status(self._trace.Status(status_code.OK))
        span.end(end_time=self._ns(at))

    def _on_PhaseCompleted(self, event: PhaseCompleted) -> None:
        self._finish(event.phase, event.at, "completed")

    def _on_PhaseFailed(self, event: PhaseFailed) -> None:
        self._finish(
            event.phase, event.at, "timed_out" if event.timed_out else "failed", event.error
        )

    def _on_PhaseCancelled(self, event: PhaseCancelled) -> None:
        self._finish(event.phase, event.at, "cancelled")

    def _on_PhaseSkipped(self, event: PhaseSkipped) -> None:
        self._phase_span(event.phase, event.at).set_attribute("smd.reason", event.reason)
        self._finish(event.phase, event.at, "skipped")

    def _on_PhaseBlocked(self, event: PhaseBlocked) -> None:
        self._phase_span(event.phase, event.at).set_attribute("smd.reason", event.reason)
        self._finish(event.phase, event.at, "blocked", f"blocked: {event.reason}")

    def _on_TeardownStarted(self, event: TeardownStarted) -> None:
        self._teardowns[event.phase] = self._start(
            f"smd.teardown {event.phase}", event.at, {"smd.phase": event.phase}
        )

    def _end_teardown(self, phase: str, at: float, error: str | None) -> None:
        span = self._teardowns.pop(phase, None)
        if span is None:
            return
        span.set_attribute("smd.status", "teardown_failed" if error else "torn_down")
        if error is not None:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error))
        span.end(end_time=self._ns(at))

    def _on_TeardownCompleted(self, event: TeardownCompleted) -> None:
        self._end_teardown(event.phase, event.at, None)

    def _on_TeardownFailed(self, event: TeardownFailed) -> None:
        self._end_teardown(event.phase, event.at, event.error)

    def _end_boot(self, at: float, state: str, error: str | None = None) -> None:
        span, self._boot_span = self._boot_span, None
        if span is None:
            return
        span.set_attribute("smd.state", state)
        if error is not None:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error))
        span.end(end_time=self._ns(at))

    def _on_BootReady(self, event: BootReady) -> None:
        self._end_boot(event.at, event.state.value)

    def _on_BootFailed(self, event: BootFailed) -> None:
        diagnostic = event.diagnostic
        self._end_boot(event.at, "failed", f"{diagnostic.kind}: {diagnostic.summary}")

    def _on_BootStopped(self, event: BootStopped) -> None:
        self._end_boot(event.at, "stopped")


__all__ = ["MissingExtraError", "OpenTelemetrySink", "sink_if_configured"]
