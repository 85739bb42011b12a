"""OpenTelemetry traces of a boot: one span per phase under one span for the boot.

Install the extra (`pip install smd-orchestrator[otel]`) and pass the sink::

    from orchestrator.otel import OpenTelemetrySink

    await boot.run_once(sinks=[OpenTelemetrySink()])

Span times come from the events' own clock, so a span lasts exactly as long as
the report says. A phase span holds the same attempt structure as the report
and `smd analyze REPORT trace`: one child span per attempt (`attempt N`, with
`smd.outcome`) and one per retry pause between two (`retry pause`). Phases
that never ran (skipped, blocked) get a zero-length span with their reason, so
the trace shows every phase of the plan. The stop
is a span of its own (`smd.stop <boot>`) holding the teardowns; a signal, a
change between READY and DEGRADED and a failed sink are span events on the
boot or stop span, or zero-length spans while the service runs between them.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING, Any, assert_never

from ._model._events import (
    AnyEvent,
    BootFailed,
    BootReady,
    BootStarted,
    BootStateChanged,
    BootStopped,
    BootStopping,
    BudgetExceeded,
    Event,
    PhaseBlocked,
    PhaseCancelled,
    PhaseCompleted,
    PhaseFailed,
    PhaseRecovered,
    PhaseRestarting,
    PhaseRetrying,
    PhaseSkipped,
    PhaseStarted,
    SignalReceived,
    SinkFailed,
    TeardownCompleted,
    TeardownFailed,
    TeardownStarted,
    narrow,
)

if TYPE_CHECKING:
    from ._model._plan import BootPlan


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
    `smd.phase`, `smd.kind`, `smd.attempt` and `smd.status`; the stop is a span
    (`smd.stop <boot>`) from `BootStopping` to `BootStopped`, and teardowns are
    spans of their own (`smd.teardown <phase>`) under it (under the boot span
    when a failed boot is rolled back).

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
        self._stop_span: Any | None = None
        self._context: Any | None = None
        self._stop_context: Any | None = None
        self._kinds = {spec.name: spec.kind for spec in plan.phases} if plan else {}
        self._spans: dict[str, Any] = {}
        self._attempts: dict[str, Any] = {}
        self._pauses: dict[str, Any] = {}
        self._teardowns: dict[str, Any] = {}

    def _ns(self, at: float) -> int:
        return self._origin_ns + int(at * 1e9)

    def __repr__(self) -> str:
        return f"<OpenTelemetrySink open={len(self._spans) + len(self._teardowns)}>"

    def _start(self, name: str, at: float, attributes: dict[str, Any], context: Any = None) -> Any:
        return self._tracer.start_span(
            name,
            context=context if context is not None else self._context,
            start_time=self._ns(at),
            attributes=attributes,
        )

    def __call__(self, event: Event) -> None:
        self._record(narrow(event))

    def _record(self, event: AnyEvent) -> None:
        match event:
            case BootStarted():
                self._on_boot_started(event)
            case PhaseStarted():
                self._on_phase_started(event)
            case PhaseRetrying():
                self._on_phase_retrying(event)
            case PhaseCompleted():
                self._finish(event.phase, event.at, "completed")
            case PhaseFailed():
                status = "timed_out" if event.timed_out else "failed"
                self._finish(event.phase, event.at, status, event.error)
            case PhaseCancelled():
                self._finish(event.phase, event.at, "cancelled")
            case PhaseSkipped():
                self._phase_span(event.phase, event.at).set_attribute("smd.reason", event.reason)
                self._finish(event.phase, event.at, "skipped")
            case PhaseBlocked():
                self._phase_span(event.phase, event.at).set_attribute("smd.reason", event.reason)
                self._finish(event.phase, event.at, "blocked", f"blocked: {event.reason}")
            case TeardownStarted():
                self._teardowns[event.phase] = self._start(
                    f"smd.teardown {event.phase}",
                    event.at,
                    {"smd.phase": event.phase},
                    context=self._stop_context,
                )
            case TeardownCompleted():
                self._end_teardown(event.phase, event.at, None)
            case TeardownFailed():
                self._end_teardown(event.phase, event.at, event.error)
            case BootReady():
                self._end_boot(event.at, event.state.value)
            case BudgetExceeded():
                over = {
                    "smd.over": [name for name, _, _ in event.overruns],
                    "smd.budget": [budget for _, budget, _ in event.overruns],
                    "smd.spent": [spent for _, _, spent in event.overruns],
                }
                self._instant(event.name, event.at, over)
            case BootFailed():
                diagnostic = event.diagnostic
                self._end_boot(event.at, "failed", f"{diagnostic.kind}: {diagnostic.summary}")
            case BootStateChanged():
                attributes = {
                    "smd.previous": event.previous.value,
                    "smd.state": event.state.value,
                    "smd.reason": event.reason,
                }
                self._instant(event.name, event.at, attributes)
            case PhaseRestarting():
                self._instant(
                    event.name,
                    event.at,
                    {
                        "smd.phase": event.phase,
                        "smd.restart": event.restart,
                        "smd.delay": event.delay,
                        "smd.error": event.error,
                    },
                    error=event.error,
                )
            case PhaseRecovered():
                self._instant(
                    event.name, event.at, {"smd.phase": event.phase, "smd.attempts": event.attempts}
                )
            case SignalReceived():
                attributes = {"smd.signal": event.signal, "smd.effect": event.effect}
                self._instant(event.name, event.at, attributes)
            case SinkFailed():
                attributes = {"smd.sink": event.sink, "smd.error": event.error}
                self._instant(event.name, event.at, attributes, error=event.error)
            case BootStopping():
                self._on_boot_stopping(event)
            case BootStopped():
                self._end_boot(event.at, "stopped")
                self._end_stop(event)
            case _:
                assert_never(event)

    def _on_boot_started(self, event: BootStarted) -> None:
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

    def _on_phase_started(self, event: PhaseStarted) -> None:
        span = self._phase_span(event.phase, event.at)
        span.set_attribute("smd.attempt", event.attempt)
        if event.attempt > 1:
            span.add_event("attempt", {"smd.attempt": event.attempt}, timestamp=self._ns(event.at))
        self._end_pause(event.phase, event.at, None)
        self._attempts[event.phase] = self._start(
            f"attempt {event.attempt}",
            event.at,
            {"smd.phase": event.phase, "smd.attempt": event.attempt},
            context=self._trace.set_span_in_context(span),
        )

    def _on_phase_retrying(self, event: PhaseRetrying) -> None:
        span = self._phase_span(event.phase, event.at)
        span.add_event(
            "retrying",
            {"smd.attempt": event.attempt, "smd.delay": event.delay, "smd.error": event.error},
            timestamp=self._ns(event.at),
        )
        self._end_attempt(event.phase, event.at, "failed", event.error)
        self._pauses[event.phase] = self._start(
            "retry pause",
            event.at,
            {
                "smd.phase": event.phase,
                "smd.after_attempt": event.attempt,
                "smd.delay": event.delay,
            },
            context=self._trace.set_span_in_context(span),
        )

    def _end_attempt(self, phase: str, at: float, outcome: str, error: str | None) -> None:
        """End the phase's open attempt span with how it ended."""
        span = self._attempts.pop(phase, None)
        if span is None:
            return
        span.set_attribute("smd.outcome", outcome)
        if error is not None:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error))
        elif outcome == "completed":
            span.set_status(self._trace.Status(self._trace.StatusCode.OK))
        span.end(end_time=self._ns(at))

    def _end_pause(self, phase: str, at: float, cut_by: str | None) -> None:
        """End the phase's open retry pause (`cut_by`: why it ended before its delay)."""
        span = self._pauses.pop(phase, None)
        if span is None:
            return
        if cut_by is not None:
            span.set_attribute("smd.cut_by", cut_by)
        span.end(end_time=self._ns(at))

    def _finish(self, phase: str, at: float, status: str, error: str | None = None) -> None:
        self._end_attempt(phase, at, status, error)
        self._end_pause(phase, at, None if status == "completed" else status)
        span = self._spans.pop(phase, None) or self._phase_span(phase, at)
        self._spans.pop(phase, None)
        span.set_attribute("smd.status", status)
        status_code = self._trace.StatusCode
        if error is not None:
            span.set_status(self._trace.Status(status_code.ERROR, error))
        elif status == "completed":
            span.set_status(self._trace.Status(status_code.OK))
        span.end(end_time=self._ns(at))

    def _end_teardown(self, phase: str, at: float, error: str | None) -> None:
        span = self._teardowns.pop(phase, None)
        if span is None:
            return
        span.set_attribute("smd.status", "teardown_failed" if error else "torn_down")
        if error is not None:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error))
        span.end(end_time=self._ns(at))

    def _end_boot(self, at: float, state: str, error: str | None = None) -> None:
        span, self._boot_span = self._boot_span, None
        if span is None:
            return
        span.set_attribute("smd.state", state)
        if error is not None:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error))
        span.end(end_time=self._ns(at))

    def _on_boot_stopping(self, event: BootStopping) -> None:
        self._stop_span = self._start(f"smd.stop {event.boot}", event.at, {"smd.boot": event.boot})
        self._stop_context = self._trace.set_span_in_context(self._stop_span)

    def _end_stop(self, event: BootStopped) -> None:
        span, self._stop_span, self._stop_context = self._stop_span, None, None
        if span is not None:
            span.end(end_time=self._ns(event.at))

    def _instant(
        self, name: str, at: float, attributes: dict[str, Any], *, error: str | None = None
    ) -> None:
        """An event on the open stop or boot span; a zero-length span while neither is open."""
        open_span = self._stop_span if self._stop_span is not None else self._boot_span
        if open_span is not None:
            open_span.add_event(name, attributes, timestamp=self._ns(at))
            return
        span = self._start(f"smd.{name}", at, attributes)
        if error is not None:
            span.set_status(self._trace.Status(self._trace.StatusCode.ERROR, error))
        span.end(end_time=self._ns(at))


__all__ = ["MissingExtraError", "OpenTelemetrySink", "sink_if_configured"]
