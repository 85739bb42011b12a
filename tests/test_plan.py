"""`BootPlan`: deterministic order and fingerprint."""

from __future__ import annotations

import subprocess
import sys
import textwrap

from orchestrator import Boot, Retry


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
