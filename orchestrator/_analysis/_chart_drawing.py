"""Drawing the Gantt chart of `plot_data`: layout, rows, both chains, the stop's zone.

One row per phase in plan order. A bar spans a phase's start; its colour says
how it ended, and when the report lists attempts, each attempt and each retry
pause is drawn inside it. Phases that never ran (blocked, skipped) get a
hatched or dashed marker where they would have become ready. The stop has its
own shaded zone after the boot, with each teardown a hatched bar in its
phase's row. Both critical chains (the start's and the stop's) are outlined
and their links joined by a line. The SVG needs no scripts or fonts beyond a
sans-serif face; each bar carries a `<title>` tooltip.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from ._svg_canvas import (
    Canvas,
    draw_time_axis,
    fit_label,
    format_seconds,
    nice_ticks,
    shade_rows,
)

PLOT_WIDTH = 900.0
NOTE_WIDTH = 330.0
# The stop's zone is at least this share of the boot's width.
MIN_STOP_SHARE = 0.3


@dataclass(frozen=True, slots=True)
class Style:
    """How one status is drawn: fill, outline, and whether it is a hollow marker."""

    label: str
    fill: str
    stroke: str
    marker: bool = False
    dashed: bool = False


STATUS_STYLES: dict[str, Style] = {
    "completed": Style("completed", "#4e79a7", "#3b5f86"),
    "failed": Style("failed", "#d62728", "#8b1a1a"),
    "timed_out": Style("timed out", "#ff7f0e", "#a64f00"),
    "cancelled": Style("cancelled", "url(#hatch-cancelled)", "#8c6d1f"),
    "blocked": Style("blocked", "url(#hatch-blocked)", "#d62728", marker=True),
    "skipped": Style("skipped", "#ffffff", "#7f7f7f", marker=True, dashed=True),
    "running": Style("running", "#9edae5", "#17becf"),
    "pending": Style("pending", "#ffffff", "#bbbbbb", marker=True, dashed=True),
}
TEARDOWN_STYLE = Style("teardown", "url(#hatch-teardown)", "#6b8fb3")
TEARDOWN_FAILED_STYLE = Style("teardown failed", "url(#hatch-blocked)", "#d62728")
RETRY_PAUSE_STYLE = Style("retry pause", "#ffffff", "#7f7f7f", dashed=True)
STOP_STYLE = Style("stop", "#8c564b", "#8c564b", dashed=True)
CHAIN_STROKE = "#111111"


@dataclass(frozen=True, slots=True)
class _Layout:
    rows: int
    row_height: float
    font_size: float
    label_width: float
    plot_left: float
    plot_width: float
    top: float
    boot_end: float
    teardown_at: float
    teardown_left: float
    span: float
    stop_end: float | None
    stop_scale: float
    """How much wider than the boot's scale the stop is drawn (1: the same scale)."""

    @property
    def idle(self) -> float:
        """Seconds between the boot settling and the stop (the service's life)."""
        return max(0.0, self.teardown_at - self.boot_end)

    def x(self, seconds: float) -> float:
        """Where a moment of the boot is drawn."""
        return self.plot_left + self.plot_width * min(seconds, self.span) / self.span

    def teardown_x(self, seconds: float) -> float:
        """Where a moment of the stop is drawn: in its own zone after the boot."""
        return self.x(self.teardown_left + (seconds - self.teardown_at) * self.stop_scale)

    def y(self, row: int) -> float:
        return self.top + row * self.row_height


