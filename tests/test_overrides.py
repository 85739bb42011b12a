"""`Boot.override` and `Boot.replace`: copies of a boot for tests and local runs."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from orchestrator import (
    Boot,
    BootAborted,
    BootReport,
    BootState,
    GateResult,
    GraphError,
    Retry,
)
from orchestrator.cli import main

BOOTS = Path(__file__).parent / "boots"


def shop(ran: list[str]) -> Boot:
    """settings -> database (torn down) -> orders; `guard` only orders the database."""
    boot = Boot("shop")

    @boot.phase()
    def settings() -> str:
        ran.append("settings")
        return "dsn"

    @boot.phase()
    def guard(settings: str) -> None:
        ran.append("guard")

    @boot.phase(after="guard", timeout=3, retry=Retry(attempts=2))
    async def database(settings: str) -> AsyncIterator[str]:
        ran.append("database")
        yield f"db({settings})"
        ran.append("database teardown")

    @boot.phase()
    def orders(database: str) -> str:
        ran.append("orders")
        return f"orders over {database}"

    return boot


@pytest.mark.anyio
async def test_dependents_receive_the_fixed_value_of_an_overridden_phase() -> None:
    async with shop([]).override(database="fake-db").start(sinks=[]) as running:
        assert running.resources["orders"] == "orders over fake-db"


@pytest.mark.anyio
async def test_an_overridden_phase_does_not_run_and_has_no_teardown() -> None:
    ran: list[str] = []
    await shop(ran).override(database="fake-db").run_once(sinks=[])
    assert "database" not in ran
    assert "database teardown" not in ran


@pytest.mark.anyio
async def test_what_only_the_overridden_phase_waited_for_is_not_started() -> None:
    ran: list[str] = []
    boot = shop(ran).override(database="fake-db")
    report = await boot.run_once(sinks=[])
    assert ran == ["orders"]
    assert boot.plan().left_out == ("settings", "guard")
    assert report.left_out == ("settings", "guard")


def test_a_phase_another_phase_still_needs_is_started() -> None:
    boot = shop([])

    @boot.phase()
    def audit(settings: str) -> None: ...

    assert boot.override(database="fake-db").plan().left_out == ("guard",)


def test_override_leaves_the_original_boot_as_it_was() -> None:
    boot = shop([])
    before = boot.plan().fingerprint
    boot.override(database="fake-db")
    boot.replace("orders", lambda database: None)
    assert boot.plan().fingerprint == before
    assert boot.plan().overrides == ()
    assert boot.plan().order == ("settings", "guard", "database", "orders")


def test_overriding_an_unknown_phase_raises_graph_error_with_a_guess() -> None:
    with pytest.raises(GraphError, match=r"override\(\) names unknown phase 'databse'") as error:
        shop([]).override(databse="fake-db")
    assert "did you mean 'database'?" in error.value.diagnostic.summary


def test_replacing_an_unknown_phase_raises_graph_error() -> None:
    with pytest.raises(GraphError, match=r"replace\(\) names unknown phase 'cache'"):
        shop([]).replace("cache", lambda: None)


@pytest.mark.anyio
async def test_a_replaced_phase_runs_the_other_function_with_the_same_options() -> None:
    ran: list[str] = []

    async def in_memory_database() -> str:
        ran.append("in-memory")
        return "memory-db"

    boot = shop(ran).replace("database", in_memory_database)
    replaced = boot.plan()["database"]
    original = shop([]).plan()["database"]
    assert (replaced.timeout, replaced.retry, replaced.after) == (
        original.timeout,
        original.retry,
        original.after,
    )
    async with boot.start(sinks=[]) as running:
        assert running.resources["orders"] == "orders over memory-db"
    assert "database" not in ran
    assert "in-memory" in ran


def test_a_replaced_phase_waits_for_what_the_new_function_names() -> None:
    boot = shop([]).replace("database", lambda: "memory-db")
    assert boot.plan().left_out == ()  # settings and guard: still waited for by after=
    assert boot.plan()["database"].requires == ()


def test_an_overridden_plan_has_another_fingerprint() -> None:
    real = shop([]).plan().fingerprint
    assert shop([]).override(orders="fixed").plan().fingerprint != real
    assert shop([]).replace("orders", lambda database: None).plan().fingerprint != real


def test_the_same_overrides_give_the_same_fingerprint() -> None:
    first = shop([]).override(database="one").plan().fingerprint
    assert shop([]).override(database="two").plan().fingerprint == first


def test_overrides_accumulate_and_a_later_one_wins() -> None:
    boot = shop([]).override(database=1).override(orders="x").override(database="db")
    assert [(o.phase, o.replacement) for o in boot.plan().overrides] == [
        ("database", "builtins.str"),
        ("orders", "builtins.str"),
    ]


def test_the_plan_as_data_lists_the_overrides() -> None:
    data = shop([]).override(database="fake-db").plan().to_dict()
    assert data["overrides"] == [
        {"how": "value", "phase": "database", "replacement": "builtins.str"}
    ]
    assert data["left_out"] == ["settings", "guard"]


@pytest.mark.anyio
async def test_the_report_records_the_overrides_and_reads_them_back() -> None:
    report = await shop([]).override(database="fake-db").run_once(sinks=[])
    again = BootReport.from_json(report.to_json())
    assert again.overrides == report.overrides
    assert [o.phase for o in again.overrides] == ["database"]
    assert again.left_out == ("settings", "guard")


def test_a_report_written_before_overrides_existed_reads_as_having_none() -> None:
    written = BootReport(
        boot="b", fingerprint="f", state=BootState.READY, started_at="", duration=0.0
    )
    data = json.loads(written.to_json())
    del data["overrides"], data["left_out"]
    report = BootReport.from_dict(data)
    assert (report.overrides, report.left_out) == ((), ())


@pytest.mark.anyio
async def test_a_fixed_value_given_to_a_gate_is_judged_as_its_result() -> None:
    boot = Boot("gated")

    @boot.gate()
    def ready() -> GateResult:
        return GateResult(True)

    refused = boot.override(ready=GateResult(False, ("overridden to refuse",)))
    with pytest.raises(BootAborted) as aborted:
        await refused.run_once(sinks=[])
    assert aborted.value.diagnostic.kind == "gate_failed"
    assert aborted.value.diagnostic.details == ("overridden to refuse",)


def test_smd_plan_says_the_plan_is_overridden(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", f"{BOOTS}/overridden.py"]) == 0
    out = capsys.readouterr().out
    assert "OVERRIDDEN: this is not the real boot 'cli-ok'" in out
    assert "database = a fixed builtins.str (not run, no teardown)" in out
    assert "not started (only overridden phases waited for them): settings" in out


def test_smd_plan_as_json_lists_the_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["plan", f"{BOOTS}/overridden.py", "--format", "json"]) == 0
    plan = json.loads(capsys.readouterr().out)
    assert [o["phase"] for o in plan["overrides"]] == ["database"]
    assert plan["left_out"] == ["settings"]
