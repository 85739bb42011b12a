"""Long text views are summarised with a line saying how many rows are left out; `--all` shows
every row."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from orchestrator import Boot
from orchestrator._analysis._simulator import simulate
from orchestrator.cli import main
from orchestrator.cli._summary import ROWS_SHOWN

CHAIN = ROWS_SHOWN + 15  # phases on the critical chain, each needing the one before
SIDE = ROWS_SHOWN + 7  # short phases off the chain, needing nothing


def _phase(name: str, needs: list[str]) -> Callable[..., Any]:
    def start(**_: Any) -> None:
        return None

    start.__signature__ = inspect.Signature(  # type: ignore[attr-defined]
        [inspect.Parameter(need, inspect.Parameter.KEYWORD_ONLY) for need in needs]
    )
    start.__name__ = name
    return start


def long_boot() -> Boot:
    boot = Boot("long")
    for i in range(CHAIN):
        needs = [f"link{i - 1}"] if i else []
        boot.add(_phase(f"link{i}", needs), name=f"link{i}", expected_duration=0.01)
    for i in range(SIDE):
        boot.add(_phase(f"side{i}", []), name=f"side{i}", expected_duration=0.0001 * (i + 1))
    return boot


@pytest.fixture
def long_report(tmp_path: Path) -> Path:
    path = tmp_path / "report.json"
    path.write_text(simulate(long_boot().plan()).to_report().to_json())
    return path


def _analyze(report: Path, *arguments: str, capsys: pytest.CaptureFixture[str]) -> str:
    assert main(["analyze", str(report), *arguments]) == 0
    return capsys.readouterr().out


def _names_shown(out: str, prefix: str, count: int) -> set[str]:
    words = set(out.replace("(", " ").split())
    return {f"{prefix}{i}" for i in range(count)} & words


def test_blame_of_a_long_boot_says_how_many_rows_it_leaves_out(
    long_report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _analyze(long_report, "blame", capsys=capsys)
    assert f"{CHAIN + SIDE - ROWS_SHOWN} more rows: --all to see them" in out


def test_blame_shows_the_slowest_phases_first(
    long_report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _analyze(long_report, "blame", capsys=capsys)
    assert len(_names_shown(out, "link", CHAIN)) == ROWS_SHOWN
    assert _names_shown(out, "side", SIDE) == set()


def test_blame_with_all_shows_every_phase_and_no_summary_line(
    long_report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _analyze(long_report, "blame", "--all", capsys=capsys)
    assert len(_names_shown(out, "link", CHAIN)) == CHAIN
    assert len(_names_shown(out, "side", SIDE)) == SIDE
    assert "--all to see them" not in out


def test_critical_chain_of_a_long_boot_shows_both_ends_and_counts_the_links_between(
    long_report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _analyze(long_report, "critical-chain", capsys=capsys)
    assert f"{CHAIN - ROWS_SHOWN} more links: --all to see them" in out
    shown = _names_shown(out, "link", CHAIN)
    assert {"link0", f"link{CHAIN - 1}"} <= shown
    assert len(shown) == ROWS_SHOWN


def test_critical_chain_lists_the_last_link_first(
    long_report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _analyze(long_report, "critical-chain", "--all", capsys=capsys)
    assert out.index(f"link{CHAIN - 1} ") < out.index("link0 ")


def test_critical_chain_is_drawn_flat_whatever_its_length(
    long_report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _analyze(long_report, "critical-chain", "--all", capsys=capsys)
    first = next(line for line in out.splitlines() if "link0 " in line)
    last = next(line for line in out.splitlines() if f"link{CHAIN - 1} " in line)
    assert first.index("link0") == last.index(f"link{CHAIN - 1}")


def test_slack_table_of_a_long_boot_says_how_many_rows_it_leaves_out(
    long_report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _analyze(long_report, "critical-chain", capsys=capsys)
    assert f"{SIDE - ROWS_SHOWN} more rows: --all to see them" in out


def test_critical_chain_with_all_shows_every_link_and_every_slack_row(
    long_report: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = _analyze(long_report, "critical-chain", "--all", capsys=capsys)
    assert len(_names_shown(out, "link", CHAIN)) == CHAIN
    assert len(_names_shown(out, "side", SIDE)) == SIDE
    assert "--all to see them" not in out


def test_a_short_view_has_no_summary_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    boot = Boot("short")
    boot.add(_phase("only", []), name="only", expected_duration=0.01)
    path = tmp_path / "report.json"
    path.write_text(simulate(boot.plan()).to_report().to_json())
    assert "--all" not in _analyze(path, "blame", capsys=capsys)


TARGET = """
from test_cli_summary import long_boot

boot = long_boot()
"""


@pytest.fixture
def long_target(tmp_path: Path) -> str:
    path = tmp_path / "long_target.py"
    path.write_text(TARGET)
    return f"{path}:boot"


def test_run_once_of_a_long_boot_says_how_many_rows_it_leaves_out(
    long_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--once", long_target]) == 0
    out = capsys.readouterr().out
    assert f"{CHAIN + SIDE - ROWS_SHOWN} more rows: --all to see them" in out
    assert f"{CHAIN - ROWS_SHOWN} more links: --all to see them" in out


def test_run_once_with_all_shows_a_row_for_every_phase(
    long_target: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["run", "--once", "--all", long_target]) == 0
    out = capsys.readouterr().out
    assert len(_names_shown(out, "link", CHAIN)) == CHAIN
    assert len(_names_shown(out, "side", SIDE)) == SIDE
    assert "--all to see them" not in out


def test_run_once_shows_a_failed_phase_however_fast_it_was(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "failing_target.py"
    path.write_text(
        TARGET
        + "\n\ndef broken() -> None:\n    raise RuntimeError('no')\n\n"
        + "boot.add(broken, name='broken', critical=False)\n"
    )
    assert main(["run", "--once", f"{path}:boot"]) == 0
    assert "broken" in capsys.readouterr().out.split("more rows")[0]