def _layout(data: dict[str, Any]) -> _Layout:
    rows = data["rows"]
    count = len(rows)
    row_height = 20.0 if count <= 40 else 14.0
    font_size = 12.0 if count <= 40 else 10.0
    longest = max((len(row["name"]) + 2 for row in rows), default=4)
    label_width = min(360.0, max(120.0, longest * font_size * 0.7 + 16))
    ends = [row["end"] for row in rows if row["end"] is not None]
    attempt_ends = [a["end"] for row in rows for a in row["attempt_log"] if a["end"] is not None]
    boot_end = max([data["duration"], *ends, *attempt_ends])
    stop = data["stop"]
    span = boot_end
    first = boot_end
    # The stop gets its own zone after a gap wide enough for the bars' duration notes,
    # and any idle time between the boot and its stop (hours of service) is cut out.
    left = boot_end * 1.15 if boot_end > 0 else 1e-3
    scale = 1.0
    if stop is not None:
        first = stop["began"]
        # A stop much shorter than the boot is drawn wider, on its own scale, to stay legible.
        length = stop["ended"] - first
        scale = max(1.0, MIN_STOP_SHARE * boot_end / length) if length > 0 else 1.0
        span = max(boot_end, left + length * scale)
    return _Layout(
        rows=count,
        row_height=row_height,
        font_size=font_size,
        label_width=label_width,
        plot_left=label_width + 10,
        plot_width=PLOT_WIDTH,
        top=156.0 if stop is not None else 124.0,
        boot_end=boot_end,
        teardown_at=first,
        teardown_left=left,
        span=span if span > 0 else 1e-3,
        stop_end=stop["ended"] if stop is not None else None,
        stop_scale=scale,
    )


def draw_gantt(data: dict[str, Any], *, title: str | None = None) -> str:
    """The chart of `plot_data(report)` as a standalone SVG document."""
    layout = _layout(data)
    height = layout.y(layout.rows) + 46
    width = max(1000.0, layout.plot_left + PLOT_WIDTH + NOTE_WIDTH)
    canvas = Canvas(width, height, font_size=layout.font_size)
    _draw_header(canvas, data, title)
    # Below the header: 80 px, or 104 px when the header has the stop's line too.
    _draw_legend(canvas, y=104.0 if data["stop"] is not None else 80.0)
    failed = [row["status"] in ("failed", "timed_out") for row in data["rows"]]
    shade_rows(canvas, layout.top, layout.row_height, failed)
    _draw_axis(canvas, layout, y=layout.top - 8)
    if data["stop"] is not None:
        _draw_stop_zone(canvas, layout, data["stop"])
    positions = {row["name"]: i for i, row in enumerate(data["rows"])}
    for index, row in enumerate(data["rows"]):
        _draw_row(canvas, layout, index, row)
    _draw_chain_links(canvas, layout, data, positions)
    end_x = layout.x(layout.boot_end)
    canvas.line(
        end_x, layout.top - 12, end_x, layout.y(layout.rows) + 4, stroke="#333333", dashed=True
    )
    return canvas.render()


def _draw_header(canvas: Canvas, data: dict[str, Any], title: str | None) -> None:
    """Title; the outcome and the root cause; the plan and both chains: no overlaps."""
    outcome = data["outcome"].upper()
    colour = {"FAILED": "#d62728", "DEGRADED": "#ff7f0e"}.get(outcome, "#2e7d32")
    heading = title or f"boot '{data['boot']}'"
    canvas.text(12, 24, heading, size=17, weight="bold")
    verdict = f"{outcome} after {format_seconds(data['duration'])}"
    root = data.get("root_cause")
    if root:
        verdict += f"; root cause: {root}"
    canvas.text(12, 46, verdict, size=13, weight="bold", fill=colour)
    chain = _shorten(" \u2192 ".join(data["critical_chain"]))
    summary = f"fingerprint {data['fingerprint']}, {len(data['rows'])} phases"
    canvas.text(12, 66, f"{summary}; critical chain: {chain or '-'}", size=12, fill="#444444")
    stop = data["stop"]
    if stop is not None:
        chain = _shorten(" \u2192 ".join(stop["critical_chain"]))
        failed = sum(row["teardown"] == "teardown_failed" for row in data["rows"])
        line = f"stop took {format_seconds(stop['duration'])}"
        line += f", {failed} teardown(s) failed" if failed else ""
        canvas.text(12, 84, f"{line}; stop chain: {chain or '-'}", size=12, fill=STOP_STYLE.stroke)


def _shorten(text: str) -> str:
    return text[:137] + "..." if len(text) > 140 else text


