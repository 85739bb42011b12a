"""A boot as a Gantt chart: the data behind it, and a hand-written SVG of it.

One row per phase in plan order. A bar spans a phase's start; its colour says
how it ended. Phases that never ran (blocked, skipped) get a hatched or dashed
marker where they would have become ready. Teardown is a second, hatched
segment after the boot. The critical chain is outlined, its labels bold, and
its links joined by a line. The SVG needs no scripts or fonts beyond a
sans-serif face; each bar carries a `<title>` tooltip.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from ._analysis import critical_chain
from ._report import BootReport
from ._svg import Canvas, format_seconds, nice_ticks

SCHEMA = "smd.plot/1"
PLOT_WIDTH = 900.0
NOTE_WIDTH = 330.0


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
CHAIN_STROKE = "#111111"
# A blocked phase with a dependency in one of these states was blocked by it, not by the abort.
_UNSETTLED_BY = ("failed", "timed_out", "blocked")


def plot_data(report: BootReport) -> dict[str, Any]:
    """The chart as plain data (schema `smd.plot/1`): one row per phase, in plan order.

    Each row gives the phase's status and times, its teardown times, whether it
    is on the critical chain, its slack, and `marker_at` (when a phase that
    never ran would have become ready) so any plotting tool can draw it.

    Args:
        report: the boot's report (real or simulated).

    Returns:
        A JSON-ready dict.
    """
    chain = critical_chain(report)
    slack = {entry.name: entry.slack for entry in chain.slack}
    aborted = (report.outcome or report.state).value == "failed"
    abort_at = chain.finished if chain.links else report.duration
    on_chain = set(chain.names)
    marker_at: dict[str, float] = {}
    status: dict[str, str] = {}
    rows = []
    for record in report.phases:
        # A dependency that ran hands on its end; one that did not, its own marker time.
        ready = max((marker_at[n] for n in record.depends_on if n in marker_at), default=0.0)
        if (
            aborted
            and record.status.value == "blocked"
            and not any(status.get(name) in _UNSETTLED_BY for name in record.depends_on)
        ):
            # Blocked by the abort: shown where the abort happened, not where it was ready.
            ready = max(ready, abort_at)
        status[record.name] = record.status.value
        marker_at[record.name] = record.end if record.end is not None else ready
        error = record.error or {}
        rows.append(
            {
                "name": record.name,
                "kind": record.kind,
                "status": record.status.value,
                "critical": record.critical,
                "start": record.start,
                "end": record.end,
                "duration": record.duration,
                "attempts": record.attempts,
                "error": f"{error.get('type')}: {error.get('message')}" if error else None,
                "teardown": record.teardown.value,
                "teardown_start": record.teardown_start,
                "teardown_end": record.teardown_end,
                "on_chain": record.name in on_chain,
                "slack": 0.0 if record.name in on_chain else slack.get(record.name),
                "marker_at": None if record.start is not None else ready,
            }
        )
    return {
        "schema": SCHEMA,
        "boot": report.boot,
        "fingerprint": report.fingerprint,
        "outcome": (report.outcome or report.state).value,
        "duration": report.duration,
        "critical_chain": list(chain.names),
        "root_cause": _root_cause(report),
        "rows": rows,
    }


def _root_cause(report: BootReport) -> str | None:
    """The failed phase that aborted the boot, as its diagnostic names it."""
    diagnostic = report.diagnostic or {}
    phase = diagnostic.get("phase")
    if not isinstance(phase, str):
        return None
    kind = diagnostic.get("kind", "failed")
    code = diagnostic.get("exit_code")
    return f"{phase} ({kind}, exit {code})" if code is not None else f"{phase} ({kind})"


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

    @property
    def idle(self) -> float:
        """Seconds between the boot settling and the first teardown (the service's life)."""
        return max(0.0, self.teardown_at - self.boot_end)

    def x(self, seconds: float) -> float:
        """Where a moment of the boot is drawn."""
        return self.plot_left + self.plot_width * min(seconds, self.span) / self.span

    def teardown_x(self, seconds: float) -> float:
        """Where a moment of the teardown is drawn: in its own zone after the boot."""
        return self.x(self.teardown_left + seconds - self.teardown_at)

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
    boot_end = max([data["duration"], *ends])
    teardown = [
        (r["teardown_start"], r["teardown_end"]) for r in rows if r["teardown_start"] is not None
    ]
    span = boot_end
    first = boot_end
    # Teardown gets its own zone after a gap wide enough for the bars' duration notes,
    # and any idle time between the boot and its teardown (hours of service) is cut out.
    left = boot_end * 1.15 if boot_end > 0 else 1e-3
    if teardown:
        first = min(start for start, _ in teardown)
        last = max(end if end is not None else start for start, end in teardown)
        span = max(boot_end, left + last - first)
    return _Layout(
        rows=count,
        row_height=row_height,
        font_size=font_size,
        label_width=label_width,
        plot_left=label_width + 10,
        plot_width=PLOT_WIDTH,
        top=124.0,
        boot_end=boot_end,
        teardown_at=first,
        teardown_left=left,
        span=span if span > 0 else 1e-3,
    )


def render_svg(report: BootReport, *, title: str | None = None) -> str:
    """The boot as an SVG Gantt chart, sized by its number of phases.

    Args:
        report: the boot's report (real, or `SimulatedBoot.to_report()`).
        title: the chart's title; by default the boot's name and outcome.

    Returns:
        A standalone SVG document.
    """
    data = plot_data(report)
    layout = _layout(data)
    height = layout.y(layout.rows) + 46
    width = max(1000.0, layout.plot_left + PLOT_WIDTH + NOTE_WIDTH)
    canvas = Canvas(width, height, font_size=layout.font_size)
    _draw_header(canvas, data, title)
    _draw_legend(canvas, y=80)
    _draw_axis(canvas, layout, y=layout.top - 8, height=height)
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
    """Title; then the outcome and the root cause; then the plan and the chain: no overlaps."""
    outcome = data["outcome"].upper()
    colour = {"FAILED": "#d62728", "DEGRADED": "#ff7f0e"}.get(outcome, "#2e7d32")
    heading = title or f"boot '{data['boot']}'"
    canvas.text(12, 24, heading, size=17, weight="bold")
    verdict = f"{outcome} after {format_seconds(data['duration'])}"
    root = data.get("root_cause")
    if root:
        verdict += f"; root cause: {root}"
    canvas.text(12, 46, verdict, size=13, weight="bold", fill=colour)
    chain = " \u2192 ".join(data["critical_chain"])
    if len(chain) > 140:
        chain = chain[:137] + "..."
    summary = f"fingerprint {data['fingerprint']}, {len(data['rows'])} phases"
    canvas.text(12, 66, f"{summary}; critical chain: {chain or '-'}", size=12, fill="#444444")


def _draw_legend(canvas: Canvas, *, y: float) -> None:
    x = 12.0
    entries = [STATUS_STYLES[key] for key in STATUS_STYLES if key not in ("running", "pending")]
    for style in [*entries, TEARDOWN_STYLE]:
        canvas.rect(
            x, y, 18, 11, fill=style.fill, stroke=style.stroke, dashed=style.dashed, stroke_width=1
        )
        canvas.text(x + 23, y + 10, style.label, size=11)
        x += 30 + len(style.label) * 6.6
    canvas.rect(x, y, 18, 11, fill="#4e79a7", stroke=CHAIN_STROKE, stroke_width=2.2)
    canvas.text(x + 23, y + 10, "critical chain", size=11, weight="bold")
    canvas.text(x + 120, y + 10, "\u25c6 gate", size=11)


def _draw_axis(canvas: Canvas, layout: _Layout, *, y: float, height: float) -> None:
    bottom = layout.y(layout.rows)
    canvas.line(layout.plot_left, y, layout.plot_left + layout.plot_width, y, stroke="#888888")
    boot_part = layout.boot_end if layout.span > layout.boot_end else layout.span
    for tick in nice_ticks(boot_part):
        x = layout.x(tick)
        canvas.line(x, y - 4, x, bottom, stroke="#e3e3e3")
        canvas.text(x, y - 7, format_seconds(tick), size=10, anchor="middle", fill="#555555")
        if layout.rows > 40:
            canvas.text(x, bottom + 14, format_seconds(tick), size=10, anchor="middle")
    end_x = layout.x(layout.boot_end)
    canvas.text(end_x + 3, bottom + 28, "boot settled", size=10, fill="#333333")
    if layout.span > layout.boot_end:
        later = f" (+{format_seconds(layout.idle)} later)" if layout.idle > 1e-3 else ""
        canvas.text(
            layout.teardown_x(layout.teardown_at),
            y - 7,
            f"// teardown{later}",
            size=10,
            fill="#555555",
        )
    del height


def _draw_row(canvas: Canvas, layout: _Layout, index: int, row: dict[str, Any]) -> None:
    top = layout.y(index)
    h = layout.row_height
    failed = row["status"] in ("failed", "timed_out")
    if failed or index % 2:
        band = "#fde3e3" if failed else "#f6f6f6"
        canvas.rect(0, top, canvas.width, h, fill=band, stroke="none", stroke_width=0)
    label = row["name"] if row["kind"] == "phase" else f"\u25c6 {row['name']}"
    if failed:
        label = f"\u2716 {label}"
    limit = int((layout.label_width - 8) / (layout.font_size * 0.7))
    if len(label) > limit:
        label = label[: limit - 1] + "\u2026"
    weight = "bold" if row["on_chain"] or failed else "normal"
    baseline = top + h / 2 + layout.font_size * 0.36
    colour = "#b71c1c" if failed else "#222222"
    canvas.text(layout.label_width, baseline, label, anchor="end", weight=weight, fill=colour)
    style = STATUS_STYLES.get(row["status"], STATUS_STYLES["pending"])
    bar_top, bar_h = top + 3, h - 6
    tip = _tooltip(row)
    if row["start"] is None:
        x = layout.x(row["marker_at"] or 0.0)
        canvas.rect(
            x,
            bar_top,
            14,
            bar_h,
            fill=style.fill,
            stroke=style.stroke,
            dashed=style.dashed,
            stroke_width=1.2,
            tooltip=tip,
            css_class=f"marker {row['status']}",
        )
        canvas.text(x + 18, baseline, style.label, size=layout.font_size - 1, fill=style.stroke)
        return
    x0, x1 = layout.x(row["start"]), layout.x(row["end"] or row["start"])
    chain = row["on_chain"]
    outline = CHAIN_STROKE if chain else style.stroke
    canvas.rect(
        x0,
        bar_top,
        max(x1 - x0, 6.0 if failed else 2.0),
        bar_h,
        fill=style.fill,
        stroke=outline,
        stroke_width=2.2 if chain else 0.8,
        tooltip=tip,
        css_class=f"bar {row['status']}" + (" chain" if chain else ""),
    )
    note = format_seconds(row["duration"] or 0.0)
    if row["status"] != "completed":
        note += f"  {style.label.upper()}"
        if row["error"] and row["status"] in ("failed", "timed_out"):
            note += f": {row['error']}"
    if len(note) > 60:
        note = note[:59] + "\u2026"
    right = max(x1, x0 + (6.0 if failed else 2.0)) + 5
    if row["teardown_start"] is not None:
        t0 = layout.teardown_x(row["teardown_start"])
        t1 = layout.teardown_x(row["teardown_end"] or row["teardown_start"])
        broken = row["teardown"] == "teardown_failed"
        td = TEARDOWN_FAILED_STYLE if broken else TEARDOWN_STYLE
        canvas.rect(
            t0,
            bar_top + 1,
            max(t1 - t0, 2.0),
            bar_h - 2,
            fill=td.fill,
            stroke=td.stroke,
            stroke_width=1,
            tooltip=f"{row['name']}: {td.label}",
            css_class=f"teardown {row['teardown']}",
        )
        spent = (row["teardown_end"] or row["teardown_start"]) - row["teardown_start"]
        canvas.text(
            max(t1, t0 + 2.0) + 4,
            baseline,
            f"\u21a9 {format_seconds(spent)}",
            size=layout.font_size - 1,
            fill=td.stroke,
        )
        if broken:
            note += "  TEARDOWN FAILED"
    canvas.text(right, baseline, note, size=layout.font_size - 1, fill=style.stroke)


def _draw_chain_links(
    canvas: Canvas, layout: _Layout, data: dict[str, Any], positions: dict[str, int]
) -> None:
    rows = data["rows"]
    names = data["critical_chain"]
    for before, after in itertools.pairwise(names):
        a, b = rows[positions[before]], rows[positions[after]]
        x_end, x_start = layout.x(a["end"]), layout.x(b["start"])
        y_a = layout.y(positions[before]) + layout.row_height / 2
        y_b = layout.y(positions[after]) + layout.row_height / 2
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
