"""Typed events, the structlog sink and `orchestrator.testing`."""

from __future__ import annotations

import dataclasses
import typing
from dataclasses import dataclass

import pytest
import structlog
from event_samples import every_event

from orchestrator import (
    Boot,
    BootAborted,
    BootReady,
    BootStarted,
    BootStopped,
    BootStopping,
    PhaseCompleted,
    PhaseFailed,
    PhaseRetrying,
    PhaseStarted,
    Retry,
    StructlogSink,
    TeardownCompleted,
    TeardownStarted,
)
from orchestrator._model import _events as events_module
from orchestrator._model._events import (
    EVENT_TYPES,
    AnyEvent,
    BootStateChanged,
    Event,
    SignalReceived,
    SinkFailed,
    SinkGroup,
    narrow,
)
from orchestrator._model._status import BootState
from orchestrator.testing import capture_events, inject_fault

pytestmark = pytest.mark.anyio


def small() -> Boot:
    boot = Boot("small")

    @boot.phase(retry=Retry(attempts=2, delay=0.001))
    async def database():  # type: ignore[no-untyped-def]
        yield "db"

    return boot


async def test_a_boot_emits_its_lifecycle_in_order() -> None:
    with capture_events() as events:
        await small().run_once(sinks=[])
    assert [type(e) for e in events] == [
        BootStarted,
        PhaseStarted,
        PhaseCompleted,
        BootReady,
        BootStopping,
        TeardownStarted,
        TeardownCompleted,
        BootStopped,
    ]
    assert {e.phase for e in events if e.phase} == {"database"}


async def test_retries_emit_phase_retrying_with_the_delay() -> None:
    with capture_events() as events, inject_fault("database", error=OSError("x"), attempts=1):
        await small().run_once(sinks=[])
    (retrying,) = [e for e in events if isinstance(e, PhaseRetrying)]
    assert (retrying.attempt, retrying.delay, retrying.error) == (1, 0.001, "OSError: x")


async def test_events_are_frozen() -> None:
    with capture_events() as events:
        await small().run_once(sinks=[])
    with pytest.raises(AttributeError):
        events[0].at = 1.0  # type: ignore[misc]


async def test_structlog_sink_writes_one_line_per_event() -> None:
    with structlog.testing.capture_logs() as logs:
        await small().run_once(sinks=[StructlogSink()])
    names = [entry["event"] for entry in logs]
    assert names[:3] == ["boot.started", "phase.started", "phase.completed"]
    completed = logs[2]
    assert completed["phase"] == "database"
    assert completed["duration_ms"] >= 0


async def test_a_failing_sink_never_breaks_the_boot() -> None:
    def broken_sink(event: object) -> None:
        raise RuntimeError("sink down")

    report = await small().run_once(sinks=[broken_sink])
    assert report.outcome is not None
    assert report.outcome.value == "ready"


async def test_injected_fault_fails_the_named_phase() -> None:
    with (
        capture_events() as events,
        inject_fault("database", error=OSError("injected")),
        pytest.raises(BootAborted),
    ):
        await small().run_once(sinks=[])
    failed = [e for e in events if isinstance(e, PhaseFailed)]
    assert [(e.phase, e.error, e.attempts) for e in failed] == [
        ("database", "OSError: injected", 2)
    ]


def test_inject_fault_needs_something_to_inject() -> None:
    with pytest.raises(ValueError, match="needs error="), inject_fault("x"):
        pass


def test_the_union_holds_every_event_the_module_defines() -> None:
    defined = {
        value
        for value in vars(events_module).values()
        if isinstance(value, type) and issubclass(value, Event) and value is not Event
    }
    assert set(typing.get_args(AnyEvent)) == defined
    assert set(EVENT_TYPES) == defined


def test_event_names_are_unique() -> None:
    names = [event_type.name for event_type in EVENT_TYPES]
    assert len(set(names)) == len(names)


def test_the_samples_hold_one_event_of_each_type() -> None:
    assert {type(e) for e in every_event()} == set(EVENT_TYPES)


def _generated_twin(event: Event) -> object:
    """`event` as an instance of a class whose methods `dataclass` generated itself."""
    twin_type = dataclasses.make_dataclass(
        type(event).__name__,
        [
            (f.name, f.type, dataclasses.field(repr=f.repr, compare=f.compare))
            for f in dataclasses.fields(event)
        ],
        frozen=True,
        kw_only=True,
    )
    twin_type.__qualname__ = type(event).__qualname__
    return twin_type(**{f.name: getattr(event, f.name) for f in dataclasses.fields(event)})


@pytest.mark.parametrize("event", every_event(), ids=lambda event: type(event).__name__)
def test_an_event_has_the_repr_dataclass_would_generate(event: Event) -> None:
    assert repr(event) == repr(_generated_twin(event))


@pytest.mark.parametrize("event", every_event(), ids=lambda event: type(event).__name__)
def test_an_event_hashes_as_dataclass_would_hash_it(event: Event) -> None:
    assert hash(event) == hash(_generated_twin(event))


def test_events_are_equal_when_their_type_and_compared_fields_are() -> None:
    failed = PhaseFailed(
        boot="b",
        at=1.0,
        phase="db",
        attempts=1,
        duration=0.5,
        error="OSError: x",
        timed_out=False,
        critical=True,
        exception=OSError("x"),
    )
    assert failed == dataclasses.replace(failed, exception=None)  # not compared, as declared
    assert failed != dataclasses.replace(failed, attempts=2)
    assert PhaseStarted(boot="b", at=1.0, phase="db", attempt=1) != TeardownStarted(
        boot="b", at=1.0, phase="db"
    )
    assert BootStopping(boot="b", at=1.0) != Event(boot="b", at=1.0)


