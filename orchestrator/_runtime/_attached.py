"""What tests attach to the boots started in their context: injected faults and extra sinks.

Each boot reads both once, as it starts. They live apart from `Fault` itself so
that a boot with no fault attached never loads the fault machinery.
"""

from __future__ import annotations

import contextvars
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from .._model._events import EventSink
    from ._faults import Fault

ACTIVE_FAULTS: contextvars.ContextVar[tuple[Fault, ...]] = contextvars.ContextVar(
    "smd_faults", default=()
)
EXTRA_SINKS: contextvars.ContextVar[tuple[EventSink, ...]] = contextvars.ContextVar(
    "smd_extra_sinks", default=()
)
