"""Time-bounded calls and in-memory stand-ins the factory audit probes with."""

from __future__ import annotations

import functools
import inspect
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import anyio
import anyio.to_thread

from orchestrator import mask_secrets


def ordinary_id(kind: str) -> str:
    """A fresh id shaped like a real one, so a factory cannot tell the probe from a user."""
    return f"{kind}-{secrets.token_hex(8)}"


class ProbeWebSocket:
    """An in-memory WebSocket that records every message sent to it."""

    def __init__(self) -> None:
        self.received: list[dict[str, Any]] = []

    def __repr__(self) -> str:
        return f"<ProbeWebSocket received={len(self.received)}>"

    async def send_json(self, message: dict[str, Any]) -> None:
        """Record `message`."""
        self.received.append(message)


class BrokenProbeWebSocket:
    """An in-memory WebSocket whose every send fails, as a dropped client's does."""

    async def send_json(self, message: dict[str, Any]) -> None:
        """Fail, as a send to a vanished client does."""
        raise ConnectionError("probe connection is gone")


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
    """What a time-bounded call did: returned `value`, raised `error`, or timed out."""

    value: Any = None
    error: Exception | None = None
    timed_out: bool = False

    @property
    def returned(self) -> bool:
        """True when the call returned within its bound."""
        return self.error is None and not self.timed_out

    def describe_error(self) -> str:
        """Render the error as `Type: message`, short enough for one line."""
        if self.error is None:
            return "nothing"
        text = mask_secrets(str(self.error).splitlines()[0]) if str(self.error) else ""
        if len(text) > 120:
            text = f"{text[:117]}..."
        name = type(self.error).__name__
        return f"{name}: {text}" if text else name


async def call_sync(bound: float, function: Callable[..., Any], *args: Any) -> Outcome:
    """Call a plain function in a worker thread, abandoning it if it outlives `bound` seconds.

    A hung thread cannot be killed, only abandoned; the caller moves on and
    the thread ends whenever the function does.
    """
    with anyio.move_on_after(bound):
        try:
            (value,) = await anyio.to_thread.run_sync(
                functools.partial(_boxed, function, *args), abandon_on_cancel=True
            )
        except Exception as exc:  # The factory's own failure is a finding, not a crash.
            return Outcome(error=exc)
        return Outcome(value=value)
    return Outcome(timed_out=True)


def _boxed(function: Callable[..., Any], *args: Any) -> tuple[Any]:
    # Trio refuses a worker-thread function whose result is a coroutine; the caller
    # decides what a returned coroutine means, so it travels in a box.
    return (function(*args),)


async def call_async(bound: float, function: Callable[..., Any], *args: Any) -> Outcome:
    """Await a coroutine function, cancelling it if it outlives `bound` seconds."""
    with anyio.move_on_after(bound):
        try:
            awaitable = function(*args)
            if not inspect.isawaitable(awaitable):
                msg = f"returned {type(awaitable).__name__}, not an awaitable"
                raise TypeError(msg)
            value = await awaitable
        except Exception as exc:  # The manager's own failure is a finding, not a crash.
            return Outcome(error=exc)
        return Outcome(value=value)
    return Outcome(timed_out=True)
