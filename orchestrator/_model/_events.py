"""The sealed set of typed events a boot emits, and the sink protocol that receives them.

Every event is one member of `AnyEvent`. A consumer turns the `Event` it is
handed into that union with `narrow` and dispatches with `match` ending in
`typing.assert_never`, so adding an event makes mypy point at every consumer
that does not handle it yet.
"""

from __future__ import annotations

import reprlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, ClassVar, Protocol, TypeAlias, get_args

from ._describe import describe_exception, safe_repr

if TYPE_CHECKING:
    from ._diagnostic import Diagnostic
    from ._status import BootState


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class Event:
    """Common fields: the boot's name and seconds since it started (`at`)."""

    name: ClassVar[str] = "event"
    boot: str
    at: float
    phase: str | None = None

    # Every event shares these three, which give what `dataclass` would generate for each
    # class (same text, same fields compared and hashed): a generated method is compiled when
    # its class is created, and the events are created on every `import orchestrator`.
    @reprlib.recursive_repr()
    def __repr__(self) -> str:
        shown = (f"{f.name}={getattr(self, f.name)!r}" for f in fields(self) if f.repr)
        return f"{type(self).__qualname__}({', '.join(shown)})"

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not self.__class__:
            return NotImplemented
        return _compared(self) == _compared(other)

    def __hash__(self) -> int:
        return hash(_compared(self))


def _compared(event: Event) -> tuple[object, ...]:
    """The values of the fields that equality and hashing look at, in field order."""
    return tuple(getattr(event, f.name) for f in fields(event) if f.compare)


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class BootStarted(Event):
    """The boot began; `phases` is how many its plan holds."""

    name: ClassVar[str] = "boot.started"
    fingerprint: str
    phases: int


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class PhaseStarted(Event):
    """An attempt of a phase's start began."""

    name: ClassVar[str] = "phase.started"
    phase: str
    attempt: int


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class PhaseRetrying(Event):
    """An attempt failed and another will follow after `delay` seconds."""

    name: ClassVar[str] = "phase.retrying"
    phase: str
    attempt: int
    delay: float
    error: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class PhaseCompleted(Event):
    """A phase's start succeeded; its value is available to dependents."""

    name: ClassVar[str] = "phase.completed"
    phase: str
    attempts: int
    duration: float


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class PhaseFailed(Event):
    """A phase's last attempt raised or timed out."""

    name: ClassVar[str] = "phase.failed"
    phase: str
    attempts: int
    duration: float
    error: str
    timed_out: bool
    critical: bool
    exception: BaseException | None = field(default=None, repr=False, compare=False)
    """The exception itself, for sinks that log its traceback (never its locals)."""


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class PhaseSkipped(Event):
    """A phase's `when=` was false, or something it needs was skipped."""

    name: ClassVar[str] = "phase.skipped"
    phase: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class PhaseBlocked(Event):
    """A phase will never start: something it waits for failed, or the boot aborted."""

    name: ClassVar[str] = "phase.blocked"
    phase: str
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class PhaseCancelled(Event):
    """A phase in flight was cancelled because the boot aborted."""

    name: ClassVar[str] = "phase.cancelled"
    phase: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class TeardownStarted(Event):
    """A started phase's teardown began."""

    name: ClassVar[str] = "teardown.started"
    phase: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class TeardownCompleted(Event):
    """A phase's teardown finished."""

    name: ClassVar[str] = "teardown.completed"
    phase: str
    duration: float


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class TeardownFailed(Event):
    """A phase's teardown raised or timed out; the remaining teardowns still run."""

    name: ClassVar[str] = "teardown.failed"
    phase: str
    duration: float
    error: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class BootReady(Event):
    """Every phase settled and the boot is READY or DEGRADED."""

    name: ClassVar[str] = "boot.ready"
    state: BootState
    duration: float


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class BudgetExceeded(Event):
    """The boot became READY or DEGRADED over its declared budget: a warning, never a failure.

    `overruns` gives `(name, budget, spent)` in seconds for the boot (named
    `"(boot)"`, first) and each phase over its `budget=`, in plan order.
    """

    name: ClassVar[str] = "boot.over_budget"
    overruns: tuple[tuple[str, float, float], ...]


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class BootFailed(Event):
    """The boot aborted; `diagnostic` says why."""

    name: ClassVar[str] = "boot.failed"
    diagnostic: Diagnostic


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class BootStopping(Event):
    """Shutdown began: the service leaves READY/DEGRADED and teardown follows."""

    name: ClassVar[str] = "boot.stopping"


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class BootStopped(Event):
    """Teardown finished; the boot is STOPPED."""

    name: ClassVar[str] = "boot.stopped"
    duration: float


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class BootStateChanged(Event):
    """The boot moved between READY and DEGRADED while in service."""

    name: ClassVar[str] = "boot.state_changed"
    previous: BootState
    state: BootState
    reason: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class PhaseRestarting(Event):
    """A service stopped while supervised and starts again after `delay` seconds.

    `restart` counts the restarts since its budget was last whole (1 for the
    first); `error` is why it stopped (or that it returned).
    """

    name: ClassVar[str] = "phase.restarting"
    phase: str
    restart: int
    delay: float
    error: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class PhaseRecovered(Event):
    """A phase that had failed completed in the background (`recover=`) after `attempts`.

    The phases it blocked start next, in plan order.
    """

    name: ClassVar[str] = "phase.recovered"
    phase: str
    attempts: int


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class SignalReceived(Event):
    """SIGINT or SIGTERM (or a `BootInterrupt`) arrived; `effect` says what it does now."""

    name: ClassVar[str] = "boot.signal"
    signal: str
    effect: str


