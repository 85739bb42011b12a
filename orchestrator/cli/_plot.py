"""`smd plot REPORT...`: many boots in one Gantt chart of each phase's spread.

`smd analyze REPORT plot` draws one boot; `smd plot` takes one report or more
and draws, per phase, its p50 start to p50 end with whiskers to the earliest
start and the latest end and a tick at the p95 end.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from .._analysis._spread_chart import draw_spread, spread_data
from ._output import stderr
from ._reports import cyclic_gc_paused, load_report, write_output


def register(commands: Any) -> None:
    """Add `plot` to the sub-commands."""
    plot = commands.add_parser(
        "plot", help="many reports in one Gantt chart: each phase's spread across boots"
    )
    plot.add_argument("reports", metavar="REPORT", nargs="+", help="report JSON files")
    plot.add_argument(
        "--format",
        choices=("svg", "json"),
        default="svg",
        help="svg: the chart (default); json: its data (schema smd.plot-spread/1)",
    )
    plot.add_argument("--title", help="the chart's title (default: the boot and report count)")
    plot.add_argument("--output", "-o", metavar="FILE", type=Path, help="write to FILE")
    plot.set_defaults(handler=run_plot)


def run_plot(arguments: argparse.Namespace) -> int:
    """Draw the reports' spread, on stdout or in the `--output` file."""
    with cyclic_gc_paused():
        data = spread_data(load_report(path) for path in arguments.reports)
    if arguments.format == "json":
        text = json.dumps(data, indent=2, sort_keys=True) + "\n"
    else:
        text = draw_spread(data, title=arguments.title)
    if arguments.output is None:
        sys.stdout.write(text)
    else:
        write_output(arguments.output, text, arguments.reports[0])
        stderr().print(f"wrote {arguments.output} ({data['reports']} reports)")
    return 0
