"""The errors of the WebSocket domain, each rendering its message from its fields."""

from __future__ import annotations

from collections.abc import Sequence

from ._result import FactoryValidationResult


class FactoryComplianceError(Exception):
    """A factory or a manager failed validation where compliance is required.

    Attributes:
        result: The validation result, with every violation and its action.
        context: Where compliance was required (a phase, a bridge call).
    """

    def __init__(self, result: FactoryValidationResult, *, context: str) -> None:
        self.result = result
        self.context = context
        super().__init__(self._render())

    def _render(self) -> str:
        subject = self.result.manager_type or "the WebSocket manager factory"
        lines = [f"{self.context}: {subject} is not compliant"]
        lines.extend(f"  - {detail} -> {action}" for detail, action in self.result.violations)
        return "\n".join(lines)


class UserIsolationError(ValueError):
    """A manager was asked to act for a user other than the one it is bound to.

    Attributes:
        operation: The manager method that refused.
        owner_user_id: The user the manager is bound to.
        requested_user_id: The user the call was for.
    """

    def __init__(self, operation: str, *, owner_user_id: str, requested_user_id: str) -> None:
        self.operation = operation
        self.owner_user_id = owner_user_id
        self.requested_user_id = requested_user_id
        super().__init__(
            f"{operation}: this manager belongs to user {owner_user_id!r} and refuses "
            f"user {requested_user_id!r}; get that user's manager from the factory"
        )


class WebSocketDeliveryError(RuntimeError):
    """A message could not be delivered to every connection it was meant for.

    The message itself is never part of the error, since it may hold secrets.

    Attributes:
        user_id: The user the message was for.
        failed_connection_ids: Connections whose send failed or timed out.
        delivered_connection_ids: Connections that did receive the message.
        reason: Why delivery failed.
    """

    def __init__(
        self,
        user_id: str,
        *,
        reason: str,
        failed_connection_ids: Sequence[str] = (),
        delivered_connection_ids: Sequence[str] = (),
    ) -> None:
        self.user_id = user_id
        self.reason = reason
        self.failed_connection_ids = tuple(failed_connection_ids)
        self.delivered_connection_ids = tuple(delivered_connection_ids)
        failed = ", ".join(self.failed_connection_ids) or "none"
        super().__init__(
            f"delivery to user {user_id!r} failed: {reason} "
            f"(failed connections: {failed}; delivered: {len(self.delivered_connection_ids)})"
        )
