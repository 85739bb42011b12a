"""Overrides: named phases of a boot that take a fixed value or run another function.

For tests and local runs (fx's `fx.Replace`/`fx.Decorate`). An overridden phase
with a fixed value does not run and has no teardown; a replaced one runs another
function with the same options. Whatever only the overridden phases waited for
is left out of the plan, so it is not started. The plan, its fingerprint and its
report all say what was overridden, so such a boot is never mistaken for the real one.
"""

from __future__ import annotations

import dataclasses
import inspect
import sys
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from ._checks import closest_name
from ._errors import GraphError
from ._options import PHASE_OPTIONS
from ._phase import PhaseSpec, PhaseStyle, build_spec

OverrideHow = Literal["value", "function"]


@dataclass(frozen=True, slots=True)
class Override:
    """One phase of a boot overridden for a test or a local run.

    Attributes:
        phase: the overridden phase's name.
        how: "value" (a fixed value: the phase does not run and has no
            teardown) or "function" (another function runs with its options).
        replacement: what stands in, in a form that is the same on every
            machine: the value's type, or the function's qualified name.
    """

    phase: str
    how: OverrideHow
    replacement: str

    def __str__(self) -> str:
        if self.how == "value":
            return f"{self.phase} = a fixed {self.replacement} (not run, no teardown)"
        return f"{self.phase} runs {self.replacement}"

    def to_dict(self) -> dict[str, str]:
        """The override as plain data (in plans and reports)."""
        return {"how": self.how, "phase": self.phase, "replacement": self.replacement}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Override:
        """Read back what `to_dict` wrote."""
        how = data["how"]
        if how not in ("value", "function"):
            raise ValueError(f"override how={how!r} is not 'value' or 'function'")
        return cls(phase=data["phase"], how=how, replacement=data["replacement"])


def qualified_name(target: object) -> str:
    """`module.qualname` of a function or of a value's type: the same on every machine."""
    named = target if inspect.isroutine(target) or inspect.isclass(target) else type(target)
    module = getattr(named, "__module__", None) or "?"
    qualname = getattr(named, "__qualname__", None) or type(named).__qualname__
    return f"{module}.{qualname}"


def caller_source(depth: int) -> str:
    """`file:line` of the caller `depth` frames up, for diagnostics."""
    try:
        frame = sys._getframe(depth + 1)
    except ValueError:
        return "?"
    return f"{frame.f_code.co_filename}:{frame.f_lineno}"


def fixed_value(original: PhaseSpec, value: object, *, source: str) -> tuple[Override, PhaseSpec]:
    """The override record and the spec that hands dependents `value` without running anything.

    A gate keeps its kind, so a fixed value given to a gate is judged like a
    gate's result; a service becomes a plain phase (nothing keeps running).
    """

    async def fixed() -> object:
        return value

    override = Override(original.name, "value", qualified_name(value))
    spec = PhaseSpec(
        name=original.name,
        kind="gate" if original.kind == "gate" else "phase",
        target=fixed,
        style=PhaseStyle.ASYNC,
        requires=(),
        description=original.description,
        source=source,
        options_checked=True,
    )
    return override, spec


def replacement(original: PhaseSpec, function: object) -> tuple[Override, PhaseSpec]:
    """The override record and the spec that runs `function` with `original`'s options."""
    options = {option.name: getattr(original, option.name) for option in PHASE_OPTIONS}
    options["name"] = original.name
    spec = build_spec(function, kind=original.kind, **options)
    return Override(original.name, "function", qualified_name(function)), spec


def substitute(
    declared: Sequence[PhaseSpec], stand_ins: Mapping[str, PhaseSpec]
) -> list[PhaseSpec]:
    """The declaration with each overridden phase's spec swapped for its stand-in."""
    return [stand_ins.get(spec.name, spec) for spec in declared]


def left_out(declared: Sequence[PhaseSpec], effective: Sequence[PhaseSpec]) -> tuple[str, ...]:
    """Phases that only overridden phases waited for, in declaration order.

    A phase stays when nothing waited for it in the declaration (it is what the
    boot is for) or when a phase that stays still waits for it.
    """
    waited_for = {name for spec in declared for name in spec.waits_for}
    by_name = {spec.name: spec for spec in effective}
    kept: set[str] = set()
    pending = [spec.name for spec in effective if spec.name not in waited_for]
    while pending:
        name = pending.pop()
        if name in kept or name not in by_name:
            continue
        kept.add(name)
        pending.extend(by_name[name].waits_for)
    return tuple(spec.name for spec in effective if spec.name not in kept)


def unknown_phase_error(boot: str, name: object, known: Collection[str], call: str) -> GraphError:
    """The `GraphError` for an override of a phase the boot does not declare."""
    from ._diagnostic import Diagnostic  # loaded on a mistake only

    text = name if isinstance(name, str) else repr(name)
    guess = closest_name(text, known)
    hint = f"did you mean '{guess}'?" if guess else "no phase has a similar name"
    return GraphError(
        [
            Diagnostic(
                boot=boot,
                fingerprint="-",
                kind="invalid_graph",
                phase=None,
                summary=f"{call} names unknown phase '{text}' ({hint})",
                details=(f"the phases of boot '{boot}' are: {', '.join(known) or 'none'}",),
                action=f"Name a declared phase in {call}" + (f": '{guess}'." if guess else "."),
            )
        ]
    )


def with_source(spec: PhaseSpec, source: str) -> PhaseSpec:
    """`spec` declared at `source` instead (where the override was made)."""
    return dataclasses.replace(spec, source=source)
