"""`smd analyze`, `smd graph` and `smd simulate` from the command line."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sleeping_boot import service_boot

from orchestrator._analysis._simulator import simulate
from orchestrator.cli import main

BOOT_FILE = """
from sleeping_boot import service_boot

boot = service_boot()
"""


@pytest.fixture
def target(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.syspath_prepend(str(Path(__file__).parent.parent))
    path = tmp_path / "service_boot_target.py"
    path.write_text(BOOT_FILE)
    return f"{path}:boot"


@pytest.fixture
def report_file(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    path.write_text(simulate(service_boot().plan(), fail={"queue"}).to_report().to_json())
    return path


def test_blame_prints_every_phase_that_ran(
    report_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(report_file), "blame"]) == 0
    out = capsys.readouterr().out
    assert all(name in out for name in ("settings", "database", "queue"))


def test_critical_chain_as_json(report_file: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(report_file), "critical-chain", "--format", "json"]) == 0
    chain = json.loads(capsys.readouterr().out)["chain"]
    assert [link["name"] for link in chain] == ["settings", "cache", "queue"]


def test_plot_writes_an_svg_file(report_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "boot.svg"
    assert main(["analyze", str(report_file), "plot", "--output", str(output)]) == 0
    assert ET.parse(output).getroot().tag.endswith("svg")


def test_plot_as_json_prints_the_rows(
    report_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(report_file), "plot", "--format", "json"]) == 0
    assert len(json.loads(capsys.readouterr().out)["rows"]) == 7


def test_missing_report_is_a_one_line_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(tmp_path / "nope.json"), "blame"]) == 64
    err = capsys.readouterr().err
    assert "does not exist" in err
    assert "Traceback" not in err


def test_malformed_report_is_a_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text("{not json")
    assert main(["analyze", str(bad), "critical-chain"]) == 64
    assert "is not valid JSON" in capsys.readouterr().err


def test_json_of_another_schema_is_a_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.json"
    other.write_text('{"schema": "something/2"}')
    assert main(["analyze", str(other), "blame"]) == 64
    assert "is not a boot report" in capsys.readouterr().err


def test_simulate_prints_time_and_chain(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", target]) == 0
    out = capsys.readouterr().out
    assert "READY after 110 ms" in out
    assert "settings @0 ms" in out


def test_simulate_with_failure_predicts_the_exit_code(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", target, "--fail", "queue", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["blocked"], document["cancelled"], document["exit_code"]) == (
        ["schema", "api"],
        ["database"],
        69,
    )


def test_simulate_takes_durations_from_a_report(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    slow_cache = tmp_path / "slow_cache.json"
    slow_cache.write_text(
        simulate(service_boot().plan(), durations={"cache": 0.2}).to_report().to_json()
    )
    assert main(["simulate", target, "--durations", str(slow_cache), "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["critical_chain"] == ["settings", "cache", "queue", "api"]


def test_simulate_refuses_an_unknown_phase(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate", target, "--fail", "nope"]) == 64
    assert "--fail nope: boot 'service' has no phase 'nope'" in capsys.readouterr().err


def test_simulate_suggests_the_closest_name_for_an_unknown_fail(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", target, "--fail", "qeue"]) == 64
    err = capsys.readouterr().err
    assert "has no phase 'qeue' (did you mean 'queue'?)" in err
    assert "Write --fail queue." in err


def test_simulate_takes_the_target_after_fail(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", target, "--fail", "queue", "--format", "json"]) == 0
    before = json.loads(capsys.readouterr().out)
    assert main(["simulate", "--format", "json", "--fail", "queue", target]) == 0
    assert json.loads(capsys.readouterr().out) == before


def test_simulate_finds_the_target_between_two_fail_lists(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", "--format", "json", "--fail", "queue", target, "--fail", "api"]) == 0
    assert json.loads(capsys.readouterr().out)["exit_code"] == 69


def test_simulate_without_a_target_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["simulate"]) == 64
    assert "smd simulate needs a TARGET" in capsys.readouterr().err


def test_simulate_refuses_a_bad_failure_time(
    target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", target, "--fail", "queue=soon"]) == 64
    assert "not PHASE or PHASE=SECONDS" in capsys.readouterr().err


def test_graph_as_dot_coloured_by_a_report(
    target: str, report_file: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["graph", target, "--format", "dot", "--report", str(report_file)]) == 0
    assert 'label="queue\\nfailed"' in capsys.readouterr().out


def test_graph_as_mermaid(target: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["graph", target, "--format", "mermaid"]) == 0
    assert capsys.readouterr().out.startswith("flowchart LR")


def test_empty_report_file_is_a_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty = tmp_path / "empty.json"
    empty.write_text("")
    assert main(["analyze", str(empty), "blame"]) == 64
    assert "is not valid JSON" in capsys.readouterr().err


def test_directory_as_report_is_a_diagnostic(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["analyze", str(tmp_path), "plot"]) == 64
    assert "cannot be read" in capsys.readouterr().err


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"duration": "soon"}, "duration is 'soon'"),
        ({"phases": [{"start": "0"}]}, "start is '0', not seconds"),
        ({"phases": [{"depends_on": ["ghost"]}]}, "unknown phase 'ghost'"),
        ({"phases": [{"depends_on": ["api"]}]}, "form a cycle"),
        ({"stopped_at": "later"}, "stopped_at is 'later'"),
        (
            {
                "phases": [
                    {"attempt_log": [{"number": 1, "start": "0", "end": 1, "outcome": "failed"}]}
                ]
            },
            "attempt 1 has start '0' and end 1, not seconds",
        ),
        (
            {"phases": [{"retry_pauses": [{"after_attempt": 1, "start": 0.5, "end": [1]}]}]},
            "retry pause 1 has start 0.5 and end [1], not seconds",
        ),
    ],
)
def test_report_with_wrong_values_is_a_diagnostic_not_a_crash(
    report_file: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    change: dict[str, object],
    problem: str,
) -> None:
    document = json.loads(report_file.read_text())
    for key, value in change.items():
        if key == "phases":
            document["phases"][0].update(value[0])  # type: ignore[index]
        else:
            document[key] = value
    broken = tmp_path / "broken.json"
    broken.write_text(json.dumps(document))
    assert main(["analyze", str(broken), "critical-chain"]) == 64
    assert problem in capsys.readouterr().err


def test_unwritable_output_is_a_diagnostic(
    report_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "missing" / "boot.svg"
    assert main(["analyze", str(report_file), "plot", "--output", str(output)]) == 64
    assert f"cannot write '{output}'" in capsys.readouterr().err


def test_unwritable_simulation_plot_is_a_diagnostic(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", target, "--plot", str(tmp_path)]) == 64
    assert "cannot write" in capsys.readouterr().err


def test_blame_output_goes_to_the_file(report_file: Path, tmp_path: Path) -> None:
    output = tmp_path / "blame.txt"
    assert main(["analyze", str(report_file), "blame", "--output", str(output)]) == 0
    assert "blame of 'service'" in output.read_text()


def test_graph_refuses_a_report_of_another_boot(
    target: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.json"
    report = simulate(service_boot().plan()).to_report()
    other.write_text(report.to_json().replace('"boot": "service"', '"boot": "billing"'))
    assert main(["graph", target, "--report", str(other)]) == 64
    assert "is a report of boot 'billing', not of 'service'" in capsys.readouterr().err


RELEASED = Path(__file__).parent / "data" / "report-0.1.0.json"


def test_blame_lists_the_teardowns_after_the_phases(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(RELEASED), "blame"]) == 0
    out = capsys.readouterr().out
    teardowns = out[out.index("teardowns of 'chat-service'") :]
    assert all(name in teardowns for name in ("database", "agent_websocket_bridge", "cache"))


def test_blame_as_json_carries_the_stop(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["analyze", str(RELEASED), "blame", "--format", "json"]) == 0
    stop = json.loads(capsys.readouterr().out)["stop"]
    assert [entry["name"] for entry in stop["teardowns"]] == [
        "database",
        "agent_websocket_bridge",
        "cache",
    ]


def test_critical_chain_shows_the_stop_chain_and_teardown_slack(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["analyze", str(RELEASED), "critical-chain"]) == 0
    out = capsys.readouterr().out
    stop = out[out.index("stop chain of 'chat-service'") :]
    assert stop.index("database @+") < stop.index("agent_websocket_bridge @+0 ms")
    assert "teardown slack off the stop's chain" in stop


def test_critical_chain_as_json_carries_the_stop_chain(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["analyze", str(RELEASED), "critical-chain", "--format", "json"]) == 0
    stop = json.loads(capsys.readouterr().out)["stop"]
    assert ([link["name"] for link in stop["chain"]], stop["slack"][0]["name"]) == (
        ["agent_websocket_bridge", "database"],
        "cache",
    )


def test_a_boot_without_teardowns_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    plain = tmp_path / "plain.json"
    plain.write_text(simulate(service_boot().plan()).to_report().to_json())
    document = json.loads(plain.read_text())
    for phase in document["phases"]:
        phase.update(teardown="not_needed", teardown_start=None, teardown_end=None)
    plain.write_text(json.dumps(document))
    assert main(["analyze", str(plain), "critical-chain"]) == 0
    assert "no teardown ran in the stop of 'service': no stop chain" in capsys.readouterr().out


def test_a_failed_teardown_shows_its_error_in_blame(
    report_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    document = json.loads(report_file.read_text())
    torn = next(p for p in document["phases"] if p["teardown_start"] is not None)
    torn.update(
        teardown="teardown_failed",
        teardown_error={"type": "OSError", "message": "socket already closed"},
    )
    broken = tmp_path / "broken_teardown.json"
    broken.write_text(json.dumps(document))
    assert main(["analyze", str(broken), "blame"]) == 0
    assert "teardown_failed: OSError: socket already closed" in capsys.readouterr().out


RECOVERING_BOOT_FILE = """
from orchestrator import Boot, Retry

