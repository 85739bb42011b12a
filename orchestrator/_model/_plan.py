"""The immutable, deterministic plan of a boot and its fingerprint."""

from __future__ import annotations

import hashlib
import heapq
import json
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ._options import fingerprint_form
from ._overrides import Override
from ._phase import PhaseSpec

if TYPE_CHECKING:
    import networkx as nx

EdgeKind = Literal["requires", "after"]
T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Edge:
    """`dependent` waits for `dependency`; `kind` says whether it also receives its value."""

    dependency: str
    dependent: str
    kind: EdgeKind


def build_graph(phases: tuple[PhaseSpec, ...]) -> nx.DiGraph:
    """The phase graph: one node per phase, an edge from each dependency to its dependent.

    networkx is loaded here, on first use: a boot plans and runs without it.
    """
    import networkx as nx

    graph = nx.DiGraph()
    for index, spec in enumerate(phases):
        graph.add_node(spec.name, index=index, kind=spec.kind, spec=spec)
    for spec in phases:
        for dependency in spec.requires:
            graph.add_edge(dependency, spec.name, kind="requires")
        for dependency in spec.after:
            if not graph.has_edge(dependency, spec.name):
                graph.add_edge(dependency, spec.name, kind="after")
    return graph


def plan_order(graph: nx.DiGraph) -> list[str]:
    """The lexicographic topological order keyed by declaration order."""
    import networkx as nx

    index: Mapping[str, int] = nx.get_node_attributes(graph, "index")
    return list(nx.lexicographical_topological_sort(graph, key=index.__getitem__))


def in_plan_order(declared: Sequence[PhaseSpec]) -> tuple[PhaseSpec, ...]:
    """`plan_order` without building the graph: the ready phase declared first goes next.

    Kahn's algorithm with a heap keyed by declaration order is exactly the
    lexicographic topological sort networkx gives for the same graph.
    """
    return tuple(declared[i] for i in _ready_order(declared))


def is_acyclic(declared: Sequence[PhaseSpec]) -> bool:
    """Whether no phase waits, directly or not, for itself (undeclared names are ignored)."""
    return len(_ready_order(declared)) == len(declared)


def _ready_order(declared: Sequence[PhaseSpec]) -> list[int]:
    """Declaration indices in plan order; a phase on or behind a cycle is left out.

    The dependents are kept in flat lists of integers, not a list per phase: a
    large declaration then allocates nothing for the garbage collector to walk.
    """
    index = {spec.name: i for i, spec in enumerate(declared)}
    waiting = [0] * len(declared)
    first = [0] * (len(declared) + 1)  # dependents of i: dependents[first[i]:first[i + 1]]
    dependencies: list[int] = []
    dependents: list[int] = []
    for i, spec in enumerate(declared):
        for name in spec.waits_for:
            dependency = index.get(name)
            if dependency is not None:
                dependencies.append(dependency)
                dependents.append(i)
                first[dependency + 1] += 1
                waiting[i] += 1
    for i in range(len(declared)):
        first[i + 1] += first[i]
    slots = first[:-1]
    by_dependency = [0] * len(dependents)
    for dependency, dependent in zip(dependencies, dependents, strict=True):
        by_dependency[slots[dependency]] = dependent
        slots[dependency] += 1
    ready = [i for i, count in enumerate(waiting) if count == 0]  # ascending: a heap
    ordered: list[int] = []
    while ready:
        i = heapq.heappop(ready)
        ordered.append(i)
        for dependent in by_dependency[first[i] : first[i + 1]]:
            waiting[dependent] -= 1
            if not waiting[dependent]:
                heapq.heappush(ready, dependent)
    return ordered


def fingerprint_of(
    boot: str,
    phases: tuple[PhaseSpec, ...],
    edges: tuple[Edge, ...],
    overrides: tuple[Override, ...] = (),
    budget: float | None = None,
) -> str:
    """First 12 hex digits of a sha256 over the canonical form of the plan.

    The canonical form is the JSON text of `{"boot", "phases", "edges"}` with
    sorted keys and no spaces. Overrides and the boot's budget enter it only
    when there are some, so a plan without them keeps the fingerprint it
    always had.
    """
    encoded = {
        "boot": _json(boot),
        "phases": _json_array(phases, lambda spec: fingerprint_form(spec.canonical())),
        "edges": _json_array(edges, lambda edge: [edge.dependency, edge.dependent, edge.kind]),
    }
    if overrides:
        encoded["overrides"] = _json([override.to_dict() for override in overrides])
    if budget is not None:
        encoded["budget"] = _json(budget)
    text = "{" + ",".join(f"{_json(key)}:{encoded[key]}" for key in sorted(encoded)) + "}"
    return hashlib.sha256(text.encode()).hexdigest()[:12]


