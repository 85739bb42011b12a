"""A boot whose sync phase is stuck in its thread far past its timeout."""

from __future__ import annotations

import time

from orchestrator import Boot

boot = Boot("stuck")


@boot.phase(timeout=0.2)
def stuck() -> None:
    time.sleep(3600)
