"""Values and exceptions described for a message, safely whatever they are.

The engine describes every error it records with these; they import only the
masking, so describing an error does not load the diagnostics.
"""

from __future__ import annotations

from ._masking import mask_text


def safe_str(value: object) -> str:
    """`str(value)`, or a placeholder when its `__str__` raises (it may be hostile)."""
    try:
        return str(value)
    except Exception as exc:
        return f"<str() raised {type(exc).__qualname__}>"


def safe_repr(value: object) -> str:
    """`repr(value)`, or a placeholder when its `__repr__` raises (it may be hostile)."""
    try:
        return repr(value)
    except Exception as exc:
        return f"<repr() raised {type(exc).__qualname__}>"


def describe_exception(exc: BaseException) -> str:
    """`Type: message` with credentials masked, the form used for every `cause` and `error`.

    Safe for any exception: one whose `str()` raises is described by its type.
    """
    name = type(exc).__qualname__
    message = safe_str(exc)
    return mask_text(f"{name}: {message}" if message else name)
