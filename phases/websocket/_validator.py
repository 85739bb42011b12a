"""The factory gate's judge: validate a factory from how it behaves."""

from __future__ import annotations

from typing import ClassVar

from ._audit import FactoryAudit
from ._errors import FactoryComplianceError
from ._result import FactoryValidationResult


class WebSocketManagerFactoryValidator:
    """Validates a WebSocket manager factory by exercising it, never by `hasattr`.

    The checks create managers for two synthetic users, send real messages
    through them to in-memory probe websockets, and compare what arrived with
    what was sent. Every call is bounded by `call_timeout`: a factory that hangs,
    in a plain or an async method, fails validation instead of hanging the boot.
    See docs/websocket-gate.md for each check and its violation line.
    """

    DEFAULT_CALL_TIMEOUT: ClassVar[float] = 5.0

    @classmethod
    async def validate_factory(
        cls, factory: object, *, call_timeout: float | None = None
    ) -> FactoryValidationResult:
        """Validate `factory` and return what was found.

        Args:
            factory: The object claiming to be a WebSocket manager factory.
            call_timeout: Seconds any one call into the factory or a manager
                may take; defaults to `DEFAULT_CALL_TIMEOUT`.

        Returns:
            A result with one line in `validation_errors`, and one entry in
            `actions`, per failed check.

        Raises:
            ValueError: If `call_timeout` is not positive.
        """
        bound = cls.DEFAULT_CALL_TIMEOUT if call_timeout is None else call_timeout
        if bound <= 0:
            msg = f"call_timeout must be positive, not {bound!r}"
            raise ValueError(msg)
        return await FactoryAudit(factory, call_timeout=bound).run()

    @classmethod
    async def require_factory_compliance(
        cls, factory: object, *, context: str, call_timeout: float | None = None
    ) -> FactoryValidationResult:
        """Validate `factory` and raise unless it is compliant.

        Args:
            factory: The object claiming to be a WebSocket manager factory.
            context: Where compliance is required, named in the error.
            call_timeout: As for `validate_factory`.

        Returns:
            The (valid) result.

        Raises:
            FactoryComplianceError: If any check failed; it carries the result.
        """
        result = await cls.validate_factory(factory, call_timeout=call_timeout)
        if not result.is_valid:
            raise FactoryComplianceError(result, context=context)
        return result
