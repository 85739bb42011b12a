"""Agent events to the user they concern, through that user's own manager."""

from __future__ import annotations

import datetime as dt
import inspect
from types import TracebackType
from typing import Any, Self, cast
from weakref import WeakKeyDictionary

from ._conformance import MANAGER_METHODS, check_manager_interface, qualified_type_name
from ._context import UserExecutionContext
from ._deadline import complete_within
from ._errors import FactoryComplianceError, WebSocketDeliveryError
from ._manager import DEFAULT_SEND_TIMEOUT
from ._protocols import WebSocketManagerFactoryProtocol, WebSocketManagerProtocol
from ._result import Concern, FactoryValidationResult, Violation

_ENVELOPE_FIELDS = frozenset({"type", "user_id", "thread_id", "run_id", "timestamp"})
# The protocol's method names, whose verdict the bridge keeps per manager class.
_PROTOCOL_METHODS = frozenset(spec.name for spec in MANAGER_METHODS)


class AgentWebSocketBridge:
    """Sends agent lifecycle events to the user they concern, and only to that user.

    Each user context gets its own manager, created once through the factory
    and admitted only if it passes the manager protocol and the factory's own
    `validate_manager_instance`. A notification that cannot be delivered raises;
    nothing is reported as sent that was not. The protocol check is made once
    per manager class; the factory still judges every manager.

    Args:
        factory: Creates the managers; usually one the factory gate has validated.
        send_timeout: Seconds one notification may wait to reach all of its
            user's connections; past that it is cancelled and raises
            `WebSocketDeliveryError`. A notification that never waits pays
            nothing for this bound.

    Raises:
        TypeError: If `factory` lacks the factory protocol's methods.
        ValueError: If `send_timeout` is not positive.
    """

    def __init__(
        self,
        factory: WebSocketManagerFactoryProtocol,
        *,
        send_timeout: float = DEFAULT_SEND_TIMEOUT,
    ) -> None:
        if not isinstance(factory, WebSocketManagerFactoryProtocol):
            msg = (
                f"factory {qualified_type_name(factory)} lacks create_manager, "
                "validate_manager_instance or supports_user_isolation"
            )
            raise TypeError(msg)
        if not send_timeout > 0:
            msg = f"send_timeout must be positive, not {send_timeout!r}"
            raise ValueError(msg)
        self._factory = factory
        self._send_timeout = send_timeout
        # The protocol check's verdict per manager class; classes made on the fly
        # (a Mock makes one per instance) are not kept alive by it.
        self._interface_verdicts: WeakKeyDictionary[type, tuple[Violation, ...]] = (
            WeakKeyDictionary()
        )
        self._managers: dict[UserExecutionContext, WebSocketManagerProtocol] = {}
        # id(manager) -> the user it serves; the managers are held, so their ids stay unique.
        self._owners: dict[int, str] = {}
        self._closed = False

    def __repr__(self) -> str:
        return (
            f"<AgentWebSocketBridge factory={qualified_type_name(self._factory)} "
            f"managers={len(self._managers)} closed={self._closed}>"
        )

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        await self.close()

    def manager_for(self, user_context: UserExecutionContext) -> WebSocketManagerProtocol:
        """Return the manager of `user_context`, creating it on first use.

        Args:
            user_context: The context whose manager is wanted.

        Returns:
            The one manager this bridge holds for `user_context`.

        Raises:
            FactoryComplianceError: If the factory's manager is not compliant.
            TypeError: If `user_context` is not a `UserExecutionContext`.
            RuntimeError: If the bridge is closed.
        """
        self._ensure_open()
        existing = self._managers.get(self._checked_context(user_context))
        if existing is not None:
            return existing
        manager = self._admit(user_context, self._factory.create_manager(user_context))
        self._hold(user_context, manager)
        return manager

    def assign_manager(self, user_context: UserExecutionContext, manager: object) -> None:
        """Hand the bridge a manager for `user_context`; the bridge closes it on `close()`.

        Raises:
            FactoryComplianceError: If `manager` is not compliant.
            ValueError: If the context already has a manager.
            RuntimeError: If the bridge is closed.
        """
        self._ensure_open()
        if self._checked_context(user_context) in self._managers:
            msg = f"user {user_context.user_id!r} already has a manager for this context"
            raise ValueError(msg)
        self._hold(user_context, self._admit(user_context, manager))

    async def notify_agent_started(
        self, user_context: UserExecutionContext, agent_name: str, **data: Any
    ) -> dict[str, Any]:
        """Tell the user an agent started. Returns the message delivered."""
        return await self._notify(user_context, "agent_started", {"agent_name": agent_name}, data)

    async def notify_agent_thinking(
        self, user_context: UserExecutionContext, agent_name: str, reasoning: str, **data: Any
    ) -> dict[str, Any]:
        """Share the agent's current reasoning with the user. Returns the message delivered."""
        fields = {"agent_name": agent_name, "reasoning": reasoning}
        return await self._notify(user_context, "agent_thinking", fields, data)

    async def notify_tool_executing(
        self, user_context: UserExecutionContext, tool_name: str, **data: Any
    ) -> dict[str, Any]:
        """Tell the user a tool started. Returns the message delivered."""
        return await self._notify(user_context, "tool_executing", {"tool_name": tool_name}, data)

    async def notify_tool_completed(
        self, user_context: UserExecutionContext, tool_name: str, result: Any = None, **data: Any
    ) -> dict[str, Any]:
        """Tell the user a tool finished, with its result. Returns the message delivered."""
        fields = {"tool_name": tool_name, "result": result}
        return await self._notify(user_context, "tool_completed", fields, data)

    async def notify_agent_completed(
        self, user_context: UserExecutionContext, agent_name: str, result: Any = None, **data: Any
    ) -> dict[str, Any]:
        """Tell the user an agent finished, with its result. Returns the message delivered."""
        fields = {"agent_name": agent_name, "result": result}
        return await self._notify(user_context, "agent_completed", fields, data)

    async def notify_agent_error(
        self,
        user_context: UserExecutionContext,
        agent_name: str,
        error: str | BaseException,
        **data: Any,
    ) -> dict[str, Any]:
        """Tell the user an agent failed; an exception is sent as `Type: message`.

        Returns:
            The message delivered.
        """
        if isinstance(error, BaseException):
            error = f"{type(error).__name__}: {error}"
        fields = {"agent_name": agent_name, "error": error}
        return await self._notify(user_context, "agent_error", fields, data)

    async def release(self, user_context: UserExecutionContext) -> None:
        """Forget the manager of `user_context` and close it, once no other context uses it.

        A server that builds a context per connection calls this when the
        connection ends, so the bridge does not hold one manager per connection
        for the life of the process. Releasing an unknown context does nothing.
        """
        manager = self._managers.pop(self._checked_context(user_context), None)
        if manager is None or any(held is manager for held in self._managers.values()):
            return
        self._owners.pop(id(manager), None)
        close = getattr(manager, "close", None)
        if close is not None:
            outcome = close()
            if inspect.isawaitable(outcome):
                await outcome

    async def close(self) -> None:
        """Close every manager the bridge holds, newest first, even if some fail.

        Raises:
            ExceptionGroup: If any manager failed to close; every other one was
                still closed.
        """
        self._closed = True
        # A manager serving several contexts of one user is closed once.
        managers = list(reversed({id(m): m for m in self._managers.values()}.values()))
        self._managers.clear()
        self._owners.clear()
        errors: list[Exception] = []
        for manager in managers:
            close = getattr(manager, "close", None)
            if close is None:
                continue
            try:
                outcome = close()
                if inspect.isawaitable(outcome):
                    await outcome
            except Exception as exc:  # One failing close must not stop the others.
                errors.append(exc)
        if errors:
            msg = f"closing {len(errors)} of {len(managers)} WebSocket managers failed"
            raise ExceptionGroup(msg, errors)

    async def _notify(
        self,
        user_context: UserExecutionContext,
        event_type: str,
        fields: dict[str, Any],
        data: dict[str, Any],
    ) -> dict[str, Any]:
        if data and not (_ENVELOPE_FIELDS.isdisjoint(data) and fields.keys().isdisjoint(data)):
            clashes = sorted(data.keys() & (_ENVELOPE_FIELDS | fields.keys()))
            msg = f"{event_type}: extra data may not replace the fields {clashes}"
            raise ValueError(msg)
        manager = self.manager_for(user_context)
        message = {
            "type": event_type,
            "user_id": user_context.user_id,
            "thread_id": user_context.thread_id,
            "run_id": user_context.run_id,
            "timestamp": dt.datetime.now(dt.UTC).isoformat(),
            **fields,
            **data,
        }
        try:
            await complete_within(
                manager.send_to_user(user_context.user_id, message), self._send_timeout
            )
        except TimeoutError as exc:
            reason = f"{event_type} was cancelled: {exc}"
            raise WebSocketDeliveryError(user_context.user_id, reason=reason) from exc
        return message

    def _hold(self, user_context: UserExecutionContext, manager: WebSocketManagerProtocol) -> None:
        self._managers[user_context] = manager
        self._owners[id(manager)] = user_context.user_id

    def _admit(
        self, user_context: UserExecutionContext, manager: object
    ) -> WebSocketManagerProtocol:
        violations = self._interface_violations(manager)
        owner = self._owners.get(id(manager))
        if owner is not None and owner != user_context.user_id:
            violations.append(
                Violation(
                    f"manager: already serves user {owner!r}; one manager may serve one user only",
                    "Return a new manager from create_manager for every user; never reuse one "
                    "across users.",
                    Concern.ISOLATION,
                )
            )
        verdict = self._factory.validate_manager_instance(manager)
        if getattr(verdict, "is_valid", None) is not True:
            # The factory often runs the same protocol check: each fault is listed once.
            seen = {violation.detail for violation in violations}
            violations.extend(
                violation
                for violation in self._factory_verdict_violations(verdict)
                if violation.detail not in seen
            )
        if violations:
            result = FactoryValidationResult.from_violations(
                violations, manager_type=qualified_type_name(manager), checked=tuple(Concern)
            )
            context = f"AgentWebSocketBridge: manager for user {user_context.user_id!r}"
            raise FactoryComplianceError(result, context=context)
        return cast("WebSocketManagerProtocol", manager)

    def _interface_violations(self, manager: object) -> list[Violation]:
        cls = type(manager)
        if not _methods_live_on_the_class(manager):
            # Methods that live on the instance, or come from __getattr__, may
            # differ from one instance to the next.
            return check_manager_interface(manager)
        verdict = self._interface_verdicts.get(cls)
        if verdict is None:
            verdict = tuple(check_manager_interface(manager))
            self._interface_verdicts[cls] = verdict
        return list(verdict)

    @staticmethod
    def _factory_verdict_violations(verdict: object) -> list[Violation]:
        if not isinstance(verdict, FactoryValidationResult):
            return [
                Violation(
                    f"validate_manager_instance: returned {qualified_type_name(verdict)}, "
                    "not a FactoryValidationResult",
                    "Return a FactoryValidationResult from validate_manager_instance.",
                    Concern.FACTORY_METHOD,
                )
            ]
        if not verdict.validation_errors:
            return [
                Violation(
                    "validate_manager_instance: rejected the manager without saying why",
                    "Use a manager the factory accepts.",
                    Concern.FACTORY_METHOD,
                )
            ]
        return [
            Violation(detail, action, Concern.FACTORY_METHOD)
            for detail, action in verdict.violations
        ]

    def _checked_context(self, user_context: object) -> UserExecutionContext:
        if not isinstance(user_context, UserExecutionContext):
            msg = f"user_context must be a UserExecutionContext, not {type(user_context).__name__}"
            raise TypeError(msg)
        return user_context

    def _ensure_open(self) -> None:
        if self._closed:
            msg = "the AgentWebSocketBridge is closed"
            raise RuntimeError(msg)


def _methods_live_on_the_class(manager: object) -> bool:
    """Say whether every protocol method of `manager` is its class's, none its own."""
    missing = object()
    try:
        own = object.__getattribute__(manager, "__dict__")
    except AttributeError:  # No __dict__ (slots): nothing of its own.
        own = {}
    except Exception:  # A hostile __dict__: judge this instance on its own.
        return False
    if not isinstance(own, dict) or not _PROTOCOL_METHODS.isdisjoint(own):
        return False
    try:
        return all(
            inspect.getattr_static(type(manager), name, missing) is not missing
            for name in _PROTOCOL_METHODS
        )
    except Exception:  # A metaclass that breaks static lookup: no verdict to share.
        return False
