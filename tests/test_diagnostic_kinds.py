"""Diagnostic kinds live in one table; nothing names a kind the table does not hold."""

from __future__ import annotations

import typing

from orchestrator._model._diagnostic import EXIT_CODES, KINDS, DiagnosticKind, exit_code_for


def test_the_kinds_table_holds_exactly_the_declared_kinds() -> None:
    assert set(typing.get_args(DiagnosticKind)) == set(KINDS)


def test_every_kind_has_its_own_exit_code_and_title() -> None:
    codes = [info.exit_code for info in KINDS.values()]
    titles = [info.title for info in KINDS.values()]
    assert len(set(codes)) == len(codes)
    assert len(set(titles)) == len(titles)
    assert {kind: info.exit_code for kind, info in KINDS.items()} == EXIT_CODES


def test_an_interruption_exits_with_128_plus_its_signal() -> None:
    assert exit_code_for("interrupted", signal_number=15) == 143
    assert exit_code_for("interrupted") == 130


def test_a_failure_in_service_has_its_own_title_per_kind() -> None:
    titles = [info.title_for(in_service=True) for info in KINDS.values()]
    assert len(set(titles)) == len(titles)
    assert KINDS["phase_failed"].title_for(in_service=True) == "BOOT FAILED IN SERVICE"
    assert KINDS["phase_failed"].title_for(in_service=False) == "BOOT FAILED TO START"