boot = Boot("recovering")


@boot.phase(critical=False, recover=Retry(attempts=3, delay=1.0), expected_duration=0.5)
async def cache() -> str:
    return "cache"


@boot.phase(expected_duration=0.25)
async def warm(cache: str) -> str:
    return cache


@boot.phase()
async def api() -> str:
    return "api"
"""


@pytest.fixture
def recovering_target(tmp_path: Path) -> str:
    path = tmp_path / "recovering_target.py"
    path.write_text(RECOVERING_BOOT_FILE)
    return f"{path}:boot"


def test_simulate_recover_predicts_the_healing_in_service(
    recovering_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", recovering_target, "--recover", "cache=2", "--format", "json"]) == 0
    prediction = json.loads(capsys.readouterr().out)
    assert prediction["outcome"] == "degraded"
    phases = {phase["name"]: phase for phase in prediction["phases"]}
    # failed at 0; recovery 1 after 1 s fails at once; recovery 2 after 1 s more takes 0.5 s
    assert phases["cache"]["recovered_at"] == pytest.approx(2.5)
    assert phases["warm"]["status"] == "completed"
    assert prediction["healed_at"] == pytest.approx(2.75)


def test_simulate_recover_names_the_healing_in_text(
    recovering_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", recovering_target, "--recover", "cache"]) == 0
    out = capsys.readouterr().out
    assert "recovered in service: cache @" in out
    assert "healed: READY again at" in out


def test_simulate_recover_refuses_a_phase_without_recover(
    recovering_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", recovering_target, "--recover", "api"]) == 64
    assert "phase 'api' has no recover=" in capsys.readouterr().err


def test_simulate_recover_refuses_a_bad_attempt_number(
    recovering_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["simulate", recovering_target, "--recover", "cache=two"]) == 64
    assert "is not PHASE or PHASE=N" in capsys.readouterr().err
