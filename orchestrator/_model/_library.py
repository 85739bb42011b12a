"""Phase libraries: a boot's phases included in another under a namespace, some kept private.

In the spirit of fx modules and `fx.Private`: a library is a `Boot` whose
author may `export` the phases others may depend on (the rest stay private to
the library); an application includes it with `include(library, namespace="db")`
and its phases become `db_settings`, `db_pool`... Names stay Python identifiers
because they are parameter names: `def api(db_pool): ...`. Inside the library a
phase keeps naming its sibling by its own name (`def pool(settings)`); a name
that is not one of the library's phases names a phase of the including boot.
Every included phase's source says which library it came from, so diagnostics do.
"""

from __future__ import annotations

import dataclasses
import inspect
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from ._phase import PhaseSpec, PhaseStyle
from ._slots import slot_copier

if TYPE_CHECKING:
    from ._diagnostic import Diagnostic


@dataclass(frozen=True, slots=True)
class PrivatePhase:
    """A phase a library keeps to itself once included.

    Attributes:
        library: the library's (boot's) name.
        namespace: the namespace it was included under, or None.
        members: the phases included with it, the only ones that may depend on it.
        exported: the phases that library lets others depend on.
    """

    library: str
    namespace: str | None
    members: frozenset[str]
    exported: tuple[str, ...]


def namespaced_name(namespace: str | None, name: str) -> str:
    """`name` as it is known once included under `namespace` (`db` + `pool`: `db_pool`)."""
    return name if namespace is None else f"{namespace}_{name}"


def namespace_problems(namespace: object) -> list[str]:
    """Why `namespace` cannot prefix phase names, if it cannot."""
    if namespace is None:
        return []
    if not isinstance(namespace, str) or not namespace.isidentifier():
        return [f"namespace {namespace!r} is not a Python identifier"]
    return []


def include_library(
    library: str,
    specs: Sequence[PhaseSpec],
    *,
    namespace: str | None,
    exports: Collection[str] | None,
    private: Mapping[str, PrivatePhase],
) -> tuple[tuple[PhaseSpec, ...], dict[str, PrivatePhase]]:
    """The library's phases as the including boot knows them, and its private phases.

    Args:
        library: the library's name.
        specs: its phases, as declared.
        namespace: prefix for every one of its phase names, or None.
        exports: the names it lets others depend on; None exports every phase.
        private: the private phases of the libraries it included itself.

    Returns:
        The renamed specs, and every private phase by its new name.
    """
    renames = {spec.name: namespaced_name(namespace, spec.name) for spec in specs}
    where = f"library '{library}'" + (f" as '{namespace}'" if namespace else "")
    if namespace is None:  # nothing renamed: each phase only says where it came from
        included = tuple(_with_source(spec, source=f"{spec.source} in {where}") for spec in specs)
    else:
        included = tuple(_renamed(spec, renames, where) for spec in specs)
    members = frozenset(renames.values())
    public = set(renames if exports is None else exports)
    exported = tuple(new for old, new in renames.items() if old in public)
    hidden: dict[str, PrivatePhase] = {
        new: PrivatePhase(library, namespace, members, exported)
        for old, new in renames.items()
        if old not in public
    }
    for name, inner in private.items():  # a library's own libraries keep their secrets
        hidden[renames.get(name, name)] = dataclasses.replace(
            inner,
            members=frozenset(renames.get(member, member) for member in inner.members),
            exported=tuple(renames.get(member, member) for member in inner.exported),
        )
    return included, hidden


def privacy_problems(
    boot: str, specs: Iterable[PhaseSpec], private: Mapping[str, PrivatePhase]
) -> list[Diagnostic]:
    """A diagnostic for each phase that depends on another library's private phase."""
    if not private:
        return []
    found = []
    for spec in specs:
        for dependency in spec.waits_for:
            hidden = private.get(dependency)
            if hidden is None or spec.name in hidden.members:
                continue
            where = f"library '{hidden.library}'" + (
                f" (included as '{hidden.namespace}')" if hidden.namespace else ""
            )
            from ._diagnostic import Diagnostic  # loaded on a mistake only

            found.append(
                Diagnostic(
                    boot=boot,
                    fingerprint="-",
                    kind="invalid_graph",
                    phase=spec.name,
                    summary=f"phase '{spec.name}' depends on '{dependency}', "
                    f"which {where} keeps private",
                    details=(
                        f"'{spec.name}' is declared at {spec.source}",
                        f"{where} exports: {', '.join(hidden.exported) or 'nothing'}",
                    ),
                    action=f"Depend on a phase {where} exports, or have the library export "
                    f"the phase behind '{dependency}'.",
                )
            )
    return found


_with_source = slot_copier(PhaseSpec)
"""`dataclasses.replace(spec, source=...)` at a fraction of its cost."""


def _renamed(spec: PhaseSpec, renames: Mapping[str, str], where: str) -> PhaseSpec:
    """`spec` under its new name, waiting for its siblings by their new names."""
    source = f"{spec.source} in {where}"
    if all(renames.get(name, name) == name for name in (spec.name, *spec.waits_for)):
        return _with_source(spec, source=source)
    requires = tuple(renames.get(name, name) for name in spec.requires)
    parameters = {new: old for old, new in zip(spec.requires, requires, strict=True)}
    target = spec.target
    if any(new != old for new, old in parameters.items()):
        target = (
            _RenamedComponent(target, parameters)
            if spec.style is PhaseStyle.COMPONENT
            else _RenamedCall(target, parameters)
        )
    return dataclasses.replace(
        spec,
        name=renames.get(spec.name, spec.name),
        target=target,
        requires=requires,
        after=tuple(renames.get(name, name) for name in spec.after),
        source=source,
    )


class _RenamedCall:
    """Calls a phase function with its own parameter names, given the included names.

    It returns whatever the function returns (a coroutine, a generator, a
    value), so the phase keeps the style it was declared with.
    """

    __slots__ = ("function", "parameters")

    def __init__(self, function: Any, parameters: Mapping[str, str]) -> None:
        self.function = function
        self.parameters = dict(parameters)

    def __repr__(self) -> str:
        return f"<{self.function!r} with parameters {self.parameters}>"

    def __call__(self, **arguments: Any) -> Any:
        return self.function(**{self.parameters.get(k, k): v for k, v in arguments.items()})


class _RenamedComponent:
    """A start/stop object whose `start` is called with its own parameter names."""

    def __init__(self, component: Any, parameters: Mapping[str, str]) -> None:
        self.component = component
        renamed = _RenamedCall(component.start, parameters)

        async def start_async(**arguments: Any) -> Any:
            result = await renamed(**arguments)
            return component if result is None else result

        def start_sync(**arguments: Any) -> Any:
            result = renamed(**arguments)
            return component if result is None else result

        # The engine awaits an async start and runs a plain one in a worker thread.
        coroutine = inspect.iscoroutinefunction(component.start)
        self.start: Any = start_async if coroutine else start_sync
        stop = getattr(component, "stop", None)
        if stop is not None:
            self.stop: Any = stop

    def __repr__(self) -> str:
        return repr(self.component)
