"""Validation results are frozen gate results; compliance errors render from their fields."""

from __future__ import annotations

import dataclasses

import pytest

from phases.websocket import FactoryComplianceError, FactoryValidationResult


def ready_result() -> FactoryValidationResult:
    return FactoryValidationResult(
        is_valid=True,
        user_context_isolated=True,
        interface_compliant=True,
        factory_method_available=True,
    )


def test_a_result_with_everything_shown_is_production_ready() -> None:
    assert ready_result().is_production_ready


@pytest.mark.parametrize(
    "capability", ["user_context_isolated", "interface_compliant", "factory_method_available"]
)
def test_a_result_missing_any_capability_is_not_production_ready(capability: str) -> None:
    result = dataclasses.replace(ready_result(), **{capability: False})
    assert not result.is_production_ready


def test_an_invalid_result_is_not_production_ready() -> None:
    result = dataclasses.replace(ready_result(), is_valid=False, validation_errors=("broken",))
    assert not result.is_production_ready


def test_a_valid_result_cannot_carry_errors() -> None:
    with pytest.raises(ValueError, match="cannot carry validation errors"):
        FactoryValidationResult(is_valid=True, validation_errors=("broken",))


def test_actions_must_match_errors_one_to_one() -> None:
    with pytest.raises(ValueError, match="1 actions for 2 errors"):
        FactoryValidationResult(is_valid=False, validation_errors=("a", "b"), actions=("fix a",))


def test_lists_given_to_a_result_are_frozen_into_tuples() -> None:
    errors = ["broken"]
    result = FactoryValidationResult(is_valid=False, validation_errors=errors)  # type: ignore[arg-type]
    errors.append("later")
    assert result.validation_errors == ("broken",)


def test_violations_pair_each_error_with_its_action() -> None:
    result = FactoryValidationResult(
        is_valid=False, validation_errors=("a", "b"), actions=("fix a", "fix b")
    )
    assert result.violations == (("a", "fix a"), ("b", "fix b"))


def test_violations_fall_back_to_the_docs_when_no_action_was_given() -> None:
    result = FactoryValidationResult(is_valid=False, validation_errors=("a",))
    ((_, action),) = result.violations
    assert "docs/websocket-gate.md" in action


def test_a_result_is_frozen() -> None:
    with pytest.raises(dataclasses.FrozenInstanceError):
        ready_result().is_valid = False  # type: ignore[misc]


def test_a_result_has_the_fields_a_gate_reads() -> None:
    result = ready_result()
    assert result.is_valid is True
    assert result.validation_errors == ()
    assert result.validation_timestamp.tzinfo is not None


def test_a_compliance_error_carries_its_result_and_context() -> None:
    result = FactoryValidationResult(
        is_valid=False, validation_errors=("create_manager: method missing",), actions=("add it",)
    )
    error = FactoryComplianceError(result, context="websocket_factory_validation")
    assert error.result is result
    assert error.context == "websocket_factory_validation"


def test_a_compliance_error_renders_every_violation_and_its_action() -> None:
    result = FactoryValidationResult(
        is_valid=False,
        validation_errors=("first problem", "second problem"),
        manager_type="acme.Manager",
        actions=("first fix", "second fix"),
    )
    message = str(FactoryComplianceError(result, context="boot"))
    assert message.splitlines() == [
        "boot: acme.Manager is not compliant",
        "  - first problem -> first fix",
        "  - second problem -> second fix",
    ]
