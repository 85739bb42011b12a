"""`smd plot REPORT...`: many boots in one Gantt chart of each phase's spread (SVG and data)."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest
from sleeping_boot import service_boot

from orchestrator._analysis._simulator import simulate
from orchestrator._analysis._spread_chart import render_spread_svg, spread_data
from orchestrator._model._report import BootReport
from orchestrator.cli import main

SVG = "{http://www.w3.org/2000/svg}"


def boot_report(**durations: float) -> BootReport:
    return simulate(service_boot().plan(), durations=durations).to_report()


def failed_report(phase: str) -> BootReport:
    return simulate(service_boot().plan(), fail={phase}).to_report()


def twenty_reports() -> list[BootReport]:
    """The cache takes 10 ms, 20 ms, ... 200 ms: on the chain from 60 ms on."""
    return [boot_report(cache=i / 100) for i in range(1, 21)]


def elements(svg: str, tag: str, kind: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [e for e in root.iter(f"{SVG}{tag}") if kind in e.get("class", "").split(" ")]


def row(data: dict[str, object], name: str) -> dict[str, object]:
    rows = data["rows"]
    assert isinstance(rows, list)
    return next(r for r in rows if r["name"] == name)


# --- the data ----------------------------------------------------------------------------


def test_each_phase_gets_nearest_rank_spreads_of_its_start_and_end() -> None:
    cache = row(spread_data(twenty_reports()), "cache")
    assert cache["start"] == {"min": 0.02, "p50": 0.02, "p95": 0.02, "max": 0.02}
    end = cache["end"]
    assert isinstance(end, dict)
    assert end["min"] == pytest.approx(0.03)
    assert (end["p50"], end["p95"], end["max"]) == pytest.approx((0.12, 0.21, 0.22))


def test_rows_keep_the_plan_order() -> None:
    data = spread_data(twenty_reports())
    assert [r["name"] for r in data["rows"]] == list(service_boot().plan().order)


def test_the_chain_share_counts_the_boots_with_the_phase_on_the_chain() -> None:
    cache = row(spread_data(twenty_reports()), "cache")
    assert (cache["on_chain"], cache["chain_share"]) == (16, 0.8)


def test_only_completed_starts_count_towards_the_spread() -> None:
    data = spread_data([boot_report(), failed_report("queue")])
    queue = row(data, "queue")
    assert (queue["seen"], queue["completed"]) == (2, 1)


def test_a_phase_that_never_completed_has_no_spread() -> None:
    queue = row(spread_data([failed_report("queue")]), "queue")
    assert (queue["start"], queue["end"]) == (None, None)


def test_reports_are_read_once_so_a_generator_will_do() -> None:
    data = spread_data(report for report in twenty_reports())
    assert data["reports"] == 20


# --- the drawing -------------------------------------------------------------------------


def test_svg_has_one_bar_and_one_whisker_per_phase_that_completed() -> None:
    svg = render_spread_svg(twenty_reports())
    phases = len(service_boot().plan().order)
    assert len(elements(svg, "rect", "spread")) == phases
    assert len(elements(svg, "line", "whisker")) == phases
    assert len(elements(svg, "line", "p95")) == phases


def test_a_bar_spans_the_p50_start_to_the_p50_end_inside_its_whisker() -> None:
    svg = render_spread_svg(twenty_reports())
    order = list(service_boot().plan().order)
    bar = elements(svg, "rect", "spread")[order.index("cache")]
    whisker = elements(svg, "line", "whisker")[order.index("cache")]
    left, width = float(bar.get("x", "0")), float(bar.get("width", "0"))
    assert float(whisker.get("x1", "0")) <= left
    assert left + width < float(whisker.get("x2", "0"))


def test_phases_on_the_chain_in_half_the_boots_are_outlined() -> None:
    svg = render_spread_svg(twenty_reports())
    outlined = elements(svg, "rect", "chain")
    assert {bar.get("stroke-width") for bar in outlined} == {"2.2"}
    assert "cache" in " ".join(bar.findtext(f"{SVG}title", "") for bar in outlined)


def test_a_phase_that_never_completed_is_a_marker() -> None:
    report = failed_report("queue")
    markers = elements(render_spread_svg([report]), "rect", "never-completed")
    names = sorted(m.findtext(f"{SVG}title", "").split(" ")[0] for m in markers)
    assert names == sorted(r.name for r in report.phases if r.status.value != "completed")
    assert "queue" in names


def test_the_boots_p50_and_p95_durations_are_marked() -> None:
    svg = render_spread_svg(twenty_reports())
    assert len(elements(svg, "line", "boot-p50")) == len(elements(svg, "line", "boot-p95")) == 1


# --- the command -------------------------------------------------------------------------


@pytest.fixture
def report_files(tmp_path: Path) -> list[str]:
    paths = []
    for i, report in enumerate(twenty_reports()):
        path = tmp_path / f"boot-{i:02}.json"
        path.write_text(report.to_json())
        paths.append(str(path))
    return paths


def test_plot_writes_the_svg_of_many_reports(
    report_files: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "spread.svg"
    assert main(["plot", *report_files, "-o", str(out)]) == 0
    assert len(elements(out.read_text(), "rect", "spread")) == len(service_boot().plan().order)
    assert "20 reports" in capsys.readouterr().err


def test_plot_as_json_gives_the_chart_data(
    report_files: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plot", *report_files, "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert (document["schema"], document["reports"]) == ("smd.plot-spread/1", 20)


def test_plot_of_a_missing_report_is_an_invalid_target_diagnostic(
    report_files: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["plot", *report_files, str(tmp_path / "nope.json")]) == 64
    assert "does not exist" in capsys.readouterr().err
