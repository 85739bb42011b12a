"""The backend's own tasks, cancel scopes and clock, where anyio's cost more than they give.

A worker runs phases one after another until none is left to run; the engine
spawns one only when a phase waits (see `_scheduler`). On asyncio, anyio's
`start_soon` costs about four times what the loop's own `create_task` does,
and a boot whose phases wait spawns a worker for nearly every phase. There,
`NativeWorkers` spawns the loop's own tasks and gives each one what anyio's
task group would: a cancel scope of its own (so that shielded scopes inside a
phase hold when the boot is aborted), the deadline the spawning task had, the
cancellation of all of them when the task that waits for them is cancelled,
and the first error a worker raised, re-raised by that task. On trio, anyio's
task group and cancel scope are a nursery and trio's scope underneath, which
the engine uses directly.
"""

from __future__ import annotations

import asyncio
import functools
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any, Protocol, cast

import anyio
from anyio.abc import TaskGroup

Work = Callable[[], Coroutine[Any, Any, None]]


def _on_asyncio() -> bool:
    """Whether the running backend is asyncio (else trio, the other one anyio runs on)."""
    return anyio.get_cancelled_exc_class() is asyncio.CancelledError


def loop_clock() -> Callable[[], float]:
    """The clock `anyio.current_time()` reads, without looking the backend up at every call."""
    if _on_asyncio():
        loop = asyncio.get_running_loop()
        if type(loop).time is asyncio.BaseEventLoop.time:
            return time.monotonic  # what that method returns, without the method call
        return loop.time
    import trio.lowlevel  # the backend in use: already loaded

    return trio.lowlevel.current_clock().current_time


class TrioWorkers:
    """Workers as tasks of a trio nursery (whose exit waits for them).

    anyio's task group on trio is a nursery underneath, with a task handle and
    a wrapper coroutine per task on top: the nursery alone gives every task
    the same cancel scopes, deadlines and shields.
    """

    def __init__(self, nursery: Any) -> None:
        self._nursery = nursery

    def spawn(self, work: Work) -> None:
        """Start `work` in a new task."""
        self._nursery.start_soon(work, name="smd worker")

    def cancel(self) -> None:
        """Cancel every worker (and the nursery's own task)."""
        self._nursery.cancel_scope.cancel()

    async def wait(self) -> None:
        """Nothing to do: the nursery's exit waits for its tasks."""


class NativeWorkers:
    """Workers as the asyncio loop's own tasks, each under an anyio cancel scope of its own.

    `wait()` must be awaited, inside the task group whose scope `cancel()`
    also cancels, by the task that spawned the first worker.
    """

    def __init__(self, group: TaskGroup) -> None:
        self._group = group
        self._loop = asyncio.get_running_loop()
        self._deadline = anyio.current_effective_deadline()
        self._scope_class = cancel_scope_class()
        # A task factory may run a task's first step inside `create_task` (asyncio's eager
        # tasks): such a worker yields first, so that workers never nest in their spawner.
        self._yield_first = self._loop.get_task_factory() is not None
        self._tasks: set[asyncio.Task[None]] = set()  # the loop keeps only weak references
        self._scopes: set[anyio.CancelScope] = set()
        self._cancelled = False
        self._idle: anyio.Event | None = None
        self._error: BaseException | None = None

    def spawn(self, work: Work) -> None:
        """Start `work` in a new task of the loop."""
        task = self._loop.create_task(self._worker(work), name="smd worker")
        if not task.done():
            self._tasks.add(task)

    async def _worker(self, work: Work) -> None:
        if self._yield_first:
            await asyncio.sleep(0)
        try:
            with self._scope_class(deadline=self._deadline) as scope:
                self._scopes.add(scope)
                if self._cancelled:
                    scope.cancel()
                try:
                    await work()
                except anyio.get_cancelled_exc_class():
                    raise
                except BaseException as exc:  # handed to the waiting task, as a group would
                    if self._error is None:
                        self._error = exc
                    self.cancel()
                finally:
                    self._scopes.discard(scope)
        finally:  # not a done callback: that would cost the loop one more turn per worker
            self._tasks.discard(asyncio.current_task())
            if not self._tasks and self._idle is not None:
                self._idle.set()

    def cancel(self) -> None:
        """Cancel every worker, those spawned from now on too, and the task group's task."""
        self._cancel_workers()
        self._group.cancel_scope.cancel()

    def _cancel_workers(self) -> None:
        self._cancelled = True
        for scope in tuple(self._scopes):
            scope.cancel()

    async def wait(self) -> None:
        """Return once every worker has returned; raise the first error one raised.

        Cancelled while waiting, it cancels every worker and waits for them first.
        """
        try:
            await self._until_idle()
        except anyio.get_cancelled_exc_class():
            self._cancel_workers()
            with anyio.CancelScope(shield=True):
                await self._until_idle()
            self._raise_error()
            raise
        self._raise_error()

    async def _until_idle(self) -> None:
        while self._tasks:
            self._idle = anyio.Event()
            await self._idle.wait()

    def _raise_error(self) -> None:
        error, self._error = self._error, None
        if error is not None:
            raise error


Workers = TrioWorkers | NativeWorkers


class Spawner(Protocol):
    """What services and recovery are started in: an anyio task group or a trio nursery."""

    def start_soon(
        self, function: Callable[..., Coroutine[Any, Any, Any]], /, *args: Any, name: object = None
    ) -> object:
        """Start `function(*args)` in a new task."""


class _NativeSpawner:
    """`start_soon` on `NativeWorkers`."""

    def __init__(self, workers: NativeWorkers) -> None:
        self._workers = workers

    def start_soon(
        self, function: Callable[..., Coroutine[Any, Any, Any]], /, *args: Any, name: object = None
    ) -> None:
        self._workers.spawn(functools.partial(function, *args))


@asynccontextmanager
async def open_host(group: TaskGroup) -> AsyncIterator[Spawner]:
    """Where a boot's services and recoveries run, inside `group` (which cancels them).

    The backend's own tasks, as the engine's workers are: on asyncio the loop's
    tasks, each under an anyio cancel scope of its own, waited for when the
    block ends (cancelled first if the group is); on trio a nursery.
    """
    if _on_asyncio():
        workers = NativeWorkers(group)
        try:
            yield _NativeSpawner(workers)
        finally:
            await workers.wait()
    else:
        import trio  # the backend in use: already loaded

        async with trio.open_nursery() as nursery:
            yield cast("Spawner", nursery)


def cancel_scope_class() -> Callable[..., anyio.CancelScope]:
    """The class of the cancel scopes phases run in: trio's own on trio.

    anyio's cancel scope on trio wraps trio's and only forwards to it; on
    asyncio it is the implementation.
    """
    if _on_asyncio():
        return type(anyio.CancelScope())  # the backend's own, without looking it up each time
    import trio  # the backend in use: already loaded

    return cast("Callable[..., anyio.CancelScope]", trio.CancelScope)


@asynccontextmanager
async def open_workers() -> AsyncIterator[Workers]:
    """The cheapest workers that keep anyio's semantics on the running backend.

    The block must end by awaiting `wait()`.
    """
    if _on_asyncio():
        async with anyio.create_task_group() as group:
            yield NativeWorkers(group)
    else:
        import trio  # the backend in use: already loaded

        async with trio.open_nursery() as nursery:
            yield TrioWorkers(nursery)
