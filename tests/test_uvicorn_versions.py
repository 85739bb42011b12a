"""serve_asgi relies on uvicorn internals: the versions it is tested on are pinned and named."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import uvicorn

from orchestrator.asgi._uvicorn import TESTED_UVICORN, untested_uvicorn

PYPROJECT = tomllib.loads((Path(__file__).parent.parent / "pyproject.toml").read_text())


def test_the_dev_extra_pins_uvicorn_to_the_tested_releases() -> None:
    (pin,) = [
        item for item in PYPROJECT["project"]["optional-dependencies"]["dev"] if "uvicorn" in item
    ]
    bounds = re.fullmatch(r"uvicorn>=(\d+\.\d+),<(\d+\.\d+)", pin)
    assert bounds is not None
    floor, ceiling = bounds.groups()
    assert (floor,) == TESTED_UVICORN
    assert ceiling == f"0.{int(floor.split('.')[1]) + 1}"


def test_the_installed_uvicorn_is_a_tested_one() -> None:
    assert untested_uvicorn(uvicorn.__version__) is None


def test_an_untested_uvicorn_is_named_in_a_warning() -> None:
    notice = untested_uvicorn("0.60.1")
    assert notice is not None
    assert "uvicorn 0.60.1 is installed" in notice
    assert "tested with uvicorn 0.54" in notice
