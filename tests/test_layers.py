"""The layers show in the folders, and each imports only the layers above it (DESIGN.md)."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import orchestrator

PACKAGE = Path(orchestrator.__file__).parent

# What each private package may not import: the layers below it and the faces' libraries.
FORBIDDEN = {
    "_model": {"anyio", "structlog", "rich", "starlette", "uvicorn", "opentelemetry", "trio"}
    | {"orchestrator._runtime", "orchestrator._analysis", "orchestrator.cli"}
    | {"orchestrator.asgi", "orchestrator.otel", "orchestrator.systemd", "orchestrator.health"},
    "_runtime": {"rich", "starlette", "uvicorn", "opentelemetry"}
    | {"orchestrator._analysis", "orchestrator.cli", "orchestrator.asgi", "orchestrator.otel"},
    "_analysis": {"anyio", "rich", "starlette", "uvicorn", "opentelemetry", "trio"}
    | {"orchestrator._runtime", "orchestrator.cli", "orchestrator.asgi"},
}


def imported_modules(path: Path, package: str) -> set[str]:
    """Every module `path` imports, relative imports resolved to absolute names."""
    found: set[str] = set()
    parts = package.split(".")
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts[: len(parts) - node.level + 1]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            found.add(module)
            found |= {f"{module}.{alias.name}" for alias in node.names}
    return found


@pytest.mark.parametrize("layer", sorted(FORBIDDEN))
def test_each_layer_imports_only_the_layers_above_it(layer: str) -> None:
    for path in sorted((PACKAGE / layer).glob("*.py")):
        for module in imported_modules(path, f"orchestrator.{layer}"):
            crossing = [f for f in FORBIDDEN[layer] if module == f or module.startswith(f + ".")]
            assert not crossing, f"{path.relative_to(PACKAGE)} imports {module}"


def test_no_module_is_left_in_the_flat_root() -> None:
    private = sorted(p.name for p in PACKAGE.glob("_*.py") if p.name != "__init__.py")
    assert private == ["_boot.py"]
