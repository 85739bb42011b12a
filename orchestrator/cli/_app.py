"""Argument parsing and dispatch; every failure becomes a diagnostic and an exit code."""

from __future__ import annotations

import argparse
import contextlib
import os
import sys
import traceback
from collections.abc import Callable, Sequence
from importlib import metadata

from .._model._describe import describe_exception
from .._model._diagnostic import Diagnostic
from .._model._errors import GraphError
from ._load import TargetError, usage_error
from ._output import print_diagnostic

Handler = Callable[[argparse.Namespace], int]


def build_parser() -> argparse.ArgumentParser:
    """The `smd` argument parser with every sub-command."""
    # Imported here, not at the top: `smd --version` needs none of them.
    from . import _analyze, _history, _inspect, _plugins, _run, _verify

    # Each command module adds its sub-commands; `handler` in the namespace runs it.
    command_modules = (_run, _inspect, _analyze, _history, _verify, _plugins)
    parser = argparse.ArgumentParser(
        prog="smd",
        description="Startup, Made Deterministic: run, check, plan, simulate and analyse a boot.",
        epilog="TARGET is module:attribute or path/to/file.py:attribute naming a Boot "
        "(the attribute defaults to `boot`).",
    )
    parser.add_argument("--version", action="version", version=f"smd {_version()}")
    commands = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for module in command_modules:
        module.register(commands)
    return parser


def _version() -> str:
    try:
        return metadata.version("smd-orchestrator")
    except metadata.PackageNotFoundError:
        return "unknown (not installed)"


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `smd` console script; returns the exit code."""
    if list(sys.argv[1:] if argv is None else argv) == ["--version"]:
        # Answered before any sub-command's parser is built: version checks run in scripts.
        print(f"smd {_version()}")
        return 0
    arguments = build_parser().parse_args(argv)
    # A sync phase abandoned at its deadline runs in a daemon thread: nothing to wait for.
    return _dispatch(arguments.handler, arguments)


def _dispatch(handler: Handler, arguments: argparse.Namespace) -> int:
    try:
        return handler(arguments)
    except TargetError as exc:
        print_diagnostic(exc.diagnostic, as_json=_wants_json(arguments))
        return exc.diagnostic.exit_code
    except GraphError as exc:
        for diagnostic in exc.diagnostics:
            print_diagnostic(diagnostic, as_json=_wants_json(arguments))
        return exc.diagnostics[0].exit_code
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        return _reader_went_away()
    except OSError as exc:
        cause = describe_exception(exc)
        problem = usage_error(
            _subject(arguments),
            f"smd {arguments.command} could not read or write a file",
            cause,
            "Check the path and its permissions.",
            cause=cause,
        )
        print_diagnostic(problem.diagnostic)
        return problem.diagnostic.exit_code
    except Exception as exc:
        if os.environ.get("SMD_DEBUG"):
            traceback.print_exc()
        diagnostic = Diagnostic(
            boot=_subject(arguments),
            fingerprint="-",
            kind="internal_error",
            phase=None,
            summary=f"smd {arguments.command} failed unexpectedly",
            details=(describe_exception(exc),),
            action="This is a bug in smd; rerun with SMD_DEBUG=1 for the traceback and report it.",
            cause=describe_exception(exc),
        )
        print_diagnostic(diagnostic)
        return diagnostic.exit_code


def _reader_went_away() -> int:
    """`smd ... | head`: the reader closed the pipe; stop quietly, as `cat` does (128 + SIGPIPE)."""
    with contextlib.suppress(OSError):  # nothing left to flush at exit, so nothing to complain of
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    return 141


def _subject(arguments: argparse.Namespace) -> str:
    return getattr(arguments, "target", None) or "smd"


def _wants_json(arguments: argparse.Namespace) -> bool:
    return getattr(arguments, "format", None) == "json"


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
