"""The stop of a simulated boot: the engine's teardown graph (`StopQueue`) on a virtual clock."""

from __future__ import annotations

import heapq
import math
from collections.abc import Sequence

from .._model._phase import PhaseSpec, PhaseStyle
from .._model._schedule import StopQueue
from .._model._status import TeardownOutcome

_TEARS_DOWN = (PhaseStyle.GENERATOR, PhaseStyle.ASYNC_GENERATOR)


def has_teardown(spec: PhaseSpec) -> bool:
    """Whether a completed start of `spec` leaves something to tear down."""
    if spec.style in _TEARS_DOWN:
        return True
    return spec.style is PhaseStyle.COMPONENT and callable(getattr(spec.target, "stop", None))


class StopDriver:
    """The teardown graph of one simulated boot on the virtual clock.

    Like the engine: a teardown begins once every phase that depends on it is done,
    at most `limit` at once; one that outlasts its `teardown_timeout` fails at it;
    when `stop_timeout` runs out, the teardowns in flight and those not begun fail.
    """

    def __init__(
        self,
        specs: Sequence[PhaseSpec],
        took: Sequence[float | None],
        limit: float,
        begin: float,
        stop_timeout: float | None,
    ) -> None:
        self.specs = specs
        self.took = took
        self.limit = limit
        self.now = begin
        self.budget_end = math.inf if stop_timeout is None else begin + stop_timeout
        self.queue = StopQueue(specs)
        count = len(specs)
        self.start: list[float | None] = [None] * count
        self.end: list[float | None] = [None] * count
        self.outcome = [TeardownOutcome.NOT_NEEDED] * count
        self.order: list[int] = []
        self.expiries: list[tuple[float, int, int, TeardownOutcome]] = []
        self.sequence = 0

    def run(self) -> None:
        """Tear down every phase due, in the graph's order; end when done or out of budget."""
        self._dispatch()
        while self.expiries and self.expiries[0][0] <= self.budget_end:
            self.now, _, index, outcome = heapq.heappop(self.expiries)
            self._settle(index, outcome)
            self.queue.done(index)
            self._dispatch()
        if not self.expiries:
            return
        self.now = self.budget_end
        for _, _, index, _ in sorted(self.expiries, key=lambda expiry: expiry[1]):
            self._settle(index, TeardownOutcome.TEARDOWN_FAILED)
        for index in reversed(range(len(self.specs))):
            if self.took[index] is not None and self.start[index] is None:
                self.start[index] = self.now
                self._settle(index, TeardownOutcome.TEARDOWN_FAILED)

    def _dispatch(self) -> None:
        while self.queue and len(self.expiries) < self.limit:
            index = self.queue.pop()
            took = self.took[index]
            if took is None:
                self.queue.done(index)
                continue
            self.start[index] = self.now
            limit = self.specs[index].teardown_timeout
            outcome = TeardownOutcome.TORN_DOWN
            if limit is not None and took > limit:
                took, outcome = limit, TeardownOutcome.TEARDOWN_FAILED
            heapq.heappush(self.expiries, (self.now + took, self.sequence, index, outcome))
            self.sequence += 1

    def _settle(self, index: int, outcome: TeardownOutcome) -> None:
        self.end[index] = self.now
        self.outcome[index] = outcome
        self.order.append(index)
