"""The scheduler core shared by the engine and the simulator: pure, no clock, no I/O.

`StartQueue` says which phase may start next (the ready queue in plan order) and
which phases will never start because something they need did not complete
(and, when a failed phase recovers in service, which of those may start after all);
`StopQueue` says which completed phase may be torn down next (the teardown
graph: a phase's teardown waits for the teardowns of everything that depends on
it). The engine drives them with real tasks and the simulator with a virtual
clock, so both apply the same rules by construction.
"""

from __future__ import annotations

import heapq
from collections.abc import Sequence

from ._phase import PhaseSpec
from ._status import PhaseStatus

Unstarted = tuple[int, PhaseStatus, str]
"""A phase that will never start: its position, SKIPPED or BLOCKED, and why."""


def dependents_of(phases: Sequence[PhaseSpec]) -> list[list[tuple[int, bool]]]:
    """For each position, the positions that wait for it and whether they need its value."""
    position = {spec.name: index for index, spec in enumerate(phases)}
    found: list[list[tuple[int, bool]]] = [[] for _ in phases]
    for index, spec in enumerate(phases):
        requires = spec.requires
        for name in spec.waits_for:
            found[position[name]].append((index, name in requires))
    return found


class StartQueue:
    """Which phases may start, in plan order, as their dependencies settle.

    Positions are indices into the plan. `pop()` gives the ready phase earliest
    in plan order; `settle()` records how a phase ended and returns the
    dependents that can now never start, each with its status and reason;
    `reopen()` records that a failed phase completed after all (a recovery) and
    queues again what it blocked.
    """

    __slots__ = (
        "_block",
        "_dependencies",
        "_dependents",
        "_names",
        "_settled",
        "_waiting",
        "ready",
    )

    def __init__(self, phases: Sequence[PhaseSpec]) -> None:
        self._names = [spec.name for spec in phases]
        self._dependents = dependents_of(phases)
        self._waiting = [len(spec.waits_for) for spec in phases]
        self._block: list[tuple[PhaseStatus, str] | None] = [None] * len(phases)
        self._settled: list[PhaseStatus | None] = [None] * len(phases)
        self._dependencies: list[list[tuple[int, bool]]] | None = None  # only a recovery needs it
        self.ready = [index for index, waiting in enumerate(self._waiting) if waiting == 0]
        """The positions that may start, a heap: its smallest is the earliest in plan order."""

    def __bool__(self) -> bool:
        return bool(self.ready)

    def pop(self) -> int:
        """The ready phase earliest in plan order (removed from the queue)."""
        return heapq.heappop(self.ready)

    def settle(self, position: int, status: PhaseStatus) -> list[Unstarted]:
        """Record that `position` ended with `status`; queue the dependents now ready.

        Returns:
            Every phase that, as a consequence, will never start (transitively),
            in the order they were found: BLOCKED when a value it needs did not
            come (a failure, a block), SKIPPED when it needs a skipped value.
        """
        settled_of, blocks, waiting = self._settled, self._block, self._waiting
        never: list[Unstarted] = []
        work = [(position, status)]
        while work:
            index, settled = work.pop()
            settled_of[index] = settled
            completed = settled is PhaseStatus.COMPLETED
            for dependent, needs_value in self._dependents[index]:
                if settled_of[dependent] is not None:
                    continue  # blocked earlier and reopened around: nothing left to wait for
                if needs_value and not completed:
                    blocks[dependent] = _worse(blocks[dependent], self._names[index], settled)
                left = waiting[dependent] - 1
                waiting[dependent] = left
                if left:
                    continue
                block = blocks[dependent]
                if block is None:
                    heapq.heappush(self.ready, dependent)
                    continue
                never.append((dependent, *block))
                work.append((dependent, block[0]))
        return never

    def reopen(self, position: int) -> list[int]:
        """Record that `position`, which had failed, is running again (a recovery).

        Every phase it blocked (directly or through other blocked phases) whose
        other needs are met is no longer settled: it waits for `position` (and
        anything else still running) again, and `settle()` queues it in plan
        order once `position` completes.

        Returns:
            The positions no longer settled, `position` excluded, in plan order.
        """
        self._settled[position] = None
        if self._dependencies is None:
            self._dependencies = [[] for _ in self._names]
            for index, dependents in enumerate(self._dependents):
                for dependent, needs_value in dependents:
                    self._dependencies[dependent].append((index, needs_value))
        reopened: list[int] = []
        for index in range(position + 1, len(self._names)):
            if self._settled[index] is not PhaseStatus.BLOCKED:
                continue
            block: tuple[PhaseStatus, str] | None = None
            waiting = 0
            for dependency, needs_value in self._dependencies[index]:
                settled = self._settled[dependency]
                if settled is None:
                    waiting += 1
                elif needs_value and settled is not PhaseStatus.COMPLETED:
                    block = _worse(block, self._names[dependency], settled)
            if block is not None:
                continue
            self._settled[index] = None
            self._block[index] = None
            self._waiting[index] = waiting  # at least one: `position` or a reopened phase
            reopened.append(index)
        return reopened


def _worse(
    current: tuple[PhaseStatus, str] | None, name: str, status: PhaseStatus
) -> tuple[PhaseStatus, str]:
    """Blocked beats skipped: a phase that needs a failed value is blocked, not skipped."""
    if status is PhaseStatus.SKIPPED:
        candidate = (PhaseStatus.SKIPPED, f"it needs the value of '{name}', which was skipped")
    else:
        candidate = (PhaseStatus.BLOCKED, f"it needs the value of '{name}', which {status}")
    if current is None or (
        current[0] is PhaseStatus.SKIPPED and candidate[0] is PhaseStatus.BLOCKED
    ):
        return candidate
    return current


class StopQueue:
    """Which phases may be torn down, latest in plan order first.

    A phase's teardown may begin only once every phase that depends on it (by
    value or `after=`) is done: torn down, or never needing a teardown. With one
    teardown at a time this is exactly the reverse plan order.
    """

    __slots__ = ("_dependencies", "_ready", "_remaining")

    def __init__(self, phases: Sequence[PhaseSpec]) -> None:
        position = {spec.name: index for index, spec in enumerate(phases)}
        self._dependencies = [[position[name] for name in spec.waits_for] for spec in phases]
        self._remaining = [0] * len(phases)
        for dependencies in self._dependencies:
            for index in dependencies:
                self._remaining[index] += 1
        self._ready = [-index for index, left in enumerate(self._remaining) if left == 0]
        heapq.heapify(self._ready)

    def __bool__(self) -> bool:
        return bool(self._ready)

    def pop(self) -> int:
        """The phase latest in plan order whose dependents are all done (removed)."""
        return -heapq.heappop(self._ready)

    def done(self, position: int) -> None:
        """Record that `position` needs nothing more; release what it depended on."""
        for index in self._dependencies[position]:
            self._remaining[index] -= 1
            if self._remaining[index] == 0:
                heapq.heappush(self._ready, -index)
