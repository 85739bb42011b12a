"""The Gantt chart (SVG and data) of the boot and its stop, and the DOT / Mermaid graphs."""

from __future__ import annotations

import dataclasses
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

import pytest
from sleeping_boot import add_sleeper, service_boot

from orchestrator import (
    AttemptRecord,
    Boot,
    BootPlan,
    BootReport,
    BootState,
    PhaseRecord,
    PhaseStatus,
    RetryPause,
    TeardownOutcome,
)
from orchestrator._analysis._chart import plot_data, render_svg
from orchestrator._analysis._diagram import to_dot, to_mermaid
from orchestrator._analysis._simulator import simulate
from orchestrator._analysis._svg_canvas import format_seconds

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


def two_failures() -> tuple[BootPlan, BootReport]:
    plan = service_boot().plan()
    return plan, simulate(plan, fail={"queue", "metrics"}).to_report()


def node_line(dot: str, name: str) -> str:
    return next(line for line in dot.splitlines() if line.startswith(f'  "{name}" ['))


def test_dot_sets_the_root_cause_apart_from_a_non_critical_failure() -> None:
    dot = to_dot(*two_failures())
    queue, metrics = node_line(dot, "queue"), node_line(dot, "metrics")
    assert 'color="#5c0000", penwidth=4, xlabel="root cause"' in queue
    assert 'xlabel="non-critical"' in metrics
    assert "root cause" not in metrics


def test_mermaid_sets_the_root_cause_apart_from_a_non_critical_failure() -> None:
    text = to_mermaid(*two_failures())
    assert 'n_queue("queue<br/>failed<br/>root cause")' in text
    assert "class n_queue root_cause" in text
    assert 'n_metrics("metrics<br/>failed<br/>non-critical")' in text


def test_an_interrupted_boot_has_no_root_cause_in_the_graph() -> None:
    plan, report = two_failures()
    interrupted = dataclasses.replace(report, diagnostic={"kind": "interrupted", "phase": None})
    assert "root cause" not in to_dot(plan, interrupted)
    assert "root_cause" not in to_mermaid(plan, interrupted)


def test_dot_has_a_legend_of_the_marks_it_uses() -> None:
    plan = service_boot().plan()
    bare = to_dot(plan)
    assert "subgraph cluster_legend {" in bare
    assert '"key: gate" [label="gate", shape=hexagon' in bare
    assert '"key: non-critical" [label="non-critical", peripheries=2]' in bare
    assert '[label="after=: C only waits for B", style=dashed' in bare
    assert "key: failed" not in bare
    assert "key: root cause" not in bare
    coloured = to_dot(*two_failures())
    assert '"key: failed" [label="failed", fillcolor="#f4a6a6"' in coloured
    assert '"key: root cause" [label="root cause"' in coloured
    assert '[label="critical chain", penwidth=2.5]' in coloured


def test_mermaid_has_a_legend_of_the_marks_it_uses() -> None:
    text = to_mermaid(*two_failures())
    legend = text[text.index("  subgraph legend [legend]") :]
    assert 'k_gate{{"gate"}}' in legend
    assert "k_a ==>|critical chain| k_d" in legend
    assert "class k_failed failed" in legend
    assert "class k_root_cause root_cause" in legend
    assert legend.rstrip().endswith("end")


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


# -- the stop, attempts and retry pauses ------------------------------------------------

DONE = PhaseStatus.COMPLETED
DATA = Path(__file__).parent / "data"


def phase(
    name: str, *needs: str, teardown: tuple[float, float | None] | None = None, **fields: Any
) -> PhaseRecord:
    """A phase that booted in 0-1 s, torn down over `teardown` when given."""
    return PhaseRecord(
        name, "phase", DONE, fields.pop("attempts", 1), fields.pop("start", 0.0),
        fields.pop("end", 1.0), depends_on=needs,
        teardown=TeardownOutcome.TORN_DOWN if teardown else TeardownOutcome.NOT_NEEDED,
        teardown_start=teardown[0] if teardown else None,
        teardown_end=teardown[1] if teardown else None, **fields,
    )  # fmt: skip


