"""Long views summarised: the rows that matter most, and a line saying how to see the rest.

A terminal table costs time per row and a reader cannot take in 100,000 of
them; the first rows of a view sorted by what matters (slowest, least slack)
say what the rest would. `--all` shows every row.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

T = TypeVar("T")

ROWS_SHOWN = 20
"""Rows of a long table shown without `--all`."""

ALL_OPTION_HELP = f"show every row of long tables and chains (default: the first {ROWS_SHOWN})"


def first_rows(rows: Sequence[T], show_all: bool) -> tuple[Sequence[T], int]:
    """The rows to show and how many are left out."""
    if show_all or len(rows) <= ROWS_SHOWN:
        return rows, 0
    return rows[:ROWS_SHOWN], len(rows) - ROWS_SHOWN


def ends_of(rows: Sequence[T], show_all: bool) -> tuple[Sequence[T], int, Sequence[T]]:
    """A chain's two ends and how many links between them are left out."""
    if show_all or len(rows) <= ROWS_SHOWN:
        return rows, 0, ()
    half = ROWS_SHOWN // 2
    return rows[:half], len(rows) - 2 * half, rows[-half:]


def more_line(hidden: int, what: str = "rows") -> str:
    """The line that stands for the rows left out."""
    return f"{hidden} more {what}: --all to see them"
