"""The `smd` command: run, check, plan, graph, simulate and analyse a boot."""

from ._app import main as main

__all__ = ["main"]
