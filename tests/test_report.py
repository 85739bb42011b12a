"""The report schema only grows: today's reader reads reports written by older releases."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from orchestrator import (
    AttemptRecord,
    BootReport,
    BootState,
    PhaseRecord,
    PhaseStatus,
    RetryPause,
    TeardownOutcome,
)

DATA = Path(__file__).parent / "data"
# Written by `smd run --once --report` of release 0.1.0, before attempts,
# retry pauses and the stop's times were recorded.
RELEASED = ("report-0.1.0.json", "report-0.1.0-failed.json")


def released(name: str) -> dict[str, object]:
    document: dict[str, object] = json.loads((DATA / name).read_text(encoding="utf-8"))
    return document


@pytest.mark.parametrize("name", RELEASED)
def test_a_report_written_by_release_0_1_0_is_read(name: str) -> None:
    report = BootReport.from_json((DATA / name).read_text(encoding="utf-8"))
    assert len(report.phases) == 10


@pytest.mark.parametrize("name", RELEASED)
def test_rewriting_a_release_0_1_0_report_keeps_every_field_it_had(name: str) -> None:
    old = released(name)
    new = json.loads(BootReport.from_dict(old).to_json())
    assert {key: new[key] for key in old} == {**old, "phases": new["phases"]}
    old_phases = old["phases"]
    assert isinstance(old_phases, list)
    kept = [
        {key: now[key] for key in was} for now, was in zip(new["phases"], old_phases, strict=True)
    ]
    assert kept == old_phases


@pytest.mark.parametrize("name", RELEASED)
def test_a_release_0_1_0_report_round_trips(name: str) -> None:
    report = BootReport.from_dict(released(name))
    assert BootReport.from_json(report.to_json()) == report


def test_a_release_0_1_0_report_has_no_attempt_log_pauses_or_stop_times() -> None:
    report = BootReport.from_dict(released("report-0.1.0.json"))
    database = report["database"]
    assert (database.attempt_log, database.retry_pauses) == ((), ())
    assert (report.stopped_at, report.stop_duration) == (None, None)


def test_release_0_1_0_failed_report_keeps_its_outcome_and_teardowns() -> None:
    report = BootReport.from_dict(released("report-0.1.0-failed.json"))
    assert report.outcome is BootState.FAILED
    assert report["database"].teardown is TeardownOutcome.TORN_DOWN


RETRIED = PhaseRecord(
    "database",
    "phase",
    PhaseStatus.COMPLETED,
    attempts=2,
    start=0.1,
    end=0.9,
    attempt_log=(
        AttemptRecord(1, 0.1, 0.3, "timed_out", "PhaseTimeout: 'database' timed out after 0.2s"),
        AttemptRecord(2, 0.5, 0.9, "completed"),
    ),
    retry_pauses=(RetryPause(1, 0.3, 0.5),),
)
STOPPED = BootReport(
    "grown",
    "f" * 12,
    BootState.STOPPED,
    "2024-01-01T00:00:00Z",
    0.9,
    (RETRIED,),
    outcome=BootState.READY,
    stopped_at=12.5,
    stop_duration=0.25,
)


def test_attempts_retry_pauses_and_stop_times_round_trip() -> None:
    assert BootReport.from_json(STOPPED.to_json()) == STOPPED


def test_attempt_log_and_retry_pauses_are_lists_of_objects_with_sorted_keys() -> None:
    phase = json.loads(STOPPED.to_json())["phases"][0]
    assert phase["attempt_log"][0] == {
        "end": 0.3,
        "error": "PhaseTimeout: 'database' timed out after 0.2s",
        "number": 1,
        "outcome": "timed_out",
        "start": 0.1,
    }
    assert phase["retry_pauses"] == [{"after_attempt": 1, "end": 0.5, "start": 0.3}]
    assert list(RETRIED.attempt_log[0].to_dict()) == sorted(RETRIED.attempt_log[0].to_dict())


def test_an_attempt_written_before_attempts_kept_their_error_reads_with_no_error() -> None:
    written = {"end": 0.3, "number": 1, "outcome": "failed", "start": 0.1}
    assert AttemptRecord.from_dict(written).error is None


def test_a_completed_attempt_writes_a_null_error() -> None:
    assert RETRIED.attempt_log[1].to_dict()["error"] is None


def test_stop_times_are_top_level_fields() -> None:
    document = STOPPED.to_dict()
    assert (document["stopped_at"], document["stop_duration"]) == (12.5, 0.25)


def test_an_attempt_that_never_ended_round_trips_with_a_null_end() -> None:
    attempt = AttemptRecord(1, 0.0, None, "cancelled")
    assert (AttemptRecord.from_dict(attempt.to_dict()), attempt.duration) == (attempt, None)


def test_an_attempt_outcome_outside_the_four_is_refused() -> None:
    with pytest.raises(ValueError, match="'retrying' is not one of cancelled"):
        AttemptRecord(1, 0.0, 1.0, "retrying")


def test_a_report_with_an_unknown_attempt_outcome_is_malformed() -> None:
    document = STOPPED.to_dict()
    document["phases"][0]["attempt_log"][0]["outcome"] = "exploded"
    with pytest.raises(ValueError, match=r"malformed smd\.report/1"):
        BootReport.from_dict(document)


def test_a_report_with_null_attempt_log_reads_as_empty() -> None:
    document = STOPPED.to_dict()
    document["phases"][0]["attempt_log"] = None
    assert BootReport.from_dict(document)["database"].attempt_log == ()


def test_retry_pause_duration_is_its_end_minus_its_start() -> None:
    assert RetryPause(1, 0.25, 0.75).duration == 0.5


def every_field_of_a_record() -> dict[str, object]:
    return {
        "name": "cache",
        "kind": "gate",
        "status": PhaseStatus.FAILED,
        "attempts": 2,
        "start": 0.5,
        "end": 1.5,
        "error": {"type": "OSError", "message": "down"},
        "teardown": TeardownOutcome.TORN_DOWN,
        "depends_on": ("config",),
        "critical": False,
        "teardown_start": 2.0,
        "teardown_end": 2.5,
        "teardown_error": None,
        "attempt_log": (AttemptRecord(1, 0.5, 1.0, "failed", "OSError: down"),),
        "retry_pauses": (RetryPause(1, 1.0, 1.1),),
        "restarts": (),
        "recovered_at": 3.0,
        "budget": 2.0,
    }


def test_the_engines_record_constructor_builds_what_the_dataclass_builds() -> None:
    from orchestrator._model._report import new_phase_record

    values = every_field_of_a_record()

    built = new_phase_record(**values)

    assert type(built) is PhaseRecord
    assert built == PhaseRecord(**values)  # type: ignore[arg-type]
    assert repr(built) == repr(PhaseRecord(**values))  # type: ignore[arg-type]
    assert hash(built.depends_on) == hash(("config",))


def test_the_engines_record_constructor_keeps_records_frozen() -> None:
    import dataclasses

    from orchestrator._model._report import new_phase_record

    built = new_phase_record(**every_field_of_a_record())

    with pytest.raises(dataclasses.FrozenInstanceError):
        built.status = PhaseStatus.COMPLETED  # type: ignore[misc]


def test_the_engines_record_constructor_refuses_a_missing_or_unknown_field() -> None:
    from orchestrator._model._report import new_phase_record

    values = every_field_of_a_record()
    missing = {key: value for key, value in values.items() if key != "budget"}

    with pytest.raises(TypeError):
        new_phase_record(**missing)
    with pytest.raises(TypeError):
        new_phase_record(**values, color="blue")
