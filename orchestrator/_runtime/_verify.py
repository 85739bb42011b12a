"""Running a boot's gates with only what they need, then tearing it all down."""

from __future__ import annotations

from collections.abc import Sequence

from .._model._analyzers import FailureAnalyzer
from .._model._plan import BootPlan
from .._model._verification import Verification, judge, verification_plan
from ._lifecycle import Lifecycle


async def verify_gates(
    plan: BootPlan,
    *,
    deadline: float | None = None,
    stop_timeout: float | None = None,
    analyzers: Sequence[FailureAnalyzer] = (),
) -> Verification:
    """Run every gate of `plan` with only the phases the gates wait for; judge each gate.

    Everything that started is torn down before this returns. Events go
    nowhere but to the sinks `orchestrator.testing.capture_events` attaches.

    Args:
        plan: the boot's (validated) plan.
        deadline: seconds for the whole verification run.
        stop_timeout: seconds for its teardown.
        analyzers: the boot's failure analyzers, asked as a real boot asks them.
    """
    lifecycle = Lifecycle(
        verification_plan(plan),
        max_concurrency=None,
        deadline=deadline,
        stop_timeout=stop_timeout,
        sinks=(),
    )
    lifecycle.analyzers = tuple(analyzers)
    await lifecycle.start()
    if lifecycle.diagnostic is None:
        await lifecycle.stop()
    return judge(plan, lifecycle.snapshot(), lifecycle.report())
