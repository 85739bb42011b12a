"""Budgets: seconds allowed for the boot and its phases, and `smd analyze REPORT budget`."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator._model._budget import BOOT, Budget
from orchestrator._model._report import BootReport, PhaseRecord
from orchestrator._model._status import BootState, PhaseStatus
from orchestrator.cli import main


def ran(name: str, start: float, end: float) -> PhaseRecord:
    return PhaseRecord(name, "phase", PhaseStatus.COMPLETED, attempts=1, start=start, end=end)


REPORT = BootReport(
    boot="shop",
    fingerprint="aaaaaaaaaaaa",
    state=BootState.STOPPED,
    started_at="2026-11-26T12:00:00Z",
    duration=1.2,
    phases=(
        ran("settings", 0.0, 0.1),
        ran("database", 0.1, 0.9),
        ran("cache", 0.1, 0.3),
        PhaseRecord("search", "phase", PhaseStatus.SKIPPED),
    ),
    outcome=BootState.READY,
)


@pytest.fixture
def report_file(tmp_path: Path) -> str:
    path = tmp_path / "report.json"
    path.write_text(REPORT.to_json())
    return str(path)


def budget_file(path: Path, document: object) -> str:
    path.write_text(json.dumps(document))
    return str(path)


def test_a_budget_reads_the_boot_and_phase_seconds() -> None:
    budget = Budget.from_dict({"boot": 2, "phases": {"database": 0.5}})
    assert (budget.boot, dict(budget.phases)) == (2, {"database": 0.5})


def test_every_problem_of_a_budget_is_named_at_once() -> None:
    with pytest.raises(ValueError, match="unknown key 'phase'") as caught:
        Budget.from_dict({"boot": float("nan"), "phase": {}, "phases": {"a": 0, "b": True}})
    message = str(caught.value)
    assert all(part in message for part in ("boot is nan", "phases.a is 0", "phases.b is True"))


def test_a_budget_must_be_an_object() -> None:
    with pytest.raises(ValueError, match="JSON object"):
        Budget.from_dict([1, 2])


def test_the_check_names_every_phase_over_budget_and_the_boot() -> None:
    check = Budget(boot=1.0, phases={"database": 0.5, "cache": 0.1, "settings": 1}).check(REPORT)
    assert [item.name for item in check.overruns] == [BOOT, "database", "cache"]


def test_a_phase_that_took_exactly_its_budget_is_within_it() -> None:
    assert Budget(phases={"settings": 0.1}).check(REPORT).overruns == ()


def test_budgeted_phases_that_did_not_run_are_unmeasured() -> None:
    check = Budget(phases={"search": 1, "typo": 1}).check(REPORT)
    assert (check.items, check.unmeasured) == ((), ("search", "typo"))


# --- the command -------------------------------------------------------------------------


def test_analyze_budget_names_each_phase_over_and_exits_0(
    report_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    budget = budget_file(tmp_path / "b.json", {"boot": 1.0, "phases": {"database": 0.5}})
    assert main(["analyze", report_file, "budget", "--budget", budget]) == 0
    assert "2 over budget: (boot) +200 ms, database +300 ms" in capsys.readouterr().out


def test_analyze_budget_with_fail_exits_1_when_over(report_file: str, tmp_path: Path) -> None:
    budget = budget_file(tmp_path / "b.json", {"phases": {"cache": 0.1}})
    assert main(["analyze", report_file, "budget", "--budget", budget, "--fail"]) == 1


def test_analyze_budget_with_fail_exits_0_when_within(report_file: str, tmp_path: Path) -> None:
    budget = budget_file(tmp_path / "b.json", {"boot": 5, "phases": {"cache": 1}})
    assert main(["analyze", report_file, "budget", "--budget", budget, "--fail"]) == 0


def test_the_budget_next_to_the_report_is_used_by_default(
    report_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    budget_file(tmp_path / "smd-budget.json", {"phases": {"cache": 0.1}})
    assert main(["analyze", report_file, "budget", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["over"], Path(document["budget_file"]).name) == (["cache"], "smd-budget.json")


def test_no_budget_at_all_is_an_invalid_target_diagnostic(
    report_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", report_file, "budget"]) == 64
    assert "no budget to check against" in capsys.readouterr().err


def test_a_malformed_budget_is_an_invalid_target_diagnostic(
    report_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    budget = budget_file(tmp_path / "b.json", {"phases": {"cache": "fast"}})
    assert main(["analyze", report_file, "budget", "--budget", budget]) == 64
    err = capsys.readouterr().err
    assert "phases.cache is 'fast'" in err
    assert "Traceback" not in err


def test_a_budget_that_is_not_json_is_an_invalid_target_diagnostic(
    report_file: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    budget = tmp_path / "b.json"
    budget.write_text("boot = 2")
    assert main(["analyze", report_file, "budget", "--budget", str(budget)]) == 64
    assert "is not valid JSON" in capsys.readouterr().err


SERVICE_BOOT = """
from sleeping_boot import service_boot

boot = service_boot()
"""


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent))
    path = tmp_path / "service_boot_target.py"
    path.write_text(SERVICE_BOOT)
    return f"{path}:boot"


def test_simulate_checks_its_prediction_against_the_budget_next_to_the_target(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    budget_file(tmp_path / "smd-budget.json", {"boot": 0.1, "phases": {"cache": 1}})
    assert main(["simulate", target]) == 0
    assert "1 over budget: (boot) +10 ms" in capsys.readouterr().out


def test_simulate_without_a_budget_checks_none(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", target, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["budget"] is None


def test_simulate_takes_a_budget_given_with_budget(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    budget = budget_file(tmp_path / "b.json", {"phases": {"database": 0.01}})
    assert main(["simulate", target, "--budget", budget, "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["budget"]["over"] == ["database"]


def test_fail_with_another_view_is_an_invalid_target_diagnostic(
    report_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", report_file, "blame", "--fail"]) == 64
    assert "only apply to the budget view" in capsys.readouterr().err
