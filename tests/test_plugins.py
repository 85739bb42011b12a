"""Phase libraries offered through the `smd.phases` entry points, and `smd plugins`."""

from __future__ import annotations

import json
from importlib import metadata

import pytest

from orchestrator import Boot
from orchestrator import plugins as plugins_module
from orchestrator.cli import main
from orchestrator.plugins import GROUP, available_plugins, load_library
from phases.websocket import StandardizedWebSocketManagerFactory


def not_a_boot() -> str:
    return "a string"


def offered(*entries: tuple[str, str]) -> list[metadata.EntryPoint]:
    return [metadata.EntryPoint(name=n, value=v, group=GROUP) for n, v in entries]


def test_the_websocket_phases_are_offered_through_the_entry_point() -> None:
    websocket = {plugin.name: plugin for plugin in available_plugins()}["websocket"]
    assert websocket.target == "phases.websocket:websocket_phases"
    assert websocket.distribution is not None
    assert websocket.distribution.startswith("smd-orchestrator ")


def test_a_library_is_built_from_the_options_it_needs() -> None:
    library = load_library("websocket", factory=StandardizedWebSocketManagerFactory())
    assert isinstance(library, Boot)
    assert library.plan().order == ("websocket_factory_validation", "agent_websocket_bridge")


def test_a_plugin_library_can_be_included_under_a_namespace() -> None:
    boot = Boot("app")
    boot.include(
        load_library("websocket", factory=StandardizedWebSocketManagerFactory()), namespace="ws"
    )
    assert boot.plan().order == ("ws_websocket_factory_validation", "ws_agent_websocket_bridge")


def test_an_unknown_library_name_is_refused_with_a_guess() -> None:
    with pytest.raises(LookupError, match="did you mean 'websocket'"):
        load_library("websockets", factory=None)


def test_a_plugin_that_cannot_be_imported_is_listed_as_such(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(
        metadata, "entry_points", lambda group: offered(("broken", "no_such_module_xyz:build"))
    )
    (broken,) = available_plugins()
    options, description = broken.describe()
    assert options == "-"
    assert description.startswith("cannot be loaded: phase library 'broken'")
    assert "ModuleNotFoundError" in description
    with pytest.raises(ImportError, match="cannot be loaded"):
        load_library("broken")


def test_a_plugin_that_does_not_build_a_boot_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(
        metadata, "entry_points", lambda group: offered(("odd", f"{__name__}:not_a_boot"))
    )
    with pytest.raises(TypeError, match="built a str, not a Boot"):
        load_library("odd")


def test_smd_plugins_lists_each_library_with_its_options(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["plugins", "--format", "json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["schema"] == "smd.plugins/1"
    websocket = {p["name"]: p for p in document["plugins"]}["websocket"]
    assert websocket["options"].startswith("factory, after=()")


def test_smd_plugins_says_so_when_none_is_installed(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(plugins_module.metadata, "entry_points", lambda group: [])
    assert main(["plugins"]) == 0
    assert "no phase library is installed" in capsys.readouterr().out
