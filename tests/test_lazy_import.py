"""`import orchestrator` loads only the engine; analysis and the faces load on first use."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

import orchestrator

# Modules that `import orchestrator` must not load beyond what anyio, structlog and networkx
# load themselves (structlog loads part of rich for its tracebacks when rich is installed).
HEAVY = (
    "orchestrator._analysis",
    "orchestrator.health",
    "orchestrator.systemd",
    "orchestrator.otel",
    "orchestrator.cli",
    "rich",
    "starlette",
    "opentelemetry",
)

# What only a mistake, a failure, a gate, an included library, a declared budget or an injected
# fault needs: neither `import orchestrator` nor a boot that succeeds without them loads it.
ON_FAILURE = (
    "orchestrator._model._analyzers",
    "orchestrator._model._budget",
    "orchestrator._model._diagnostic",
    "orchestrator._model._frames",
    "orchestrator._model._gate",
    "orchestrator._model._library",
    "orchestrator._model._root_cause",
    "orchestrator._model._snapshot",
    "orchestrator._runtime._faults",
    "difflib",
    "sysconfig",
)


def _boot_script(settings: str, backend: str) -> str:
    """A two-phase boot run once on `backend` and logged by the default sink (to nowhere),
    whose first phase's body is `settings`."""
    return (
        "import contextlib, anyio, structlog\n"
        "from orchestrator import Boot, BootAborted\n"
        "structlog.configure(logger_factory=structlog.ReturnLoggerFactory())\n"
        "boot = Boot('small')\n"
        "@boot.phase()\n"
        f"def settings():\n    {settings}\n"
        "@boot.phase()\n"
        "async def database(settings):\n    yield settings\n"
        "with contextlib.suppress(BootAborted):\n"
        f"    anyio.run(boot.run_once, backend={backend!r})\n"
    )


def _modules_loaded_by(code: str, *, first: str = "anyio, structlog, networkx") -> list[str]:
    """The modules `code` adds to sys.modules after `first` (by default anyio, structlog and
    networkx), in a fresh interpreter."""
    script = (
        f"import sys, json, {first}\n"
        "before = set(sys.modules)\n"
        f"{code}\n"
        "print(json.dumps(sorted(set(sys.modules) - before)))\n"
    )
    completed = subprocess.run(
        [sys.executable, "-c", script], check=True, capture_output=True, text=True
    )
    return list(json.loads(completed.stdout))


def _heavy(modules: list[str]) -> list[str]:
    return [m for m in modules if any(m == h or m.startswith(h + ".") for h in HEAVY)]


def test_import_orchestrator_loads_no_analysis_rich_starlette_otel_health_or_systemd() -> None:
    assert _heavy(_modules_loaded_by("import orchestrator")) == []


def test_import_orchestrator_loads_nothing_only_a_failure_needs() -> None:
    loaded = _modules_loaded_by("import orchestrator")
    assert [m for m in ON_FAILURE if m in loaded] == []


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_boot_that_succeeds_loads_nothing_only_a_failure_needs(backend: str) -> None:
    loaded = _modules_loaded_by(_boot_script("return 'db://'", backend))
    assert "orchestrator._runtime._scheduler" in loaded
    assert [m for m in ON_FAILURE if m in loaded] == []


def test_import_orchestrator_loads_no_networkx() -> None:
    assert "networkx" not in _modules_loaded_by("import orchestrator", first="anyio, structlog")


@pytest.mark.parametrize("backend", ["asyncio", "trio"])
def test_a_boot_that_succeeds_plans_and_runs_without_networkx(backend: str) -> None:
    loaded = _modules_loaded_by(_boot_script("return 'db://'", backend), first="anyio, structlog")
    assert "orchestrator._runtime._scheduler" in loaded
    assert "networkx" not in loaded


def test_the_graph_of_a_plan_loads_networkx_on_first_access() -> None:
    code = (
        "from orchestrator import Boot\n"
        "boot = Boot('small')\n"
        "@boot.phase()\n"
        "def settings():\n    return 1\n"
        "assert list(boot.plan().graph) == ['settings']\n"
    )
    assert "networkx" in _modules_loaded_by(code, first="anyio, structlog")


def test_a_boot_that_fails_loads_its_diagnosis() -> None:
    loaded = _modules_loaded_by(_boot_script("raise OSError('down')", "asyncio"))
    assert "orchestrator._model._diagnostic" in loaded


def test_an_analysis_name_loads_its_module_on_first_access() -> None:
    loaded = _modules_loaded_by("from orchestrator import critical_chain")
    assert "orchestrator._analysis._chain" in loaded


def test_every_public_name_is_reachable_as_an_attribute() -> None:
    for name in orchestrator.__all__:
        assert getattr(orchestrator, name) is not None, name


def test_lazy_names_are_the_objects_their_modules_define() -> None:
    from orchestrator._analysis._chain import critical_chain
    from orchestrator._analysis._simulator import simulate

    assert orchestrator.critical_chain is critical_chain
    assert orchestrator.simulate is simulate


def test_diagnostic_and_failure_analysis_are_the_objects_their_modules_define() -> None:
    from orchestrator._model._analyzers import FailureAnalysis
    from orchestrator._model._diagnostic import Diagnostic

    assert orchestrator.Diagnostic is Diagnostic
    assert orchestrator.FailureAnalysis is FailureAnalysis


def test_unknown_attribute_raises_attribute_error() -> None:
    with pytest.raises(AttributeError, match="no_such_name"):
        orchestrator.no_such_name  # noqa: B018


def test_public_names_are_listed_by_dir() -> None:
    assert set(orchestrator.__all__) <= set(dir(orchestrator))


def test_smd_version_builds_no_sub_command_parser() -> None:
    loaded = _modules_loaded_by(
        "from orchestrator.cli import main\n"
        "import contextlib, io\n"
        "with contextlib.redirect_stdout(io.StringIO()):\n"
        "    main(['--version'])"
    )
    assert [
        m for m in loaded if m.startswith(("orchestrator.cli._run", "orchestrator.cli._analyze"))
    ] == []
