"""Budgets declared with the boot: `Boot(name, budget=...)`, `budget=` on phases, the report,
`BudgetExceeded` in service, and the budget file laid over the declaration."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import anyio
import pytest

from orchestrator import Boot, BootState, BudgetExceeded, GraphError
from orchestrator._analysis._simulator import simulate
from orchestrator._model._budget import BOOT, Budget, budget_overruns
from orchestrator._model._report import BootReport
from orchestrator._runtime._sinks import log_level
from orchestrator.cli import main
from orchestrator.testing import capture_events

HOUR = 3600.0
TINY = 1e-6
"""Seconds no phase that sleeps can stay within."""


def sleeper_boot(*, boot: float | None = None, phase: float | None = None) -> Boot:
    declared = Boot("budgeted", budget=boot)

    async def settings() -> str:
        return "settings"

    async def cache(settings: str) -> str:
        await anyio.sleep(0.01)
        return "cache"

    declared.add(settings)
    declared.add(cache, budget=phase)
    return declared


# --- declaring ---------------------------------------------------------------------------


def test_a_boot_budget_that_is_not_a_number_is_a_type_error() -> None:
    with pytest.raises(TypeError, match="budget"):
        Boot("b", budget="fast")  # type: ignore[arg-type]


@pytest.mark.parametrize("value", [0, -1.0, float("nan"), float("inf")])
def test_a_boot_budget_that_is_not_seconds_above_0_is_a_value_error(value: float) -> None:
    with pytest.raises(ValueError, match="budget"):
        Boot("b", budget=value)


def test_a_phase_budget_that_is_not_seconds_is_refused_by_validate() -> None:
    boot = Boot("b")
    boot.add(lambda: None, name="p", budget=0)
    with pytest.raises(GraphError, match="budget"):
        boot.validate()


def test_declared_budgets_change_the_fingerprint() -> None:
    plain = sleeper_boot().plan().fingerprint
    assert plain != sleeper_boot(boot=1.0).plan().fingerprint
    assert plain != sleeper_boot(phase=1.0).plan().fingerprint


def test_budgets_are_in_the_plan() -> None:
    plan = sleeper_boot(boot=2.0, phase=0.5).plan()
    assert (plan.budget, plan["cache"].budget, plan.to_dict()["budget"]) == (2.0, 0.5, 2.0)


# --- the report --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_the_report_records_the_boot_and_phase_budgets() -> None:
    report = await sleeper_boot(boot=HOUR, phase=HOUR / 2).run_once()
    assert (report.budget, report["cache"].budget, report["settings"].budget) == (
        HOUR,
        HOUR / 2,
        None,
    )


def test_a_report_written_before_budgets_reads_back_without_them() -> None:
    document = json.loads(simulate_report(boot=1.0, cache=0.5).to_json())
    del document["budget"]
    for phase in document["phases"]:
        del phase["budget"]
    assert Budget.declared(BootReport.from_dict(document)).is_empty


def test_a_simulated_report_records_the_declared_budgets() -> None:
    report = simulate(sleeper_boot(boot=1.0, phase=0.5).plan()).to_report()
    assert Budget.declared(report) == Budget(boot=1.0, phases={"cache": 0.5})


# --- in service --------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_boot_over_its_budget_is_ready_with_a_budget_exceeded_event() -> None:
    with capture_events() as events:
        report = await sleeper_boot(boot=TINY, phase=TINY).run_once()
    (event,) = [e for e in events if isinstance(e, BudgetExceeded)]
    assert report.outcome is BootState.READY
    assert [name for name, _, _ in event.overruns] == [BOOT, "cache"]


@pytest.mark.anyio
async def test_a_boot_within_its_budget_emits_no_budget_event() -> None:
    with capture_events() as events:
        await sleeper_boot(boot=HOUR, phase=HOUR).run_once()
    assert not [e for e in events if isinstance(e, BudgetExceeded)]


@pytest.mark.anyio
async def test_the_budget_event_follows_boot_ready() -> None:
    with capture_events() as events:
        await sleeper_boot(phase=TINY).run_once()
    names = [e.name for e in events]
    assert names.index("boot.over_budget") == names.index("boot.ready") + 1


def test_a_budget_overrun_is_logged_as_a_warning() -> None:
    event = BudgetExceeded(boot="b", at=1.0, overruns=((BOOT, 0.5, 1.0),))
    assert log_level(event) == "warning"


def test_a_report_without_declared_budgets_has_no_overruns() -> None:
    report = BootReport(
        boot="b", fingerprint="x", state=BootState.READY, started_at="", duration=9.0
    )
    assert budget_overruns(report) == ()


# --- the file laid over the declaration --------------------------------------------------


def test_the_file_wins_where_both_give_a_budget() -> None:
    declared = Budget(boot=1.0, phases={"cache": 0.5, "database": 0.2})
    file = Budget(phases={"cache": 2.0})
    assert file.over(declared) == Budget(boot=1.0, phases={"cache": 2.0, "database": 0.2})


@pytest.fixture
def over_budget_file(tmp_path: Path) -> str:
    report = simulate_report(boot=TINY, cache=TINY)
    path = tmp_path / "declared.json"
    path.write_text(report.to_json())
    return str(path)


def simulate_report(*, boot: float, cache: float) -> BootReport:
    """A report of the budgeted boot, written as `run_once` would record its budgets."""
    plan = sleeper_boot(boot=boot, phase=cache).plan()
    report = simulate(plan, durations={"settings": 0.01, "cache": 0.02}).to_report()
    phases = tuple(
        dataclasses.replace(r, budget=cache) if r.name == "cache" else r for r in report.phases
    )
    return dataclasses.replace(report, budget=boot, phases=phases)


def test_analyze_budget_checks_the_declared_budget_without_a_file(
    over_budget_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", over_budget_file, "budget", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["over"], document["budget_file"], document["declared"]) == (
        [BOOT, "cache"],
        None,
        True,
    )


def test_analyze_budget_lays_the_file_over_the_declaration(
    over_budget_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    loose = tmp_path / "loose.json"
    loose.write_text(json.dumps({"phases": {"cache": 1.0}}))
    assert main(["analyze", over_budget_file, "budget", "--budget", str(loose)]) == 0
    out = capsys.readouterr().out
    assert "over the boot's declaration" in out
    assert "1 over budget: (boot)" in out


def test_diff_checks_the_new_boots_declared_budget(
    over_budget_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    code = main(["diff", over_budget_file, over_budget_file, "--fail-over-budget"])
    assert code == 1
    assert "budget of 'budgeted' from the boot's declaration" in capsys.readouterr().out


def test_a_report_with_a_budget_that_is_not_seconds_is_an_invalid_target(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    report = simulate_report(boot=1.0, cache=1.0)
    broken = dataclasses.replace(report, budget=-1.0)
    path = tmp_path / "broken.json"
    path.write_text(broken.to_json())
    assert main(["analyze", str(path), "budget"]) == 64
    assert "budget is -1.0" in capsys.readouterr().err


# --- smd run -----------------------------------------------------------------------------

RUN_TARGET = """
import time

from orchestrator import Boot

boot = Boot("budgeted", budget={budget})


@boot.phase()
def settings() -> str:
    time.sleep(0.01)
    return "settings"
"""


def run_target(tmp_path: Path, budget: float) -> str:
    path = tmp_path / "budgeted_target.py"
    path.write_text(RUN_TARGET.format(budget=budget))
    return f"{path}:boot"


def test_run_over_budget_exits_0_without_the_flag(tmp_path: Path) -> None:
    assert main(["run", "--once", run_target(tmp_path, TINY), "--log-format", "json"]) == 0


def test_run_with_fail_over_budget_exits_1_when_over(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = run_target(tmp_path, TINY)
    assert main(["run", "--once", target, "--log-format", "json", "--fail-over-budget"]) == 1
    assert "over budget (--fail-over-budget): (boot)" in capsys.readouterr().err


def test_run_with_fail_over_budget_exits_0_within_budget(tmp_path: Path) -> None:
    target = run_target(tmp_path, HOUR)
    assert main(["run", "--once", target, "--log-format", "json", "--fail-over-budget"]) == 0
