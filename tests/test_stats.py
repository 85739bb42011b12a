"""`smd stats`: nearest-rank percentiles per phase over many reports, and `simulate` from them."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from sleeping_boot import service_boot

from orchestrator._analysis._simulator import simulate
from orchestrator._analysis._stats import BootStats, nearest_rank, summarize
from orchestrator._model._report import BootReport
from orchestrator.cli import main

BOOT_FILE = """
from sleeping_boot import service_boot

boot = service_boot()
"""


def boot_report(**durations: float) -> BootReport:
    return simulate(service_boot().plan(), durations=durations).to_report()


def failed_report(phase: str) -> BootReport:
    return simulate(service_boot().plan(), fail={phase}).to_report()


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent))
    path = tmp_path / "service_boot_target.py"
    path.write_text(BOOT_FILE)
    return f"{path}:boot"


@pytest.fixture
def report_files(tmp_path: Path) -> list[str]:
    """Twenty boots: the cache takes 10 ms, 20 ms, ... 200 ms."""
    paths = []
    for i in range(1, 21):
        path = tmp_path / f"boot-{i:02}.json"
        path.write_text(boot_report(cache=i / 100).to_json())
        paths.append(str(path))
    return paths


def test_nearest_rank_p50_of_two_values_is_the_smaller() -> None:
    assert nearest_rank([1.0, 2.0], 50) == 1.0


def test_nearest_rank_p95_of_twenty_values_is_the_nineteenth() -> None:
    assert nearest_rank([float(i) for i in range(1, 21)], 95) == 19.0


def test_nearest_rank_p95_of_nineteen_values_is_the_largest() -> None:
    assert nearest_rank([float(i) for i in range(1, 20)], 95) == 19.0


@pytest.mark.parametrize("percent", [0, -1, 101])
def test_nearest_rank_refuses_a_percent_outside_0_to_100(percent: float) -> None:
    with pytest.raises(ValueError, match="percent"):
        nearest_rank([1.0], percent)


def test_summary_gives_each_phase_p50_p95_and_max() -> None:
    stats = summarize(boot_report(cache=i / 100) for i in range(1, 21))
    cache = next(phase for phase in stats.phases if phase.name == "cache")
    assert cache.duration is not None
    assert cache.duration.to_dict() == {"p50": 0.1, "p95": 0.19, "max": 0.2}


def test_summary_counts_only_completed_starts() -> None:
    stats = summarize([boot_report(), failed_report("queue")])
    queue = next(phase for phase in stats.phases if phase.name == "queue")
    assert (queue.seen, queue.completed) == (2, 1)


def test_a_phase_that_never_completed_has_no_durations() -> None:
    stats = summarize([failed_report("queue")])
    queue = next(phase for phase in stats.phases if phase.name == "queue")
    assert queue.duration is None
    assert "queue" not in stats.durations_at("p50")


def test_summary_counts_how_often_each_phase_was_on_the_chain() -> None:
    stats = summarize([boot_report(), boot_report(cache=0.5), boot_report(cache=0.6)])
    on_chain = {phase.name: phase.on_chain for phase in stats.phases}
    assert (on_chain["cache"], on_chain["database"], on_chain["api"]) == (2, 1, 3)


def test_summary_keeps_plan_order_and_appends_phases_of_later_plans() -> None:
    first = boot_report()
    later = BootReport(
        **{
            **{f: getattr(first, f) for f in ("boot", "state", "started_at", "duration")},
            "fingerprint": "bbbbbbbbbbbb",
            "phases": (*first.phases[1:], first.phases[0]),
        }
    )
    stats = summarize([first, later])
    assert [phase.name for phase in stats.phases] == [r.name for r in first.phases]
    assert stats.fingerprints == (first.fingerprint, "bbbbbbbbbbbb")


def test_summary_reads_back_from_its_json() -> None:
    stats = summarize(boot_report(cache=i / 100) for i in range(1, 4))
    assert BootStats.from_dict(json.loads(json.dumps(stats.to_dict()))) == stats


def test_a_summary_with_a_negative_duration_is_refused() -> None:
    document = summarize([boot_report()]).to_dict()
    document["phases"][0]["duration"]["p95"] = -1
    with pytest.raises(ValueError, match="settings"):
        BootStats.from_dict(document)


def test_a_document_of_another_schema_is_not_a_summary() -> None:
    with pytest.raises(ValueError, match=r"smd\.stats/1"):
        BootStats.from_dict(boot_report().to_dict())


# --- the command -------------------------------------------------------------------------


def test_stats_prints_each_phase_spread_and_chain_share(
    report_files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", *report_files]) == 0
    out = " ".join(capsys.readouterr().out.split())
    assert "over 20 reports (1 plan)" in out
    assert "cache 20 100 ms 190 ms 200 ms 16/20" in out


def test_stats_as_json_names_the_percentile_method(
    report_files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", *report_files, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["schema"], document["percentile_method"]) == ("smd.stats/1", "nearest-rank")


def test_a_missing_report_is_an_invalid_target_diagnostic(
    report_files: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["stats", *report_files, str(tmp_path / "nope.json")]) == 64
    assert "does not exist" in capsys.readouterr().err


def test_simulate_predicts_a_typical_and_a_bad_boot_from_a_summary(
    report_files: list[str], target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "stats.json"
    assert main(["stats", *report_files, "-o", str(summary)]) == 0
    capsys.readouterr()
    predictions = {}
    for percentile in ("p50", "p95"):
        command = ["simulate", target, "--durations", str(summary), "--percentile", percentile]
        assert main([*command, "--format", "json"]) == 0
        predictions[percentile] = json.loads(capsys.readouterr().out)["duration"]
    # settings 20 ms, cache (p50 100 ms, p95 190 ms), queue 30 ms, api 20 ms
    assert predictions == {"p50": pytest.approx(0.17), "p95": pytest.approx(0.26)}


def test_simulate_from_a_summary_defaults_to_p50(
    report_files: list[str], target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    summary = tmp_path / "stats.json"
    assert main(["stats", *report_files, "-o", str(summary), "--format", "json"]) == 0
    capsys.readouterr()
    assert main(["simulate", target, "--durations", str(summary), "--format", "json"]) == 0
    assert json.loads(capsys.readouterr().out)["duration"] == pytest.approx(0.17)


def test_percentile_with_a_report_is_an_invalid_target_diagnostic(
    report_files: list[str], target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    command = ["simulate", target, "--durations", report_files[0], "--percentile", "p95"]
    assert main(command) == 64
    assert "--percentile needs a summary" in capsys.readouterr().err


def test_a_summary_of_another_boot_is_an_invalid_target_diagnostic(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = summarize([boot_report()]).to_dict()
    for phase in document["phases"]:
        phase["name"] = "other_" + phase["name"]
    summary = tmp_path / "other.json"
    summary.write_text(json.dumps(document))
    assert main(["simulate", target, "--durations", str(summary)]) == 64
    assert "not 'service'" in capsys.readouterr().err
