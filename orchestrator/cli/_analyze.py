"""`smd analyze REPORT blame|critical-chain|plot|trace|budget`; registers `graph`, `simulate`."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console, RenderableType
from rich.table import Table
from rich.tree import Tree

from .._analysis._chain import (
    Blame,
    ChainLink,
    CriticalChain,
    PhaseSlack,
    blame,
    critical_chain,
)
from .._analysis._chart import plot_data, render_svg
from .._analysis._stop import (
    StopBlame,
    StopChain,
    TeardownEntry,
    TeardownSlack,
    stop_blame,
    stop_critical_chain,
)
from .._analysis._svg_canvas import format_seconds
from .._analysis._trace import trace_events
from .._model._report import BootReport
from . import _budgets, _graph, _simulate
from ._output import stderr, stdout
from ._reports import cyclic_gc_paused, load_report, write_output
from ._summary import ALL_OPTION_HELP, ends_of, first_rows, more_line

STATUS_STYLES = {
    "completed": "green",
    "failed": "bold red",
    "timed_out": "bold red",
    "cancelled": "yellow",
    "blocked": "red",
    "skipped": "dim",
    "torn_down": "green",
    "teardown_failed": "bold red",
}


def register(commands: Any) -> None:
    """Add `analyze`, `graph` and `simulate` to the sub-commands."""
    analyze = commands.add_parser(
        "analyze",
        help="where a boot's and its stop's time went: blame, critical chain, Gantt chart",
    )
    analyze.add_argument("report", metavar="REPORT", help="a report JSON (smd run --report FILE)")
    analyze.add_argument("view", choices=("blame", "critical-chain", "plot", "trace", "budget"))
    analyze.add_argument("--format", choices=("text", "json"), default="text")
    analyze.add_argument(
        "--output",
        "-o",
        metavar="FILE",
        type=Path,
        help="write the view (plot: SVG, trace: Chrome Trace Event JSON) to FILE",
    )
    analyze.add_argument(
        "--budget",
        metavar="FILE",
        help=f"budget: seconds allowed (default: {_budgets.BUDGET_FILE} next to REPORT)",
    )
    analyze.add_argument("--fail", action="store_true", help="budget: exit 1 when over budget")
    analyze.add_argument("--all", action="store_true", dest="show_all", help=ALL_OPTION_HELP)
    analyze.set_defaults(handler=run_analyze)
    _graph.register(commands)
    _simulate.register(commands)


def run_analyze(arguments: argparse.Namespace) -> int:
    """Show one view of a report, on stdout or in the `--output` file."""
    # The report and its views are acyclic: without the pause, each collection walks
    # every record still alive, and a view of 100,000 phases takes twice as long.
    with cyclic_gc_paused():
        report = load_report(arguments.report)
        return _show(report, arguments)


def _show(report: BootReport, arguments: argparse.Namespace) -> int:
    as_json = arguments.format == "json"
    plain = arguments.output is not None
    show_all: bool = arguments.show_all
    code = 0
    _budgets.refuse_budget_options(arguments)
    if arguments.view == "trace":
        text = json.dumps(trace_events(report), indent=1, sort_keys=True) + "\n"
    elif arguments.view == "budget":
        text, code = _budgets.budget_view(report, arguments)
    elif arguments.view == "blame":
        result, stop = blame(report), stop_blame(report)
        if as_json:
            text = _json({**result.to_dict(), "stop": stop.to_dict()})
        else:
            text = _render(
                blame_table(result, show_all), teardown_table(stop, show_all), plain=plain
            )
    elif arguments.view == "critical-chain":
        chain, stop_chain = critical_chain(report), stop_critical_chain(report)
        if as_json:
            text = _json({**chain.to_dict(), "stop": stop_chain.to_dict()})
        else:
            views: list[RenderableType] = [chain_tree(chain, show_all)]
            views += [slack_table(chain, show_all)] if chain.slack else []
            views += [stop_tree(stop_chain, show_all)]
            views += [teardown_slack_table(stop_chain, show_all)] if stop_chain.slack else []
            text = _render(*views, plain=plain)
    else:
        text = _json(plot_data(report)) if as_json else render_svg(report)
    if arguments.output is None:
        sys.stdout.write(text)
    else:
        write_output(arguments.output, text, arguments.report)
        stderr().print(f"wrote {arguments.output} ({len(report.phases)} phases)")
    return code


def _json(document: dict[str, Any]) -> str:
    return json.dumps(document, indent=2, sort_keys=True) + "\n"


def _render(*renderables: RenderableType, plain: bool) -> str:
    """Rich output as text: styled on a terminal, plain in a pipe or a file."""
    console = Console(width=120, color_system=None, highlight=False) if plain else stdout()
    with console.capture() as captured:
        for renderable in renderables:
            console.print(renderable)
    return captured.get()


def _status(status: str) -> str:
    return f"[{STATUS_STYLES.get(status, 'white')}]{status}[/]"


def _caption(*lines: str) -> str | None:
    return "\n".join(line for line in lines if line) or None


def _more(hidden: int, what: str = "rows") -> str:
    return more_line(hidden, what) if hidden else ""


def blame_table(result: Blame, show_all: bool = False) -> Table:
    """Phases slowest first, like `systemd-analyze blame`; the slowest only unless `show_all`."""
    entries, hidden = first_rows(result.entries, show_all)
    took = format_seconds(result.duration)
    if result.import_duration is not None:
        took = f"import {format_seconds(result.import_duration)} + boot {took}"
    table = Table(
        title=f"blame of '{result.boot}' ({took})",
        title_justify="left",
        caption=_caption(
            "a long phase delayed the boot only if it is on the critical chain", _more(hidden)
        ),
        caption_justify="left",
    )
    table.add_column("duration", justify="right")
    table.add_column("phase")
    table.add_column("status")
    table.add_column("attempts", justify="right")
    table.add_column("waited", justify="right")
    if result.import_duration is not None:
        imported = format_seconds(result.import_duration)
        table.add_row(imported, "(import of the target)", "-", "-", "-")
    for entry in entries:
        table.add_row(
            format_seconds(entry.duration),
            entry.name if entry.kind == "phase" else f"{entry.name} (gate)",
            _status(entry.status.value),
            str(entry.attempts),
            format_seconds(entry.waited) if entry.waited > 1e-6 else "-",
        )
    return table


def chain_tree(chain: CriticalChain, show_all: bool = False) -> Tree:
    """The chain as systemd-analyze prints it: last link first, `@start +duration`.

    Every link is a child of the root, not of the link after it: a nested tree
    draws one guide per level on every line, quadratic in the chain's length.
    A long chain shows its two ends unless `show_all`.
    """
    outcome = chain.outcome.value.upper()
    root = Tree(
        f"[bold]critical chain of '{chain.boot}'[/]: {outcome} after "
        f"{format_seconds(chain.finished)} ([dim]@ started, + took[/])"
    )
    last, hidden, first = ends_of(chain.links[::-1], show_all)
    for link in last:
        root.add(_chain_label(link))
    if hidden:
        root.add(f"[dim]{more_line(hidden, 'links')}[/]")
    for link in first:
        root.add(_chain_label(link))
    if chain.import_duration is not None:
        imported = format_seconds(chain.import_duration)
        root.add(f"(import of the target) +{imported} [dim]before the boot started[/]")
    return root


def _chain_label(link: ChainLink) -> str:
    label = f"{link.name} @{format_seconds(link.start)} +{format_seconds(link.duration)}"
    if link.status.value != "completed":
        label += f" {_status(link.status.value)}"
    if link.waited > 1e-3:
        label += f" [dim](waited {format_seconds(link.waited)} for a free slot)[/]"
    return label


def slack_table(chain: CriticalChain, show_all: bool = False) -> Table:
    """Phases off the chain, least slack first: the next ones to delay the boot."""
    return _slack_table(
        "slack off the chain",
        ("status", lambda entry: entry.status.value),
        lambda entry: format_seconds(entry.end),
        chain.slack,
        show_all,
    )


def _since(seconds: float, began: float | None) -> str:
    """A moment of the stop, counted from its beginning."""
    return f"+{format_seconds(seconds - (began or 0.0))}"


def teardown_table(stop: StopBlame, show_all: bool = False) -> RenderableType:
    """Teardowns slowest first: the stop's half of `blame`."""
    if not stop.entries and not stop.never_started:
        return f"[dim]no teardown ran in the stop of '{stop.boot}'[/]"
    took = format_seconds(stop.duration) if stop.duration is not None else "?"
    caption = "only teardowns on the stop chain delayed the stop"
    if stop.never_started:
        caption += f"\nnever started (stop timeout): {', '.join(stop.never_started)}"
    entries, hidden = first_rows(stop.entries, show_all)
    caption = _caption(caption, _more(hidden)) or ""
    table = Table(
        title=f"teardowns of '{stop.boot}' (stop: {took})",
        title_justify="left",
        caption=caption,
        caption_justify="left",
    )
    table.add_column("duration", justify="right")
    table.add_column("phase")
    table.add_column("outcome")
    table.add_column("started", justify="right")
    table.add_column("waited", justify="right")
    for entry in entries:
        outcome = _status(entry.outcome.value)
        table.add_row(
            format_seconds(entry.duration),
            entry.name,
            f"{outcome}: {entry.error}" if entry.error else outcome,
            _since(entry.start, stop.began),
            format_seconds(entry.waited) if entry.waited > 1e-6 else "-",
        )
    return table


