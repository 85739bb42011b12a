"""Failure analyzers: a better description and action for an exception smd recognises.

As Spring Boot's `FailureAnalyzer`: the user registers one per exception type
(`boot.failure_analyzer(ConnectionError, explain)`), and smd ships analyzers
for the failures every service meets (connection refused, DNS, permissions,
missing files and modules, TLS verification, an address in use). The first
analyzer that recognises an exception of the failure's chain gives the
diagnostic its description and its Action line.
"""

from __future__ import annotations

import errno
import re
import socket
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

from ._describe import describe_exception, safe_str


@dataclass(frozen=True, slots=True)
class FailureAnalysis:
    """What an analyzer says about an exception.

    Args:
        description: what happened, in the operator's terms (one line).
        action: what to do about it.
    """

    description: str
    action: str


AnalyzerFunction = Callable[[BaseException], "FailureAnalysis | None"]
"""Takes the exception, returns a `FailureAnalysis`, or None when it has nothing to say."""


@dataclass(frozen=True, slots=True)
class FailureAnalyzer:
    """An analyzer for one exception type (and its subclasses)."""

    exception_type: type[BaseException]
    function: AnalyzerFunction


def check_analyzer(exception_type: object, function: object) -> FailureAnalyzer:
    """A `FailureAnalyzer`, or `TypeError` naming the argument that is wrong."""
    if not (isinstance(exception_type, type) and issubclass(exception_type, BaseException)):
        raise TypeError(f"exception_type must be an exception class, got {exception_type!r}")
    if not callable(function):
        raise TypeError(f"function must be callable, got {type(function).__name__}")
    return FailureAnalyzer(exception_type, function)


def analyze(
    error: BaseException, analyzers: Sequence[FailureAnalyzer] = ()
) -> tuple[FailureAnalysis | None, tuple[str, ...]]:
    """The first analysis of `error`'s chain: the user's analyzers first, then smd's own.

    Returns:
        The analysis (or None) and a note for each analyzer that raised: a
        broken analyzer never hides the failure it was asked about.
    """
    notes: list[str] = []
    for exception in _chain(error):
        for analyzer in (*analyzers, *SHIPPED):
            if not isinstance(exception, analyzer.exception_type):
                continue
            try:
                analysis = analyzer.function(exception)
            except Exception as exc:
                name = getattr(analyzer.function, "__qualname__", safe_str(analyzer.function))
                notes.append(f"failure analyzer {name} raised {describe_exception(exc)}")
                continue
            if isinstance(analysis, FailureAnalysis):
                return analysis, tuple(notes)
    return None, tuple(notes)


def _chain(error: BaseException) -> Iterator[BaseException]:
    """The exception, then its causes and contexts, then a group's members; each once."""
    seen: set[int] = set()
    pending = [error]
    while pending and len(seen) < 50:
        current = pending.pop(0)
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
        if isinstance(current, BaseExceptionGroup):
            pending += list(current.exceptions)


_ADDRESS = re.compile(r"\(\s*'([^']*)'\s*,\s*(\d+)")


def _address(error: BaseException) -> str | None:
    """`host:port` when the message names one (asyncio and trio do), else None."""
    for text in (safe_str(error), *(safe_str(a) for a in getattr(error, "args", ()))):
        match = _ADDRESS.search(text)
        if match:
            host, port = match.groups()
            return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    return None


def _connection_refused(error: BaseException) -> FailureAnalysis | None:
    if not isinstance(error, ConnectionRefusedError) and (
        not isinstance(error, OSError) or error.errno != errno.ECONNREFUSED
    ):
        return None
    address = _address(error)
    where = f"at {address}" if address else "at the address the phase connects to"
    return FailureAnalysis(
        f"connection refused {where}: nothing is listening there",
        f"Start the service {where} (or wait for it: retry=Retry(...)), or point the phase "
        "at the right host and port (check its configuration and environment).",
    )


def _name_not_resolved(error: BaseException) -> FailureAnalysis | None:
    if not isinstance(error, socket.gaierror):
        return None
    return FailureAnalysis(
        f"a host name could not be resolved ({safe_str(error)})",
        "Check the host name in the phase's configuration for a typo, and that DNS (or "
        "/etc/hosts, or the container network) knows it from where smd runs.",
    )


def _permission_denied(error: BaseException) -> FailureAnalysis | None:
    if not isinstance(error, PermissionError):
        return None
    subject = f"'{error.filename}'" if error.filename else "a file or port"
    return FailureAnalysis(
        f"permission denied on {subject}",
        f"Give the user smd runs as access to {subject} (owner, mode, mount options), or "
        "use a path or port it may use (ports below 1024 need privileges).",
    )


def _missing_file(error: BaseException) -> FailureAnalysis | None:
    if not isinstance(error, FileNotFoundError):
        return None
    subject = f"'{error.filename}'" if error.filename else "a file"
    return FailureAnalysis(
        f"{subject} does not exist",
        f"Create {subject} or mount it, or fix the path in the phase's configuration "
        "(a relative path is read from the working directory).",
    )


def _missing_module(error: BaseException) -> FailureAnalysis | None:
    if not isinstance(error, ModuleNotFoundError):
        return None
    name = error.name or "a module"
    top = (error.name or "").partition(".")[0] or "the package"
    return FailureAnalysis(
        f"module '{name}' is not installed (or not on sys.path)",
        f"Install the distribution that provides '{top}' in the environment smd runs in "
        "(pip install ...; check the virtual environment), or fix the import.",
    )


def _certificate_not_verified(error: BaseException) -> FailureAnalysis | None:
    ssl = sys.modules.get("ssl")
    if ssl is None or not isinstance(error, ssl.SSLCertVerificationError):
        return None
    reason = getattr(error, "verify_message", None) or safe_str(error)
    return FailureAnalysis(
        f"the server's TLS certificate could not be verified: {reason}",
        "Give the client the CA that signed the server's certificate (SSL_CERT_FILE or "
        "the client's CA option), or fix the certificate (expired, wrong host name); "
        "do not turn verification off.",
    )


def _address_in_use(error: BaseException) -> FailureAnalysis | None:
    if not isinstance(error, OSError) or error.errno != errno.EADDRINUSE:
        return None
    address = _address(error)
    where = address or "the address the phase binds"
    return FailureAnalysis(
        f"address already in use: {where}",
        f"Stop the process that listens on {where} (ss -ltnp shows it), or configure another port.",
    )


SHIPPED: tuple[FailureAnalyzer, ...] = (
    FailureAnalyzer(OSError, _connection_refused),
    FailureAnalyzer(OSError, _name_not_resolved),
    FailureAnalyzer(OSError, _certificate_not_verified),
    FailureAnalyzer(OSError, _address_in_use),
    FailureAnalyzer(PermissionError, _permission_denied),
    FailureAnalyzer(FileNotFoundError, _missing_file),
    FailureAnalyzer(ModuleNotFoundError, _missing_module),
)
"""smd's own analyzers, asked after the user's."""
