"""Static checks of a declaration: every problem at once, each with what to do."""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from typing import TYPE_CHECKING

from ._checks import LONGEST_WAIT, closest_name, is_finite, is_number, shown
from ._options import OPTIONS_BY_NAME
from ._phase import PhaseSpec
from ._plan import build_graph, is_acyclic

if TYPE_CHECKING:
    import networkx as nx

    from ._diagnostic import Diagnostic

_NAME = OPTIONS_BY_NAME["name"]


def find_problems(
    boot: str, declared: Sequence[PhaseSpec], *, acyclic: bool | None = None
) -> list[Diagnostic]:
    """Every problem in the declaration, in declaration order, as `invalid_graph` diagnostics.

    Args:
        boot: the boot's name.
        declared: the phases as declared.
        acyclic: whether `in_plan_order(declared)` kept every phase, when the
            caller has it at hand (None: found out here). It is used only
            when the names are unique.
    """

    def problem(phase: str | None, summary: str, details: Sequence[str], action: str) -> None:
        from ._diagnostic import Diagnostic  # loaded on a mistake only

        found.append(
            Diagnostic(
                boot=boot,
                fingerprint="-",
                kind="invalid_graph",
                phase=phase,
                summary=summary,
                details=tuple(details),
                action=action,
            )
        )

    found: list[Diagnostic] = []
    if not isinstance(boot, str) or not boot.strip() or not boot.isprintable():
        problem(
            None,
            f"boot name {shown(boot)} is not a non-empty line of text",
            (),
            'Name the boot with a short printable string: Boot("chat-service").',
        )
    if not declared:
        problem(None, f"boot '{boot}' declares no phases", (), "Declare at least one phase.")
    counts = Counter(spec.name for spec in declared)
    reported_duplicates: set[str] = set()
    for spec in declared:
        for reason in _NAME.problems(spec.name):
            problem(
                spec.name,
                reason,
                [f"declared at {spec.source}"],
                "Give the phase a valid name: boot.add(target, name=...) or @boot.phase(name=...).",
            )
        if counts[spec.name] > 1 and spec.name not in reported_duplicates:
            reported_duplicates.add(spec.name)
            sources = [f"declared at {s.source}" for s in declared if s.name == spec.name]
            problem(
                spec.name,
                f"phase name '{spec.name}' is declared {counts[spec.name]} times",
                sources,
                "Give each phase a unique name (name=...).",
            )
        options = spec.problems()
        if options:
            problem(
                spec.name,
                f"phase '{spec.name}' has {len(options)} invalid option(s)",
                options,
                "Fix the options in the declaration at " + spec.source + ".",
            )
    names = list(counts)
    for spec in declared:
        for dependency in spec.waits_for:
            if dependency in counts:
                continue
            how = "a parameter" if dependency in spec.requires else "an after= name"
            guess = closest_name(dependency, names)
            hint = f"did you mean '{guess}'?" if guess else "no phase has a similar name"
            problem(
                spec.name,
                f"phase '{spec.name}' depends on unknown phase '{dependency}' ({hint})",
                [f"'{dependency}' is {how} of '{spec.name}' declared at {spec.source}"],
                (f"Rename it to '{guess}'" if guess else f"Declare a phase named '{dependency}'")
                + (
                    ", or give the parameter a default value if it is not a dependency."
                    if dependency in spec.requires
                    else f", or remove it from the after= of '{spec.name}' if "
                    f"'{spec.name}' need not wait for it."
                ),
            )
    unique = declared
    if len(counts) != len(declared):  # each name stands for the first phase declared with it
        unique = tuple({spec.name: spec for spec in reversed(declared)}.values())[::-1]
    if acyclic is None or unique is not declared:
        acyclic = is_acyclic(unique)
    if not acyclic:  # the rare case: the graph is built to find the cycles
        found += _cycles(boot, unique)
    return found


def _cycles(boot: str, unique: Sequence[PhaseSpec]) -> list[Diagnostic]:
    import networkx as nx  # loaded on a mistake only

    graph = build_graph(tuple(unique))
    graph.remove_nodes_from([n for n in list(graph) if "index" not in graph.nodes[n]])
    index = {spec.name: i for i, spec in enumerate(unique)}
    components = [
        sorted(component, key=index.__getitem__)
        for component in nx.strongly_connected_components(graph)
        if len(component) > 1 or graph.has_edge(*(next(iter(component)),) * 2)
    ]
    from ._diagnostic import Diagnostic  # loaded on a mistake only

    diagnostics = []
    for component in sorted(components, key=lambda c: index[c[0]]):
        cycle = _cycle_through(graph.subgraph(component), component[0])
        path = " -> ".join([*cycle, cycle[0]])
        diagnostics.append(
            Diagnostic(
                boot=boot,
                fingerprint="-",
                kind="invalid_graph",
                phase=component[0],
                summary=f"dependency cycle: {path} (each phase waits for the one before it)",
                details=tuple(
                    f"'{cycle[(i + 1) % len(cycle)]}' waits for '{name}'"
                    for i, name in enumerate(cycle)
                ),
                action=(
                    "Break the cycle: remove one of these dependencies, or turn one into a "
                    "parameter with a default value; smd never breaks a cycle for you."
                ),
            )
        )
    return diagnostics


def _cycle_through(component: nx.DiGraph, start: str) -> list[str]:
    """A shortest cycle through `start`, as the list of its phases in dependency order."""
    import networkx as nx

    best: list[str] | None = None
    for predecessor in component.predecessors(start):
        path = nx.shortest_path(component, start, predecessor)
        if best is None or len(path) < len(best):
            best = path
    return best if best is not None else [start]


def check_run_arguments(*, max_concurrency: object, deadline: object, stop_timeout: object) -> None:
    """Refuse bad arguments to `start`, `run_once` and `serve` where they are given.

    Args:
        max_concurrency: an int >= 1, or None for no limit.
        deadline: seconds for the whole boot (> 0, at most `LONGEST_WAIT`), or None.
        stop_timeout: seconds for the whole stop (> 0, at most `LONGEST_WAIT`), or None.

    Raises:
        TypeError: an argument has the wrong type (a bool is not a number here).
        ValueError: an argument is out of range, NaN or infinite; the message
            names the argument.
    """
    if max_concurrency is not None:
        if not isinstance(max_concurrency, int) or isinstance(max_concurrency, bool):
            raise TypeError(
                f"max_concurrency must be an int >= 1 or None, got {shown(max_concurrency)}"
            )
        if max_concurrency < 1:
            raise ValueError(
                f"max_concurrency must be >= 1 (None for no limit), got {shown(max_concurrency)}"
            )
    for argument, value in (("deadline", deadline), ("stop_timeout", stop_timeout)):
        if value is None:
            continue
        if not is_number(value):
            raise TypeError(f"{argument} must be a number of seconds or None, got {shown(value)}")
        assert isinstance(value, int | float)
        if not is_finite(value) or not 0 < value <= LONGEST_WAIT:
            raise ValueError(
                f"{argument} must be a finite number of seconds > 0 and <= {LONGEST_WAIT:g} "
                f"(None for no limit), got {shown(value)}"
            )
