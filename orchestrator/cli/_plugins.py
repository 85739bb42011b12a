"""`smd plugins`: the phase libraries installed distributions offer (`smd.phases`)."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from rich.markup import escape
from rich.table import Table

from ..plugins import GROUP, available_plugins
from ._output import stdout


def register(commands: Any) -> None:
    """Add `plugins` to the sub-commands."""
    plugins = commands.add_parser(
        "plugins", help=f"list the phase libraries installed distributions offer ({GROUP})"
    )
    plugins.add_argument("--format", choices=("text", "json"), default="text")
    plugins.set_defaults(handler=run_plugins)


def run_plugins(arguments: argparse.Namespace) -> int:
    """List every phase library: its name, builder, options, distribution and description."""
    plugins = available_plugins()
    if arguments.format == "json":
        document = {"schema": "smd.plugins/1", "plugins": [p.to_dict() for p in plugins]}
        sys.stdout.write(json.dumps(document, indent=2, sort_keys=True) + "\n")
        return 0
    if not plugins:
        stdout().print(f"no phase library is installed (entry-point group {GROUP})")
        return 0
    table = Table(title=f"phase libraries ({GROUP})", title_justify="left")
    for column in ("name", "builds it", "options", "offered by", "description"):
        table.add_column(column, overflow="fold")
    for plugin in plugins:
        options, description = plugin.describe()
        table.add_row(
            plugin.name,
            plugin.target,
            escape(options),
            plugin.distribution or "-",
            escape(description),
        )
    stdout().print(table)
    stdout().print(
        'use one with: boot.include(load_library("NAME", **options), namespace=...) '
        "(from orchestrator.plugins import load_library)",
        markup=False,
    )
    return 0
