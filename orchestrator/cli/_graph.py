"""`smd graph TARGET --format dot|mermaid [--report REPORT]`."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from .._analysis._diagram import to_dot, to_mermaid
from ._load import load_boot
from ._reports import check_same_boot, load_report


def register(commands: Any) -> None:
    """Add `graph` to the sub-commands."""
    graph = commands.add_parser(
        "graph", help="the phase graph as Graphviz DOT or Mermaid, coloured by a report"
    )
    graph.add_argument("target", metavar="TARGET")
    graph.add_argument("--format", choices=("dot", "mermaid"), default="dot")
    graph.add_argument(
        "--report", metavar="REPORT", help="colour each phase by its outcome in this report"
    )
    graph.set_defaults(handler=run_graph)


def run_graph(arguments: argparse.Namespace) -> int:
    """Print the graph; gates are hexagons, `after=` edges dashed."""
    plan = load_boot(arguments.target).plan()
    report = load_report(arguments.report) if arguments.report else None
    if report is not None:
        check_same_boot(report, plan, "outcomes", arguments.report)
    render = to_dot if arguments.format == "dot" else to_mermaid
    sys.stdout.write(render(plan, report))
    return 0