def _draw_legend(canvas: Canvas, *, y: float) -> None:
    x = 12.0
    entries = [STATUS_STYLES[key] for key in STATUS_STYLES if key not in ("running", "pending")]
    for style in [*entries, RETRY_PAUSE_STYLE, TEARDOWN_STYLE, TEARDOWN_FAILED_STYLE]:
        canvas.rect(
            x, y, 18, 11, fill=style.fill, stroke=style.stroke, dashed=style.dashed, stroke_width=1
        )
        canvas.text(x + 23, y + 10, style.label, size=11)
        x += 30 + len(style.label) * 6.6
    canvas.rect(
        x, y, 18, 11, fill=STOP_STYLE.fill, stroke=STOP_STYLE.stroke, dashed=True, opacity=0.15
    )
    canvas.text(x + 23, y + 10, STOP_STYLE.label, size=11)
    x += 30 + len(STOP_STYLE.label) * 6.6
    canvas.rect(x, y, 18, 11, fill="#4e79a7", stroke=CHAIN_STROKE, stroke_width=2.2)
    canvas.text(x + 23, y + 10, "critical chain", size=11, weight="bold")
    canvas.text(x + 120, y + 10, "\u25c6 gate", size=11)


def _draw_axis(canvas: Canvas, layout: _Layout, *, y: float) -> None:
    bottom = layout.y(layout.rows)
    boot_part = layout.boot_end if layout.span > layout.boot_end else layout.span
    draw_time_axis(
        canvas,
        layout.x,
        boot_part,
        top=y,
        bottom=bottom,
        repeat_below=layout.rows > 40,
        line_to=layout.span,
    )
    end_x = layout.x(layout.boot_end)
    canvas.text(end_x + 3, bottom + 28, "boot settled", size=10, fill="#333333")


def _draw_row(canvas: Canvas, layout: _Layout, index: int, row: dict[str, Any]) -> None:
    top = layout.y(index)
    h = layout.row_height
    failed = row["status"] in ("failed", "timed_out")
    label = row["name"] if row["kind"] == "phase" else f"\u25c6 {row['name']}"
    if failed:
        label = f"\u2716 {label}"
    label = fit_label(label, layout.label_width - 8, layout.font_size)
    weight = "bold" if row["on_chain"] or failed else "normal"
    baseline = top + h / 2 + layout.font_size * 0.36
    colour = "#b71c1c" if failed else "#222222"
    canvas.text(layout.label_width, baseline, label, anchor="end", weight=weight, fill=colour)
    style = STATUS_STYLES.get(row["status"], STATUS_STYLES["pending"])
    if row["start"] is None:
        x = layout.x(row["marker_at"] or 0.0)
        canvas.rect(
            x,
            top + 3,
            14,
            h - 6,
            fill=style.fill,
            stroke=style.stroke,
            dashed=style.dashed,
            stroke_width=1.2,
            tooltip=_tooltip(row),
            css_class=f"marker {row['status']}",
        )
        canvas.text(x + 18, baseline, style.label, size=layout.font_size - 1, fill=style.stroke)
        return
    right = _draw_bar(canvas, layout, top, row)
    _draw_attempts(canvas, layout, top, row)
    note = format_seconds(row["duration"] or 0.0)
    if row["attempts"] > 1:
        note += f" ({row['attempts']} attempts)"
    if row["status"] != "completed":
        note += f"  {style.label.upper()}"
        if row["error"] and failed:
            note += f": {row['error']}"
    if len(note) > 60:
        note = note[:59] + "\u2026"
    if row["teardown_start"] is not None:
        _draw_teardown(canvas, layout, top, row)
        if row["teardown"] == "teardown_failed":
            note += "  TEARDOWN FAILED"
    canvas.text(right, baseline, note, size=layout.font_size - 1, fill=style.stroke)


