"""The WebSocket manager factory gate and the agent WebSocket bridge.

The seed system validated its factory with `hasattr` checks that a Mock passes
and fell back to "emergency" managers when validation failed. Here the factory
is validated by exercising it, and a failure stops the boot.
`websocket_phases(factory)` wraps the gate and the bridge as phases of a boot.
"""

from ._bridge import AgentWebSocketBridge as AgentWebSocketBridge
from ._connection import SupportsSendJson as SupportsSendJson
from ._connection import WebSocketConnection as WebSocketConnection
from ._context import UserExecutionContext as UserExecutionContext
from ._errors import FactoryComplianceError as FactoryComplianceError
from ._errors import UserIsolationError as UserIsolationError
from ._errors import WebSocketDeliveryError as WebSocketDeliveryError
from ._factory import StandardizedWebSocketManagerFactory as StandardizedWebSocketManagerFactory
from ._factory import (
    get_standardized_websocket_manager_factory as get_standardized_websocket_manager_factory,
)
from ._manager import IsolatedWebSocketManager as IsolatedWebSocketManager
from ._mode import WebSocketManagerMode as WebSocketManagerMode
from ._phases import ValidatedFactory as ValidatedFactory
from ._phases import websocket_phases as websocket_phases
from ._protocols import WebSocketManagerFactoryProtocol as WebSocketManagerFactoryProtocol
from ._protocols import WebSocketManagerProtocol as WebSocketManagerProtocol
from ._result import FactoryValidationResult as FactoryValidationResult
from ._validator import WebSocketManagerFactoryValidator as WebSocketManagerFactoryValidator

__all__ = [
    "AgentWebSocketBridge",
    "FactoryComplianceError",
    "FactoryValidationResult",
    "IsolatedWebSocketManager",
    "StandardizedWebSocketManagerFactory",
    "SupportsSendJson",
    "UserExecutionContext",
    "UserIsolationError",
    "ValidatedFactory",
    "WebSocketConnection",
    "WebSocketDeliveryError",
    "WebSocketManagerFactoryProtocol",
    "WebSocketManagerFactoryValidator",
    "WebSocketManagerMode",
    "WebSocketManagerProtocol",
    "get_standardized_websocket_manager_factory",
    "websocket_phases",
]
