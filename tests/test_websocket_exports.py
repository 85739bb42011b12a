"""The public face of phases.websocket: explicit, sorted, and free of the engine but masking."""

from __future__ import annotations

import ast
import pathlib
import subprocess
import sys

import phases.websocket

PACKAGE = pathlib.Path(phases.websocket.__file__).parent


def test_all_is_sorted() -> None:
    assert phases.websocket.__all__ == sorted(phases.websocket.__all__)


def test_all_names_exactly_the_public_exports() -> None:
    # Installed with its pytest plugin, the distribution's modules get pytest's assertion
    # rewriting, which adds names such as "@py_builtins": those are not Python names.
    public = {
        name for name in vars(phases.websocket) if not name.startswith("_") and name.isidentifier()
    }
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


def engine_imports(path: pathlib.Path) -> list[tuple[str, tuple[str, ...]]]:
    """Each import of `orchestrator` in a file: the module and the names taken from it."""
    found: list[tuple[str, tuple[str, ...]]] = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            found += [
                (alias.name, ())
                for alias in node.names
                if alias.name.split(".")[0] == "orchestrator"
            ]
        elif (
            isinstance(node, ast.ImportFrom)
            and node.level == 0
            and (node.module or "").split(".")[0] == "orchestrator"
        ):
            found.append((node.module, tuple(alias.name for alias in node.names)))
    return found


def test_the_websocket_domain_takes_only_mask_secrets_from_the_engine() -> None:
    for path in PACKAGE.glob("*.py"):
        if path.name in ("_phases.py", "__init__.py"):
            continue
        for module, names in engine_imports(path):
            assert (module, names) == ("orchestrator", ("mask_secrets",)), path.name
        assert "._phases" not in imported_modules(path), path.name


def test_the_websocket_domain_masks_with_the_engine_s_function() -> None:
    import orchestrator
    from phases.websocket import _probe

    assert _probe.mask_secrets is orchestrator.mask_secrets


def test_importing_the_engine_for_mask_secrets_stays_light() -> None:
    code = (
        "import sys, phases.websocket\n"
        "heavy = ('orchestrator.cli', 'orchestrator.asgi', 'orchestrator.otel', "
        "'orchestrator.testing', 'starlette', 'opentelemetry', 'uvicorn', 'hypothesis')\n"
        "print(sorted(m for m in sys.modules if m.startswith(heavy)))\n"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=PACKAGE.parent.parent,
    ).stdout
    assert loaded.strip() == "[]"


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
