"""The phase graph as Graphviz DOT or Mermaid text, optionally coloured by a boot's outcome.

Gates are drawn as hexagons, ordering-only (`after=`) edges dashed, and with a
report each node is filled by how its phase ended, the critical chain's edges
are bold, the root cause (the phase the diagnostic names) has a thick dark
border and says so, and a failed non-critical phase says it was non-critical.
A legend below the graph explains each mark that appears in it.
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
ROOT_CAUSE_STROKE = "#5c0000"
_FAILED = ("failed", "timed_out")


# DOT reads \uXXXX literally: keep non-ASCII names as they are.
_quote = partial(json.dumps, ensure_ascii=False)


def _node_id(name: str) -> str:
    """A Mermaid node id: prefixed, so phases named `end`, `graph` or `subgraph` parse."""
    return f"n_{name}"


def _outcomes(report: BootReport | None) -> dict[str, str]:
    return {} if report is None else {r.name: r.status.value for r in report.phases}


def _root_cause(report: BootReport | None) -> str | None:
    """The failed phase the boot's diagnostic blames, or None (an interrupt blames nobody)."""
    if report is None or report.diagnostic is None:
        return None
    phase = report.diagnostic.get("phase")
    for record in report.phases:
        if record.name == phase and record.status.value in _FAILED:
            return record.name
    return None


def _mark(plan: BootPlan, name: str, status: str | None, root: str | None) -> str | None:
    """What sets a failed phase apart: the root cause, or a non-critical failure."""
    if name == root:
        return "root cause"
    if status in _FAILED and not plan[name].critical:
        return "non-critical"
    return None


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
    root = _root_cause(report)
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
            if spec.name == root:
                attributes.append(f'color="{ROOT_CAUSE_STROKE}", penwidth=4')
            elif status in OUTCOME_STROKES:
                attributes.append(f'color="{OUTCOME_STROKES[status]}", penwidth=2')
            if status == "skipped":
                attributes.append(
                    'style="dashed"' if spec.kind == "gate" else 'style="rounded,dashed"'
                )
        mark = _mark(plan, spec.name, status, root)
        if mark is not None:
            attributes.append(f"xlabel={_quote(mark)}")
        lines.append(f"  {_quote(spec.name)} [{', '.join(attributes)}];")
    for edge in plan.edges:
        attributes = []
        if edge.kind == "after":
            attributes.append('style=dashed, color="#888888"')
        if (edge.dependency, edge.dependent) in chain:
            attributes.append("penwidth=2.5")
        suffix = f" [{', '.join(attributes)}]" if attributes else ""
        lines.append(f"  {_quote(edge.dependency)} -> {_quote(edge.dependent)}{suffix};")
    lines += _dot_legend(plan, outcomes, root, chain=bool(chain))
    lines.append("}")
    return "\n".join(lines) + "\n"


def _dot_legend(
    plan: BootPlan, outcomes: dict[str, str], root: str | None, *, chain: bool
) -> list[str]:
    """A cluster explaining the marks the graph uses (node ids cannot be phase names)."""
    gates = any(spec.kind == "gate" for spec in plan.phases)
    optional = any(not spec.critical for spec in plan.phases)
    after = any(edge.kind == "after" for edge in plan.edges)
    keys = ['    "key: phase" [label="phase"];']
    if gates:
        keys.append('    "key: gate" [label="gate", shape=hexagon, style="filled"];')
    if optional:
        keys.append('    "key: non-critical" [label="non-critical", peripheries=2];')
    for status in sorted(set(outcomes.values())):
        stroke = OUTCOME_STROKES.get(status)
        extra = f', color="{stroke}", penwidth=2' if stroke else ""
        fill = OUTCOME_FILLS.get(status, "#ffffff")
        keys.append(f'    "key: {status}" [label="{status}", fillcolor="{fill}"{extra}];')
    if root is not None:
        keys.append(
            f'    "key: root cause" [label="root cause", color="{ROOT_CAUSE_STROKE}", penwidth=4];'
        )
    keys.append('    "key: a" [label="A"]; "key: b" [label="B"];')
    keys.append('    "key: a" -> "key: b" [label="B gets the value of A"];')
    if after:
        keys.append('    "key: c" [label="C"];')
        keys.append(
            '    "key: b" -> "key: c" [label="after=: C only waits for B", style=dashed, '
            'color="#888888"];'
        )
    if chain:
        keys.append('    "key: d" [label="D"];')
        keys.append('    "key: a" -> "key: d" [label="critical chain", penwidth=2.5];')
    return [
        "  subgraph cluster_legend {",
        '    label="legend"; fontsize=10; color="#bbbbbb";',
        "    node [fontsize=9];",
        *keys,
        "  }",
    ]


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
    root = _root_cause(report)
    lines = ["flowchart LR"]
    for spec in plan.phases:
        status = outcomes.get(spec.name)
        text = spec.name if status is None else f"{spec.name}<br/>{status}"
        mark = _mark(plan, spec.name, status, root)
        if mark is not None:
            text += f"<br/>{mark}"
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
    if root is not None:
        lines.append(f"  classDef root_cause stroke:{ROOT_CAUSE_STROKE},stroke-width:4px")
        lines.append(f"  class {_node_id(root)} root_cause")
    lines += _mermaid_legend(plan, outcomes, root, chain=bool(chain))
    return "\n".join(lines) + "\n"


def _mermaid_legend(
    plan: BootPlan, outcomes: dict[str, str], root: str | None, *, chain: bool
) -> list[str]:
    """A subgraph explaining the marks the chart uses (`k_` ids cannot clash with `n_`)."""
    keys = ['    k_a("A") -->|B gets the value of A| k_b("B")']
    if any(spec.kind == "gate" for spec in plan.phases):
        keys.append('    k_gate{{"gate"}}')
    if any(edge.kind == "after" for edge in plan.edges):
        keys.append('    k_b -.->|"after=: C only waits for B"| k_c("C")')
    if chain:
        keys.append('    k_a ==>|critical chain| k_d("D")')
    for status in sorted(set(outcomes.values())):
        keys.append(f'    k_{status}("{status}")')
        keys.append(f"    class k_{status} {status}")
    if root is not None:
        keys.append('    k_root_cause("root cause")')
        keys.append("    class k_root_cause root_cause")
    return ["  subgraph legend [legend]", *keys, "  end"]
