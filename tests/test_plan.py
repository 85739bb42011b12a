"""`BootPlan`: deterministic order and fingerprint."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator, Iterator

import networkx as nx
import pytest

from orchestrator import Boot, BootPlan, GateResult, Retry
from orchestrator._model import _plan
from orchestrator._model._options import fingerprint_form


def sample() -> Boot:
    boot = Boot("sample")

    @boot.phase()
    def settings() -> None: ...

    @boot.phase(timeout=3, retry=Retry(attempts=2, delay=0.1))
    def database(settings: None) -> None: ...

    @boot.phase()
    def cache(settings: None) -> None: ...

    @boot.phase(after=["cache"])
    def api(database: None) -> None: ...

    return boot


def every_option() -> Boot:
    """A boot that sets every phase option, in every style, for pinned fingerprints."""
    boot = Boot("every-option")

    @boot.phase(description="reads the environment", expected_duration=0.25)
    def settings() -> None:
        """Ignored: description= wins."""

    @boot.phase(
        timeout=2.5,
        retry=Retry(
            attempts=4,
            delay=0.1,
            backoff=2.0,
            max_delay=1,
            on=(ConnectionError, TimeoutError),
            jitter=3,
        ),
        teardown_timeout=5,
    )
    async def database(settings: None) -> AsyncIterator[None]:
        """Opens the pool."""
        yield None

    @boot.phase(critical=False, when=lambda: True, after="database")
    def cache(settings: None) -> Iterator[None]:
        yield None

    @boot.phase(when=False, timeout=1)
    async def metrics() -> None: ...

    @boot.gate(after=["cache", "metrics"], retry=Retry())
    def schema_is_current(database: None) -> GateResult:
        return GateResult(True)

    class Component:
        async def start(self, database: None, ctx: object) -> None: ...

        async def stop(self) -> None: ...

    boot.add(Component(), name="api", when=True, expected_duration=0)
    return boot


def test_plan_is_a_topological_order_keyed_by_declaration() -> None:
    boot = Boot("decl")
    boot.add(lambda b: None, name="c")
    boot.add(lambda: None, name="b")
    boot.add(lambda: None, name="a")
    assert boot.plan().order == ("b", "c", "a")


def test_plan_lists_edges_with_their_kind() -> None:
    edges = {(e.dependency, e.dependent, e.kind) for e in sample().plan().edges}
    assert edges == {
        ("settings", "database", "requires"),
        ("settings", "cache", "requires"),
        ("database", "api", "requires"),
        ("cache", "api", "after"),
    }


def test_same_declaration_gives_the_same_fingerprint() -> None:
    assert sample().plan().fingerprint == sample().plan().fingerprint
    assert len(sample().plan().fingerprint) == 12


def test_fingerprint_changes_when_an_option_changes() -> None:
    boot = sample()
    boot.add(lambda: None, name="extra", timeout=1)
    other = sample()
    other.add(lambda: None, name="extra", timeout=2)
    assert boot.plan().fingerprint != other.plan().fingerprint


def test_fingerprint_is_the_same_in_another_process_with_another_hash_seed() -> None:
    script = textwrap.dedent(
        """
        import sys
        sys.path.insert(0, "tests")
        from test_plan import sample
        print(sample().plan().fingerprint)
        """
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": ""},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outputs == {sample().plan().fingerprint}


def test_plan_as_data_is_stable() -> None:
    data = sample().plan().to_dict()
    assert data["schema"] == "smd.plan/1"
    assert [p["name"] for p in data["phases"]] == ["settings", "database", "cache", "api"]


def test_fingerprints_of_known_declarations_never_change() -> None:
    # Reports are compared across releases by fingerprint: the canonical form is frozen.
    assert sample().plan().fingerprint == "cb30c244e421"
    assert every_option().plan().fingerprint == "5e4c4190254e"


def one_shot_fingerprint(plan: BootPlan) -> str:
    """The fingerprint as the sha256 of the whole canonical form dumped in one `json.dumps`."""
    canonical = {
        "boot": plan.boot,
        "phases": [fingerprint_form(spec.canonical()) for spec in plan.phases],
        "edges": [[edge.dependency, edge.dependent, edge.kind] for edge in plan.edges],
    }
    if plan.overrides:
        canonical["overrides"] = [override.to_dict() for override in plan.overrides]
    if plan.budget is not None:
        canonical["budget"] = plan.budget
    text = json.dumps(canonical, sort_keys=True, separators=(",", ":"), default=repr)
    return hashlib.sha256(text.encode()).hexdigest()[:12]


def test_fingerprint_of_a_large_plan_is_the_sha256_of_its_whole_canonical_json() -> None:
    boot = Boot("large", budget=30)
    boot.add(lambda: None, name="p0", retry=Retry(attempts=3), budget=2)
    for index in range(1, 450):
        needs = ", ".join(f"p{i}" for i in range(max(0, index - 3), index, 2))
        boot.add(eval(f"lambda {needs}: None"), name=f"p{index}", after=f"p{index // 2}")
    plan = boot.override(p3="fixed").replace("p5", lambda p4: None).plan()
    assert len(plan.phases) > 400
    assert plan.overrides
    assert plan.fingerprint == one_shot_fingerprint(plan)


def test_planning_sorts_once_and_builds_no_networkx_graph(monkeypatch: pytest.MonkeyPatch) -> None:
    sorts: list[int] = []
    ready_order = _plan._ready_order

    def counted(declared: object) -> list[int]:
        sorts.append(1)
        return ready_order(declared)  # type: ignore[arg-type]

    def refused(*args: object, **kwargs: object) -> None:
        raise AssertionError("the plan of an acyclic declaration needs no networkx graph")

    monkeypatch.setattr(_plan, "_ready_order", counted)
    monkeypatch.setattr(nx, "DiGraph", refused)
    assert sample().plan().order == ("settings", "database", "cache", "api")
    assert len(sorts) == 1