def stopped(*records: PhaseRecord, **fields: Any) -> BootReport:
    return BootReport(
        "stopping", "f" * 12, BootState.STOPPED, "2024-01-01T00:00:00Z", 1.0, records,
        outcome=BootState.READY, **fields,
    )  # fmt: skip


# db <- (api, worker); api torn down 10-10.5, worker 10-10.2 beside it, then db 10.5-11.
GRAPH_STOP = stopped(
    phase("db", teardown=(10.5, 11.0)),
    phase("api", "db", teardown=(10.0, 10.5)),
    phase("worker", "db", teardown=(10.0, 10.2)),
    stopped_at=9.75,
    stop_duration=1.25,
)


def spans(svg: str, kind: str) -> list[tuple[float, float]]:
    return [
        (float(e.get("x", 0)), float(e.get("x", 0)) + float(e.get("width", 0)))
        for e in shapes(svg, kind)
    ]


def test_teardowns_on_the_stop_chain_are_outlined() -> None:
    chained = [
        t for t in shapes(render_svg(GRAPH_STOP), "teardown") if "chain" in t.get("class", "")
    ]
    assert sorted((t.get("class"), t.get("stroke-width")) for t in chained) == [
        ("teardown torn_down chain", "2.2"),
        ("teardown torn_down chain", "2.2"),
    ]


def test_the_stop_region_spans_from_the_stop_to_its_end() -> None:
    svg = render_svg(GRAPH_STOP)
    [(left, right)] = spans(svg, "stop-region")
    teardowns = spans(svg, "teardown")
    # The stop began 0.25 s of its 1.25 s before its first teardown and ended with its last.
    first = min(start for start, _ in teardowns)
    assert (first - left) / (right - left) == pytest.approx(0.2, abs=0.01)
    assert right == pytest.approx(max(end for _, end in teardowns), abs=0.1)


def test_the_stop_region_is_drawn_after_the_boot() -> None:
    svg = render_svg(GRAPH_STOP)
    boot_end = max(end for _, end in spans(svg, "bar"))
    assert spans(svg, "stop-region")[0][0] > boot_end


def test_a_boot_without_a_stop_has_no_stop_region() -> None:
    assert shapes(render_svg(stopped(phase("a"), phase("b", "a"))), "stop-region") == []


def test_a_failed_teardown_is_drawn_in_its_own_style() -> None:
    error = {"type": "TimeoutError", "message": "took longer than 0.5 s"}
    broken = stopped(
        phase("a", teardown=(2.0, 2.5)),
        PhaseRecord(
            "b", "phase", DONE, 1, 0.0, 1.0, teardown=TeardownOutcome.TEARDOWN_FAILED,
            depends_on=("a",), teardown_start=1.5, teardown_end=2.0, teardown_error=error,
        ),
    )  # fmt: skip
    [failed] = [
        t for t in shapes(render_svg(broken), "teardown") if "teardown_failed" in t.get("class", "")
    ]
    tooltip = failed.findtext(f"{SVG}title") or ""
    assert (failed.get("fill"), tooltip.endswith("TimeoutError: took longer than 0.5 s")) == (
        "url(#hatch-blocked)",
        True,
    )


def test_a_short_stop_is_drawn_wider_than_the_boot_scale() -> None:
    quick = stopped(phase("a", teardown=(1.0, 1.001)))
    svg = render_svg(quick)
    [(left, right)] = spans(svg, "stop-region")
    [(boot_left, boot_right)] = spans(svg, "bar")
    assert right - left >= 0.3 * (boot_right - boot_left) - 1


def test_plot_data_gives_the_stop_its_window_and_chain() -> None:
    assert plot_data(GRAPH_STOP)["stop"] == {
        "began": 9.75, "ended": 11.0, "duration": 1.25, "critical_chain": ["api", "db"],
    }  # fmt: skip


