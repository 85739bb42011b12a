"""The reference factory: a fresh isolated manager per user context."""

from __future__ import annotations

import uuid
from typing import Any

from ._conformance import check_manager_interface, qualified_type_name
from ._context import UserExecutionContext
from ._manager import DEFAULT_SEND_TIMEOUT, IsolatedWebSocketManager
from ._mode import WebSocketManagerMode
from ._result import Concern, FactoryValidationResult, Violation


class StandardizedWebSocketManagerFactory:
    """Creates one `IsolatedWebSocketManager` per user context and keeps no registry.

    It refuses the EMERGENCY and DEGRADED modes: a boot that cannot get a real
    manager must fail, not carry on with a stand-in.

    Args:
        require_user_context: When true (the default), `create_manager(None)`
            raises `ValueError`. When false, each call without a context gets a
            fresh manager bound to a new anonymous context, never a shared one.
        send_timeout: Seconds one connection's send may take in the managers created.
    """

    def __init__(
        self, require_user_context: bool = True, *, send_timeout: float = DEFAULT_SEND_TIMEOUT
    ) -> None:
        self._require_user_context = require_user_context
        self._send_timeout = send_timeout

    def __repr__(self) -> str:
        return (
            f"StandardizedWebSocketManagerFactory("
            f"require_user_context={self._require_user_context!r})"
        )

    @property
    def require_user_context(self) -> bool:
        """Whether `create_manager(None)` is refused."""
        return self._require_user_context

    def create_manager(
        self,
        user_context: UserExecutionContext | None,
        mode: WebSocketManagerMode = WebSocketManagerMode.UNIFIED,
        **kwargs: Any,
    ) -> IsolatedWebSocketManager:
        """Create a manager bound to `user_context`.

        Args:
            user_context: The context the manager serves.
            mode: UNIFIED or ISOLATED; both give an isolated manager.
            **kwargs: Accepted by the protocol for other factories; any given
                here is refused rather than ignored.

        Returns:
            A new manager that serves only `user_context`.

        Raises:
            ValueError: If `user_context` is None while a context is required,
                or `mode` is EMERGENCY or DEGRADED.
            TypeError: If `user_context` is not a `UserExecutionContext`, or an
                unknown option is passed.
        """
        if kwargs:
            msg = f"create_manager: unknown options {sorted(kwargs)}"
            raise TypeError(msg)
        if not isinstance(mode, WebSocketManagerMode) or not mode.is_production:
            msg = (
                f"create_manager: mode {mode!r} is refused; there are no emergency or "
                "degraded managers, fix the cause instead"
            )
            raise ValueError(msg)
        return IsolatedWebSocketManager(
            self._resolve_context(user_context), mode=mode, send_timeout=self._send_timeout
        )

    def validate_manager_instance(self, manager: object) -> FactoryValidationResult:
        """Say whether `manager` is an open `IsolatedWebSocketManager` honouring the protocol.

        Args:
            manager: The object to judge.

        Returns:
            A result whose errors say what is wrong with `manager`.
        """
        violations = check_manager_interface(manager)
        if not isinstance(manager, IsolatedWebSocketManager):
            violations.append(
                Violation(
                    f"manager: is a {qualified_type_name(manager)}, "
                    "not an IsolatedWebSocketManager",
                    "Use the manager this factory's create_manager returns.",
                    Concern.ISOLATION,
                )
            )
        elif manager.closed:
            violations.append(
                Violation(
                    f"manager: the manager for user {manager.user_id!r} is closed",
                    "Create a new manager for the user context.",
                    Concern.INTERFACE,
                )
            )
        return FactoryValidationResult.from_violations(
            violations,
            manager_type=qualified_type_name(manager),
            checked=tuple(Concern),
        )

    def supports_user_isolation(self) -> bool:
        """Say that every manager serves exactly one user context (always true)."""
        return True

    def _resolve_context(self, user_context: UserExecutionContext | None) -> UserExecutionContext:
        if user_context is None:
            if self._require_user_context:
                msg = (
                    "create_manager: a user context is required; pass the "
                    "UserExecutionContext of the user the manager will serve"
                )
                raise ValueError(msg)
            anonymous = uuid.uuid4().hex
            return UserExecutionContext(
                user_id=f"anonymous-{anonymous}",
                thread_id=f"thread-{anonymous}",
                run_id=f"run-{anonymous}",
            )
        if not isinstance(user_context, UserExecutionContext):
            msg = (
                "create_manager: user_context must be a UserExecutionContext, "
                f"not {type(user_context).__name__}"
            )
            raise TypeError(msg)
        return user_context


def get_standardized_websocket_manager_factory(
    require_user_context: bool = True,
) -> StandardizedWebSocketManagerFactory:
    """The seed system's convenience function: a new reference factory.

    Code written against the seed system keeps calling it; what it returns is
    validated by the gate like any other factory.

    Args:
        require_user_context: When true (the default), `create_manager(None)`
            raises `ValueError`.

    Returns:
        A new `StandardizedWebSocketManagerFactory`; nothing is shared between calls.
    """
    return StandardizedWebSocketManagerFactory(require_user_context=require_user_context)
