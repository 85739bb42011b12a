"""A minimal SVG writer for the Gantt chart: rectangles, text, lines, escaping, ticks."""

from __future__ import annotations

import math
from collections.abc import Callable
from xml.sax.saxutils import escape, quoteattr

FONT = "DejaVu Sans, Helvetica, Arial, sans-serif"

_DEFS = """<defs>
<pattern id="hatch-cancelled" patternUnits="userSpaceOnUse" width="6" height="6"
 patternTransform="rotate(45)"><rect width="6" height="6" fill="#f2d98c"/>
<line x1="0" y1="0" x2="0" y2="6" stroke="#8c6d1f" stroke-width="2"/></pattern>
<pattern id="hatch-blocked" patternUnits="userSpaceOnUse" width="5" height="5"
 patternTransform="rotate(45)"><rect width="5" height="5" fill="#ffffff"/>
<line x1="0" y1="0" x2="0" y2="5" stroke="#d62728" stroke-width="1.5"/></pattern>
<pattern id="hatch-teardown" patternUnits="userSpaceOnUse" width="6" height="6"
 patternTransform="rotate(-45)"><rect width="6" height="6" fill="#d5e3f0"/>
<line x1="0" y1="0" x2="0" y2="6" stroke="#6b8fb3" stroke-width="1.5"/></pattern>
</defs>"""


class Canvas:
    """Collects SVG elements and renders one standalone document."""

    def __init__(self, width: float, height: float, *, font_size: float) -> None:
        self.width = width
        self.height = height
        self.font_size = font_size
        self._parts: list[str] = []

    def rect(
        self,
        x: float,
        y: float,
        width: float,
        height: float,
        *,
        fill: str,
        stroke: str,
        stroke_width: float = 1.0,
        dashed: bool = False,
        opacity: float | None = None,
        tooltip: str | None = None,
        css_class: str | None = None,
    ) -> None:
        """A rectangle; `tooltip` becomes its `<title>`, `css_class` its `class`.

        `opacity` applies to the fill only, so a shaded zone keeps a visible outline.
        """
        line = stroke_width
        dash = ' stroke-dasharray="3,2"' if dashed else ""
        if opacity is not None:
            dash += f' fill-opacity="{opacity:g}"'
        if css_class:
            dash += f" class={quoteattr(css_class)}"
        head = (
            f'<rect x="{x:.1f}" y="{y:.1f}" width="{width:.1f}" height="{height:.1f}" '
            f'fill="{fill}" stroke="{stroke}" stroke-width="{line:g}"{dash}'
        )
        if tooltip is None:
            self._parts.append(head + "/>")
        else:
            self._parts.append(f"{head}><title>{escape(tooltip)}</title></rect>")

    def text(
        self,
        x: float,
        y: float,
        content: str,
        *,
        size: float | None = None,
        weight: str = "normal",
        anchor: str = "start",
        fill: str = "#222222",
    ) -> None:
        """A line of text with its baseline at `y`."""
        attributes = f'x="{x:.1f}" y="{y:.1f}" font-size="{size or self.font_size:g}"'
        if weight != "normal":
            attributes += f' font-weight="{weight}"'
        if anchor != "start":
            attributes += f' text-anchor="{anchor}"'
        self._parts.append(f'<text {attributes} fill="{fill}">{escape(content)}</text>')

    def line(
        self,
        x1: float,
        y1: float,
        x2: float,
        y2: float,
        *,
        stroke: str,
        dashed: bool = False,
        css_class: str | None = None,
    ) -> None:
        """A straight line; `css_class` becomes its `class`."""
        dash = ' stroke-dasharray="4,3"' if dashed else ""
        if css_class:
            dash += f" class={quoteattr(css_class)}"
        self._parts.append(
            f'<line x1="{x1:.1f}" y1="{y1:.1f}" x2="{x2:.1f}" y2="{y2:.1f}" '
            f'stroke="{stroke}"{dash}/>'
        )

    def path(self, d: str, *, stroke: str) -> None:
        """An unfilled path (the links of the critical chain)."""
        self._parts.append(
            f'<path d={quoteattr(d)} fill="none" stroke="{stroke}" stroke-width="1.3" '
            'stroke-opacity="0.75"/>'
        )

    def render(self) -> str:
        """The SVG document."""
        head = (
            f'<svg xmlns="http://www.w3.org/2000/svg" width="{self.width:g}" '
            f'height="{self.height:.0f}" viewBox="0 0 {self.width:g} {self.height:.0f}" '
            f"font-family={quoteattr(FONT)}>"
        )
        background = f'<rect width="{self.width:g}" height="{self.height:.0f}" fill="#ffffff"/>'
        return (
            "\n".join(
                ['<?xml version="1.0" encoding="UTF-8"?>', head, _DEFS, background, *self._parts]
            )
            + "\n</svg>\n"
        )


def fit_label(label: str, width: float, font_size: float) -> str:
    """`label` cut with an ellipsis so that it fits in `width` pixels of `font_size` text."""
    limit = int(width / (font_size * 0.7))
    return label if len(label) <= limit else label[: limit - 1] + "\u2026"


def shade_rows(canvas: Canvas, top: float, row_height: float, failed: list[bool]) -> None:
    """Every other row shaded grey and each failed one red, under everything else."""
    for index, is_failed in enumerate(failed):
        if is_failed or index % 2:
            band = "#fde3e3" if is_failed else "#f6f6f6"
            y = top + index * row_height
            canvas.rect(0, y, canvas.width, row_height, fill=band, stroke="none", stroke_width=0)


def draw_time_axis(
    canvas: Canvas,
    x: Callable[[float], float],
    span: float,
    *,
    top: float,
    bottom: float,
    repeat_below: bool,
    line_to: float | None = None,
) -> None:
    """The time axis at `top`: round ticks from 0 to `span` with grid lines down to `bottom`.

    Args:
        canvas: where to draw.
        x: where a moment (seconds) is drawn.
        span: the last moment that gets ticks.
        top: the axis line's height.
        bottom: where the grid lines end.
        repeat_below: also label the ticks under the rows (long charts).
        line_to: the moment the axis line reaches (default `span`).
    """
    end = span if line_to is None else line_to
    canvas.line(x(0.0), top, x(end), top, stroke="#888888")
    for tick in nice_ticks(span):
        at = x(tick)
        canvas.line(at, top - 4, at, bottom, stroke="#e3e3e3")
        canvas.text(at, top - 7, format_seconds(tick), size=10, anchor="middle", fill="#555555")
        if repeat_below:
            canvas.text(at, bottom + 14, format_seconds(tick), size=10, anchor="middle")


def format_seconds(seconds: float) -> str:
    """`850 us`, `42 ms`, `1.25 s`, `3 min 5 s`, `2 h 5 min`: short and human."""
    if seconds * 1e6 < 999.5:
        return f"{seconds * 1e6:.0f} \u00b5s" if seconds > 0 else "0 ms"
    if seconds < 1:
        return f"{seconds * 1e3:.3g} ms"
    if seconds < 120:
        return f"{seconds:.3g} s"
    whole = round(seconds)
    if whole < 7200:
        return f"{whole // 60} min {whole % 60} s"
    minutes = round(seconds / 60)
    return f"{minutes // 60} h {minutes % 60} min"


def nice_ticks(span: float, *, count: int = 8) -> list[float]:
    """Round tick values from 0 to `span` (steps of 1, 2 or 5 times a power of ten)."""
    if span <= 0:
        return [0.0]
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
    ticks = []
    value = 0.0
    while value <= span * (1 + 1e-9):
        ticks.append(round(value, 12))
        value += step
    return ticks
