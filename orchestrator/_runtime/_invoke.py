"""Calling a phase in each of its styles, and the teardown each style leaves behind."""

from __future__ import annotations

import contextlib
import contextvars
import functools
import inspect
import sys
import threading
import traceback
import types
import weakref
from collections.abc import Awaitable, Callable, Coroutine, Generator
from typing import Any

import anyio
import anyio.from_thread
import anyio.lowlevel

from .._model._phase import PhaseSpec, PhaseStyle

Teardown = Callable[[], Awaitable[None]]


class NothingYielded(RuntimeError):
    """A generator phase finished without yielding the value its dependents need."""


# Threads are a process-wide fact: a phase abandoned in one by any boot keeps it busy
# until its function returns, and the `smd` command must not wait for it at exit.
_ABANDONED: weakref.WeakSet[threading.Thread] = weakref.WeakSet()


def abandoned_threads() -> list[threading.Thread]:
    """Worker threads still running a sync phase that was abandoned at its deadline."""
    return [thread for thread in _ABANDONED if thread.is_alive()]


class AttemptTrace:
    """What one attempt leaves behind besides its value: where it was stuck, its thread."""

    __slots__ = ("abandoned", "stuck")

    def __init__(self) -> None:
        self.stuck: traceback.StackSummary | None = None
        self.abandoned: threading.Thread | None = None

    def note_cancelled(self, exc: BaseException) -> None:
        """Keep where the attempt was waiting when cancelled (its await chain)."""
        if self.stuck is None:
            self.stuck = stack_of(exc)


def stack_of(exc: BaseException) -> traceback.StackSummary | None:
    """Where `exc` was raised: for a cancellation, the await chain the attempt was waiting in."""
    return None if exc.__traceback__ is None else traceback.extract_tb(exc.__traceback__)


CURRENT_ATTEMPT: contextvars.ContextVar[AttemptTrace | None] = contextvars.ContextVar(
    "smd_current_attempt", default=None
)
"""The attempt the current task is running, so a worker thread can report where it hung."""


@types.coroutine
def in_context(
    context: contextvars.Context, coro: Coroutine[Any, Any, Any], on_wait: Callable[[], None]
) -> Generator[Any, Any, Any]:
    """Drive `coro` in the running task, every step inside `context`.

    What a task of its own gives a phase (its context variables are its own)
    without creating the task: the engine runs phases one after another in the
    same task, and `on_wait` is called the first time `coro` waits, before the
    event loop gets control, so that the engine can hand the others on.
    """
    try:
        step = context.run(coro.send, None)
    except StopIteration as done:
        return done.value
    on_wait()
    return (yield from continued(context, coro, step))


@types.coroutine
def continued(
    context: contextvars.Context, coro: Coroutine[Any, Any, Any], step: Any
) -> Generator[Any, Any, Any]:
    """Go on driving `coro`, whose first step gave `step`, in the running task and in `context`.

    What `in_context` does after a phase's first wait, for a phase the engine
    stepped once itself.
    """
    while True:
        try:
            send = yield step
            error = None
        except GeneratorExit:
            coro.close()
            raise
        except BaseException as exc:  # thrown in by the event loop: handed on to the phase
            send, error = None, exc
        try:
            step = context.run(coro.send, send) if error is None else context.run(coro.throw, error)
        except StopIteration as done:
            return done.value


class _ThreadCall:
    """A sync call in a daemon thread of its own; it wakes the event loop when it returns.

    Daemon threads, one per call, never hold the process open nor a pool slot:
    an abandoned call simply runs on until its function returns.
    """

    __slots__ = ("done", "error", "finished", "function", "thread", "token", "value")

    def __init__(self, function: Callable[[], Any]) -> None:
        self.function = function
        self.token = anyio.lowlevel.current_token()
        self.done = anyio.Event()
        self.finished = False
        self.value: Any = None
        self.error: BaseException | None = None
        self.thread = threading.Thread(target=self._work, name="smd-phase", daemon=True)

    def _work(self) -> None:
        try:
            self.value = self.function()
        except BaseException as exc:  # handed to the awaiting task, whatever its class
            self.error = exc
        finally:
            self.finished = True
        with contextlib.suppress(BaseException):  # the loop may be gone: nobody waits
            anyio.from_thread.run_sync(self.done.set, token=self.token)


async def in_thread(function: Callable[..., Any], *args: Any) -> Any:
    """Run a sync callable in a daemon thread that is abandoned if cancelled."""
    call = _ThreadCall(functools.partial(function, *args))
    call.thread.start()
    try:
        await call.done.wait()
    except anyio.get_cancelled_exc_class():
        if not call.finished:
            _ABANDONED.add(call.thread)
            trace = CURRENT_ATTEMPT.get()
            if trace is not None:
                trace.abandoned = call.thread
                frame = sys._current_frames().get(call.thread.ident or -1)
                if frame is not None:
                    trace.stuck = traceback.extract_stack(frame)
        raise
    if call.error is not None:
        try:
            raise call.error
        finally:
            call.error = None
    return call.value


_EXHAUSTED = object()


def _first_value(gen: Any) -> Any:
    """`next(gen)`, but a generator that ends at once gives a marker, not StopIteration."""
    try:
        return next(gen)
    except StopIteration:
        return _EXHAUSTED


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
        return value, _AsyncGeneratorTeardown(spec.name, agen)
    if style is PhaseStyle.GENERATOR:
        gen = spec.target(**arguments)
        value = await in_thread(_first_value, gen)
        if value is _EXHAUSTED:
            raise NothingYielded(f"phase '{spec.name}' finished without yielding a value")
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


class _AsyncGeneratorTeardown:
    """Resumes an async generator phase after its yield; or discards it unrun."""

    __slots__ = ("agen", "name")

    def __init__(self, name: str, agen: Any) -> None:
        self.name = name
        self.agen = agen

    async def __call__(self) -> None:
        try:
            await self.agen.__anext__()
        except StopAsyncIteration:
            return
        await self.agen.aclose()
        raise RuntimeError(
            f"phase '{self.name}' yielded more than once; a phase yields its value once"
        )

    async def discard(self) -> None:
        """Close the generator without running its teardown (the stop budget is spent)."""
        with anyio.CancelScope() as scope, contextlib.suppress(BaseException):
            scope.cancel()
            await self.agen.aclose()


async def discard(teardown: Teardown) -> None:
    """Release a teardown that will never run, so nothing is left for the garbage collector."""
    if isinstance(teardown, _AsyncGeneratorTeardown):
        await teardown.discard()


async def _finish_generator(name: str, gen: Any) -> None:
    def finish() -> None:
        try:
            next(gen)
        except StopIteration:
            return
        gen.close()
        raise RuntimeError(f"phase '{name}' yielded more than once; a phase yields its value once")

    await in_thread(finish)