def _draw_bar(canvas: Canvas, layout: _Layout, top: float, row: dict[str, Any]) -> float:
    """The phase's bar from its first start to its end; returns where its note goes."""
    style = STATUS_STYLES.get(row["status"], STATUS_STYLES["pending"])
    minimum = 6.0 if row["status"] in ("failed", "timed_out") else 2.0
    x0, x1 = layout.x(row["start"]), layout.x(row["end"] or row["start"])
    chain = row["on_chain"]
    canvas.rect(
        x0,
        top + 3,
        max(x1 - x0, minimum),
        layout.row_height - 6,
        fill=style.fill,
        stroke=CHAIN_STROKE if chain else style.stroke,
        stroke_width=2.2 if chain else 0.8,
        tooltip=_tooltip(row),
        css_class=f"bar {row['status']}" + (" chain" if chain else ""),
    )
    return max(x1, x0 + minimum) + 5


def _draw_attempts(canvas: Canvas, layout: _Layout, top: float, row: dict[str, Any]) -> None:
    """Each attempt inside the bar, coloured by how it ended, and the pauses between them."""
    inset_top, inset_h = top + 5, layout.row_height - 10
    for attempt in row["attempt_log"]:
        style = STATUS_STYLES.get(attempt["outcome"], STATUS_STYLES["completed"])
        x0 = layout.x(attempt["start"])
        x1 = layout.x(attempt["end"] if attempt["end"] is not None else attempt["start"])
        spent = "" if attempt["end"] is None else f" +{format_seconds(_spent(attempt))}"
        error = f": {attempt['error']}" if attempt.get("error") else ""
        canvas.rect(
            x0,
            inset_top,
            max(x1 - x0, 1.0),
            inset_h,
            fill=style.fill,
            stroke=style.stroke,
            stroke_width=0.6,
            tooltip=f"{row['name']}: attempt {attempt['number']} {attempt['outcome']}{spent}"
            f"{error}",
            css_class=f"attempt {attempt['outcome']}",
        )
    for pause in row["retry_pauses"]:
        x0 = layout.x(pause["start"])
        x1 = layout.x(pause["end"] if pause["end"] is not None else pause["start"])
        spent = "" if pause["end"] is None else f" {format_seconds(_spent(pause))}"
        canvas.rect(
            x0,
            inset_top,
            max(x1 - x0, 1.0),
            inset_h,
            fill=RETRY_PAUSE_STYLE.fill,
            stroke=RETRY_PAUSE_STYLE.stroke,
            stroke_width=0.6,
            dashed=True,
            tooltip=f"{row['name']}: retry pause after attempt {pause['after_attempt']}{spent}",
            css_class="retry-pause",
        )


def _spent(span: dict[str, Any]) -> float:
    """Seconds between a span's start and end (both known)."""
    return float(span["end"] - span["start"])


def _draw_teardown(canvas: Canvas, layout: _Layout, top: float, row: dict[str, Any]) -> None:
    """The teardown as a hatched bar in the stop's zone, outlined when on the stop's chain."""
    start = row["teardown_start"]
    end = row["teardown_end"] if row["teardown_end"] is not None else layout.stop_end or start
    t0, t1 = layout.teardown_x(start), layout.teardown_x(end)
    broken = row["teardown"] == "teardown_failed"
    style = TEARDOWN_FAILED_STYLE if broken else TEARDOWN_STYLE
    chain = row["teardown_on_chain"]
    tip = [f"{row['name']}: {style.label} @+{format_seconds(start - layout.teardown_at)}"]
    tip.append(f"+{format_seconds(end - start)}")
    if row["teardown_slack"] is not None:
        tip.append(f"slack {format_seconds(row['teardown_slack'])}")
    if row["teardown_error"]:
        tip.append(row["teardown_error"])
    canvas.rect(
        t0,
        top + 4,
        max(t1 - t0, 2.0),
        layout.row_height - 8,
        fill=style.fill,
        stroke=CHAIN_STROKE if chain else style.stroke,
        stroke_width=2.2 if chain else 1,
        tooltip="; ".join(tip),
        css_class=f"teardown {row['teardown']}" + (" chain" if chain else ""),
    )
    baseline = top + layout.row_height / 2 + layout.font_size * 0.36
    canvas.text(
        max(t1, t0 + 2.0) + 4,
        baseline,
        f"\u21a9 {format_seconds(end - start)}",
        size=layout.font_size - 1,
        weight="bold" if chain else "normal",
        fill=style.stroke,
    )