def test_narrow_refuses_an_event_the_boot_never_emits() -> None:
    @dataclass(frozen=True, slots=True, kw_only=True)
    class Foreign(Event):
        pass

    with pytest.raises(TypeError, match="Foreign is not one of the events a boot emits"):
        narrow(Foreign(boot="b", at=0.0))


def test_structlog_sink_logs_every_event_of_the_union() -> None:
    samples = every_event()
    with structlog.testing.capture_logs() as logs:
        sink = StructlogSink()
        for event in samples:
            sink(event)
    assert [entry["event"] for entry in logs] == [event.name for event in samples]


def test_structlog_sink_logs_a_signal_as_a_warning_with_its_effect() -> None:
    with structlog.testing.capture_logs() as logs:
        StructlogSink()(
            SignalReceived(boot="b", at=1.0, signal="SIGTERM", effect="the service stops in order")
        )
    assert logs == [
        {
            "event": "boot.signal",
            "log_level": "warning",
            "boot": "b",
            "at_ms": 1000.0,
            "signal": "SIGTERM",
            "effect": "the service stops in order",
        }
    ]


def test_structlog_sink_logs_a_failed_sink_as_an_error() -> None:
    with structlog.testing.capture_logs() as logs:
        StructlogSink()(SinkFailed(boot="b", at=0.0, sink="<broken>", error="RuntimeError: x"))
    (entry,) = logs
    assert (entry["log_level"], entry["sink"], entry["error"]) == (
        "error",
        "<broken>",
        "RuntimeError: x",
    )


@pytest.mark.parametrize(
    ("state", "level"), [(BootState.DEGRADED, "warning"), (BootState.READY, "info")]
)
def test_structlog_sink_warns_when_the_boot_degrades_not_when_it_recovers(
    state: BootState, level: str
) -> None:
    previous = BootState.READY if state is BootState.DEGRADED else BootState.DEGRADED
    event = BootStateChanged(boot="b", at=0.0, previous=previous, state=state, reason="cache")
    with structlog.testing.capture_logs() as logs:
        StructlogSink()(event)
    assert [(entry["log_level"], entry["state"]) for entry in logs] == [(level, state.value)]


async def test_the_sink_that_failed_is_told_nothing_more() -> None:
    received: list[Event] = []

    def broken_sink(event: Event) -> None:
        received.append(event)
        raise RuntimeError("sink down")

    with structlog.testing.capture_logs() as logs:
        await small().run_once(sinks=[broken_sink, StructlogSink()])
    assert [type(e) for e in received] == [BootStarted]
    failed = [entry for entry in logs if entry["event"] == "sink.failed"]
    assert [(entry["log_level"], entry["error"]) for entry in failed] == [
        ("error", "RuntimeError: sink down")
    ]
    assert "broken_sink" in failed[0]["sink"]


class Recording:
    """A sink that records what it receives and raises on the event types given."""

    def __init__(self, name: str, *, fails_on: tuple[type[Event], ...] = ()) -> None:
        self.name = name
        self.fails_on = fails_on
        self.received: list[Event] = []

    def __repr__(self) -> str:
        return f"<{self.name}>"

    def __call__(self, event: Event) -> None:
        self.received.append(event)
        if isinstance(event, self.fails_on):
            raise RuntimeError(f"{self.name} down")


def _stopping(at: float) -> BootStopping:
    return BootStopping(boot="b", at=at)


def test_a_sink_group_detaches_a_sink_that_raises_and_tells_the_others() -> None:
    broken, kept = Recording("broken", fails_on=(BootStopping,)), Recording("kept")
    group = SinkGroup([broken, kept], boot="b", now=lambda: 7.0)
    group(_stopping(1.0))
    group(_stopping(2.0))
    assert broken.received == [_stopping(1.0)]
    assert kept.received == [
        _stopping(1.0),
        SinkFailed(boot="b", at=7.0, sink="<broken>", error="RuntimeError: broken down"),
        _stopping(2.0),
    ]


def test_a_sink_that_fails_on_a_sink_failed_is_told_nothing_more() -> None:
    first = Recording("first", fails_on=(BootStopping,))
    second = Recording("second", fails_on=(SinkFailed,))
    last = Recording("last")
    group = SinkGroup([first, second, last], boot="b", now=lambda: 0.0)
    group(_stopping(1.0))
    group(_stopping(2.0))
    assert [type(e) for e in second.received] == [BootStopping, SinkFailed]
    assert [(type(e).__name__, getattr(e, "sink", None)) for e in last.received] == [
        ("BootStopping", None),
        ("SinkFailed", "<first>"),
        ("SinkFailed", "<second>"),
        ("BootStopping", None),
    ]


def test_a_sink_group_with_every_sink_detached_is_empty() -> None:
    group = SinkGroup([Recording("only", fails_on=(BootStopping,))], boot="b", now=lambda: 0.0)
    assert group
    group(_stopping(1.0))
    assert not group


def test_a_lone_sink_that_raises_is_told_nothing_more() -> None:
    only = Recording("only", fails_on=(BootStopping,))
    group = SinkGroup([only], boot="b", now=lambda: 0.0)
    group(_stopping(1.0))
    group(_stopping(2.0))
    assert only.received == [_stopping(1.0)]


def test_a_lone_sink_that_raises_a_base_exception_is_not_detached() -> None:
    class Interrupting:
        def __call__(self, event: object) -> None:
            raise KeyboardInterrupt

    group = SinkGroup([Interrupting()], boot="b", now=lambda: 0.0)
    with pytest.raises(KeyboardInterrupt):
        group(_stopping(1.0))
    assert group
