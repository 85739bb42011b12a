"""Failure analyzers: the user's and smd's own turn an exception into a description and action."""

from __future__ import annotations

import errno
import socket
import ssl

import pytest

from orchestrator import Boot, BootAborted, Diagnostic, FailureAnalysis
from orchestrator._model._analyzers import analyze

pytestmark = pytest.mark.anyio


class QuotaExceeded(Exception):
    pass


async def diagnose_failure(error: BaseException, boot: Boot | None = None) -> Diagnostic:
    boot = boot or Boot("analyzed")

    @boot.phase()
    async def database() -> None:
        raise error

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    return caught.value.diagnostic


async def test_a_registered_analyzer_gives_the_description_and_the_action() -> None:
    boot = Boot("quota")
    boot.failure_analyzer(
        QuotaExceeded,
        lambda exc: FailureAnalysis(f"the quota ran out: {exc}", "Ask for a larger quota."),
    )
    diagnostic = await diagnose_failure(QuotaExceeded("10 of 10 used"), boot)
    assert diagnostic.details[0] == "the quota ran out: 10 of 10 used"
    assert diagnostic.action.startswith("Ask for a larger quota.\n(phase 'database' is declared")


async def test_an_analyzer_that_returns_none_leaves_the_generic_action() -> None:
    boot = Boot("quiet")
    boot.failure_analyzer(QuotaExceeded, lambda exc: None)
    diagnostic = await diagnose_failure(QuotaExceeded("x"), boot)
    assert diagnostic.action.startswith("Fix the cause in 'database'")


async def test_an_analyzer_that_raises_is_noted_and_the_failure_still_diagnosed() -> None:
    def broken(exc: BaseException) -> FailureAnalysis:
        raise RuntimeError("analyzer bug")

    boot = Boot("broken-analyzer")
    boot.failure_analyzer(QuotaExceeded, broken)
    diagnostic = await diagnose_failure(QuotaExceeded("x"), boot)
    assert diagnostic.kind == "phase_failed"
    assert any("raised RuntimeError: analyzer bug" in line for line in diagnostic.details)


async def test_the_users_analyzer_is_asked_before_smds_own() -> None:
    boot = Boot("mine-first")
    boot.failure_analyzer(
        ConnectionRefusedError, lambda exc: FailureAnalysis("the broker is down", "Page ops.")
    )
    diagnostic = await diagnose_failure(ConnectionRefusedError(errno.ECONNREFUSED, "x"), boot)
    assert diagnostic.details[0] == "the broker is down"


async def test_an_analyzer_recognises_the_cause_of_a_wrapping_exception() -> None:
    try:
        raise ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('10.0.0.5', 5432)")
    except OSError as exc:
        wrapped = RuntimeError("database unavailable")
        wrapped.__cause__ = exc
    diagnostic = await diagnose_failure(wrapped)
    assert diagnostic.details[0].startswith("connection refused at 10.0.0.5:5432")


def test_failure_analyzer_refuses_what_is_not_an_exception_class() -> None:
    with pytest.raises(TypeError, match="exception_type"):
        Boot("b").failure_analyzer("OSError", lambda exc: None)  # type: ignore[arg-type]


def test_connection_refused_names_the_host_and_port() -> None:
    error = ConnectionRefusedError(errno.ECONNREFUSED, "Connect call failed ('127.0.0.1', 6379)")
    analysis, _ = analyze(error)
    assert analysis is not None
    assert "127.0.0.1:6379" in analysis.description
    assert "127.0.0.1:6379" in analysis.action


def test_dns_failure_says_the_name_could_not_be_resolved() -> None:
    analysis, _ = analyze(socket.gaierror(socket.EAI_NONAME, "Name or service not known"))
    assert analysis is not None
    assert analysis.description.startswith("a host name could not be resolved")


def test_permission_denied_names_the_file() -> None:
    analysis, _ = analyze(PermissionError(errno.EACCES, "Permission denied", "/etc/app/key.pem"))
    assert analysis is not None
    assert analysis.description == "permission denied on '/etc/app/key.pem'"


def test_missing_file_names_the_file() -> None:
    analysis, _ = analyze(FileNotFoundError(errno.ENOENT, "No such file", "config.toml"))
    assert analysis is not None
    assert analysis.description == "'config.toml' does not exist"


def test_missing_module_says_what_to_install() -> None:
    analysis, _ = analyze(ModuleNotFoundError("No module named 'redis'", name="redis"))
    assert analysis is not None
    assert "'redis'" in analysis.action


def test_ssl_verification_failure_says_why() -> None:
    error = ssl.SSLCertVerificationError(1, "certificate verify failed")
    error.verify_message = "self-signed certificate"
    analysis, _ = analyze(error)
    assert analysis is not None
    assert analysis.description.endswith("self-signed certificate")


def test_address_in_use_names_the_address() -> None:
    error = OSError(
        errno.EADDRINUSE,
        "error while attempting to bind on address ('0.0.0.0', 8000): address already in use",
    )
    analysis, _ = analyze(error)
    assert analysis is not None
    assert analysis.description == "address already in use: 0.0.0.0:8000"


def test_an_unrecognised_exception_has_no_analysis() -> None:
    assert analyze(ValueError("x")) == (None, ())