@dataclass(frozen=True, slots=True, kw_only=True, repr=False, eq=False)
class SinkFailed(Event):
    """A sink raised; it receives no further events of this boot."""

    name: ClassVar[str] = "sink.failed"
    sink: str
    error: str


AnyEvent: TypeAlias = (
    BootStarted
    | PhaseStarted
    | PhaseRetrying
    | PhaseCompleted
    | PhaseFailed
    | PhaseSkipped
    | PhaseBlocked
    | PhaseCancelled
    | TeardownStarted
    | TeardownCompleted
    | TeardownFailed
    | BootReady
    | BudgetExceeded
    | BootFailed
    | BootStopping
    | BootStopped
    | BootStateChanged
    | PhaseRestarting
    | PhaseRecovered
    | SignalReceived
    | SinkFailed
)
"""Every event a boot emits: the sealed union that consumers match exhaustively."""

EVENT_TYPES: tuple[type[Event], ...] = get_args(AnyEvent)
"""The members of `AnyEvent`, in the order above."""


def narrow(event: Event) -> AnyEvent:
    """`event` as a member of the sealed union, for an exhaustive `match`.

    Raises:
        TypeError: `event` is an `Event` subclass the boot never emits.
    """
    if type(event) in _MEMBERS or isinstance(event, AnyEvent):
        return event  # type: ignore[return-value]
    raise TypeError(f"{type(event).__name__} is not one of the events a boot emits")


_MEMBERS: frozenset[type] = frozenset(get_args(AnyEvent))


class EventSink(Protocol):
    """Receives every event of a boot, synchronously, in the order they happen.

    A sink must be quick and must not raise. A sink that raises is detached
    from the boot, and a `SinkFailed` event tells the other sinks (and so the
    log) which one failed and why; the boot itself goes on.
    """

    def __call__(self, event: Event, /) -> None: ...


class SinkGroup:
    """The sinks of one boot, handed every event in the order events happen.

    A sink that raises is detached at once: it receives nothing more, not even
    the `SinkFailed` that reports it. The other sinks get that `SinkFailed`
    after the event that caused it, so every sink sees the events in the order
    they happened, however many sinks fail and on which event.

    Args:
        sinks: the sinks, in the order they are called.
        boot: the boot's name, for `SinkFailed`.
        now: seconds since the boot started, for `SinkFailed`.
    """

    def __init__(self, sinks: Iterable[EventSink], *, boot: str, now: Callable[[], float]) -> None:
        self._sinks = list(sinks)
        self._boot = boot
        self._now = now

    def __repr__(self) -> str:
        return f"<SinkGroup {self._boot!r} sinks={len(self._sinks)}>"

    def __bool__(self) -> bool:
        return bool(self._sinks)

    def __call__(self, event: Event) -> None:
        """Hand `event` to every attached sink; report each sink that raised."""
        if len(self._sinks) == 1:  # the common case: nobody else to tell if it raises
            sink = self._sinks[0]
            try:
                sink(event)
            except Exception:  # a sink must not raise: detach it
                self._sinks.remove(sink)
            return
        pending = [event]
        while pending:
            current = pending.pop(0)
            for sink in tuple(self._sinks):
                try:
                    sink(current)
                except Exception as exc:  # a sink must not raise: detach it, say so
                    self._sinks.remove(sink)
                    failed = SinkFailed(
                        boot=self._boot,
                        at=self._now(),
                        sink=safe_repr(sink)[:200],
                        error=describe_exception(exc),
                    )
                    pending.append(failed)
