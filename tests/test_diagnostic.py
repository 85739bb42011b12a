"""`Diagnostic`: the human block, the JSON schema, exit codes."""

from __future__ import annotations

import json

from orchestrator import Diagnostic
from orchestrator._model._diagnostic import EXIT_CODES, exit_code_for


def sample() -> Diagnostic:
    return Diagnostic(
        boot="chat",
        fingerprint="0123456789ab",
        kind="gate_failed",
        phase="websocket_factory_validation",
        summary="gate refused the boot (2 violations)",
        details=("users share a registry", "validate_manager_instance lies"),
        action="Create one manager per user.\nReturn is_valid=False for foreign objects.",
        cause="GateFailed: gate refused the boot",
        blocked=("agent_websocket_bridge", "finalize"),
        cancelled=(),
        teardown=(("cache", "torn_down"), ("database", "torn_down")),
    )


def test_exit_code_follows_the_kind() -> None:
    assert sample().exit_code == 78
    assert EXIT_CODES == {
        "invalid_target": 64,
        "invalid_graph": 65,
        "phase_failed": 69,
        "internal_error": 70,
        "timed_out": 75,
        "gate_failed": 78,
        "interrupted": 130,
    }
    assert exit_code_for("interrupted", signal_number=15) == 143


def test_human_block_shows_description_details_blocked_teardown_and_action() -> None:
    text = str(sample())
    assert "BOOT REFUSED BY A GATE" in text
    assert "Phase:       websocket_factory_validation" in text
    assert "  - users share a registry" in text
    assert "Blocked:     agent_websocket_bridge, finalize" in text
    assert "Torn down:   cache (torn_down), database (torn_down)" in text
    assert "  Return is_valid=False for foreign objects." in text
    assert text.rstrip().endswith("Exit code:   78 (gate_failed)")


def test_json_has_the_schema_and_sorted_keys_and_round_trips() -> None:
    text = sample().to_json()
    data = json.loads(text)
    assert data["schema"] == "smd.diagnostic/1"
    assert list(data) == sorted(data)
    assert data["teardown"][0] == {"phase": "cache", "outcome": "torn_down"}
    assert Diagnostic.from_dict(data) == sample()


def test_credentials_in_any_field_are_masked() -> None:
    diagnostic = Diagnostic(
        boot="b",
        fingerprint="f",
        kind="phase_failed",
        phase="db",
        summary="cannot reach mysql://root:toor@db",
        details=("password=toor",),
        cause="OSError: token=abc",
    )
    assert "toor" not in str(diagnostic)
    assert "abc" not in diagnostic.to_json()
