"""The declaration of a boot: a name plus phases."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar, overload

from ._model._checks import checked_budget
from ._model._errors import GraphError
from ._model._options import RESET_AFTER
from ._model._overrides import (
    Override,
    caller_source,
    fixed_value,
    left_out,
    replacement,
    substitute,
    unknown_phase_error,
)
from ._model._phase import PhaseKind, PhaseSpec, build_spec
from ._model._plan import BootPlan, in_plan_order
from ._model._retry import Retry
from ._model._validate import find_problems
from ._runtime._collector import smd_only
from ._runtime._interrupt import BootInterrupt

if TYPE_CHECKING:
    from ._model._analyzers import AnalyzerFunction, FailureAnalyzer
    from ._model._events import EventSink
    from ._model._library import PrivatePhase
    from ._model._report import BootReport
    from ._runtime._running import RunningBoot

F = TypeVar("F", bound=Callable[..., Any])


class Boot:
    """A service's boot sequence: phases whose parameters name what they depend on.

    Args:
        name: the boot's name, shown in reports and diagnostics.
        budget: seconds the boot may take to become READY or DEGRADED; a boot
            over it emits `BudgetExceeded` (a warning, never a failure) and its
            report records it for `smd analyze REPORT budget` and `smd diff`.

    Raises:
        TypeError: `budget` is not a number.
        ValueError: `budget` is not a finite number of seconds greater than 0.
    """

    def __init__(self, name: str, *, budget: float | None = None) -> None:
        self.name = name
        self.budget = checked_budget(budget)
        self._declared: list[PhaseSpec] = []
        self._plan: BootPlan | None = None
        self._running = False
        self._stand_ins: dict[str, tuple[Override, PhaseSpec]] = {}
        self._exports: tuple[str, ...] | None = None
        self._private: dict[str, PrivatePhase] = {}
        self._analyzers: list[FailureAnalyzer] = []

    def __repr__(self) -> str:
        return f"<Boot {self.name!r} phases={len(self._declared)}>"

    @property
    def phases(self) -> tuple[PhaseSpec, ...]:
        """The phases as declared, in declaration order."""
        return tuple(self._declared)

    @overload
    def phase(self, function: F, /) -> F: ...
    @overload
    def phase(
        self,
        function: None = None,
        /,
        *,
        name: str | None = None,
        after: Iterable[str] | str = (),
        timeout: float | None = None,
        retry: Retry | None = None,
        critical: bool = True,
        when: Callable[[], object] | bool | None = None,
        teardown_timeout: float | None = None,
        description: str | None = None,
        expected_duration: float | None = None,
        restart: Retry | None = None,
        recover: Retry | None = None,
        reset_after: float | None = RESET_AFTER,
        budget: float | None = None,
    ) -> Callable[[F], F]: ...
    def phase(self, function: F | None = None, /, **options: Any) -> F | Callable[[F], F]:
        """Declare a phase; use as `@boot.phase` or `@boot.phase(timeout=...)`."""
        return self._decorate("phase", function, options)

    @overload
    def gate(self, function: F, /) -> F: ...
    @overload
    def gate(
        self,
        function: None = None,
        /,
        *,
        name: str | None = None,
        after: Iterable[str] | str = (),
        timeout: float | None = None,
        retry: Retry | None = None,
        critical: bool = True,
        when: Callable[[], object] | bool | None = None,
        teardown_timeout: float | None = None,
        description: str | None = None,
        expected_duration: float | None = None,
        restart: Retry | None = None,
        recover: Retry | None = None,
        reset_after: float | None = RESET_AFTER,
        budget: float | None = None,
    ) -> Callable[[F], F]: ...
    def gate(self, function: F | None = None, /, **options: Any) -> F | Callable[[F], F]:
        """Declare a gate: a phase that decides whether the boot may continue."""
        return self._decorate("gate", function, options)

    @overload
    def service(self, function: F, /) -> F: ...
    @overload
    def service(
        self,
        function: None = None,
        /,
        *,
        name: str | None = None,
        after: Iterable[str] | str = (),
        timeout: float | None = None,
        retry: Retry | None = None,
        critical: bool = True,
        when: Callable[[], object] | bool | None = None,
        teardown_timeout: float | None = None,
        description: str | None = None,
        expected_duration: float | None = None,
        restart: Retry | None = None,
        recover: Retry | None = None,
        reset_after: float | None = RESET_AFTER,
        budget: float | None = None,
    ) -> Callable[[F], F]: ...
    def service(self, function: F | None = None, /, **options: Any) -> F | Callable[[F], F]:
        """Declare a service: an `async def` that keeps running while the boot is in service.

        It calls `ctx.started(value)` once it serves (dependents receive `value`;
        a service without `ctx` has started as soon as it runs, with None) and
        runs until the stop reaches it in teardown order, where it is
        cancelled. `timeout=` and `retry=` apply to its start, up to
        `ctx.started`. When it raises or returns after that, it is restarted on
        `restart=Retry(...)` (each restart a `PhaseRestarting` event); once the
        service has run `reset_after` seconds without stopping, its restarts
        are whole again. When they are spent, a critical service stops the boot
        in order (FAILED, `phase_failed`, exit 69) and a non-critical one leaves
        it DEGRADED.
        """
        return self._decorate("service", function, options)

    def add(self, target: object, *, kind: PhaseKind = "phase", **options: Any) -> PhaseSpec:
        """Declare a function or an object with `start`/`stop` as a phase.

        Returns:
            The declared `PhaseSpec`.
        """
        spec = build_spec(target, kind=kind, **options)
        self._declared.append(spec)
        self._plan = None
        return spec

    def export(self, *names: str) -> None:
        """Let boots that include this one depend on `names`; its other phases become private.

        A library that never calls `export` exports every phase. Once included,
        a private phase may be depended on only by the phases included with it;
        anything else that names it is refused by `validate()`, with the phases
        the library does export.
        """
        self._exports = (*(self._exports or ()), *names)
        self._plan = None

    def include(self, other: Boot | Iterable[PhaseSpec], *, namespace: str | None = None) -> None:
        """Add every phase of another boot (a library) or a list of phases after this boot's own.

        Args:
            other: a `Boot` used as a library, or `PhaseSpec` objects.
            namespace: a prefix for the included phases' names: `namespace="db"`
                makes the library's `pool` this boot's `db_pool`, so two libraries
                that each have a `settings` phase fit in one boot. Inside the
                library, phases keep naming each other by their own names.

        Raises:
            TypeError: `other` is neither a Boot nor PhaseSpec objects.
            ValueError: `namespace` is not a Python identifier.
            GraphError: the library exports a phase it does not declare.
        """
        from ._model._library import include_library, namespace_problems  # loaded on first use

        for problem in namespace_problems(namespace):
            raise ValueError(f"include(): {problem}")
        specs = other.phases if isinstance(other, Boot) else tuple(other)
        for spec in specs:
            if not isinstance(spec, PhaseSpec):
                raise TypeError(f"include() takes a Boot or PhaseSpec objects, got {spec!r}")
        if isinstance(other, Boot):
            unknown = [n for n in other._exports or () if n not in {s.name for s in specs}]
            if unknown:
                raise unknown_phase_error(
                    other.name, unknown[0], [s.name for s in specs], f"export() of '{other.name}'"
                )
            specs, private = include_library(
                other.name,
                specs,
                namespace=namespace,
                exports=other._exports,
                private=other._private,
            )
            self._private.update(private)
        elif namespace is not None:
            specs, _ = include_library(
                "phases", specs, namespace=namespace, exports=None, private={}
            )
        self._declared.extend(specs)
        if isinstance(other, Boot):
            self._analyzers.extend(other._analyzers)
        self._plan = None

    def failure_analyzer(
        self, exception_type: type[BaseException], function: AnalyzerFunction
    ) -> None:
        """Explain a failure better: `function(exc)` gives the description and the action.

        When a phase fails with an instance of `exception_type` (anywhere in its
        chain), the diagnostic shows what `function` returns (a `FailureAnalysis`;
        None when it has nothing to say) instead of the generic "fix the cause".
        Analyzers are asked in registration order, before the ones smd ships.

        Args:
            exception_type: the exception class (subclasses included).
            function: takes the exception, returns a `FailureAnalysis` or None.

        Raises:
            TypeError: `exception_type` is not an exception class, or `function`
                is not callable.
        """
        from ._model._analyzers import check_analyzer  # the analyzers load with the first one

        self._analyzers.append(check_analyzer(exception_type, function))

    def override(self, **values: object) -> Boot:
        """A copy of this boot in which each named phase is replaced by a fixed value.

        For tests and local runs: the phase does not run and has no teardown,
        its dependents receive the value, and what only it waited for is not
        started. The plan, its fingerprint and the report say what was
        overridden. This boot is left as it is.

        Raises:
            GraphError: a name is not a phase of this boot.
        """
        source = caller_source(1)
        copy = self._copy()
        for name, value in values.items():
            copy._stand_ins[name] = fixed_value(
                self._declared_phase(name, "override()"), value, source=source
            )
        return copy

    def replace(self, name: str, function: object) -> Boot:
        """A copy of this boot in which phase `name` runs `function`, with the same options.

        `function`'s parameters name its dependencies, as for any phase.
        This boot is left as it is.

        Raises:
            GraphError: `name` is not a phase of this boot.
        """
        copy = self._copy()
        copy._stand_ins[name] = replacement(self._declared_phase(name, "replace()"), function)
        return copy

    @property
    def overrides(self) -> tuple[Override, ...]:
        """What `override` and `replace` changed, in the order they were made."""
        return tuple(override for override, _ in self._stand_ins.values())

    def _declared_phase(self, name: object, call: str) -> PhaseSpec:
        for spec in self._declared:
            if spec.name == name:
                return spec
        raise unknown_phase_error(self.name, name, [s.name for s in self._declared], call)

    def _copy(self) -> Boot:
        copy = object.__new__(Boot)
        for key, value in vars(self).items():  # lists and dicts are copied, not shared
            setattr(copy, key, type(value)(value) if isinstance(value, list | dict) else value)
        copy._plan = None
        copy._running = False
        return copy

    def _effective(self) -> list[PhaseSpec]:
        """The declaration with the overridden phases' stand-ins in place."""
        return substitute(self._declared, {n: spec for n, (_, spec) in self._stand_ins.items()})

    def validate(self) -> None:
        """Check the declaration without running anything.

        Raises:
            GraphError: listing every problem (cycles, unknown or duplicate
                names, bad options), not only the first.
        """
        self._refuse_problems(self._effective())

    def _refuse_problems(self, effective: list[PhaseSpec], *, acyclic: bool | None = None) -> None:
        problems = find_problems(self.name, effective, acyclic=acyclic)
        if self._private:  # only an included library keeps phases private
            from ._model._library import privacy_problems

            problems += privacy_problems(self.name, effective, self._private)
        if problems:
            raise GraphError(problems)

    def plan(self) -> BootPlan:
        """The deterministic plan of this boot (validated first).

        Raises:
            GraphError: the declaration is invalid.
        """
        if self._plan is None:
            with smd_only():  # smd's own code: it allocates the plan, no garbage
                self._plan = self._planned()
        return self._plan

    def _planned(self) -> BootPlan:
        """Validate the declaration and plan it (`plan` caches the result)."""
        effective = self._effective()
        ordered = in_plan_order(effective)  # what is on or behind a cycle is left out
        self._refuse_problems(effective, acyclic=len(ordered) == len(effective))
        dropped = left_out(self._declared, effective) if self._stand_ins else ()
        if dropped:  # nothing kept waits for a dropped phase: the rest keep their order
            ordered = tuple(spec for spec in ordered if spec.name not in dropped)
        return BootPlan.from_order(
            self.name,
            ordered,
            overrides=self.overrides,
            left_out=dropped,
            budget=self.budget,
        )

    def start(
        self,
        *,
        max_concurrency: int | None = None,
        deadline: float | None = None,
        stop_timeout: float | None = None,
        sinks: Iterable[EventSink] | None = None,
        handle_signals: bool = False,
        interrupt: BootInterrupt | None = None,
    ) -> AbstractAsyncContextManager[RunningBoot]:
        """Boot on entry (or raise `BootAborted`); stop in order on exit.

        Args:
            max_concurrency: at most this many phases start (and tear down) at once
                (None: no limit).
            deadline: seconds for the whole boot.
            stop_timeout: seconds for the whole stop; teardowns not finished by
                then are reported TEARDOWN_FAILED ("stop timeout").
            sinks: receivers of the boot's events; None means the structlog sink.
            handle_signals: own SIGINT/SIGTERM from the start of the boot until
                its teardown has ended: the first aborts a boot in progress or
                stops one in service; none ever skips a teardown.
            interrupt: a `BootInterrupt` with the same effect as a signal, for
                hosts that own the signal handlers.

        Raises:
            TypeError: an argument has the wrong type.
            ValueError: an argument is out of range; the message names it.
        """
        from ._model._validate import check_run_arguments
        from ._runtime._running import open_boot

        check_run_arguments(
            max_concurrency=max_concurrency, deadline=deadline, stop_timeout=stop_timeout
        )
        if interrupt is not None and not isinstance(interrupt, BootInterrupt):
            raise TypeError(f"interrupt must be a BootInterrupt, got {type(interrupt).__name__}")
        return _guarded(
            self,
            open_boot(
                self.plan(),
                max_concurrency=max_concurrency,
                deadline=deadline,
                stop_timeout=stop_timeout,
                sinks=sinks,
                handle_signals=bool(handle_signals),
                interrupt=interrupt,
                analyzers=tuple(self._analyzers),
            ),
        )

    async def run_once(
        self,
        *,
        max_concurrency: int | None = None,
        deadline: float | None = None,
        stop_timeout: float | None = None,
        sinks: Iterable[EventSink] | None = None,
        handle_signals: bool = False,
        interrupt: BootInterrupt | None = None,
    ) -> BootReport:
        """Boot, tear down, and return the final report (the same options as `start`).

        Raises:
            BootAborted: the boot failed; it was torn down first.
        """
        async with self.start(
            max_concurrency=max_concurrency,
            deadline=deadline,
            stop_timeout=stop_timeout,
            sinks=sinks,
            handle_signals=handle_signals,
            interrupt=interrupt,
        ) as running:
            pass
        with smd_only():
            return running.report

    def serve(self, **options: Any) -> int:
        """Boot, wait for SIGINT/SIGTERM, stop in order; returns the process exit code.

        0 after an orderly stop whose teardowns all completed, 1 when a teardown
        failed or the stop budget ran out, else the diagnostic's exit code.
        Takes the options of `start` and `backend=` ("asyncio" or "trio").
        """
        from ._runtime._serve import serve

        return serve(self, **options)

    def _decorate(
        self, kind: PhaseKind, function: F | None, options: dict[str, Any]
    ) -> F | Callable[[F], F]:
        def declare(target: F) -> F:
            self.add(target, kind=kind, **options)
            return target

        return declare(function) if function is not None else declare


@asynccontextmanager
async def _guarded(
    boot: Boot, running: AbstractAsyncContextManager[RunningBoot]
) -> AsyncIterator[RunningBoot]:
    """One run of a `Boot` at a time: its phases' values and teardowns are not shared."""
    if boot._running:
        raise RuntimeError(
            f"boot '{boot.name}' is already running (started twice at once, or from inside "
            "one of its own phases); declare a second Boot for a second run at the same time"
        )
    boot._running = True
    try:
        async with running as view:
            yield view
    finally:
        boot._running = False
