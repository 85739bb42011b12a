"""The kinds of manager a factory may be asked for."""

from __future__ import annotations

import enum


class WebSocketManagerMode(enum.Enum):
    """The kind of manager asked of a factory.

    UNIFIED and ISOLATED are the production modes. EMERGENCY and DEGRADED are
    named so a request for them can be recognised and refused: the seed system
    handed them out silently when validation failed, and nothing here does.
    """

    UNIFIED = "unified"
    ISOLATED = "isolated"
    EMERGENCY = "emergency"
    DEGRADED = "degraded"

    @property
    def is_production(self) -> bool:
        """Say whether managers of this mode may serve real users."""
        return self in (WebSocketManagerMode.UNIFIED, WebSocketManagerMode.ISOLATED)
