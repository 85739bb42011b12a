"""The public face of phases.websocket: explicit, sorted, and free of the engine."""

from __future__ import annotations

import ast
import pathlib

import phases.websocket

PACKAGE = pathlib.Path(phases.websocket.__file__).parent


def test_all_is_sorted() -> None:
    assert phases.websocket.__all__ == sorted(phases.websocket.__all__)


def test_all_names_exactly_the_public_exports() -> None:
    public = {name for name in vars(phases.websocket) if not name.startswith("_")}
    assert set(phases.websocket.__all__) == public


def test_every_export_is_defined_in_a_private_module_of_the_package() -> None:
    for name in phases.websocket.__all__:
        module = getattr(phases.websocket, name).__module__
        assert module.startswith("phases.websocket._"), (name, module)


def imported_modules(path: pathlib.Path) -> list[str]:
    """Every module a file imports, absolute or relative (as written)."""
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            names.append("." * node.level + (node.module or ""))
    return names


def test_the_websocket_domain_never_imports_the_engine() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.name in ("_phases.py", "__init__.py"):
            continue
        names = imported_modules(path)
        assert not any(name.split(".")[0] == "orchestrator" for name in names), path.name
        assert "._phases" not in names, path.name


def test_websocket_phases_uses_only_the_public_engine_api() -> None:
    engine_imports = [
        name
        for name in imported_modules(PACKAGE / "_phases.py")
        if name.split(".")[0] == "orchestrator"
    ]
    assert engine_imports == ["orchestrator"]


def test_no_module_of_the_package_exceeds_four_hundred_lines() -> None:
    for path in PACKAGE.glob("*.py"):
        assert len(path.read_text().splitlines()) <= 400, path.name
