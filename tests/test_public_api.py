"""The public modules export exactly what `__all__` says, sorted."""

from __future__ import annotations

import importlib

import pytest

PUBLIC_MODULES = [
    "orchestrator",
    "orchestrator.asgi",
    "orchestrator.cli",
    "orchestrator.health",
    "orchestrator.otel",
    "orchestrator.plugins",
    "orchestrator.systemd",
    "orchestrator.testing",
    "phases.websocket",
]


@pytest.mark.parametrize("name", PUBLIC_MODULES)
def test_all_is_sorted_and_complete(name: str) -> None:
    module = importlib.import_module(name)
    exported = module.__all__
    assert list(exported) == sorted(exported)
    for symbol in exported:
        assert hasattr(module, symbol), symbol
    defined_here = {
        n
        for n, v in vars(module).items()
        if not n.startswith("_") and getattr(v, "__module__", None) == module.__name__
    }
    assert defined_here <= set(exported)


def test_design_names_are_public() -> None:
    import orchestrator

    for name in (
        "Boot",
        "Retry",
        "GateResult",
        "GateFailed",
        "GraphError",
        "BootAborted",
        "BootPlan",
        "BootReport",
        "PhaseRecord",
        "PhaseContext",
        "Diagnostic",
        "PhaseStatus",
        "TeardownOutcome",
        "BootState",
        "mask_secrets",
    ):
        assert name in orchestrator.__all__
