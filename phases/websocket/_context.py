"""Who a piece of work belongs to: the user execution context."""

from __future__ import annotations

import uuid
from dataclasses import dataclass, field

# Values the seed system used when it had no real id; each one merged strangers' traffic.
_PLACEHOLDER_IDS = frozenset(
    {
        "",
        "-",
        "0",
        "00000000-0000-0000-0000-000000000000",  # the nil UUID
        "00000000000000000000000000000000",
        "?",
        "anonymous",
        "default",
        "n/a",
        "na",
        "nil",
        "none",
        "null",
        "placeholder",
        "registry",
        "temp",
        "test",
        "tmp",
        "undefined",
        "unknown",
    }
)


def check_identifier(name: str, value: object) -> str:
    """Return `value` if it is a real identifier, else raise.

    Args:
        name: The field being checked, used in the error message.
        value: The candidate identifier.

    Returns:
        The identifier, unchanged.

    Raises:
        TypeError: If `value` is not a string.
        ValueError: If `value` is empty, padded with whitespace or a placeholder.
    """
    if not isinstance(value, str):
        msg = f"{name} must be a str, not {type(value).__name__}"
        raise TypeError(msg)
    if value != value.strip():
        msg = f"{name} {value!r} has surrounding whitespace"
        raise ValueError(msg)
    if value.lower() in _PLACEHOLDER_IDS:
        msg = f"{name} {value!r} is empty or a placeholder; pass the real id"
        raise ValueError(msg)
    return value


def _new_request_id() -> str:
    return f"req-{uuid.uuid4().hex}"


@dataclass(frozen=True, slots=True)
class UserExecutionContext:
    """The user, thread and run that one piece of agent work belongs to.

    Every WebSocket manager is bound to exactly one context, so traffic can only
    reach the user the context names. Empty and placeholder ids are rejected at
    construction, because a shared placeholder id is how strangers' traffic merges.

    Attributes:
        user_id: The user the work is for.
        thread_id: The conversation thread.
        run_id: The agent run within the thread.
        request_id: The request that started the run; generated when omitted.
        websocket_client_id: The client connection that asked, when known.
    """

    user_id: str
    thread_id: str
    run_id: str
    request_id: str = field(default_factory=_new_request_id)
    websocket_client_id: str | None = None

    def __post_init__(self) -> None:
        check_identifier("user_id", self.user_id)
        check_identifier("thread_id", self.thread_id)
        check_identifier("run_id", self.run_id)
        check_identifier("request_id", self.request_id)
        if self.websocket_client_id is not None:
            check_identifier("websocket_client_id", self.websocket_client_id)
