"""An exception as a log field: structlog's structured traceback, no locals, every frame masked.

Local variables hold DSNs and tokens, so they are never rendered; every string
of every frame goes through `mask_secrets`. A JSON pipeline gets structlog's
own structured form (the one `dict_tracebacks` gives); any other pipeline gets
the masked text, which every renderer shows as it is.
"""

from __future__ import annotations

import traceback
from typing import Any

import structlog
from structlog.tracebacks import ExceptionDictTransformer

from .._model._masking import mask_secrets

_TRANSFORM = ExceptionDictTransformer(show_locals=False)


def logged_exception(error: BaseException) -> list[dict[str, Any]] | str:
    """`error` for the `exception` field of a log line, masked and without locals."""
    if _renders_json():
        structured = _TRANSFORM((type(error), error, error.__traceback__))
        return [_masked(item) for item in structured]
    return "".join(mask_secrets(line) for line in traceback.format_exception(error)).rstrip()


def _renders_json() -> bool:
    processors: list[Any] = list(structlog.get_config().get("processors") or ())
    return bool(processors) and isinstance(processors[-1], structlog.processors.JSONRenderer)


def _masked(value: Any) -> Any:
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, dict):
        return {key: _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    return value
