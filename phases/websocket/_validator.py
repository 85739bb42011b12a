"""The factory gate's judge: validate a factory from how it behaves."""

from __future__ import annotations

import asyncio
import os
import secrets
import sys
from typing import Any, ClassVar

import anyio

from ._audit import FactoryAudit
from ._conformance import qualified_type_name
from ._errors import FactoryComplianceError
from ._result import FactoryValidationResult

SEED_VARIABLE = "SMD_GATE_SEED"
# Drawn once per process: every boot probes with another cast, and two validations in
# one process (a test and the boot it checks) probe alike unless told otherwise.
_PROCESS_SEED = secrets.randbelow(2**32)


def resolve_seed(seed: int | None) -> int:
    """The probe's seed: `seed` if given, else `SMD_GATE_SEED`, else this process's own.

    Raises:
        ValueError: If `SMD_GATE_SEED` is set but not an integer, or the seed is negative.
        TypeError: If `seed` is not an int.
    """
    if seed is None:
        text = os.environ.get(SEED_VARIABLE, "").strip()
        if not text:
            return _PROCESS_SEED
        try:
            seed = int(text)
        except ValueError:
            msg = f"{SEED_VARIABLE}={text!r} is not an integer seed"
            raise ValueError(msg) from None
    if isinstance(seed, bool) or not isinstance(seed, int):
        msg = f"seed must be an int, not {type(seed).__name__}"
        raise TypeError(msg)
    if seed < 0:
        msg = f"seed must not be negative, not {seed}"
        raise ValueError(msg)
    return seed


class WebSocketManagerFactoryValidator:
    """Validates a WebSocket manager factory by exercising it, never by `hasattr`.

    The probe draws at least 16 users from a seed, creates their managers (on the
    event loop, as the bridge does, and from worker threads; in every mode), sends
    a few hundred tagged messages through them to in-memory probe websockets, and
    reads one ledger of what arrived where. Every call is bounded by
    `call_timeout`; a plain call may keep the event loop for `LOOP_BLOCK_BUDGET`
    seconds at most. See docs/websocket-gate.md for each check and its line.
    """

    DEFAULT_CALL_TIMEOUT: ClassVar[float] = 5.0
    #: Seconds a plain factory or manager call may keep the event loop to itself.
    LOOP_BLOCK_BUDGET: ClassVar[float] = 0.05
    #: Seconds the probe waits for late deliveries before reading its ledger.
    SETTLE_PAUSE: ClassVar[float] = 0.05

    @classmethod
    async def validate_factory(
        cls, factory: object, *, call_timeout: float | None = None, seed: int | None = None
    ) -> FactoryValidationResult:
        """Validate `factory` and return what was found.

        Args:
            factory: The object claiming to be a WebSocket manager factory.
            call_timeout: Seconds any one call into the factory or a manager
                may take; defaults to `DEFAULT_CALL_TIMEOUT`.
            seed: Draws the probe's users, ids and traffic; defaults to
                `SMD_GATE_SEED`, else a seed drawn once per process. A refusal
                names its seed, so it can be replayed.

        Returns:
            A result with one line in `validation_errors`, and one entry in
            `actions`, per failed check; `probe_seed` is the seed used.

        Raises:
            ValueError: If `call_timeout` is not positive, or the seed is invalid.
        """
        bound = cls.DEFAULT_CALL_TIMEOUT if call_timeout is None else call_timeout
        if not bound > 0:
            msg = f"call_timeout must be positive, not {bound!r}"
            raise ValueError(msg)
        audit = FactoryAudit(
            factory,
            call_timeout=bound,
            seed=resolve_seed(seed),
            block_budget=cls.LOOP_BLOCK_BUDGET,
            settle=cls.SETTLE_PAUSE,
        )
        return await audit.run()

    @classmethod
    async def require_factory_compliance(
        cls,
        factory: object,
        *,
        context: str,
        call_timeout: float | None = None,
        seed: int | None = None,
    ) -> FactoryValidationResult:
        """Validate `factory` and raise unless it is compliant.

        Args:
            factory: The object claiming to be a WebSocket manager factory.
            context: Where compliance is required, named in the error.
            call_timeout: As for `validate_factory`.
            seed: As for `validate_factory`.

        Returns:
            The (valid) result.

        Raises:
            FactoryComplianceError: If any check failed; it carries the result.
        """
        result = await cls.validate_factory(factory, call_timeout=call_timeout, seed=seed)
        if not result.is_valid:
            raise FactoryComplianceError(result, context=context)
        return result

    @classmethod
    def validate_factory_compliance(
        cls, factory: object, *, call_timeout: float | None = None, seed: int | None = None
    ) -> dict[str, Any]:
        """The seed system's synchronous check, answered by the same behavioural probe.

        It runs `validate_factory` on an event loop of its own, so it cannot run
        inside one: async code awaits `validate_factory` instead. A `Mock` that
        the seed system's `hasattr` check accepted is refused here.

        Args:
            factory: The object claiming to be a WebSocket manager factory.
            call_timeout: As for `validate_factory`.
            seed: As for `validate_factory`.

        Returns:
            The seed system's dict: `compliant` (bool), `factory_type` (the
            factory's qualified class name), `missing_methods` (factory and
            manager methods that do not exist, sorted) and `violations` (one
            line per failed check).

        Raises:
            RuntimeError: If called while an event loop is running in this thread.
        """
        if _loop_running():
            msg = (
                "validate_factory_compliance runs its own event loop and cannot run inside "
                "one; use `await WebSocketManagerFactoryValidator.validate_factory(factory)`"
            )
            raise RuntimeError(msg)
        result = anyio.run(
            lambda: cls.validate_factory(factory, call_timeout=call_timeout, seed=seed)
        )
        missing = sorted(
            {
                line.split(":", 1)[0].removeprefix("manager.")
                for line in result.validation_errors
                if line.endswith(": method missing")
            }
        )
        return {
            "compliant": result.is_valid,
            "factory_type": qualified_type_name(factory),
            "missing_methods": missing,
            "violations": list(result.validation_errors),
        }


def _loop_running() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        pass
    else:
        return True
    trio = sys.modules.get("trio")  # Only a program that imported trio can be running it.
    if trio is None:
        return False
    try:
        trio.lowlevel.current_task()
    except RuntimeError:
        return False
    return True