def test_plot_data_gives_each_teardown_its_chain_and_slack() -> None:
    rows = {row["name"]: row for row in plot_data(GRAPH_STOP)["rows"]}
    assert (rows["api"]["teardown_on_chain"], rows["worker"]["teardown_slack"]) == (
        True,
        pytest.approx(0.3),
    )


def test_a_report_of_release_0_1_0_is_drawn_with_its_stop() -> None:
    older = BootReport.from_json((DATA / "report-0.1.0.json").read_text(encoding="utf-8"))
    svg = render_svg(older)
    assert (len(shapes(svg, "stop-region")), len(shapes(svg, "teardown"))) == (1, 3)


RETRIED = stopped(
    phase(
        "db",
        attempts=3,
        attempt_log=(
            AttemptRecord(1, 0.0, 0.2, "timed_out"),
            AttemptRecord(2, 0.3, 0.4, "failed", "ConnectionRefusedError: db:5432 refused"),
            AttemptRecord(3, 0.6, 1.0, "completed"),
        ),
        retry_pauses=(RetryPause(1, 0.2, 0.3), RetryPause(2, 0.4, 0.6)),
    )
)


def test_a_failed_attempts_tooltip_carries_its_error() -> None:
    tooltips = [a.findtext(f"{SVG}title") for a in shapes(render_svg(RETRIED), "attempt")]
    assert tooltips[1] == "db: attempt 2 failed +100 ms: ConnectionRefusedError: db:5432 refused"
    assert tooltips[2] == "db: attempt 3 completed +400 ms"


def test_each_attempt_is_drawn_coloured_by_its_outcome() -> None:
    attempts = shapes(render_svg(RETRIED), "attempt")
    assert [(a.get("class"), a.get("fill")) for a in attempts] == [
        ("attempt timed_out", "#ff7f0e"),
        ("attempt failed", "#d62728"),
        ("attempt completed", "#4e79a7"),
    ]


def test_retry_pauses_are_drawn_between_the_attempts() -> None:
    svg = render_svg(RETRIED)
    attempts, pauses = spans(svg, "attempt"), spans(svg, "retry-pause")
    assert [(round(p0), round(p1)) for p0, p1 in pauses] == [
        (round(attempts[0][1]), round(attempts[1][0])),
        (round(attempts[1][1]), round(attempts[2][0])),
    ]


def test_a_report_without_attempt_log_draws_no_attempts() -> None:
    assert (
        shapes(render_svg(GRAPH_STOP), "attempt") + shapes(render_svg(GRAPH_STOP), "retry-pause")
        == []
    )


@pytest.mark.parametrize(
    ("seconds", "shown"),
    [(0.00085, "850 \u00b5s"), (0.042, "42 ms"), (1.25, "1.25 s"), (185, "3 min 5 s"),
     (3599.7, "60 min 0 s"), (9000, "2 h 30 min")],
)  # fmt: skip
def test_durations_read_as_short_human_units(seconds: float, shown: str) -> None:
    assert format_seconds(seconds) == shown


def test_a_stop_with_nothing_to_tear_down_still_has_its_window() -> None:
    quiet = stopped(phase("a"), stopped_at=5.0, stop_duration=0.5)
    assert plot_data(quiet)["stop"] == {
        "began": 5.0, "ended": 5.5, "duration": 0.5, "critical_chain": [],
    }  # fmt: skip


def test_the_stop_label_has_its_own_line_between_the_legend_and_the_ticks() -> None:
    lines = texts(render_svg(GRAPH_STOP))
    label = next(y for text, y in lines.items() if text.startswith("// stop"))
    assert lines["stop"] + 12 <= label <= lines["+500 ms"] - 10


def test_a_report_older_than_teardown_times_is_drawn_without_a_stop() -> None:
    document = GRAPH_STOP.to_dict()
    for key in ("stopped_at", "stop_duration"):
        del document[key]
    for row in document["phases"]:
        for key in ("teardown_start", "teardown_end", "attempt_log", "retry_pauses"):
            del row[key]
    svg = render_svg(BootReport.from_dict(document))
    assert (len(shapes(svg, "bar")), shapes(svg, "stop-region")) == (3, [])
