"""The termination message Kubernetes shows in `kubectl describe pod`."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from .._model._diagnostic import Diagnostic

MAX_TERMINATION_MESSAGE = 4096
"""Bytes of a termination message Kubernetes reads; the rest is cut off."""

_ELLIPSIS = "…"


def format_termination_message(
    diagnostic: Diagnostic, *, limit: int = MAX_TERMINATION_MESSAGE
) -> str:
    """The diagnostic as compact JSON of at most `limit` bytes, still valid JSON.

    When the whole diagnostic does not fit, the least important parts give way
    first: the traceback, teardown, blocked and cancelled lists, then details (with a count of
    those left out), then the cause, action and summary are shortened. A
    `truncated: true` field says that something was left out.

    Args:
        diagnostic: the diagnostic of the failed boot.
        limit: the byte budget (4096 is what Kubernetes keeps).

    Returns:
        The JSON text, sorted keys, UTF-8 length at most `limit`.
    """
    data = diagnostic.to_dict()
    text = _dump(data)
    if _size(text) <= limit:
        return text
    data["truncated"] = True
    for key in ("traceback", "teardown", "cancelled", "blocked"):
        while data[key] and _size(_dump(data)) > limit:
            data[key].pop()
    omitted = 0
    while data["details"] and _size(_dump(data)) > limit:
        data["details"].pop()
        omitted += 1
        data["details_omitted"] = omitted
    for key in ("cause", "action", "summary"):
        if isinstance(data[key], str) and len(data[key]) > limit // 4:
            data[key] = data[key][: limit // 4] + _ELLIPSIS
    for key in ("cause", "action", "summary"):
        _shorten(data, key, limit)
    text = _dump(data)
    if _size(text) <= limit:
        return text
    minimal = {"kind": diagnostic.kind, "exit_code": diagnostic.exit_code, "truncated": True}
    return _dump(minimal)


def try_write_termination_message(path: str | Path, diagnostic: Diagnostic) -> str | None:
    """Write the termination message; the reason it could not be written, or None.

    A termination log that cannot be written (`/dev/termination-log` outside a
    container) is a warning for the caller to show: the diagnostic and its exit
    code stay what they are.
    """
    try:
        write_termination_message(path, diagnostic)
    except OSError as exc:
        return f"cannot write the termination log {path}: {exc.strerror or exc}"
    return None


def write_termination_message(
    path: str | Path, diagnostic: Diagnostic, *, limit: int = MAX_TERMINATION_MESSAGE
) -> Path:
    """Write `format_termination_message(diagnostic)` to `path` (e.g. /dev/termination-log).

    Args:
        path: where Kubernetes reads the message (`terminationMessagePath`).
        diagnostic: the diagnostic of the failed boot.
        limit: the byte budget.

    Returns:
        The path written.
    """
    target = Path(path)
    target.write_bytes(format_termination_message(diagnostic, limit=limit).encode())
    return target


def _dump(data: dict[str, Any]) -> str:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _size(text: str) -> int:
    return len(text.encode())


def _shorten(data: dict[str, Any], key: str, limit: int) -> None:
    value = data.get(key)
    if not isinstance(value, str) or _size(_dump(data)) <= limit:
        return
    low, high = 0, len(value)  # the longest prefix that fits, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if _size(_dump({**data, key: value[:middle] + _ELLIPSIS})) <= limit:
            low = middle
        else:
            high = middle - 1
    data[key] = value[:low] + _ELLIPSIS if low else ""
