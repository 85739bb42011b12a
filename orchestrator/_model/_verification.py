"""Verifying a boot's gates: the plan that runs only them, and a verdict per gate.

`smd verify` runs every gate of a boot with only the phases the gates wait
for, then tears them down. Each gate is judged on its own: in the verification
plan a gate's refusal does not abort the run (it only blocks what waits for
it), so one refusal never hides another gate's verdict.
"""

from __future__ import annotations

import dataclasses
import json
from dataclasses import dataclass
from typing import Any, Literal

from ._diagnostic import Diagnostic
from ._plan import BootPlan
from ._report import BootReport
from ._root_cause import diagnose
from ._snapshot import RunSnapshot
from ._status import PhaseStatus

SCHEMA = "smd.verify/1"

Verdict = Literal["passed", "refused", "failed", "timed_out", "blocked", "skipped"]

_FAILED = (PhaseStatus.FAILED, PhaseStatus.TIMED_OUT)


@dataclass(frozen=True, slots=True)
class GateVerdict:
    """What one gate decided.

    Attributes:
        gate: the gate's name.
        verdict: "passed"; "refused" (it returned an invalid result or raised
            `GateFailed`); "failed" or "timed_out" (it could not decide);
            "blocked" (something it waits for refused or failed); "skipped"
            (its `when=` was false).
        violations: one line per violation (for a refusal), or the error's lines.
        action: what to change, or None.
        blocked_by: for a blocked gate, the refused gates and failed phases it
            waits for, in plan order.
        duration: seconds it ran, or None if it never ran.
        diagnostic: the diagnostic a real boot would have stopped with, or None.
    """

    gate: str
    verdict: Verdict
    violations: tuple[str, ...] = ()
    action: str | None = None
    blocked_by: tuple[str, ...] = ()
    duration: float | None = None
    diagnostic: Diagnostic | None = None

    def to_dict(self) -> dict[str, Any]:
        """The verdict as plain data."""
        return {
            "action": self.action,
            "blocked_by": list(self.blocked_by),
            "diagnostic": None if self.diagnostic is None else self.diagnostic.to_dict(),
            "duration": self.duration,
            "gate": self.gate,
            "verdict": self.verdict,
            "violations": list(self.violations),
        }


@dataclass(frozen=True, slots=True)
class Verification:
    """The verdicts of every gate of a boot, in plan order, and what ran to reach them.

    Attributes:
        boot: the boot's name.
        fingerprint: the verified boot's fingerprint (its real plan's).
        verdicts: one per gate, in plan order.
        ran: phases in the verification plan (the gates and what they wait for).
        not_started: the boot's phases no gate waits for; never started.
        diagnostic: why the verification fails (the first refused or failed
            gate's diagnostic, or the run's own when a phase the gates need
            failed), or None when every gate passed.
        report: the report of the verification run.
    """

    boot: str
    fingerprint: str
    verdicts: tuple[GateVerdict, ...]
    ran: tuple[str, ...]
    not_started: tuple[str, ...]
    diagnostic: Diagnostic | None
    report: BootReport

    @property
    def passed(self) -> bool:
        """Whether every gate passed."""
        return self.diagnostic is None

    @property
    def exit_code(self) -> int:
        """0 when every gate passed, else the diagnostic's exit code (78 for a refusal)."""
        return 0 if self.diagnostic is None else self.diagnostic.exit_code

    def __getitem__(self, gate: str) -> GateVerdict:
        for verdict in self.verdicts:
            if verdict.gate == gate:
                return verdict
        raise KeyError(gate)

    def to_dict(self) -> dict[str, Any]:
        """The verification as plain data, schema `smd.verify/1`."""
        return {
            "schema": SCHEMA,
            "boot": self.boot,
            "fingerprint": self.fingerprint,
            "passed": self.passed,
            "exit_code": self.exit_code,
            "gates": [verdict.to_dict() for verdict in self.verdicts],
            "ran": list(self.ran),
            "not_started": list(self.not_started),
            "overrides": [override.to_dict() for override in self.report.overrides],
            "diagnostic": None if self.diagnostic is None else self.diagnostic.to_dict(),
            "problems": [],
            "report": self.report.to_dict(),
        }

    def to_json(self, *, indent: int | None = 2) -> str:
        """The verification as JSON with sorted keys."""
        return json.dumps(self.to_dict(), indent=indent, sort_keys=True)