def _draw_stop_zone(canvas: Canvas, layout: _Layout, stop: dict[str, Any]) -> None:
    """The stop's zone, shaded from its beginning to its end, with ticks counted from it."""
    top, bottom = layout.top - 12, layout.y(layout.rows) + 4
    x0, x1 = layout.teardown_x(stop["began"]), layout.teardown_x(stop["ended"])
    canvas.rect(
        x0,
        top,
        max(x1 - x0, 2.0),
        bottom - top,
        fill=STOP_STYLE.fill,
        stroke=STOP_STYLE.stroke,
        stroke_width=1,
        dashed=True,
        opacity=0.08,
        tooltip=f"stop: began @{format_seconds(stop['began'])}, took "
        f"{format_seconds(stop['duration'])}",
        css_class="stop-region",
    )
    notes = [f"+{format_seconds(layout.idle)} later"] if layout.idle > 1e-3 else []
    if layout.stop_scale > 1:
        notes.append(f"drawn {layout.stop_scale:.3g}\u00d7 wider")
    label = f"// stop ({', '.join(notes)})" if notes else "// stop"
    canvas.text(x0, top - 14, label, size=10, weight="bold", fill=STOP_STYLE.stroke)
    ticks = nice_ticks(stop["duration"], count=max(1, int((x1 - x0) / 90)))
    for tick in ticks[1:]:
        x = layout.teardown_x(stop["began"] + tick)
        canvas.line(x, top, x, bottom, stroke="#e9dcd8")
        canvas.text(x, top - 3, f"+{format_seconds(tick)}", size=9, anchor="middle", fill="#555555")


def _draw_chain_links(
    canvas: Canvas, layout: _Layout, data: dict[str, Any], positions: dict[str, int]
) -> None:
    """Both chains' links: the start's between bars, the stop's between teardowns."""
    rows = data["rows"]
    for before, after in itertools.pairwise(data["critical_chain"]):
        a, b = rows[positions[before]], rows[positions[after]]
        x_end, x_start = layout.x(a["end"]), layout.x(b["start"])
        _join(canvas, layout, (x_end, positions[before]), (x_start, positions[after]))
    stop = data["stop"] or {"critical_chain": []}
    for before, after in itertools.pairwise(stop["critical_chain"]):
        a, b = rows[positions[before]], rows[positions[after]]
        x_end = layout.teardown_x(a["teardown_end"] or a["teardown_start"])
        x_start = layout.teardown_x(b["teardown_start"])
        _join(canvas, layout, (x_end, positions[before]), (x_start, positions[after]))


def _join(
    canvas: Canvas, layout: _Layout, end: tuple[float, int], start: tuple[float, int]
) -> None:
    """A chain's link: down (or up) from one bar's end, then across to the next bar's start."""
    (x_end, row_a), (x_start, row_b) = end, start
    y_a = layout.y(row_a) + layout.row_height / 2
    y_b = layout.y(row_b) + layout.row_height / 2
    canvas.path(
        f"M{x_end:.1f},{y_a:.1f} L{x_end:.1f},{y_b:.1f} L{x_start:.1f},{y_b:.1f}",
        stroke=CHAIN_STROKE,
    )


def _tooltip(row: dict[str, Any]) -> str:
    parts = [f"{row['name']} ({row['kind']}): {row['status']}"]
    if row["start"] is not None:
        parts.append(f"@{format_seconds(row['start'])} +{format_seconds(row['duration'] or 0)}")
        parts.append(f"attempts {row['attempts']}")
    if row["slack"] is not None:
        parts.append(f"slack {format_seconds(row['slack'])}")
    if row["error"]:
        parts.append(row["error"])
    return "; ".join(parts)
