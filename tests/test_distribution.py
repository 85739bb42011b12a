"""The distribution's extras install what their features need."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

PYPROJECT = Path(__file__).parent.parent / "pyproject.toml"


def requirement_names(extra: str) -> set[str]:
    project = tomllib.loads(PYPROJECT.read_text(encoding="utf-8"))["project"]
    requirements = project["optional-dependencies"][extra]
    return {
        re.split(r"[\[<>=!~ ;]", requirement, maxsplit=1)[0].lower() for requirement in requirements
    }


def test_the_asgi_extra_installs_a_websocket_library_uvicorn_can_serve_with() -> None:
    # Without one, uvicorn answers a WebSocket route's handshake with 404.
    assert requirement_names("asgi") & {"websockets", "wsproto"}


def test_the_asgi_extra_installs_the_server_and_the_framework() -> None:
    assert {"starlette", "uvicorn"} <= requirement_names("asgi")
