"""The three probes as plain functions of a boot's picture, and the three ways to answer them.

- `/livez`: the event loop runs. It never looks at phases or external systems
  (a slow database must not make Kubernetes restart a healthy process); with a
  `LoopWatch` it fails for a while after the loop was blocked, saying how long.
- `/readyz`: READY or DEGRADED (DEGRADED only while `allow_degraded`, the
  default), and not draining.
- `/startupz`: the boot finished (READY or DEGRADED, draining or not).

Each answer is JSON by default; Kubernetes' `?verbose` text (`[+]name ok` /
`[-]name failed: reason`, one line per phase); or `application/health+json`
(status `pass`/`warn`/`fail`, one entry per phase under `checks`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any, Literal

from .._model._status import BootState, PhaseStatus
from ._loop_watch import LoopStall, LoopWatch
from ._view import BootHealth, HealthSource, PhaseHealth, observe

ProbeName = Literal["livez", "readyz", "startupz"]
CheckStatus = Literal["pass", "warn", "fail"]

PROBES: tuple[ProbeName, ...] = ("livez", "readyz", "startupz")
HEALTH_JSON = "application/health+json"


@dataclass(frozen=True, slots=True)
class Check:
    """One line of a probe's answer: a phase (or the event loop) and its verdict.

    Attributes:
        name: the phase, or `event_loop` for `/livez`.
        status: `pass`, `warn` (a non-critical phase down while degraded is accepted) or `fail`.
        observed: what was seen: the phase's status, or the loop's state.
        output: why it is not `pass`, or None.
    """

    name: str
    status: CheckStatus
    observed: str
    output: str | None = None


@dataclass(frozen=True, slots=True)
class ProbeResult:
    """One probe's verdict, ready to be answered in any of its three forms.

    Attributes:
        probe: which probe was asked.
        ok: whether it passed (status 200) or not (status 503).
        health: the boot as the probe saw it.
        checks: one per phase (for `/livez`, the event loop), in plan order.
        reason: why it did not pass, in one line, or None.
    """

    probe: ProbeName
    ok: bool
    health: BootHealth
    checks: tuple[Check, ...] = ()
    reason: str | None = None

    @property
    def status_code(self) -> int:
        """200 when the probe passed, 503 otherwise."""
        return 200 if self.ok else 503

    @property
    def body(self) -> dict[str, Any]:
        """The JSON answer: probe, ok, boot, fingerprint, state, and what the probe looked at."""
        health = self.health
        body: dict[str, Any] = {
            "probe": self.probe,
            "ok": self.ok,
            "boot": health.boot,
            "fingerprint": health.fingerprint,
            "state": health.state.value,
        }
        if self.reason is not None:
            body["reason"] = self.reason
        if self.probe == "livez":
            loop = self.checks[0] if self.checks else None
            body["event_loop"] = None if loop is None else loop.output
            return body
        body["draining"] = health.draining
        body["running"] = health.named(PhaseStatus.RUNNING)
        body["pending"] = health.named(PhaseStatus.PENDING)
        body["degraded"] = health.degraded
        body["phases"] = {phase.name: phase.status.value for phase in health.phases}
        return body

    def to_json(self) -> str:
        """The body as compact JSON with sorted keys."""
        return json.dumps(self.body, sort_keys=True, separators=(",", ":"))

    def to_text(self) -> str:
        """Kubernetes' verbose form: `[+]name ok` / `[-]name failed: reason`, then the verdict."""
        lines = [
            f"[+]{check.name} ok"
            if check.status == "pass"
            else f"[-]{check.name} failed: {_one_line(check.output or check.observed)}"
            for check in self.checks
        ]
        if self.health.draining and self.probe == "readyz":
            lines.append("[-]shutdown failed: draining")
        lines.append(f"{self.probe} check {'passed' if self.ok else 'failed'}")
        return "\n".join(lines) + "\n"

    def to_health_json(self) -> str:
        """The `application/health+json` form (draft-inadarei-api-health-check)."""
        statuses = {check.status for check in self.checks}
        overall: CheckStatus = "fail" if not self.ok else "pass" if statuses <= {"pass"} else "warn"
        document: dict[str, Any] = {
            "status": overall,
            "serviceId": self.health.boot,
            "releaseId": self.health.fingerprint,
            "description": f"{self.probe}: {self.health.state.value}",
            "checks": {
                check.name: [
                    {
                        "componentType": "event_loop" if self.probe == "livez" else "phase",
                        "status": check.status,
                        "observedValue": check.observed,
                        **({"output": check.output} if check.output else {}),
                    }
                ]
                for check in self.checks
            },
        }
        if self.reason is not None:
            document["output"] = self.reason
        return json.dumps(document, sort_keys=True, separators=(",", ":"))


