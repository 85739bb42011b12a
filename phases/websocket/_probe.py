"""Time-bounded calls, probe sockets and the neutralising of the factory's text."""

from __future__ import annotations

import functools
import inspect
import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.lowlevel
import anyio.to_thread

from orchestrator import mask_secrets

_TAG = re.compile(r"msg-[0-9a-f]{12}")
# Walking a message the manager built is bounded: it may be huge or contain itself.
_WALK_BUDGET = 2_000


def neutralise(text: str) -> str:
    """Show control characters (terminal escapes, bidi overrides, newlines) as escapes.

    Text that comes from the factory (exception messages, class names) is printed
    on the operator's terminal; it must not be able to drive that terminal.
    """
    if text.isprintable():
        return text
    return "".join(char if char.isprintable() else ascii(char)[1:-1] for char in text)


def describe_error(error: BaseException) -> str:
    """Render `Type: message` on one line, masked, neutralised and short, whatever `str()` does."""
    name = neutralise(type(error).__name__)
    try:
        text = str(error)
    except BaseException:  # An exception whose str() raises is still shown.
        return f"{name} (its message could not be rendered)"
    lines = text.splitlines()
    text = neutralise(mask_secrets(lines[0])) if lines else ""
    if len(text) > 120:
        text = f"{text[:117]}..."
    return f"{name}: {text}" if text else name


def tags_in(message: object) -> list[str]:
    """The probe tags anywhere in `message`: dict values and keys, lists, text or bytes."""
    found: list[str] = []
    stack = [message]
    seen: set[int] = set()
    budget = _WALK_BUDGET
    while stack and budget > 0:
        budget -= 1
        item = stack.pop()
        if isinstance(item, str):
            found.extend(_TAG.findall(item))
        elif isinstance(item, bytes | bytearray):
            found.extend(_TAG.findall(bytes(item).decode("latin-1")))
        elif id(item) in seen:
            continue
        elif isinstance(item, dict):
            seen.add(id(item))
            stack.extend(item.keys())
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            seen.add(id(item))
            stack.extend(item)
    return found


@dataclass(frozen=True, slots=True)
class Arrival:
    """One tagged message reaching one probe socket, and who was being called then."""

    tag: str
    at: float
    actor: object | None


class ProbeWebSocket:
    """An in-memory WebSocket shaped like a real one: send_json, send_text, send_bytes, close.

    It records every probe tag it receives, with the time and the call in
    progress, from any thread (a manager may deliver from a background thread).

    Args:
        stage: Tells the socket which probe call is in progress (None between calls).
    """

    def __init__(self, stage: Stage) -> None:
        self._stage = stage
        self._lock = threading.Lock()
        self.arrivals: list[Arrival] = []
        self.tags: set[str] = set()
        self.closed_by: list[object | None] = []

    def __repr__(self) -> str:
        return f"<ProbeWebSocket received={len(self.arrivals)}>"

    def _record(self, message: object) -> None:
        tags = tags_in(message)
        if not tags:
            return
        at = time.perf_counter()
        actor = self._stage.actor
        with self._lock:
            for tag in tags:
                self.arrivals.append(Arrival(tag, at, actor))
                self.tags.add(tag)

    async def send_json(self, message: dict[str, Any]) -> None:
        """Receive a JSON message."""
        self._record(message)

    async def send_text(self, data: str) -> None:
        """Receive a text frame."""
        self._record(data)

    async def send_bytes(self, data: bytes) -> None:
        """Receive a binary frame."""
        self._record(data)

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Record who closed the socket."""
        self.closed_by.append(self._stage.actor)


class BrokenProbeWebSocket:
    """An in-memory WebSocket whose every send fails, as a dropped client's does."""

    async def send_json(self, message: dict[str, Any]) -> None:
        """Fail, as a send to a vanished client does."""
        raise ConnectionError("probe connection is gone")

    async def send_text(self, data: str) -> None:
        """Fail, as a send to a vanished client does."""
        raise ConnectionError("probe connection is gone")

    async def send_bytes(self, data: bytes) -> None:
        """Fail, as a send to a vanished client does."""
        raise ConnectionError("probe connection is gone")

    async def close(self, code: int = 1000, reason: str | None = None) -> None:
        """Closing a vanished client is harmless."""


