"""Deterministic retry policy for a phase's start."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Retry:
    """How often, and how far apart, a phase's start is attempted.

    The delay before attempt `n + 1` is `delay * backoff ** (n - 1)`, capped at
    `max_delay`. There is no jitter unless `jitter` is given a seed: then each
    delay is scaled by a factor in [0.5, 1.0] drawn from a generator seeded
    with it, so the same seed always gives the same delays.

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
    _delays: tuple[float, ...] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_delays", self._compute_delays())

    def problems(self) -> list[str]:
        """Every reason this policy is invalid, as `option: reason` lines."""
        found = []
        if not isinstance(self.attempts, int) or self.attempts < 1:
            found.append(f"retry.attempts must be an integer >= 1, got {self.attempts!r}")
        if self.delay < 0:
            found.append(f"retry.delay must be >= 0 seconds, got {self.delay!r}")
        if self.backoff < 1:
            found.append(f"retry.backoff must be >= 1, got {self.backoff!r}")
        if self.max_delay is not None and self.max_delay < 0:
            found.append(f"retry.max_delay must be >= 0 seconds, got {self.max_delay!r}")
        if not self.on or not all(
            isinstance(kind, type) and issubclass(kind, BaseException) for kind in self.on
        ):
            found.append(f"retry.on must be a non-empty tuple of exception types, got {self.on!r}")
        return found

    def delay_before(self, attempt: int) -> float:
        """Seconds to wait before `attempt` (2 for the first retry)."""
        if attempt < 2:
            return 0.0
        index = min(attempt - 2, len(self._delays) - 1)
        return self._delays[index] if self._delays else 0.0

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

    def _compute_delays(self) -> tuple[float, ...]:
        if not isinstance(self.attempts, int) or self.attempts < 2:
            return ()
        rng = random.Random(self.jitter) if self.jitter is not None else None
        delays = []
        for n in range(self.attempts - 1):
            value = max(self.delay, 0.0) * max(self.backoff, 1.0) ** n
            if self.max_delay is not None:
                value = min(value, self.max_delay)
            if rng is not None:
                value *= 0.5 + rng.random() / 2
            delays.append(value)
        return tuple(delays)
