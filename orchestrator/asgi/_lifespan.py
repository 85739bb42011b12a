"""The ASGI lifespan that runs a boot: booted before the app serves, torn down after."""

from __future__ import annotations

import logging
import sys
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, AsyncExitStack, asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

import anyio

from .._model._diagnostic import Diagnostic
from .._model._errors import BootAborted, BootError, GraphError
from .._model._plan import BootPlan
from .._runtime._interrupt import BootInterrupt
from .._runtime._running import RunningBoot
from .._runtime._sinks import StructlogSink
from .._runtime._termination import try_write_termination_message
from ..health import BootProgress, HealthSource, LoopWatch
from ..systemd import SystemdNotifier

if TYPE_CHECKING:
    from .._boot import Boot

STATE_KEY = "smd"
LIFESPAN_KEY = "smd_lifespan"


class StartupRefused(BootError):
    """The boot behind an ASGI lifespan did not reach READY; the server must not start.

    The full diagnostic has already been printed once; this error is the one
    line an ASGI server logs, so a refused start reads as a diagnostic rather
    than as a traceback.

    Attributes:
        diagnostic: why the boot was refused, or None if it was interrupted before it settled.
        exit_code: the process exit code for this refusal.
    """

    def __init__(self, boot: str, diagnostic: Diagnostic | None, exit_code: int) -> None:
        self.boot = boot
        self.diagnostic = diagnostic
        self.exit_code = exit_code
        why = (
            f"{diagnostic.kind}: {diagnostic.summary}"
            if diagnostic is not None
            else "interrupted by a signal"
        )
        super().__init__(f"boot '{boot}' refused to start ({why}); exit code {exit_code}")


