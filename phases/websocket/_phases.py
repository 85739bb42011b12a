"""The factory gate and the agent bridge as phases of a boot.

This is the only module of the package that knows the engine: everything else
(context, manager, factory, validator, bridge) works without it.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable
from dataclasses import dataclass
from typing import cast

from orchestrator import Boot

from ._bridge import AgentWebSocketBridge
from ._conformance import qualified_type_name
from ._protocols import WebSocketManagerFactoryProtocol
from ._result import FactoryValidationResult
from ._validator import WebSocketManagerFactoryValidator

FACTORY_GATE = "websocket_factory_validation"
BRIDGE_PHASE = "agent_websocket_bridge"

#: Seconds the whole factory validation may take; each call into the factory is
#: bounded separately by the validator's `call_timeout`.
DEFAULT_GATE_TIMEOUT = 30.0


@dataclass(frozen=True, slots=True)
class ValidatedFactory:
    """What the factory gate hands its dependents once the factory passed.

    It is a passing gate result (`is_valid` is True, no errors), so the engine
    lets the boot continue; dependents take the factory from `factory`. A
    failing validation never becomes a `ValidatedFactory`: the gate returns the
    invalid `FactoryValidationResult` itself and the engine refuses the boot.

    Attributes:
        factory: The factory that passed every check.
        result: The validation's findings, all of them true.

    Raises:
        ValueError: On construction, if `result` is not valid.
    """

    factory: WebSocketManagerFactoryProtocol
    result: FactoryValidationResult

    def __post_init__(self) -> None:
        if not self.result.is_valid:
            msg = "a ValidatedFactory needs a valid FactoryValidationResult"
            raise ValueError(msg)

    def __repr__(self) -> str:
        return f"ValidatedFactory(factory={qualified_type_name(self.factory)})"

    @property
    def is_valid(self) -> bool:
        """Always True: only a factory that passed becomes a `ValidatedFactory`."""
        return True

    @property
    def validation_errors(self) -> tuple[str, ...]:
        """Always empty, as for any passing gate result."""
        return ()

    @property
    def actions(self) -> tuple[str, ...]:
        """Always empty: there is nothing to change."""
        return ()


def websocket_phases(
    factory: object,
    *,
    after: Iterable[str] | str = (),
    call_timeout: float | None = None,
    timeout: float = DEFAULT_GATE_TIMEOUT,
) -> Boot:
    """The factory gate and the agent bridge, ready for `boot.include(...)`.

    - gate `websocket_factory_validation`: validates `factory` by exercising it
      (`WebSocketManagerFactoryValidator.validate_factory`). If a check fails it
      returns the invalid `FactoryValidationResult`, and the boot is refused
      (`gate_failed`, exit code 78) with one detail and one action per
      violation. If every check passes its value is a `ValidatedFactory`.
    - phase `agent_websocket_bridge`: depends on the gate; its value is an
      `AgentWebSocketBridge` over the validated factory, and its teardown closes
      every manager the bridge created.

    The returned `Boot` can also be run on its own (when `after` is empty).

    Args:
        factory: The object claiming to be a WebSocket manager factory; any
            object is accepted because the gate, not the type checker, decides.
        after: Phases of the including boot the gate waits for (ordering only),
            e.g. `after="services"` to validate the factory once the services
            it may rely on are up.
        call_timeout: Seconds one call into the factory or a manager may take
            during validation (the validator's default when None).
        timeout: Seconds the whole validation may take.

    Returns:
        A `Boot` named "websocket" holding the gate and the bridge phase.
    """
    phases = Boot("websocket")

    @phases.gate(
        name=FACTORY_GATE,
        after=after,
        timeout=timeout,
        description="validate the WebSocket manager factory by exercising it",
        expected_duration=0.01,
    )
    async def validate_factory() -> ValidatedFactory | FactoryValidationResult:
        result = await WebSocketManagerFactoryValidator.validate_factory(
            factory, call_timeout=call_timeout
        )
        if not result.is_valid:
            return result
        return ValidatedFactory(cast("WebSocketManagerFactoryProtocol", factory), result)

    @phases.phase(
        name=BRIDGE_PHASE,
        description="send agent events to each user through that user's own manager",
        expected_duration=0.001,
        teardown_timeout=10,
    )
    async def open_bridge(
        websocket_factory_validation: ValidatedFactory,
    ) -> AsyncIterator[AgentWebSocketBridge]:
        bridge = AgentWebSocketBridge(websocket_factory_validation.factory)
        try:
            yield bridge
        finally:
            await bridge.close()

    return phases
