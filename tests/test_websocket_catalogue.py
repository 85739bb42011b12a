"""The catalogue of hostile factories: every non-compliant one is refused with a line naming
its fault, every correct one is accepted, on both backends."""

from __future__ import annotations

import pytest
import websocket_catalogue as catalogue

from phases.websocket import FactoryValidationResult, WebSocketManagerFactoryValidator

pytestmark = pytest.mark.anyio

FAST = 0.5


async def validate(factory: object, seed: int) -> FactoryValidationResult:
    return await WebSocketManagerFactoryValidator.validate_factory(
        factory, call_timeout=FAST, seed=seed
    )


def test_the_catalogue_covers_every_family_with_enough_factories() -> None:
    families = {entry.family for entry in catalogue.NONCOMPLIANT}
    assert families >= {
        "scale",
        "ids",
        "late",
        "removal",
        "modes",
        "blocking",
        "hostile",
        "queries",
    }
    assert len(catalogue.NONCOMPLIANT) >= 40
    assert len(catalogue.CORRECT) >= 8


@pytest.mark.parametrize(
    "entry", catalogue.NONCOMPLIANT, ids=[entry.name for entry in catalogue.NONCOMPLIANT]
)
async def test_a_non_compliant_factory_is_refused_with_a_line_naming_its_fault(
    entry: catalogue.Entry,
) -> None:
    for seed in (11, 2026):
        result = await validate(entry.make(), seed)
        assert not result.is_valid, f"seed {seed}"
        assert any(entry.fault in line for line in result.validation_errors), (
            seed,
            result.validation_errors,
        )
        assert all("\x1b" not in line for line in result.validation_errors)
        # The catch-all line is for what no check expects; every fault here has a check.
        assert not any(line.startswith("gate: ") for line in result.validation_errors)


@pytest.mark.parametrize(
    "make", [make for _, make in catalogue.CORRECT], ids=[name for name, _ in catalogue.CORRECT]
)
async def test_a_correct_factory_is_accepted(make: object) -> None:
    for seed in (11, 2026, 7):
        result = await validate(make(), seed)  # type: ignore[operator]
        assert result.is_valid, (seed, result.validation_errors)
        assert result.is_production_ready
