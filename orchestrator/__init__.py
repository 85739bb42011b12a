"""smd: Startup, Made Deterministic.

Boot a service as a dependency graph of phases, in the same order every time,
and refuse to start when something that must hold does not.

The analysis names (blame, critical chain, simulation, charts, diagrams) and
those only a failure or a gate needs (`Diagnostic`, `FailureAnalysis`,
`GateResult`) are loaded on first use: for a boot orchestrator, import time is
boot time.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from ._boot import Boot as Boot
from ._model._errors import BootAborted as BootAborted
from ._model._errors import BootError as BootError
from ._model._errors import GateFailed as GateFailed
from ._model._errors import GraphError as GraphError
from ._model._errors import PhaseTimeout as PhaseTimeout
from ._model._events import AnyEvent as AnyEvent
from ._model._events import BootFailed as BootFailed
from ._model._events import BootReady as BootReady
from ._model._events import BootStarted as BootStarted
from ._model._events import BootStateChanged as BootStateChanged
from ._model._events import BootStopped as BootStopped
from ._model._events import BootStopping as BootStopping
from ._model._events import BudgetExceeded as BudgetExceeded
from ._model._events import Event as Event
from ._model._events import EventSink as EventSink
from ._model._events import PhaseBlocked as PhaseBlocked
from ._model._events import PhaseCancelled as PhaseCancelled
from ._model._events import PhaseCompleted as PhaseCompleted
from ._model._events import PhaseFailed as PhaseFailed
from ._model._events import PhaseRetrying as PhaseRetrying
from ._model._events import PhaseSkipped as PhaseSkipped
from ._model._events import PhaseStarted as PhaseStarted
from ._model._events import SignalReceived as SignalReceived
from ._model._events import SinkFailed as SinkFailed
from ._model._events import TeardownCompleted as TeardownCompleted
from ._model._events import TeardownFailed as TeardownFailed
from ._model._events import TeardownStarted as TeardownStarted
from ._model._masking import mask_secrets as mask_secrets
from ._model._phase import PhaseSpec as PhaseSpec
from ._model._plan import BootPlan as BootPlan
from ._model._plan import Edge as Edge
from ._model._report import AttemptRecord as AttemptRecord
from ._model._report import BootReport as BootReport
from ._model._report import PhaseRecord as PhaseRecord
from ._model._report import RetryPause as RetryPause
from ._model._retry import Retry as Retry
from ._model._status import BootState as BootState
from ._model._status import PhaseStatus as PhaseStatus
from ._model._status import TeardownOutcome as TeardownOutcome
from ._runtime._context import PhaseContext as PhaseContext
from ._runtime._interrupt import BootInterrupt as BootInterrupt
from ._runtime._running import RunningBoot as RunningBoot
from ._runtime._sinks import StructlogSink as StructlogSink

if TYPE_CHECKING:
    from ._analysis._chain import Blame as Blame
    from ._analysis._chain import BlameEntry as BlameEntry
    from ._analysis._chain import ChainLink as ChainLink
    from ._analysis._chain import CriticalChain as CriticalChain
    from ._analysis._chain import PhaseSlack as PhaseSlack
    from ._analysis._chain import blame as blame
    from ._analysis._chain import critical_chain as critical_chain
    from ._analysis._chart import plot_data as plot_data
    from ._analysis._chart import render_svg as render_svg
    from ._analysis._diagram import to_dot as to_dot
    from ._analysis._diagram import to_mermaid as to_mermaid
    from ._analysis._prediction import SimulatedBoot as SimulatedBoot
    from ._analysis._prediction import SimulatedPhase as SimulatedPhase
    from ._analysis._simulator import simulate as simulate
    from ._analysis._stop import StopBlame as StopBlame
    from ._analysis._stop import StopChain as StopChain
    from ._analysis._stop import TeardownEntry as TeardownEntry
    from ._analysis._stop import TeardownSlack as TeardownSlack
    from ._analysis._stop import stop_blame as stop_blame
    from ._analysis._stop import stop_critical_chain as stop_critical_chain
    from ._model._analyzers import FailureAnalysis as FailureAnalysis
    from ._model._diagnostic import Diagnostic as Diagnostic
    from ._model._gate import GateResult as GateResult

# Public name -> the private module that defines it, imported on first access.
_LAZY: dict[str, str] = {
    "Blame": "_analysis._chain",
    "BlameEntry": "_analysis._chain",
    "ChainLink": "_analysis._chain",
    "CriticalChain": "_analysis._chain",
    "Diagnostic": "_model._diagnostic",
    "FailureAnalysis": "_model._analyzers",
    "GateResult": "_model._gate",
    "PhaseSlack": "_analysis._chain",
    "SimulatedBoot": "_analysis._prediction",
    "SimulatedPhase": "_analysis._prediction",
    "StopBlame": "_analysis._stop",
    "StopChain": "_analysis._stop",
    "TeardownEntry": "_analysis._stop",
    "TeardownSlack": "_analysis._stop",
    "blame": "_analysis._chain",
    "critical_chain": "_analysis._chain",
    "plot_data": "_analysis._chart",
    "render_svg": "_analysis._chart",
    "simulate": "_analysis._simulator",
    "stop_blame": "_analysis._stop",
    "stop_critical_chain": "_analysis._stop",
    "to_dot": "_analysis._diagram",
    "to_mermaid": "_analysis._diagram",
}


def __getattr__(name: str) -> Any:
    """Import a lazily loaded public name on first access and keep it in the module."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted({*globals(), *_LAZY})


__all__ = [
    "AnyEvent",
    "AttemptRecord",
    "Blame",
    "BlameEntry",
    "Boot",
    "BootAborted",
    "BootError",
    "BootFailed",
    "BootInterrupt",
    "BootPlan",
    "BootReady",
    "BootReport",
    "BootStarted",
    "BootState",
    "BootStateChanged",
    "BootStopped",
    "BootStopping",
    "BudgetExceeded",
    "ChainLink",
    "CriticalChain",
    "Diagnostic",
    "Edge",
    "Event",
    "EventSink",
    "FailureAnalysis",
    "GateFailed",
    "GateResult",
    "GraphError",
    "PhaseBlocked",
    "PhaseCancelled",
    "PhaseCompleted",
    "PhaseContext",
    "PhaseFailed",
    "PhaseRecord",
    "PhaseRetrying",
    "PhaseSkipped",
    "PhaseSlack",
    "PhaseSpec",
    "PhaseStarted",
    "PhaseStatus",
    "PhaseTimeout",
    "Retry",
    "RetryPause",
    "RunningBoot",
    "SignalReceived",
    "SimulatedBoot",
    "SimulatedPhase",
    "SinkFailed",
    "StopBlame",
    "StopChain",
    "StructlogSink",
    "TeardownCompleted",
    "TeardownEntry",
    "TeardownFailed",
    "TeardownOutcome",
    "TeardownSlack",
    "TeardownStarted",
    "blame",
    "critical_chain",
    "mask_secrets",
    "plot_data",
    "render_svg",
    "simulate",
    "stop_blame",
    "stop_critical_chain",
    "to_dot",
    "to_mermaid",
]
