"""The user's own frames of a traceback or a stack: where a failure was raised, or stuck.

Frames of smd, of its dependencies (anyio, trio, outcome, sniffio, structlog,
networkx) and of the standard library are left out, so asyncio and trio give
the same frames. Only the file, the line and the function are kept, masked:
never local variables, which hold DSNs and tokens.
"""

from __future__ import annotations

import functools
import importlib.util
import os
import traceback
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ._masking import mask_text

_DEPENDENCIES = ("anyio", "trio", "outcome", "sniffio", "structlog", "networkx")
_MAX_FRAMES = 20


@dataclass(frozen=True, slots=True)
class Frame:
    """One frame of the user's code: `file:line in function`."""

    file: str
    line: int
    function: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line} in {self.function}"

    def to_dict(self) -> dict[str, Any]:
        """The frame as `{"file", "line", "function"}`."""
        return {"file": self.file, "line": self.line, "function": self.function}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Frame:
        """Read back what `to_dict` wrote."""
        return cls(file=str(data["file"]), line=int(data["line"]), function=str(data["function"]))


@functools.cache
def _foreign_roots() -> tuple[str, ...]:
    """Folders whose frames are not the user's: smd's, its dependencies', the stdlib's."""
    roots = [str(Path(__file__).resolve().parents[1])]
    for name in _DEPENDENCIES:
        try:
            spec = importlib.util.find_spec(name)
        except (ImportError, ValueError):
            continue
        if spec is not None and spec.submodule_search_locations:
            roots += [str(Path(p).resolve()) for p in spec.submodule_search_locations]
    import sysconfig  # only a failure needs it: kept out of `import orchestrator`

    paths = sysconfig.get_paths()
    roots += {str(Path(paths[key]).resolve()) for key in ("stdlib", "platstdlib") if key in paths}
    return tuple(root + os.sep for root in roots)


@functools.lru_cache(maxsize=1024)
def is_user_file(filename: str) -> bool:
    """Whether frames in `filename` belong to the user's code (not smd, a dependency, stdlib)."""
    if filename.startswith(("<frozen ", "<__array_function__")):
        return False
    try:
        resolved = str(Path(filename).resolve())
    except (OSError, ValueError):
        resolved = filename
    for root in _foreign_roots():
        if resolved.startswith(root):
            rest = resolved[len(root) :]
            if "site-packages" in rest or "dist-packages" in rest:
                continue  # installed under the stdlib folder: a third-party package
            return False
    return True


def user_frames(stack: Iterable[traceback.FrameSummary]) -> tuple[Frame, ...]:
    """The user's frames of `stack`, outermost first (innermost last), masked."""
    frames = [
        Frame(mask_text(summary.filename), summary.lineno or 0, mask_text(summary.name))
        for summary in stack
        if is_user_file(summary.filename)
    ]
    return tuple(frames[-_MAX_FRAMES:])


def raised_frames(error: BaseException) -> tuple[Frame, ...]:
    """Where `error` was raised, in the user's code.

    The exception's own traceback first; when none of its frames is the user's
    (smd wrapped it, or a group gathered it), its cause, its context, then the
    first exception of a group that has some.
    """
    seen: set[int] = set()
    pending: list[BaseException] = [error]
    while pending:
        current = pending.pop(0)
        if id(current) in seen or len(seen) > 50:
            continue
        seen.add(id(current))
        if current.__traceback__ is not None:
            frames = user_frames(traceback.extract_tb(current.__traceback__))
            if frames:
                return frames
        if isinstance(current, SyntaxError) and current.filename:
            return (Frame(mask_text(current.filename), current.lineno or 0, "<module>"),)
        if isinstance(current, BaseExceptionGroup):
            pending += list(current.exceptions)
        pending += [e for e in (current.__cause__, current.__context__) if e is not None]
    return ()


def location_of(frames: tuple[Frame, ...]) -> str | None:
    """`"file:line in function"` of the innermost frame, or None when there is none."""
    return str(frames[-1]) if frames else None