def describe_boot(source: HealthSource) -> dict[str, Any]:
    """What `/readyz` and `/startupz` report: boot, fingerprint, state, draining, phases.

    Args:
        source: the running boot, its progress, its plan, or None.

    Returns:
        Plain data; `phases` maps each phase name to its status, in plan order.
    """
    body = check_startup(source).body
    return {key: value for key, value in body.items() if key not in ("probe", "ok", "reason")}


def check_liveness(source: HealthSource, *, loop_watch: LoopWatch | None = None) -> ProbeResult:
    """Pass unless `loop_watch` saw the event loop blocked in the recent past.

    Args:
        source: the boot, for the body's name, fingerprint and state.
        loop_watch: the watch measuring the loop's lag; without one, pass.
    """
    health = observe(source)
    stall: LoopStall | None = None if loop_watch is None else loop_watch.stall()
    if stall is None:
        return ProbeResult("livez", True, health, (Check("event_loop", "pass", "running"),))
    assert loop_watch is not None
    why = stall.describe(loop_watch.clock())
    why = f"{why} (threshold {loop_watch.threshold:g} s)"
    check = Check("event_loop", "fail", "blocked", why)
    return ProbeResult("livez", False, health, (check,), reason=why)


def check_readiness(source: HealthSource, *, allow_degraded: bool = True) -> ProbeResult:
    """Pass when the boot is READY, or DEGRADED while `allow_degraded`, and not draining.

    Args:
        source: the running boot, its progress, its plan, or None.
        allow_degraded: whether a DEGRADED boot takes traffic (the default: a
            failed non-critical phase must not take a replica out of its Service).
    """
    health = observe(source)
    accepted = (BootState.READY, BootState.DEGRADED) if allow_degraded else (BootState.READY,)
    ok = health.state in accepted and not health.draining
    reason = None
    if health.draining:
        reason = "draining: the service is shutting down"
    elif not ok:
        reason = _not_yet(health) if health.state is BootState.STARTING else health.state.value
    return ProbeResult("readyz", ok, health, _phase_checks(health, allow_degraded), reason)


def check_startup(source: HealthSource) -> ProbeResult:
    """Pass once the boot has finished (READY or DEGRADED), draining or not."""
    health = observe(source)
    reason = None
    if not health.booted:
        reason = _not_yet(health) if health.state is BootState.STARTING else health.state.value
    return ProbeResult(
        "startupz", health.booted, health, _phase_checks(health, allow_degraded=True), reason
    )


def run_probe(
    probe: ProbeName,
    source: HealthSource,
    *,
    allow_degraded: bool = True,
    loop_watch: LoopWatch | None = None,
) -> ProbeResult:
    """Run the probe named `probe` (`livez`, `readyz` or `startupz`)."""
    if probe == "livez":
        return check_liveness(source, loop_watch=loop_watch)
    if probe == "readyz":
        return check_readiness(source, allow_degraded=allow_degraded)
    return check_startup(source)


def _one_line(text: str) -> str:
    """`text` with line breaks and other control characters escaped: one line, never obeyed."""
    if text.isprintable():
        return text
    return "".join(c if c.isprintable() else c.encode("unicode_escape").decode() for c in text)


def _not_yet(health: BootHealth) -> str:
    running, pending = health.named(PhaseStatus.RUNNING), health.named(PhaseStatus.PENDING)
    labelled = (("running", running), ("pending", pending))
    parts = [f"{label}: {', '.join(names)}" for label, names in labelled if names]
    return "booting" + (f" ({'; '.join(parts)})" if parts else "")


def _phase_checks(health: BootHealth, allow_degraded: bool) -> tuple[Check, ...]:
    return tuple(_phase_check(phase, health, allow_degraded) for phase in health.phases)


def _phase_check(phase: PhaseHealth, health: BootHealth, allow_degraded: bool) -> Check:
    if phase.healthy:
        return Check(phase.name, "pass", phase.status.value)
    output = phase.reason or phase.status.value
    # Once booted, whatever is down is a non-critical phase or what it blocked: the boot
    # is DEGRADED, which readiness accepts unless told otherwise.
    accepted = allow_degraded and health.booted
    return Check(phase.name, "warn" if accepted else "fail", phase.status.value, output)