_SLICE = 100
"""Items of a large array put in canonical form at a time (`_json_array`)."""


def _json(value: object) -> str:
    """The canonical JSON text of `value`: sorted keys, no spaces, `repr` for anything else.

    The canonical form is a tree of fresh lists and dicts around validated
    values, so the encoder is spared its search for reference cycles.
    """
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), default=repr, check_circular=False
    )


def _json_array(items: Sequence[T], form: Callable[[T], object]) -> str:
    """`_json([form(item) for item in items])`, a slice at a time.

    A plan of thousands of phases then never holds every phase's form at once:
    less memory, and far fewer objects for the garbage collector to walk.
    """
    slices = (
        _json([form(item) for item in items[start : start + _SLICE]])[1:-1]
        for start in range(0, len(items), _SLICE)
    )
    return f"[{','.join(slices)}]"


@dataclass(frozen=True)
class BootPlan:
    """The phases of a boot in deterministic order, their edges and a fingerprint.

    Same declaration, same plan, same fingerprint, on every machine.
    """

    boot: str
    phases: tuple[PhaseSpec, ...]
    edges: tuple[Edge, ...]
    fingerprint: str
    _positions: dict[str, int] = field(repr=False, compare=False, default_factory=dict)
    overrides: tuple[Override, ...] = ()
    """Phases overridden for a test or a local run (`Boot.override`, `Boot.replace`)."""
    left_out: tuple[str, ...] = ()
    """Declared phases not in the plan: only overridden phases waited for them."""
    budget: float | None = None
    """Seconds the boot may take to become READY or DEGRADED (`Boot(name, budget=...)`)."""

    @classmethod
    def from_specs(
        cls,
        boot: str,
        declared: tuple[PhaseSpec, ...],
        *,
        overrides: tuple[Override, ...] = (),
        left_out: tuple[str, ...] = (),
        budget: float | None = None,
    ) -> BootPlan:
        """Plan a validated declaration (with the overrides that shaped it, if any)."""
        return cls.from_order(
            boot, in_plan_order(declared), overrides=overrides, left_out=left_out, budget=budget
        )

    @classmethod
    def from_order(
        cls,
        boot: str,
        ordered: tuple[PhaseSpec, ...],
        *,
        overrides: tuple[Override, ...] = (),
        left_out: tuple[str, ...] = (),
        budget: float | None = None,
    ) -> BootPlan:
        """Plan a validated declaration already in plan order (`in_plan_order`)."""
        position = {spec.name: i for i, spec in enumerate(ordered)}
        edges = tuple(
            Edge(name, spec.name, "requires" if name in spec.requires else "after")
            for spec in ordered
            for name in sorted(spec.waits_for, key=position.__getitem__)
        )
        fingerprint = fingerprint_of(boot, ordered, edges, overrides, budget)
        return cls(boot, ordered, edges, fingerprint, position, overrides, left_out, budget)

    @property
    def order(self) -> tuple[str, ...]:
        """Phase names in plan order."""
        return tuple(spec.name for spec in self.phases)

    def position(self, name: str) -> int:
        """Where `name` stands in plan order (0 first)."""
        return self._positions[name]

    def __getitem__(self, name: str) -> PhaseSpec:
        return self.phases[self._positions[name]]

    def __len__(self) -> int:
        return len(self.phases)

    @cached_property
    def graph(self) -> nx.DiGraph:
        """The networkx graph of the plan (a fresh copy is yours to change)."""
        return build_graph(self.phases)

    def to_dict(self) -> dict[str, Any]:
        """The plan as plain data (schema `smd.plan/1`)."""
        return {
            "schema": "smd.plan/1",
            "boot": self.boot,
            "fingerprint": self.fingerprint,
            "phases": [spec.canonical() for spec in self.phases],
            "edges": [
                {"from": e.dependency, "to": e.dependent, "kind": e.kind} for e in self.edges
            ],
            "overrides": [override.to_dict() for override in self.overrides],
            "left_out": list(self.left_out),
            "budget": self.budget,
        }


def declares_budget(plan: BootPlan) -> bool:
    """Whether the boot or any of its phases declares a budget (else nothing to check)."""
    return plan.budget is not None or any(spec.budget is not None for spec in plan.phases)
