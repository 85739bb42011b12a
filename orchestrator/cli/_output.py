"""Shared output for the commands: consoles, diagnostics, logging set-up."""

from __future__ import annotations

import argparse
import contextlib
import logging
import os
import sys
import traceback
from typing import Literal, TextIO, cast

import structlog
from rich.console import Console

from .._model._diagnostic import Diagnostic
from .._model._masking import mask_processor, mask_text

LogFormat = Literal["console", "json", "auto"]


def stdout() -> Console:
    """The console for results (highlighting off: output is data).

    Piped output is 120 columns wide, so phase names are not cut to fit 80.
    """
    width = None if sys.stdout.isatty() else 120
    return Console(highlight=False, soft_wrap=True, width=width)


def stderr() -> Console:
    """The console for progress and diagnostics."""
    return Console(stderr=True, highlight=False, soft_wrap=True)


_CONTROL = {code: f"\\x{code:02x}" for code in (*range(0x20), 0x7F) if chr(code) not in "\n\t"}
_CONTROL.update({code: f"\\x{code:02x}" for code in range(0x80, 0xA0)})


def neutralise(text: str) -> str:
    """`text` with control characters shown as `\\xNN`: an error message cannot drive the terminal.

    An exception's message may carry escape sequences (a hostile server's
    reply, a file name); printed raw, they could move the cursor, retitle the
    window or hide lines. Newlines and tabs stay.
    """
    return text.translate(_CONTROL)


def print_diagnostic(diagnostic: Diagnostic, *, as_json: bool = False) -> None:
    """Show a diagnostic on stderr (JSON on stdout when asked)."""
    if as_json:
        sys.stdout.write(diagnostic.to_json() + "\n")
        return
    style = "bold red" if diagnostic.kind != "interrupted" else "bold yellow"
    stderr().print(neutralise(str(diagnostic)), style=style, markup=False)


def wants_traceback(arguments: argparse.Namespace) -> bool:
    """Whether to print the full traceback after a diagnostic: `--traceback` or SMD_TRACEBACK=1."""
    return bool(getattr(arguments, "traceback", False)) or os.environ.get("SMD_TRACEBACK") == "1"


def print_traceback(error: BaseException) -> None:
    """The full chained traceback of `error` on stderr, after the diagnostic, masked.

    Like Python's own, causes first; no local variables; every line masked.
    """
    lines = traceback.format_exception(error)
    sys.stderr.write("\n" + neutralise("".join(mask_text(line) for line in lines)))
    sys.stderr.flush()


def flush_by_line() -> None:
    """Make stdout and stderr write each line as it ends, even into a pipe.

    A service's "ready" line read by a supervisor or a log shipper must not
    wait in a buffer until the process exits.
    """
    for stream in (sys.stdout, sys.stderr):
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            with contextlib.suppress(ValueError, OSError):
                reconfigure(line_buffering=True)


class CurrentStderr:
    """Writes to whatever `sys.stderr` is at the moment of writing.

    While the live view runs, rich swaps `sys.stderr` for a proxy that prints
    above the live region; log lines written through this land there instead
    of tearing the view apart.
    """

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


def configure_logging(log_format: LogFormat) -> str:
    """Configure structlog for the command: console on a terminal, JSON otherwise.

    Returns:
        The format chosen ("console" or "json").
    """
    chosen = log_format
    if chosen == "auto":
        chosen = "console" if sys.stderr.isatty() else "json"
    renderer: structlog.typing.Processor = (
        structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
        if chosen == "console"
        else structlog.processors.JSONRenderer(sort_keys=True)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            mask_processor,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(logging.INFO),
        logger_factory=structlog.PrintLoggerFactory(file=cast("TextIO", CurrentStderr())),
        cache_logger_on_first_use=True,
    )
    return chosen


def positive_int(text: str) -> int:
    """An argparse type: an integer of at least 1."""
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be >= 1, got {value}")
    return value


def positive_float(text: str) -> float:
    """An argparse type: a number of seconds greater than 0."""
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be > 0, got {value}")
    return value
