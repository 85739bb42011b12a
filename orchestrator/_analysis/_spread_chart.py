"""Many boots in one Gantt chart: each phase's spread of start and end times across reports.

`spread_data` reads reports once each (so they may come from a generator) into
one row per phase, in the plan order of the first report that has it: the
nearest-rank min, p50, p95 and max of its start and of its end, and how many
boots had it on the critical chain. Like `smd stats`, only completed starts
count: a failed start stopped early and says nothing about when the phase
usually ends. `render_spread_svg` draws a bar from the p50 start to the p50
end, a whisker from the earliest start to the latest end with a tick at the
p95 end, and outlines the bars of phases on the chain in at least half the
boots. The drawing primitives are the single-boot chart's (`_svg_canvas`).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import Any

from .._model._report import BootReport
from .._model._status import PhaseStatus
from ._chain import chain_links
from ._chart_drawing import CHAIN_STROKE, PLOT_WIDTH, STATUS_STYLES
from ._stats import nearest_rank
from ._svg_canvas import Canvas, draw_time_axis, fit_label, format_seconds, shade_rows

SCHEMA = "smd.plot-spread/1"
CHAIN_SHARE = 0.5
"""A phase on the chain in at least this share of the boots has its bar outlined."""
NOTE_WIDTH = 300.0


def _spread(values: list[float]) -> dict[str, float] | None:
    """min, p50, p95 and max (nearest rank) of `values`, or None when there are none."""
    if not values:
        return None
    ordered = sorted(values)
    return {
        "min": ordered[0],
        "p50": nearest_rank(ordered, 50),
        "p95": nearest_rank(ordered, 95),
        "max": ordered[-1],
    }


class _Tally:
    __slots__ = ("ends", "kind", "on_chain", "seen", "starts")

    def __init__(self, kind: str) -> None:
        self.kind = kind
        self.seen = 0
        self.on_chain = 0
        self.starts: list[float] = []
        self.ends: list[float] = []


def spread_data(reports: Iterable[BootReport]) -> dict[str, Any]:
    """Many reports as chart data (schema `smd.plot-spread/1`): one row per phase.

    Phases are matched by name across plans. Each row gives `seen` (reports
    whose plan has the phase), `completed` (reports in which its start
    completed), `start` and `end` (min, p50, p95 and max over the completed
    starts, None when it never completed), `on_chain` (reports in which it was
    on the critical chain) and `chain_share` (that count over all reports).

    Args:
        reports: the reports, in any order; each is read once.

    Returns:
        A JSON-ready dict; `duration` is the spread of the boots' durations.
    """
    tallies: dict[str, _Tally] = {}
    boots: dict[str, None] = {}
    fingerprints: dict[str, None] = {}
    durations: list[float] = []
    for report in reports:
        boots.setdefault(report.boot)
        fingerprints.setdefault(report.fingerprint)
        durations.append(report.duration)
        for record in report.phases:
            tally = tallies.get(record.name)
            if tally is None:
                tally = tallies[record.name] = _Tally(record.kind)
            tally.seen += 1
            completed = record.status is PhaseStatus.COMPLETED
            if completed and record.start is not None and record.end is not None:
                tally.starts.append(record.start)
                tally.ends.append(record.end)
        for link in chain_links(report):
            tallies[link.name].on_chain += 1
    count = len(durations)
    return {
        "schema": SCHEMA,
        "percentile_method": "nearest-rank",
        "boots": sorted(boots),
        "fingerprints": list(fingerprints),
        "reports": count,
        "duration": _spread(durations),
        "rows": [
            {
                "name": name,
                "kind": tally.kind,
                "seen": tally.seen,
                "completed": len(tally.starts),
                "start": _spread(tally.starts),
                "end": _spread(tally.ends),
                "on_chain": tally.on_chain,
                "chain_share": tally.on_chain / count if count else 0.0,
            }
            for name, tally in tallies.items()
        ],
    }


def render_spread_svg(reports: Iterable[BootReport], *, title: str | None = None) -> str:
    """Many boots as one SVG Gantt chart of each phase's spread.

    Args:
        reports: the reports (real or simulated), read once each.
        title: the chart's title; by default the boot's name and the report count.

    Returns:
        A standalone SVG document.
    """
    return draw_spread(spread_data(reports), title=title)


def draw_spread(data: dict[str, Any], *, title: str | None = None) -> str:
    """The chart of `spread_data(reports)` as a standalone SVG document."""
    rows = data["rows"]
    row_height = 20.0 if len(rows) <= 40 else 14.0
    font_size = 12.0 if len(rows) <= 40 else 10.0
    longest = max((len(row["name"]) + 2 for row in rows), default=4)
    label_width = min(360.0, max(120.0, longest * font_size * 0.7 + 16))
    left, top = label_width + 10, 112.0
    duration = data["duration"] or {"max": 0.0}
    ends = [row["end"]["max"] for row in rows if row["end"] is not None]
    span = max([duration["max"], *ends]) or 1e-3

    def x(seconds: float) -> float:
        return left + PLOT_WIDTH * seconds / span

    def y(index: int) -> float:
        return top + index * row_height

    bottom = y(len(rows))
    canvas = Canvas(max(1000.0, left + PLOT_WIDTH + NOTE_WIDTH), bottom + 46, font_size=font_size)
    _draw_header(canvas, data, title)
    _draw_legend(canvas, y=76.0)
    shade_rows(canvas, top, row_height, [False] * len(rows))
    draw_time_axis(canvas, x, span, top=top - 8, bottom=bottom, repeat_below=len(rows) > 40)
    for index, row in enumerate(rows):
        baseline = y(index) + row_height / 2 + font_size * 0.36
        label = row["name"] if row["kind"] == "phase" else f"\u25c6 {row['name']}"
        chain = row["chain_share"] >= CHAIN_SHARE
        canvas.text(
            label_width,
            baseline,
            fit_label(label, label_width - 8, font_size),
            anchor="end",
            weight="bold" if chain else "normal",
        )
        if row["start"] is None:
            _draw_never_completed(canvas, x(0.0), y(index), row_height, baseline=baseline, row=row)
            continue
        right = _draw_phase(canvas, x, y(index), row_height, row, chain=chain)
        note = (
            f"p50 {format_seconds(row['end']['p50'] - row['start']['p50'])}, "
            f"ends p95 @{format_seconds(row['end']['p95'])}; "
            f"on chain {row['on_chain']}/{data['reports']}"
        )
        canvas.text(right, baseline, note, size=font_size - 1, fill="#444444")
    if data["duration"] is not None:
        for name, dashed in (("p50", False), ("p95", True)):
            at = x(data["duration"][name])
            canvas.line(
                at,
                top - 12,
                at,
                bottom + 4,
                stroke="#333333",
                dashed=dashed,
                css_class=f"boot-{name}",
            )
            canvas.text(at + 3, bottom + 28, f"boot {name}", size=10, fill="#333333")
    return canvas.render()


def _draw_header(canvas: Canvas, data: dict[str, Any], title: str | None) -> None:
    boots = ", ".join(repr(boot) for boot in data["boots"]) or "-"
    canvas.text(
        12, 24, title or f"boots of {boots} over {data['reports']} reports", size=17, weight="bold"
    )
    spread = data["duration"]
    if spread is not None:
        canvas.text(
            12,
            46,
            f"boot time p50 {format_seconds(spread['p50'])}, p95 {format_seconds(spread['p95'])}, "
            f"max {format_seconds(spread['max'])}",
            size=13,
            weight="bold",
        )
    plans = len(data["fingerprints"])
    canvas.text(
        12,
        66,
        f"{len(data['rows'])} phases, {plans} plan{'s' if plans != 1 else ''}; nearest-rank "
        "percentiles of completed starts",
        size=12,
        fill="#444444",
    )


def _draw_legend(canvas: Canvas, *, y: float) -> None:
    style = STATUS_STYLES["completed"]
    canvas.rect(12, y, 18, 11, fill=style.fill, stroke=style.stroke)
    canvas.text(35, y + 10, "p50 start \u2192 p50 end", size=11)
    canvas.line(175, y + 5.5, 205, y + 5.5, stroke="#555555")
    canvas.text(210, y + 10, "earliest start \u2192 latest end, | p95 end", size=11)
    canvas.rect(470, y, 18, 11, fill=style.fill, stroke=CHAIN_STROKE, stroke_width=2.2)
    canvas.text(
        493,
        y + 10,
        f"on the critical chain in \u2265{CHAIN_SHARE:.0%} of boots",
        size=11,
        weight="bold",
    )


def _draw_phase(
    canvas: Canvas,
    x: Callable[[float], float],
    top: float,
    height: float,
    row: dict[str, Any],
    *,
    chain: bool,
) -> float:
    """Whisker, p95 tick and p50 bar of one phase; returns where its note goes."""
    start, end = row["start"], row["end"]
    middle = top + height / 2
    canvas.line(
        x(start["min"]), middle, x(end["max"]), middle, stroke="#555555", css_class="whisker"
    )
    for edge in (start["min"], end["max"]):
        canvas.line(
            x(edge), middle - 4, x(edge), middle + 4, stroke="#555555", css_class="whisker-cap"
        )
    canvas.line(
        x(end["p95"]), top + 2, x(end["p95"]), top + height - 2, stroke="#111111", css_class="p95"
    )
    style = STATUS_STYLES["completed"]
    x0, x1 = x(start["p50"]), x(end["p50"])
    canvas.rect(
        x0,
        top + 4,
        max(x1 - x0, 2.0),
        height - 8,
        fill=style.fill,
        stroke=CHAIN_STROKE if chain else style.stroke,
        stroke_width=2.2 if chain else 0.8,
        opacity=0.85,
        tooltip=_tooltip(row),
        css_class="bar spread" + (" chain" if chain else ""),
    )
    return max(x(end["max"]), x1) + 6


def _draw_never_completed(
    canvas: Canvas, x: float, top: float, height: float, *, baseline: float, row: dict[str, Any]
) -> None:
    style = STATUS_STYLES["pending"]
    canvas.rect(
        x,
        top + 3,
        14,
        height - 6,
        fill=style.fill,
        stroke=style.stroke,
        dashed=True,
        tooltip=_tooltip(row),
        css_class="marker never-completed",
    )
    canvas.text(x + 18, baseline, f"never completed ({row['seen']} seen)", size=10, fill="#7f7f7f")


def _tooltip(row: dict[str, Any]) -> str:
    parts = [f"{row['name']} ({row['kind']}): completed {row['completed']}/{row['seen']}"]
    for edge in ("start", "end"):
        spread = row[edge]
        if spread is not None:
            parts.append(
                f"{edge} " + ", ".join(f"{k} {format_seconds(v)}" for k, v in spread.items())
            )
    parts.append(f"on chain {row['on_chain']}")
    return "; ".join(parts)
