"""Messages that do not mislead: escapes neutralised, --deadline named, a closed pipe is quiet."""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from orchestrator import Diagnostic
from orchestrator.cli._output import neutralise, print_diagnostic
from orchestrator.cli._run import name_the_deadline_option

BOOTS = Path(__file__).parent / "boots"
SMD = [sys.executable, "-m", "orchestrator.cli"]


def test_escape_sequences_in_error_text_are_neutralised(
    capsys: pytest.CaptureFixture[str],
) -> None:
    diagnostic = Diagnostic(
        boot="b",
        fingerprint="f",
        kind="phase_failed",
        phase="p",
        summary="phase 'p' failed",
        cause="ValueError: \x1b]0;pwned\x07\x1b[2J",
    )
    print_diagnostic(diagnostic)
    err = capsys.readouterr().err
    assert "\x1b" not in err
    assert "\\x1b]0;pwned\\x07\\x1b[2J" in err


def test_newlines_and_tabs_are_kept() -> None:
    assert neutralise("a\n\tb") == "a\n\tb"


def test_a_deadline_set_by_the_option_is_named_in_the_action() -> None:
    diagnostic = Diagnostic(
        boot="b",
        fingerprint="f",
        kind="timed_out",
        phase=None,
        summary="the boot did not finish within its 2s deadline",
        action="Raise the boot's deadline (boot.start(deadline=...))",
    )
    named = name_the_deadline_option(diagnostic, 2.0)
    assert named.action.startswith("Raise --deadline (it was 2s")
    assert "boot.start" not in named.action


def test_a_phase_timeout_is_not_taken_for_the_deadline_option() -> None:
    diagnostic = Diagnostic(
        boot="b", fingerprint="f", kind="timed_out", phase="db", summary="phase 'db' timed out"
    )
    assert name_the_deadline_option(diagnostic, 2.0) is diagnostic


def test_smd_run_names_the_deadline_option(tmp_path: Path) -> None:
    result = subprocess.run(
        [*SMD, "run", "--once", "--deadline", "0.05", f"{BOOTS}/stuck_thread.py"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 75, result.stderr
    assert "Raise --deadline (it was 0.05s" in result.stderr


def test_a_reader_that_closes_the_pipe_ends_smd_quietly() -> None:
    with subprocess.Popen(
        [*SMD, "plan", f"{BOOTS}/many_phases.py"], stdout=subprocess.PIPE, stderr=subprocess.PIPE
    ) as process:
        assert process.stdout is not None
        assert process.stderr is not None
        process.stdout.readline()
        process.stdout.close()
        errors = process.stderr.read().decode()
        code = process.wait(timeout=60)
    assert code in (0, 141)
    assert "Traceback" not in errors
    assert "BrokenPipe" not in errors


def test_the_namespace_without_a_deadline_leaves_the_diagnostic_alone() -> None:
    arguments = argparse.Namespace(deadline=None)
    diagnostic = Diagnostic(boot="b", fingerprint="f", kind="timed_out", phase=None, summary="s")
    assert name_the_deadline_option(diagnostic, arguments.deadline) is diagnostic