def verification_plan(plan: BootPlan) -> BootPlan:
    """The gates of `plan` and everything they wait for, each gate judged on its own.

    Nothing in this plan is critical: a failure or a refusal blocks only what
    waits for it, and every gate that needs nothing that failed still runs, so
    the same boot gets the same verdicts every time (an abort would cancel
    whichever gates happened to be still running). The plan keeps the real
    plan's fingerprint and overrides: it verifies that boot.
    """
    import networkx as nx  # loaded by a verification only

    graph = plan.graph
    needed: set[str] = set()
    for spec in plan.phases:
        if spec.kind == "gate":
            needed |= {spec.name, *nx.ancestors(graph, spec.name)}
    specs = tuple(
        dataclasses.replace(spec, critical=False) if spec.critical else spec
        for spec in plan.phases
        if spec.name in needed
    )
    sub = BootPlan.from_specs(plan.boot, specs, overrides=plan.overrides, left_out=plan.left_out)
    return dataclasses.replace(sub, fingerprint=plan.fingerprint)


def judge(plan: BootPlan, snapshot: RunSnapshot, report: BootReport) -> Verification:
    """The verification of `plan` from the end of its verification run.

    Args:
        plan: the boot's real plan.
        snapshot: the verification run, once torn down.
        report: its final report.
    """
    run = snapshot.plan
    records = {record.name: record for record in snapshot.records}
    verdicts = []
    for position, spec in enumerate(run.phases):
        if spec.kind == "gate":
            verdicts.append(_verdict(snapshot, position, records))
    aborted = bool(snapshot.failures or snapshot.interrupted_by or snapshot.boot_timed_out)
    aborted = aborted or snapshot.internal_error is not None
    if aborted:
        diagnostic: Diagnostic | None = diagnose(snapshot)
    else:  # a phase the gates needed failed, that fails the real boot; else the first gate
        fatal = {spec.name for spec in plan.phases if spec.critical and spec.kind != "gate"}
        needed = next(
            (
                position
                for position, record in enumerate(snapshot.records)
                if record.name in fatal and record.status in _FAILED
            ),
            None,
        )
        if needed is not None:
            diagnostic = diagnose(dataclasses.replace(snapshot, failures=(needed,)))
        else:
            diagnostic = next((v.diagnostic for v in verdicts if v.diagnostic is not None), None)
    return Verification(
        boot=plan.boot,
        fingerprint=plan.fingerprint,
        verdicts=tuple(verdicts),
        ran=run.order,
        not_started=tuple(name for name in plan.order if name not in records),
        diagnostic=diagnostic,
        report=report,
    )


def _verdict(snapshot: RunSnapshot, position: int, records: dict[str, Any]) -> GateVerdict:
    record = snapshot.records[position]
    name = record.name
    if record.status is PhaseStatus.COMPLETED:
        return GateVerdict(name, "passed", duration=record.duration)
    if record.status is PhaseStatus.SKIPPED:
        return GateVerdict(name, "skipped")
    if record.status in _FAILED and name in snapshot.exceptions:
        alone = dataclasses.replace(snapshot, failures=(position,))
        diagnostic = diagnose(alone)
        verdict: Verdict = {
            "gate_failed": "refused",
            "timed_out": "timed_out",
        }.get(diagnostic.kind, "failed")  # type: ignore[assignment]
        return GateVerdict(
            name,
            verdict,
            violations=diagnostic.details,
            action=diagnostic.action,
            duration=record.duration,
            diagnostic=diagnostic,
        )
    import networkx as nx

    graph = snapshot.plan.graph
    blockers = nx.ancestors(graph, name)
    blocked_by = tuple(
        r.name for r in snapshot.records if r.name in blockers and r.status in _FAILED
    )
    if not blocked_by:  # cancelled by the abort of a phase it does not wait for
        blocked_by = tuple(snapshot.plan.phases[failed].name for failed in snapshot.failures)
    return GateVerdict(name, "blocked", blocked_by=blocked_by)