class Stage:
    """Which probe call is in progress, so an arrival can be blamed on the call that caused it.

    Only arrivals on the probe's own thread happen inside a call; one from any
    other thread came from the background, whatever the probe was doing then.
    """

    def __init__(self) -> None:
        self._thread = threading.get_ident()
        self._actor: object | None = None

    @property
    def actor(self) -> object | None:
        """The call in progress, as seen from the calling thread (None from any other)."""
        return self._actor if threading.get_ident() == self._thread else None

    @actor.setter
    def actor(self, value: object | None) -> None:
        self._actor = value


def _accept_anything(*args: object, **kwargs: object) -> None:
    return None


class Impostor:
    """Answers every attribute with a callable, as a Mock does: it passes any hasattr check."""

    def __getattr__(self, name: str) -> Callable[..., None]:
        return _accept_anything


def impostor_named_like(subject: object) -> Impostor:
    """An `Impostor` whose class has the name, qualified name and module of `subject`'s class."""
    cls = type(subject)
    namesake = type(
        cls.__name__, (Impostor,), {"__module__": cls.__module__, "__qualname__": cls.__qualname__}
    )
    return namesake()  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What a bounded call did: returned `value`, raised `error`, or timed out; and how long."""

    value: Any = None
    error: BaseException | None = None
    timed_out: bool = False
    elapsed: float = 0.0

    @property
    def returned(self) -> bool:
        """True when the call returned within its bound."""
        return self.error is None and not self.timed_out

    def describe_error(self) -> str:
        """Render the error as `Type: message`, short enough for one line."""
        return "nothing" if self.error is None else describe_error(self.error)


def call_here(function: Callable[..., Any], *args: Any, **kwargs: Any) -> Outcome:
    """Call a plain function on the calling thread, timing it; anything it raises is an outcome.

    On the event loop this is how the bridge calls `create_manager`: the time it
    took is the time the loop was blocked.
    """
    start = time.perf_counter()
    try:
        value = function(*args, **kwargs)
    except BaseException as exc:  # Factory code may raise anything: a finding.
        return Outcome(error=exc, elapsed=time.perf_counter() - start)
    return Outcome(value=value, elapsed=time.perf_counter() - start)


async def call_sync(
    bound: float, function: Callable[..., Any], *args: Any, **kwargs: Any
) -> Outcome:
    """Call a plain function in a worker thread, abandoning it if it outlives `bound` seconds.

    A hung thread cannot be killed, only abandoned; the caller moves on and
    the thread ends whenever the function does. The outcome travels in a box,
    so no exception of the factory's crosses into the event loop's machinery.
    """
    with anyio.move_on_after(bound):
        outcome: Outcome = await anyio.to_thread.run_sync(
            functools.partial(call_here, function, *args, **kwargs), abandon_on_cancel=True
        )
        return outcome
    return Outcome(timed_out=True, elapsed=bound)


async def call_async(
    bound: float, function: Callable[..., Any], *args: Any, **kwargs: Any
) -> Outcome:
    """Await a coroutine function, cancelling it if it outlives `bound` seconds.

    A cancellation the manager raises on its own (nobody cancelled the probe) is
    a finding like any other exception; a real cancellation from outside propagates.
    """
    cancelled = anyio.get_cancelled_exc_class()
    start = time.perf_counter()
    with anyio.move_on_after(bound) as scope:
        try:
            awaitable = function(*args, **kwargs)
            if not inspect.isawaitable(awaitable):
                msg = f"returned {type(awaitable).__name__}, not an awaitable"
                raise TypeError(msg)
            value = await awaitable
        except cancelled as exc:
            if scope.cancel_called:
                raise
            await anyio.lowlevel.checkpoint_if_cancelled()
            return Outcome(error=exc, elapsed=time.perf_counter() - start)
        except BaseException as exc:  # Manager code may raise anything: a finding.
            return Outcome(error=exc, elapsed=time.perf_counter() - start)
        return Outcome(value=value, elapsed=time.perf_counter() - start)
    return Outcome(timed_out=True, elapsed=bound)


class Abort(Exception):
    """A probing call hung: the rest of the run would only wait for it again."""


def method_of(subject: object, name: str, *args: object) -> Any:
    """Look `name` up on `subject` and call it, inside whatever bounds the caller set.

    Looked up inside the bounded call, so an attribute that raises (anything)
    is that call's outcome, not a crash of the probe.
    """
    return getattr(subject, name)(*args)
