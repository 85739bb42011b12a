"""The termination message: the diagnostic as JSON, never over Kubernetes' 4096 bytes."""

from __future__ import annotations

import json
from pathlib import Path

from orchestrator import Diagnostic
from orchestrator._runtime._termination import (
    MAX_TERMINATION_MESSAGE,
    format_termination_message,
    write_termination_message,
)


def _diagnostic(details: int = 2, summary: str = "phase 'database' failed") -> Diagnostic:
    return Diagnostic(
        boot="chat",
        fingerprint="abc123def456",
        kind="phase_failed",
        phase="database",
        summary=summary,
        details=tuple(f"violation {i}: " + "x" * 80 for i in range(details)),
        action="Check the database URL.",
        cause="ConnectionRefusedError: refused",
        blocked=tuple(f"phase_{i}" for i in range(details)),
    )


def test_a_small_diagnostic_is_written_whole(tmp_path: Path) -> None:
    path = write_termination_message(tmp_path / "termination-log", _diagnostic())
    data = json.loads(path.read_text())
    assert data == _diagnostic().to_dict()
    assert "truncated" not in data


def test_a_large_diagnostic_is_cut_to_4096_bytes_and_stays_json() -> None:
    text = format_termination_message(_diagnostic(details=200))
    data = json.loads(text)
    assert len(text.encode()) <= MAX_TERMINATION_MESSAGE
    assert data["truncated"] is True
    assert data["kind"] == "phase_failed"
    assert data["exit_code"] == 69
    assert data["details_omitted"] + len(data["details"]) == 200


def test_an_enormous_summary_is_shortened_with_an_ellipsis() -> None:
    text = format_termination_message(_diagnostic(summary="é" * 5000))
    data = json.loads(text)
    assert len(text.encode()) <= MAX_TERMINATION_MESSAGE
    assert data["summary"].endswith("…")
    assert data["cause"] == "ConnectionRefusedError: refused"
    assert data["phase"] == "database"
