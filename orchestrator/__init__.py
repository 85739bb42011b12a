"""smd: Startup, Made Deterministic.

Boot a service as a dependency graph of phases, in the same order every time,
and refuse to start when something that must hold does not.
"""

from ._analysis import Blame as Blame
from ._analysis import BlameEntry as BlameEntry
from ._analysis import ChainLink as ChainLink
from ._analysis import CriticalChain as CriticalChain
from ._analysis import PhaseSlack as PhaseSlack
from ._analysis import blame as blame
from ._analysis import critical_chain as critical_chain
from ._boot import Boot as Boot
from ._context import PhaseContext as PhaseContext
from ._diagnostic import Diagnostic as Diagnostic
from ._diagram import to_dot as to_dot
from ._diagram import to_mermaid as to_mermaid
from ._errors import BootAborted as BootAborted
from ._errors import BootError as BootError
from ._errors import GateFailed as GateFailed
from ._errors import GraphError as GraphError
from ._errors import PhaseTimeout as PhaseTimeout
from ._events import AnyEvent as AnyEvent
from ._events import BootFailed as BootFailed
from ._events import BootReady as BootReady
from ._events import BootStarted as BootStarted
from ._events import BootStateChanged as BootStateChanged
from ._events import BootStopped as BootStopped
from ._events import BootStopping as BootStopping
from ._events import Event as Event
from ._events import EventSink as EventSink
from ._events import PhaseBlocked as PhaseBlocked
from ._events import PhaseCancelled as PhaseCancelled
from ._events import PhaseCompleted as PhaseCompleted
from ._events import PhaseFailed as PhaseFailed
from ._events import PhaseRetrying as PhaseRetrying
from ._events import PhaseSkipped as PhaseSkipped
from ._events import PhaseStarted as PhaseStarted
from ._events import SignalReceived as SignalReceived
from ._events import SinkFailed as SinkFailed
from ._events import TeardownCompleted as TeardownCompleted
from ._events import TeardownFailed as TeardownFailed
from ._events import TeardownStarted as TeardownStarted
from ._gate import GateResult as GateResult
from ._interrupt import BootInterrupt as BootInterrupt
from ._masking import mask_secrets as mask_secrets
from ._phase import PhaseSpec as PhaseSpec
from ._plan import BootPlan as BootPlan
from ._plan import Edge as Edge
from ._plot import plot_data as plot_data
from ._plot import render_svg as render_svg
from ._report import AttemptRecord as AttemptRecord
from ._report import BootReport as BootReport
from ._report import PhaseRecord as PhaseRecord
from ._report import RetryPause as RetryPause
from ._retry import Retry as Retry
from ._running import RunningBoot as RunningBoot
from ._simulate import simulate as simulate
from ._simulated import SimulatedBoot as SimulatedBoot
from ._simulated import SimulatedPhase as SimulatedPhase
from ._sinks import StructlogSink as StructlogSink
from ._status import BootState as BootState
from ._status import PhaseStatus as PhaseStatus
from ._status import TeardownOutcome as TeardownOutcome
from ._stop_analysis import StopBlame as StopBlame
from ._stop_analysis import StopChain as StopChain
from ._stop_analysis import TeardownEntry as TeardownEntry
from ._stop_analysis import TeardownSlack as TeardownSlack
from ._stop_analysis import stop_blame as stop_blame
from ._stop_analysis import stop_critical_chain as stop_critical_chain

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
    "ChainLink",
    "CriticalChain",
    "Diagnostic",
    "Edge",
    "Event",
    "EventSink",
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
