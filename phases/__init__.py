"""Ready-made phases built on the public API of orchestrator."""

from .websocket import websocket_phases as websocket_phases

__all__ = ["websocket_phases"]
