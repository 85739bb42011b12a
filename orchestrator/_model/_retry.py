"""Deterministic retry policy for a phase's start."""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from ._checks import LONGEST_WAIT, number_problems, seconds_problems, shown

_LOG_LONGEST_WAIT = math.log(LONGEST_WAIT)
# Attempts and seeds are 64-bit: past that an integer is a typo (and its repr may not even exist).
_LARGEST_INTEGER = 2**63 - 1


@dataclass(frozen=True, slots=True)
class Retry:
    """How often, and how far apart, a phase's start is attempted.

    The delay before attempt `n + 1` is `delay * backoff ** (n - 1)`, capped at
    `max_delay`. There is no jitter unless `jitter` is given a seed: then each
    delay is scaled by a factor in [0.5, 1.0] drawn from a generator seeded
    with it and the attempt number, so the same seed always gives the same delays.
    Each delay is computed when it is asked for, so a policy of any size costs
    nothing to declare.

    Args:
        attempts: total attempts, the first included (at least 1).
        delay: seconds before the second attempt.
        backoff: factor applied to the delay after each attempt (at least 1).
        max_delay: upper bound on any delay, or None for none.
        on: exception types that are retried; any other fails at once.
        jitter: a seed for deterministic jitter, or None for none.
    """

    attempts: int = 3
    delay: float = 0.0
    backoff: float = 1.0
    max_delay: float | None = None
    on: tuple[type[BaseException], ...] = (Exception,)
    jitter: int | None = None

    def problems(self) -> list[str]:
        """Every reason this policy is invalid, as `retry.field: reason` lines."""
        found = []
        if not _is_integer(self.attempts) or self.attempts < 1:
            found.append(f"retry.attempts must be an integer >= 1, got {shown(self.attempts)}")
        elif self.attempts > _LARGEST_INTEGER:
            found.append(f"retry.attempts must be at most 2**63 - 1, got {shown(self.attempts)}")
        found += seconds_problems("retry.delay", self.delay, allow_zero=True, none_means=None)
        found += number_problems("retry.backoff", self.backoff, minimum=1)
        found += seconds_problems("retry.max_delay", self.max_delay, allow_zero=True)
        if not (
            isinstance(self.on, tuple)
            and self.on
            and all(isinstance(kind, type) and issubclass(kind, BaseException) for kind in self.on)
        ):
            found.append(
                "retry.on must be a non-empty tuple of exception types, e.g. "
                f"on=(ConnectionError,), got {shown(self.on)}"
            )
        if self.jitter is not None and (
            not _is_integer(self.jitter) or abs(self.jitter) > _LARGEST_INTEGER
        ):
            found.append(
                f"retry.jitter must be a 64-bit integer seed or None, got {shown(self.jitter)}"
            )
        if not found and not self._delays_stay_bounded():
            found.append(
                f"retry delays grow past {LONGEST_WAIT:g} seconds before attempt "
                f"{self.attempts} (delay={shown(self.delay)} backoff={shown(self.backoff)}): "
                "set retry.max_delay"
            )
        return found

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before `attempt` (2 for the first retry); O(1) for any attempt.

        An attempt past `attempts` waits as long as the last one did.
        """
        if attempt < 2 or self.attempts < 2:
            return 0.0
        retry = min(attempt, self.attempts) - 2
        value = float(self.delay)
        if value > 0 and self.backoff != 1:
            try:
                value *= float(self.backoff) ** retry
            except OverflowError:
                value = math.inf
        if self.max_delay is not None:
            value = min(value, float(self.max_delay))
        value = min(value, LONGEST_WAIT)  # only float rounding can take a valid policy past it
        if self.jitter is not None:
            value *= 0.5 + random.Random(f"{self.jitter}/{retry}").random() / 2
        return value

    def retries(self, exc: BaseException) -> bool:
        """Whether `exc` is one this policy retries."""
        return isinstance(exc, self.on)

    def describe(self) -> str:
        """A canonical one-line form, used in plans and the fingerprint."""
        names = ",".join(sorted(f"{kind.__module__}.{kind.__qualname__}" for kind in self.on))
        return (
            f"attempts={self.attempts} delay={self.delay!r} backoff={self.backoff!r} "
            f"max_delay={self.max_delay!r} on={names} jitter={self.jitter!r}"
        )

    def _delays_stay_bounded(self) -> bool:
        """Whether the longest delay of a valid policy is at most `LONGEST_WAIT` (in O(1))."""
        if self.max_delay is not None or self.delay == 0 or self.backoff == 1:
            return True
        largest_retry = self.attempts - 2
        return math.log(self.delay) + largest_retry * math.log(self.backoff) <= _LOG_LONGEST_WAIT


def _is_integer(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
