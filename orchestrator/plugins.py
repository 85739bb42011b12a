"""Phase libraries offered by installed distributions through the `smd.phases` entry points.

A distribution offers a library by naming, in its entry-point group
`smd.phases`, a callable that builds it (a `Boot`) from the options it needs:

```toml
[project.entry-points."smd.phases"]
websocket = "phases.websocket:websocket_phases"
```

An application then includes it like any library, under a namespace if it
likes: `boot.include(load_library("websocket", factory=my_factory))`.
`smd plugins` lists what is installed.
"""

from __future__ import annotations

import difflib
import inspect
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata
from typing import Any

from ._boot import Boot
from ._model._describe import describe_exception

GROUP = "smd.phases"
"""The entry-point group phase libraries are offered in."""


@dataclass(frozen=True, slots=True)
class PhasePlugin:
    """One installed phase library, as its entry point names it.

    Attributes:
        name: the entry point's name (what `load_library` takes).
        target: the callable that builds the library, as `module:attribute`.
        distribution: the distribution that offers it, with its version, or None.
    """

    name: str
    target: str
    distribution: str | None

    def builder(self) -> Callable[..., Boot]:
        """Import the callable that builds the library.

        Raises:
            ImportError: its module cannot be imported (any error it raises
                while importing is chained).
            TypeError: what the entry point names is not callable.
        """
        try:
            loaded = _entry_point(self).load()
        except Exception as exc:  # a broken plugin must not break who lists it
            raise ImportError(
                f"phase library '{self.name}' ({self.target}) cannot be loaded: "
                f"{describe_exception(exc)}"
            ) from exc
        if not callable(loaded):
            raise TypeError(f"phase library '{self.name}' names {self.target}, not a callable")
        return loaded  # type: ignore[no-any-return]

    def describe(self) -> tuple[str, str]:
        """The options the builder takes and its first docstring line (or why it cannot load)."""
        try:
            builder = self.builder()
        except (ImportError, TypeError) as exc:
            return "-", f"cannot be loaded: {exc}"
        try:
            parameters = inspect.signature(builder).parameters.values()
        except (TypeError, ValueError):
            parameters = None
        options = "?" if parameters is None else ", ".join(map(_shown, parameters)) or "-"
        doc = inspect.getdoc(builder) or ""
        return options, doc.strip().splitlines()[0] if doc.strip() else ""

    def to_dict(self) -> dict[str, Any]:
        """The plugin as plain data, with its options and description."""
        options, description = self.describe()
        return {
            "description": description,
            "distribution": self.distribution,
            "name": self.name,
            "options": options,
            "target": self.target,
        }


def available_plugins() -> tuple[PhasePlugin, ...]:
    """Every phase library offered through `smd.phases`, sorted by name (nothing is imported)."""
    found = []
    for entry in metadata.entry_points(group=GROUP):
        dist = getattr(entry, "dist", None)
        offered_by = None if dist is None else f"{dist.name} {dist.version}"
        found.append(PhasePlugin(entry.name, entry.value, offered_by))
    return tuple(sorted(found, key=lambda plugin: (plugin.name, plugin.target)))


def load_library(name: str, /, **options: Any) -> Boot:
    """Build the phase library the installed entry point `name` offers.

    Args:
        name: the entry point's name in `smd.phases` (`smd plugins` lists them).
        **options: what its builder takes (the WebSocket phases need `factory=`).

    Returns:
        The library, ready for `boot.include(library, namespace=...)`.

    Raises:
        LookupError: no installed distribution offers `name` (with a guess).
        ImportError: the plugin's module cannot be imported.
        TypeError: the builder does not take these options, or does not build a Boot.
    """
    plugins = {plugin.name: plugin for plugin in available_plugins()}
    if name not in plugins:
        guesses = difflib.get_close_matches(name, list(plugins), n=1)
        hint = f"did you mean '{guesses[0]}'? " if guesses else ""
        raise LookupError(
            f"no installed phase library is named '{name}' ({hint}installed: "
            f"{', '.join(plugins) or 'none'}); `smd plugins` lists them"
        )
    library = plugins[name].builder()(**options)
    if not isinstance(library, Boot):
        raise TypeError(
            f"phase library '{name}' ({plugins[name].target}) built a "
            f"{type(library).__name__}, not a Boot"
        )
    return library


def _shown(parameter: inspect.Parameter) -> str:
    """An option as `smd plugins` lists it: required ones bare, others with their default."""
    if parameter.kind is parameter.VAR_KEYWORD:
        return f"**{parameter.name}"
    if parameter.kind is parameter.VAR_POSITIONAL:
        return f"*{parameter.name}"
    if parameter.default is parameter.empty:
        return parameter.name
    return f"{parameter.name}={parameter.default!r}"


def _entry_point(plugin: PhasePlugin) -> metadata.EntryPoint:
    return metadata.EntryPoint(name=plugin.name, value=plugin.target, group=GROUP)


__all__ = ["GROUP", "PhasePlugin", "available_plugins", "load_library"]
