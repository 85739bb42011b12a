"""Masking of credentials before they reach a log line, a report or a diagnostic."""

from __future__ import annotations

import re
from collections.abc import Mapping, MutableMapping
from typing import Any

MASK = "***"

_SECRET_KEY = re.compile(
    r"pass(word|wd|phrase)?|secret|token|credential|api[_-]?key|(^|_)key$|auth", re.I
)
# user:password@host in any URL-like DSN.
_DSN_PASSWORD = re.compile(
    r"(?P<scheme>[a-z][a-z0-9+.\-]*://)(?P<user>[^:/@\s]*):(?P<pw>[^@\s]*)@", re.I
)
# key=value and key: value pairs whose key looks like a credential.
_PAIR = re.compile(
    r"(?P<key>\b[\w.\-]*(?:password|passwd|pwd?|secret|token|credentials?|api[_-]?key|_key)\b)"
    r"(?P<sep>\s*[=:]\s*)(?P<quote>['\"]?)(?P<value>[^\s'\",;&]+)",
    re.I,
)


def is_secret_key(key: str) -> bool:
    """Whether a mapping key or field name looks like it holds a credential."""
    return bool(_SECRET_KEY.search(key))


def mask_text(text: str) -> str:
    """Mask DSN passwords and `key=value` credentials inside free text."""
    text = _DSN_PASSWORD.sub(lambda m: f"{m['scheme']}{m['user']}:{MASK}@", text)
    return _PAIR.sub(lambda m: f"{m['key']}{m['sep']}{m['quote']}{MASK}", text)


def mask_value(key: str, value: Any) -> Any:
    """Mask one value given the key it is stored under."""
    if is_secret_key(key) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return mask_text(value)
    if isinstance(value, Mapping):
        return mask_mapping(value)
    return value


def mask_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `values` with every credential masked, recursively."""
    return {key: mask_value(str(key), value) for key, value in values.items()}


def mask_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> dict[str, Any]:
    """A structlog processor that masks credentials in every event."""
    return {key: mask_value(key, value) for key, value in event_dict.items()}


class MaskingLogger:
    """Wraps a structlog logger so that every call's fields are masked first.

    Used for `PhaseContext.log`: the library never configures structlog, so it
    masks before handing fields to whatever pipeline the application set up.
    """

    __slots__ = ("_logger",)

    def __init__(self, logger: Any) -> None:
        self._logger = logger

    def bind(self, **fields: Any) -> MaskingLogger:
        """A logger with `fields` (masked) added to every line."""
        return MaskingLogger(self._logger.bind(**mask_mapping(fields)))

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._logger, method)

        def log(event: Any = None, *args: Any, **fields: Any) -> Any:
            text = mask_text(event) if isinstance(event, str) else event
            return target(text, *args, **mask_mapping(fields))

        return log
