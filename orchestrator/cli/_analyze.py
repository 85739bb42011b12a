"""`smd analyze`, `smd graph` and `smd simulate` (registered as they are built)."""

from __future__ import annotations

import argparse
from typing import Any


def register(commands: Any) -> None:
    """Add the analysis sub-commands to `commands`."""
    del commands


def _unused(_: argparse.Namespace) -> int:  # pragma: no cover
    return 0