def stop_tree(chain: StopChain, show_all: bool = False) -> RenderableType:
    """The stop's chain, last teardown first, `@` counted from the stop's beginning.

    Flat, like `chain_tree`; a long chain shows its two ends unless `show_all`.
    """
    if not chain.links:
        return f"[dim]no teardown ran in the stop of '{chain.boot}': no stop chain[/]"
    took = format_seconds(chain.duration) if chain.duration is not None else "?"
    began = format_seconds(chain.began) if chain.began is not None else "?"
    root = Tree(
        f"[bold]stop chain of '{chain.boot}'[/]: stopped after {took} "
        f"([dim]@ since the stop began at {began}, + took[/])"
    )
    last, hidden, first = ends_of(chain.links[::-1], show_all)
    for link in last:
        root.add(_stop_label(link, chain.began))
    if hidden:
        root.add(f"[dim]{more_line(hidden, 'links')}[/]")
    for link in first:
        root.add(_stop_label(link, chain.began))
    return root


def _stop_label(link: TeardownEntry, began: float | None) -> str:
    label = f"{link.name} @{_since(link.start, began)} +{format_seconds(link.duration)}"
    if link.outcome.value != "torn_down":
        label += f" {_status(link.outcome.value)}"
    if link.error:
        label += f" ({link.error})"
    if link.waited > 1e-3:
        label += f" [dim](waited {format_seconds(link.waited)} for a free slot)[/]"
    return label


def teardown_slack_table(chain: StopChain, show_all: bool = False) -> Table:
    """Teardowns off the stop's chain, least slack first: the next ones to delay the stop."""
    return _slack_table(
        "teardown slack off the stop's chain",
        ("outcome", lambda entry: entry.outcome.value),
        lambda entry: _since(entry.end, chain.began),
        chain.slack,
        show_all,
    )


def _slack_table(
    title: str,
    state: tuple[str, Callable[[Any], str]],
    ended: Callable[[Any], str],
    entries: Sequence[PhaseSlack | TeardownSlack],
    show_all: bool,
) -> Table:
    """A table of `entries` least slack first, with the state column named `state[0]`."""
    shown, hidden = first_rows(sorted(entries, key=lambda e: e.slack), show_all)
    table = Table(
        title=title, title_justify="left", caption=_caption(_more(hidden)), caption_justify="left"
    )
    table.add_column("phase")
    table.add_column(state[0])
    table.add_column("ended", justify="right")
    table.add_column("slack", justify="right")
    for entry in shown:
        table.add_row(
            entry.name, _status(state[1](entry)), ended(entry), format_seconds(entry.slack)
        )
    return table