class BootLifespan:
    """An ASGI lifespan that boots before the app serves and tears down after.

    Use the instance as `Starlette(lifespan=...)` or `FastAPI(lifespan=...)`.
    For as long as the lifespan runs it also watches the event loop's lag (for
    `/livez`) and sends systemd's `WATCHDOG=1` through each `SystemdNotifier`
    among the sinks.

    Args:
        boot: the boot to run.
        on_failure: shows a refused boot's diagnostic; by default it is written
            once to stderr.
        termination_log: if given, a refused boot's diagnostic is also written
            there as JSON (Kubernetes `terminationMessagePath`).
        loop_watch: the `LoopWatch` behind `/livez`; True (the default) for one
            with its default threshold, False for none (`/livez` then always passes).
        **start_options: passed to `boot.start()` (`deadline`, `max_concurrency`,
            `stop_timeout`, `sinks`).

    Attributes:
        running: the running boot, once it is READY or DEGRADED.
        progress: the boot's phases as its events report them, from its start.
        refused: why the boot was refused, if it was.
        failure: why the boot failed in service, if it did (its diagnostic was shown).
        loop_watch: the watch behind `/livez`, or None.
    """

    def __init__(
        self,
        boot: Boot,
        *,
        on_failure: Callable[[Diagnostic], None] | None = None,
        termination_log: str | Path | None = None,
        loop_watch: LoopWatch | bool = True,
        **start_options: Any,
    ) -> None:
        self.boot = boot
        self.running: RunningBoot | None = None
        self.progress: BootProgress | None = None
        self.refused: StartupRefused | None = None
        self.failure: BootAborted | None = None
        self.loop_watch = LoopWatch() if loop_watch is True else loop_watch or None
        self._on_failure = on_failure or _print_diagnostic
        self._termination_log = termination_log
        sinks = start_options.get("sinks")
        self._sinks: tuple[Any, ...] = (StructlogSink(),) if sinks is None else tuple(sinks)
        self._start_options = {k: v for k, v in start_options.items() if k != "sinks"}
        # Created up front: a signal that arrives before the boot starts still aborts it.
        self._interrupt: BootInterrupt | None = BootInterrupt()
        self._plan: BootPlan | None = None

    def __repr__(self) -> str:
        state = self.running.state.value if self.running is not None else "not running"
        return f"<BootLifespan {self.boot.name!r} {state}>"

    def __call__(self, app: object) -> AbstractAsyncContextManager[dict[str, Any]]:
        """The lifespan context for `app`; its state holds the running boot as `smd`."""
        return self._lifespan(app)

    @property
    def plan(self) -> BootPlan | None:
        """The boot's plan, or None when its declaration is invalid (the boot will say why)."""
        if self._plan is None:
            try:
                self._plan = self.boot.plan()
            except GraphError:
                return None
        return self._plan

    @property
    def exit_code(self) -> int:
        """The process exit code so far: the diagnostic's, 1 for a stop that failed, else 0."""
        if self.refused is not None:
            return self.refused.exit_code
        if self.failure is not None:
            return self.failure.exit_code
        return 1 if self.running is not None and self.running.stop_failed else 0

    def health_source(self) -> HealthSource:
        """What the probes describe now: the running boot, its progress, or its plan."""
        if self.running is not None:
            return self.running
        return self.progress if self.progress is not None else self.plan

    def begin_draining(self) -> None:
        """Turn not-ready now and tell systemd (`STOPPING=1`) that shutdown has begun.

        Does nothing to the boot before it is running; calling it twice is harmless.
        """
        if self.running is not None:
            self.running.begin_draining()
        for sink in self._sinks:
            if isinstance(sink, SystemdNotifier):
                sink.stopping()

    def interrupt(self, signal_number: int) -> None:
        """Abort a boot in progress or about to start (a signal arrived): kind `interrupted`.

        Does nothing once the boot has finished: draining is the way to stop then.
        """
        if self._interrupt is not None:
            self._interrupt.trigger(signal_number)

    @asynccontextmanager
    async def _lifespan(self, app: object) -> AsyncIterator[dict[str, Any]]:
        state = getattr(app, "state", None)
        if state is not None:
            setattr(state, LIFESPAN_KEY, self)
        error: Exception | None = None
        async with anyio.create_task_group() as keepers:
            if self.loop_watch is not None:
                await keepers.start(self.loop_watch.run)
            for sink in self._sinks:
                if isinstance(sink, SystemdNotifier):
                    keepers.start_soon(sink.keep_alive)
            try:
                async with AsyncExitStack() as stack:
                    running = await self._boot(stack)
                    self.running = running
                    if state is not None:
                        setattr(state, STATE_KEY, running)
                    try:
                        yield {STATE_KEY: running}
                    finally:
                        self.begin_draining()
            except BootAborted as aborted:  # failed in service (a critical service was spent)
                self._report(aborted.diagnostic)
                self.failure = aborted
            except Exception as exc:  # raised below, as itself rather than in a group
                error = exc
            finally:  # the watch and the pings last until the teardown has ended
                keepers.cancel_scope.cancel()
        if error is not None:
            raise error

    async def _boot(self, stack: AsyncExitStack) -> RunningBoot:
        plan = self.plan
        self.progress = BootProgress(plan) if plan is not None else None
        sinks = self._sinks if self.progress is None else (*self._sinks, self.progress)
        try:
            start = self.boot.start(interrupt=self._interrupt, sinks=sinks, **self._start_options)
            return await stack.enter_async_context(start)
        except BootAborted as aborted:
            self._report(aborted.diagnostic)
            refused = StartupRefused(self.boot.name, aborted.diagnostic, aborted.exit_code)
        finally:
            self._interrupt = None
        self.refused = refused
        _shorten_uvicorn_traceback(refused)
        raise refused from None

    def _report(self, diagnostic: Diagnostic) -> None:
        self._on_failure(diagnostic)
        if self._termination_log is not None:
            problem = try_write_termination_message(self._termination_log, diagnostic)
            if problem is not None:  # a warning: the refusal and its exit code stand
                sys.stderr.write(f"smd: warning: {problem}\n")
                sys.stderr.flush()


def _print_diagnostic(diagnostic: Diagnostic) -> None:
    sys.stderr.write(f"{diagnostic}\n")
    sys.stderr.flush()


class _OneLineLifespanFailure(logging.Filter):
    """Turns the traceback an ASGI server logs for a refused start into one line."""

    def __init__(self, refused: StartupRefused) -> None:
        super().__init__()
        self._refused = refused
        self._line = f"{type(refused).__name__}: {refused}"

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno >= logging.ERROR and self._line in record.getMessage():
            record.msg, record.args, record.exc_info = self._line, (), None
        return True


def _shorten_uvicorn_traceback(refused: StartupRefused) -> None:
    logger = logging.getLogger("uvicorn.error")
    for existing in [f for f in logger.filters if isinstance(f, _OneLineLifespanFailure)]:
        logger.removeFilter(existing)
    logger.addFilter(_OneLineLifespanFailure(refused))
