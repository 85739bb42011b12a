"""`smd diff`: two reports compared, phase by phase, with the critical chain's move."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator._analysis._diff import BOOT, diff_reports
from orchestrator._model._report import BootReport, PhaseRecord
from orchestrator._model._status import BootState, PhaseStatus, TeardownOutcome
from orchestrator.cli import main


def record(
    name: str,
    start: float | None,
    end: float | None,
    *needs: str,
    status: PhaseStatus = PhaseStatus.COMPLETED,
    teardown: TeardownOutcome = TeardownOutcome.NOT_NEEDED,
) -> PhaseRecord:
    return PhaseRecord(
        name=name,
        kind="phase",
        status=status,
        attempts=1 if start is not None else 0,
        start=start,
        end=end,
        teardown=teardown,
        depends_on=needs,
    )


def report(*records: PhaseRecord, fingerprint: str = "aaaaaaaaaaaa") -> BootReport:
    ends = [r.end for r in records if r.end is not None]
    return BootReport(
        boot="shop",
        fingerprint=fingerprint,
        state=BootState.STOPPED,
        started_at="2026-11-26T12:00:00Z",
        duration=max(ends, default=0.0),
        phases=records,
        outcome=BootState.READY,
    )


# settings -> database -> api, settings -> cache -> api; database is the slow branch.
OLD = report(
    record("settings", 0.0, 0.1),
    record("database", 0.1, 0.5, "settings"),
    record("cache", 0.1, 0.3, "settings"),
    record("api", 0.5, 0.6, "database", "cache"),
)
# cache got slow enough to take over the chain; database got a little faster.
NEW = report(
    record("settings", 0.0, 0.1),
    record("database", 0.1, 0.45, "settings"),
    record("cache", 0.1, 0.9, "settings"),
    record("api", 0.9, 1.0, "database", "cache"),
)


def write(path: Path, value: BootReport) -> str:
    path.write_text(value.to_json())
    return str(path)


@pytest.fixture
def old_file(tmp_path: Path) -> str:
    return write(tmp_path / "old.json", OLD)


@pytest.fixture
def new_file(tmp_path: Path) -> str:
    return write(tmp_path / "new.json", NEW)


def test_phases_added_and_removed_are_named_in_plan_order() -> None:
    new = report(record("settings", 0.0, 0.1), record("b", 0.1, 0.2), record("a", 0.1, 0.3))
    diff = diff_reports(report(record("settings", 0.0, 0.1), record("gone", 0.1, 0.2)), new)
    assert (diff.added, diff.removed) == (("b", "a"), ("gone",))


def test_edges_added_and_removed_are_named() -> None:
    old = report(record("a", 0.0, 0.1), record("b", 0.1, 0.2, "a"), record("c", 0.0, 0.1))
    new = report(record("a", 0.0, 0.1), record("b", 0.1, 0.2, "c"), record("c", 0.0, 0.1))
    diff = diff_reports(old, new)
    assert (diff.edges_added, diff.edges_removed) == ((("c", "b"),), (("a", "b"),))


def test_a_status_change_is_an_outcome_change() -> None:
    new = report(record("a", 0.0, 0.1, status=PhaseStatus.FAILED))
    change = diff_reports(report(record("a", 0.0, 0.1)), new).outcome_changes[0]
    assert (change.name, change.old_status, change.new_status) == ("a", "completed", "failed")


def test_a_teardown_change_is_an_outcome_change() -> None:
    old = report(record("a", 0.0, 0.1, teardown=TeardownOutcome.TORN_DOWN))
    new = report(record("a", 0.0, 0.1, teardown=TeardownOutcome.TEARDOWN_FAILED))
    change = diff_reports(old, new).outcome_changes[0]
    assert (change.old_teardown, change.new_teardown) == ("torn_down", "teardown_failed")


def test_each_phase_has_its_absolute_and_relative_change() -> None:
    cache = next(c for c in diff_reports(OLD, NEW).phases if c.name == "cache")
    assert (cache.change, cache.relative) == (pytest.approx(0.6), pytest.approx(3.0))


def test_relative_change_is_none_when_the_phase_took_no_time_before() -> None:
    diff = diff_reports(report(record("a", 0.0, 0.0)), report(record("a", 0.0, 0.1)))
    assert diff.phases[0].relative is None


def test_a_phase_that_ran_in_only_one_report_has_no_change() -> None:
    diff = diff_reports(report(record("a", None, None)), report(record("a", 0.0, 0.1)))
    assert diff.phases[0].change is None


def test_the_chain_move_names_who_joined_and_who_left() -> None:
    diff = diff_reports(OLD, NEW)
    assert (diff.joined_chain, diff.left_chain) == (("cache",), ("database",))


def test_chain_effects_add_up_to_how_much_later_the_chain_ended() -> None:
    diff = diff_reports(OLD, NEW)
    effects = {change.name: change.chain_effect for change in diff.chain_effects()}
    assert effects == {"cache": pytest.approx(0.8), "database": pytest.approx(-0.4)}
    assert sum(effects.values()) == pytest.approx(diff.chain_change)


def test_the_largest_chain_effect_comes_first() -> None:
    assert diff_reports(OLD, NEW).chain_effects()[0].name == "cache"


def test_a_regression_must_exceed_both_the_percentage_and_the_minimum_change() -> None:
    old = report(record("a", 0.0, 0.100))
    new = report(record("a", 0.0, 0.140))
    diff = diff_reports(old, new)
    assert diff.regressions(10, 0.05) == ()
    assert [found.name for found in diff.regressions(10, 0.03)] == [BOOT, "a"]


def test_only_phases_on_the_new_chain_can_regress() -> None:
    old = report(record("slow", 0.0, 1.0), record("side", 0.0, 0.1))
    new = report(record("slow", 0.0, 1.0), record("side", 0.0, 0.5))
    assert diff_reports(old, new).regressions(10, 0.05) == ()


def test_the_diff_as_json_lists_every_phase() -> None:
    document = json.loads(json.dumps(diff_reports(OLD, NEW).to_dict()))
    assert document["schema"] == "smd.diff/1"
    assert [phase["name"] for phase in document["phases"]] == [r.name for r in NEW.phases]


# --- the command -------------------------------------------------------------------------


def test_diff_prints_the_chain_move_and_the_slower_phase(
    old_file: str, new_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", old_file, new_file]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "joined: cache; left: database" in out
    assert "cache 200 ms 800 ms +600 ms +300.0% new" in out


def test_the_chain_move_says_when_a_link_waited_for_a_free_slot(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    side_by_side = report(record("a", 0.0, 0.1), record("b", 0.0, 0.2))
    one_at_a_time = report(record("a", 0.0, 0.1), record("b", 0.1, 0.3))
    old, new = write(tmp_path / "o.json", side_by_side), write(tmp_path / "n.json", one_at_a_time)
    assert main(["diff", old, new]) == 0
    assert "b +100 ms (on both, waited 100 ms for a free slot)" in capsys.readouterr().out


def test_fail_over_exits_1_when_a_phase_on_the_new_chain_is_slower(
    old_file: str, new_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", old_file, new_file, "--fail-over", "50"]) == 1
    assert "cache: 200 ms -> 800 ms" in capsys.readouterr().out


def test_fail_over_exits_0_when_the_slow_down_is_within_the_minimum_change(
    tmp_path: Path, old_file: str
) -> None:
    nudged = report(
        record("settings", 0.0, 0.1),
        record("database", 0.1, 0.54, "settings"),
        record("cache", 0.1, 0.3, "settings"),
        record("api", 0.54, 0.64, "database", "cache"),
    )
    assert main(["diff", old_file, write(tmp_path / "n.json", nudged), "--fail-over", "1"]) == 0


def test_min_change_can_be_raised_above_the_slow_down(old_file: str, new_file: str) -> None:
    command = ["diff", old_file, new_file, "--fail-over", "50", "--min-change", "1"]
    assert main(command) == 0


def test_fail_over_regressions_are_in_the_json(
    old_file: str, new_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", old_file, new_file, "--fail-over", "50", "--format", "json"]) == 1
    document = json.loads(capsys.readouterr().out)
    assert [found["name"] for found in document["regressions"]] == [BOOT, "cache"]


def test_diff_compares_reports_of_different_plans(
    tmp_path: Path, old_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    other = report(*NEW.phases, record("search", 0.1, 0.2, "settings"), fingerprint="bbbbbbbbbbbb")
    assert main(["diff", old_file, write(tmp_path / "other.json", other)]) == 0
    out = capsys.readouterr().out
    assert "plan: aaaaaaaaaaaa -> bbbbbbbbbbbb" in out
    assert "phases added: search" in out


def test_a_missing_report_is_an_invalid_target_diagnostic(
    tmp_path: Path, old_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", old_file, str(tmp_path / "nope.json")]) == 64
    err = capsys.readouterr().err
    assert "does not exist" in err
    assert "Traceback" not in err


def test_a_file_that_is_not_a_report_is_an_invalid_target_diagnostic(
    tmp_path: Path, old_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "plan.json"
    other.write_text('{"schema": "smd.plan/1"}')
    assert main(["diff", str(other), old_file]) == 64
    assert "is not a boot report" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["fast", "nan", "-5", "inf"])
def test_a_bad_fail_over_value_is_an_invalid_target_diagnostic(
    old_file: str, new_file: str, value: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["diff", old_file, new_file, f"--fail-over={value}"]) == 64
    assert "--fail-over" in capsys.readouterr().err


def test_diff_names_the_phases_over_the_budget_given(
    tmp_path: Path, old_file: str, new_file: str, capsys: pytest.CaptureFixture[str]
) -> None:
    budget = tmp_path / "budget.json"
    budget.write_text('{"phases": {"cache": 0.5, "database": 0.5}}')
    assert main(["diff", old_file, new_file, "--budget", str(budget)]) == 0
    assert "1 over budget: cache +300 ms" in capsys.readouterr().out


def test_fail_over_budget_exits_1_when_the_new_boot_is_over(
    tmp_path: Path, old_file: str, new_file: str
) -> None:
    budget = tmp_path / "budget.json"
    budget.write_text('{"boot": 0.8}')
    assert main(["diff", old_file, new_file, "--budget", str(budget), "--fail-over-budget"]) == 1


def test_fail_over_budget_without_a_budget_is_an_invalid_target_diagnostic(
    old_file: str, new_file: str
) -> None:
    assert main(["diff", old_file, new_file, "--fail-over-budget"]) == 64


def test_reports_written_by_release_0_1_0_compare(capsys: pytest.CaptureFixture[str]) -> None:
    data = Path(__file__).parent / "data"
    old, new = data / "report-0.1.0.json", data / "report-0.1.0-failed.json"
    assert main(["diff", str(old), str(new), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["old"]["outcome"], document["new"]["outcome"]) == ("ready", "failed")
    assert "websocket_factory_validation" in document["outcome_changes"]
