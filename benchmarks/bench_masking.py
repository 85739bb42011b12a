"""Masking of adversarial messages at 32 KB and 1 MB: the time must grow linearly."""

from __future__ import annotations

import time
from collections.abc import Callable

from orchestrator import mask_secrets

SMALL = 32 * 1024
LARGE = 1024 * 1024


def _repeat(unit: str) -> Callable[[int], str]:
    return lambda size: (unit * (size // len(unit) + 1))[:size]


# Inputs that made the former patterns quadratic, and ordinary text full of secrets.
MESSAGES: dict[str, Callable[[int], str]] = {
    '"password=" repeated': _repeat("password="),
    "one word of letters": lambda size: "a" * size,
    '"a." repeated': _repeat("a."),
    '"a://" then colons': lambda size: "a://" + ":" * (size - 4),
    '"a://:" repeated': _repeat("a://:"),
    "credential words, spaced": _repeat("password token secret api_key auth bearer "),
    "one long word ending in _key": lambda size: "x" * (size - 8) + "_key=abc",
    "unclosed quotes after a key": _repeat("token='"),
    "unclosed brackets after a key": _repeat("auth=("),
    "private key headers": _repeat("-----BEGIN RSA PRIVATE KEY-----"),
    "realistic log text with secrets": _repeat(
        "connect postgresql://app:p@ss@db/chat failed; password hunter2 rejected; "
        "Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2ln {'token': 'abc', 'user': 'bob'} "
    ),
}


def _best_of(runs: int, function: Callable[[], object]) -> float:
    best = float("inf")
    for _ in range(runs):
        began = time.perf_counter()
        function()
        best = min(best, time.perf_counter() - began)
    return best


def main() -> list[tuple[str, float, float]]:
    """Time each message at both sizes; print a table; return (message, small, large) rows."""
    rows: list[tuple[str, float, float]] = []
    for name, build in MESSAGES.items():
        small, large = build(SMALL), build(LARGE)
        rows.append(
            (
                name,
                _best_of(5, lambda text=small: mask_secrets(text)),  # type: ignore[misc]
                _best_of(3, lambda text=large: mask_secrets(text)),  # type: ignore[misc]
            )
        )
    width = max(len(name) for name, _, _ in rows)
    print(f"\nmask_secrets: {SMALL // 1024} KB and {LARGE // 1024} KB messages (best of runs)")
    print(f"{'message':<{width}}  {'32 KB ms':>9}  {'1 MB ms':>9}  {'ratio':>6}")
    for name, small_time, large_time in rows:
        ratio = large_time / small_time
        print(f"{name:<{width}}  {small_time * 1000:9.2f}  {large_time * 1000:9.1f}  {ratio:6.1f}")
    size_ratio = LARGE / SMALL
    print(f"size ratio {size_ratio:.0f}: linear time gives a ratio near it, quadratic near")
    print(f"{size_ratio**2:.0f} (the former patterns took 3.8 s for 32 KB of letters, 36 s for")
    print('"a." repeated; these rows take milliseconds)')
    return rows


if __name__ == "__main__":
    main()
