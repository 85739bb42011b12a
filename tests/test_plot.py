"""The Gantt chart (SVG and data) and the DOT / Mermaid graphs."""

from __future__ import annotations

import xml.etree.ElementTree as ET

import pytest
from sleeping_boot import add_sleeper, service_boot

from orchestrator import Boot
from orchestrator._diagram import to_dot, to_mermaid
from orchestrator._plot import plot_data, render_svg
from orchestrator._simulate import simulate

SVG = "{http://www.w3.org/2000/svg}"


def shapes(svg: str, kind: str) -> list[ET.Element]:
    root = ET.fromstring(svg)
    return [e for e in root.iter(f"{SVG}rect") if e.get("class", "").split(" ")[0] == kind]


def bars_and_markers(svg: str) -> list[ET.Element]:
    return shapes(svg, "bar") + shapes(svg, "marker")


def failed_report():  # type: ignore[no-untyped-def]
    return simulate(service_boot().plan(), fail={"queue"}).to_report()


def test_svg_is_well_formed_with_one_bar_or_marker_per_phase() -> None:
    report = simulate(service_boot().plan()).to_report()
    assert len(bars_and_markers(render_svg(report))) == len(report.phases)


def test_phases_that_never_ran_are_markers_coloured_by_status() -> None:
    markers = shapes(render_svg(failed_report()), "marker")
    assert sorted(m.get("class") for m in markers) == ["marker blocked", "marker blocked"]


def test_each_status_is_drawn_differently() -> None:
    shown = bars_and_markers(render_svg(failed_report()))
    fills = {b.get("class", "").split(" ")[1]: b.get("fill") for b in shown}
    statuses = {"failed", "cancelled", "blocked"}
    assert len({fills[key] for key in statuses}) == 3


def test_critical_chain_bars_are_outlined() -> None:
    chained = [
        b for b in shapes(render_svg(failed_report()), "bar") if "chain" in b.get("class", "")
    ]
    assert {b.get("stroke-width") for b in chained} == {"2.2"}


def test_teardown_is_drawn_as_a_second_segment() -> None:
    teardowns = shapes(render_svg(failed_report()), "teardown")
    assert len(teardowns) == 2


def test_five_hundred_phases_stay_legible() -> None:
    boot = Boot("big")
    for i in range(500):
        add_sleeper(boot, f"phase_{i}", 0.001 * (1 + i % 5), [f"phase_{i // 2}"] if i else [])
    root = ET.fromstring(render_svg(simulate(boot.plan()).to_report()))
    height = float(root.get("height", "0"))
    assert 500 * 14 <= height <= 500 * 14 + 400
    assert min(float(t.get("font-size", "0")) for t in root.iter(f"{SVG}text")) >= 9


def test_plot_data_has_one_row_per_phase_with_chain_and_slack() -> None:
    data = plot_data(simulate(service_boot().plan()).to_report())
    rows = {row["name"]: row for row in data["rows"]}
    assert (rows["database"]["on_chain"], rows["cache"]["slack"]) == (True, pytest.approx(0.02))


def test_dot_draws_gates_as_hexagons_and_after_edges_dashed() -> None:
    dot = to_dot(service_boot().plan())
    assert '"schema" [label="schema", shape=hexagon' in dot
    assert '"metrics" -> "api" [style=dashed' in dot


def test_dot_colours_nodes_by_outcome_with_a_report() -> None:
    boot = service_boot()
    dot = to_dot(boot.plan(), simulate(boot.plan(), fail={"queue"}).to_report())
    assert 'label="queue\\nfailed", fillcolor="#f4a6a6"' in dot


def test_mermaid_marks_gates_after_edges_and_outcomes() -> None:
    boot = service_boot()
    text = to_mermaid(boot.plan(), simulate(boot.plan(), fail={"queue"}).to_report())
    assert 'n_schema{{"schema<br/>blocked"}}' in text
    assert "n_metrics -.-> n_api" in text
    assert "class n_queue failed" in text


def test_mermaid_node_ids_never_collide_with_its_keywords() -> None:
    boot = Boot("keywords")
    add_sleeper(boot, "end", 0.0)
    add_sleeper(boot, "subgraph", 0.0, ["end"])
    text = to_mermaid(boot.plan())
    assert tuple(text.splitlines()[1:4:2]) == ('  n_end("end")', "  n_end --> n_subgraph")


def test_dot_keeps_non_ascii_names_readable() -> None:
    boot = Boot("café")
    add_sleeper(boot, "données", 0.0)
    dot = to_dot(boot.plan())
    assert '"données" [label="données"]' in dot
    assert "\\u" not in dot


def texts(svg: str) -> dict[str, float]:
    return {t.text or "": float(t.get("y", "0")) for t in ET.fromstring(svg).iter(f"{SVG}text")}


def test_root_cause_has_its_own_line_under_the_title() -> None:
    lines = texts(render_svg(failed_report()))
    root = next(y for text, y in lines.items() if "root cause: queue" in text)
    assert root >= lines["boot 'service'"] + 15


def test_teardown_is_drawn_right_of_every_duration_note() -> None:
    svg = render_svg(failed_report())
    boot_end = max(float(b.get("x", 0)) + float(b.get("width", 0)) for b in shapes(svg, "bar"))
    assert min(float(t.get("x", 0)) for t in shapes(svg, "teardown")) > boot_end + 60


def test_phase_blocked_by_an_optional_failure_is_marked_where_that_failure_ended() -> None:
    boot = Boot("optional")
    add_sleeper(boot, "slow", 0.1)
    add_sleeper(boot, "extra", 0.0, critical=False)
    add_sleeper(boot, "needs_extra", 0.0, ["extra"])
    add_sleeper(boot, "broken", 0.05)
    rows = plot_data(simulate(boot.plan(), fail={"extra": 0.0, "broken": 0.05}).to_report())["rows"]
    assert [row["marker_at"] for row in rows if row["status"] == "blocked"] == [0.0]
