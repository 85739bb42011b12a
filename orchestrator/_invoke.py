"""Calling a phase in each of its styles, and the teardown each style leaves behind."""

from __future__ import annotations

import functools
import inspect
import threading
import weakref
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.to_thread

from ._phase import PhaseSpec, PhaseStyle

Teardown = Callable[[], Awaitable[None]]


class NothingYielded(RuntimeError):
    """A generator phase finished without yielding the value its dependents need."""


# Threads are a process-wide fact: a phase abandoned in one by any boot keeps it busy
# until its function returns, and the `smd` command must not wait for it at exit.
_ABANDONED: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def abandoned_threads() -> list[threading.Thread]:
    """Worker threads still running a sync phase that was abandoned at its deadline."""
    return [thread for thread in _ABANDONED if thread.is_alive()]


class _ThreadCall:
    """A sync call that remembers which thread ran it and whether it returned."""

    __slots__ = ("finished", "function", "thread")

    def __init__(self, function: Callable[[], Any]) -> None:
        self.function = function
        self.thread: threading.Thread | None = None
        self.finished = False

    def __call__(self) -> Any:
        self.thread = threading.current_thread()
        try:
            return self.function()
        finally:
            self.finished = True


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Run a sync callable in a worker thread that is abandoned if cancelled."""
    call = _ThreadCall(functools.partial(function, *args))
    try:
        return await anyio.to_thread.run_sync(call, abandon_on_cancel=True)
    except anyio.get_cancelled_exc_class():
        if call.thread is not None and not call.finished:
            _ABANDONED.add(call.thread)
        raise


async def start_phase(spec: PhaseSpec, arguments: dict[str, Any]) -> tuple[Any, Teardown | None]:
    """Run the start of `spec` with `arguments`; return its value and its teardown, if any."""
    style = spec.style
    if style is PhaseStyle.ASYNC:
        return await spec.target(**arguments), None
    if style is PhaseStyle.SYNC:
        return await in_thread(functools.partial(spec.target, **arguments)), None
    if style is PhaseStyle.ASYNC_GENERATOR:
        agen = spec.target(**arguments)
        try:
            value = await agen.__anext__()
        except StopAsyncIteration:
            raise NothingYielded(f"phase '{spec.name}' finished without yielding a value") from None
        return value, functools.partial(_finish_async_generator, spec.name, agen)
    if style is PhaseStyle.GENERATOR:
        gen = spec.target(**arguments)
        try:
            value = await in_thread(next, gen)
        except StopIteration:
            raise NothingYielded(f"phase '{spec.name}' finished without yielding a value") from None
        return value, functools.partial(_finish_generator, spec.name, gen)
    return await _start_component(spec, arguments)


async def _start_component(
    spec: PhaseSpec, arguments: dict[str, Any]
) -> tuple[Any, Teardown | None]:
    component = spec.target
    result = await _call_maybe_async(functools.partial(component.start, **arguments))
    stop = getattr(component, "stop", None)
    value = component if result is None else result
    return value, (functools.partial(_call_maybe_async, stop) if stop is not None else None)


async def _call_maybe_async(function: Callable[[], Any]) -> Any:
    """Await an async method; run a plain one in a worker thread."""
    underlying = function.func if isinstance(function, functools.partial) else function
    if inspect.iscoroutinefunction(underlying):
        return await function()
    return await in_thread(function)


async def _finish_async_generator(name: str, agen: Any) -> None:
    try:
        await agen.__anext__()
    except StopAsyncIteration:
        return
    await agen.aclose()
    raise RuntimeError(f"phase '{name}' yielded more than once; a phase yields its value once")


async def _finish_generator(name: str, gen: Any) -> None:
    def finish() -> None:
        try:
            next(gen)
        except StopIteration:
            return
        gen.close()
        raise RuntimeError(f"phase '{name}' yielded more than once; a phase yields its value once")

    await in_thread(finish)
