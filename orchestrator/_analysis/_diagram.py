"""The phase graph as Graphviz DOT or Mermaid text, optionally coloured by a boot's outcome.

Gates are drawn as hexagons, ordering-only (`after=`) edges dashed, and with a
report each node is filled by how its phase ended and the critical chain's
edges are bold.
"""

from __future__ import annotations

import itertools
import json
from functools import partial

from .._model._plan import BootPlan
from .._model._report import BootReport
from ._chain import critical_chain

# Fill colours by status, shared with the Gantt chart's palette.
OUTCOME_FILLS: dict[str, str] = {
    "completed": "#b9cfe6",
    "failed": "#f4a6a6",
    "timed_out": "#ffc58a",
    "cancelled": "#f2d98c",
    "blocked": "#eeeeee",
    "skipped": "#ffffff",
    "pending": "#ffffff",
    "running": "#9edae5",
}
OUTCOME_STROKES: dict[str, str] = {
    "failed": "#b71c1c",
    "timed_out": "#a64f00",
    "blocked": "#d62728",
}


# DOT reads \uXXXX literally: keep non-ASCII names as they are.
_quote = partial(json.dumps, ensure_ascii=False)


def _node_id(name: str) -> str:
    """A Mermaid node id: prefixed, so phases named `end`, `graph` or `subgraph` parse."""
    return f"n_{name}"


def _outcomes(report: BootReport | None) -> dict[str, str]:
    return {} if report is None else {r.name: r.status.value for r in report.phases}


def _chain_edges(report: BootReport | None) -> set[tuple[str, str]]:
    if report is None:
        return set()
    return set(itertools.pairwise(critical_chain(report).names))


def to_dot(plan: BootPlan, report: BootReport | None = None) -> str:
    """The plan as a Graphviz digraph.

    Args:
        plan: the boot's plan.
        report: a report of a boot of this plan; colours each node by its outcome.

    Returns:
        DOT source (`dot -Tsvg` renders it).
    """
    outcomes = _outcomes(report)
    chain = _chain_edges(report)
    lines = [
        f"digraph {_quote(plan.boot)} {{",
        "  rankdir=LR;",
        f"  label={_quote(f'{plan.boot} [{plan.fingerprint}]')};",
        '  node [shape=box, style="rounded,filled", fillcolor="#ffffff", fontname="Helvetica"];',
    ]
    for spec in plan.phases:
        status = outcomes.get(spec.name)
        label = spec.name if status is None else spec.name + "\n" + status
        attributes = [f"label={_quote(label)}"]
        if spec.kind == "gate":
            attributes.append('shape=hexagon, style="filled"')
        if not spec.critical:
            attributes.append("peripheries=2")
        if status is not None:
            attributes.append(f'fillcolor="{OUTCOME_FILLS.get(status, "#ffffff")}"')
            if status in OUTCOME_STROKES:
                attributes.append(f'color="{OUTCOME_STROKES[status]}", penwidth=2')
            if status == "skipped":
                attributes.append(
                    'style="dashed"' if spec.kind == "gate" else 'style="rounded,dashed"'
                )
        lines.append(f"  {_quote(spec.name)} [{', '.join(attributes)}];")
    for edge in plan.edges:
        attributes = []
        if edge.kind == "after":
            attributes.append('style=dashed, color="#888888"')
        if (edge.dependency, edge.dependent) in chain:
            attributes.append("penwidth=2.5")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {_quote(edge.dependency)} -> {_quote(edge.dependent)}{suffix};")
    lines.append("}")
    return "\n".join(lines) + "\n"


def to_mermaid(plan: BootPlan, report: BootReport | None = None) -> str:
    """The plan as a Mermaid flowchart (renders in GitHub markdown).

    Args:
        plan: the boot's plan.
        report: a report of a boot of this plan; colours each node by its outcome.

    Returns:
        Mermaid source.
    """
    outcomes = _outcomes(report)
    chain = _chain_edges(report)
    lines = ["flowchart LR"]
    for spec in plan.phases:
        status = outcomes.get(spec.name)
        text = spec.name if status is None else f"{spec.name}<br/>{status}"
        shape = f'{{{{"{text}"}}}}' if spec.kind == "gate" else f'("{text}")'
        lines.append(f"  {_node_id(spec.name)}{shape}")
    for edge in plan.edges:
        arrow = "-.->" if edge.kind == "after" else "-->"
        if (edge.dependency, edge.dependent) in chain:
            arrow = "==>"
        lines.append(f"  {_node_id(edge.dependency)} {arrow} {_node_id(edge.dependent)}")
    if outcomes:
        used = sorted(set(outcomes.values()))
        for status in used:
            stroke = OUTCOME_STROKES.get(status, "#555555")
            dash = ",stroke-dasharray:4 3" if status == "skipped" else ""
            fill = OUTCOME_FILLS.get(status, "#ffffff")
            lines.append(f"  classDef {status} fill:{fill},stroke:{stroke}{dash}")
        for status in used:
            members = [
                _node_id(spec.name) for spec in plan.phases if outcomes.get(spec.name) == status
            ]
            lines.append(f"  class {','.join(members)} {status}")
    return "\n".join(lines) + "\n"
