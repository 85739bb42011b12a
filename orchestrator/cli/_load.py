"""Resolving a TARGET (`module:attribute` or `path/to/file.py:attribute`) to a Boot."""

from __future__ import annotations

import importlib
import importlib.util
import os
import sys
from pathlib import Path

from .._boot import Boot
from .._model._analyzers import analyze
from .._model._describe import describe_exception
from .._model._diagnostic import Diagnostic
from .._model._frames import location_of, raised_frames


class TargetError(Exception):
    """The TARGET does not name a Boot; carries the diagnostic to show."""

    def __init__(self, diagnostic: Diagnostic, error: BaseException | None = None) -> None:
        self.diagnostic = diagnostic
        self.error = error
        super().__init__(diagnostic.summary)


def usage_error(
    subject: str,
    summary: str,
    details: str | tuple[str, ...],
    action: str,
    *,
    cause: str | None = None,
) -> TargetError:
    """A `TargetError` carrying an `invalid_target` diagnostic (exit code 64)."""
    return TargetError(
        Diagnostic(
            boot=subject,
            fingerprint="-",
            kind="invalid_target",
            phase=None,
            summary=summary,
            details=(details,) if isinstance(details, str) else details,
            action=action,
            cause=cause,
        )
    )


def split_target(target: str) -> tuple[str, str]:
    """`(module_or_path, attribute)`; the attribute defaults to `boot`."""
    where, sep, attribute = target.rpartition(":")
    if sep and attribute.isidentifier() and where:
        return where, attribute
    return target, "boot"


def load_boot(target: str) -> Boot:
    """Import the module or file named by `target` and return its Boot.

    Raises:
        TargetError: the module cannot be imported, the attribute is missing,
            or it is not a Boot.
    """
    where, attribute = split_target(target)
    module = _import(target, where)
    if not hasattr(module, attribute):
        candidates = sorted(n for n, v in vars(module).items() if isinstance(v, Boot))
        hint = (
            f"Boots defined there: {', '.join(candidates)}" if candidates else "it defines no Boot"
        )
        raise usage_error(
            target,
            f"'{where}' has no attribute '{attribute}'",
            (hint,),
            f"Name the Boot explicitly: smd ... {where}:ATTRIBUTE",
        )
    value = getattr(module, attribute)
    if not isinstance(value, Boot):
        raise usage_error(
            target,
            f"'{where}:{attribute}' is a {type(value).__name__}, not a Boot",
            (f"{attribute} = {value!r:.100}",),
            "Point TARGET at an orchestrator.Boot instance.",
        )
    return value


def _import(target: str, where: str) -> object:
    path = Path(where)
    try:
        if where.endswith(".py") or path.suffix == ".py" or "/" in where:
            if not path.is_file():
                raise usage_error(
                    target,
                    f"file '{where}' does not exist",
                    (f"looked for {path.resolve()}",),
                    "Check the path; TARGET is path/to/file.py:attribute or module:attribute.",
                )
            return _import_file(path)
        if os.getcwd() not in sys.path:
            sys.path.insert(0, os.getcwd())
        return importlib.import_module(where)
    except TargetError:
        raise
    except ModuleNotFoundError as exc:
        if exc.name and (where == exc.name or where.startswith(f"{exc.name}.")):
            raise usage_error(
                target,
                f"module '{where}' cannot be found",
                (describe_exception(exc), f"sys.path[0] is {sys.path[0]!r}"),
                "Install the package, run smd from the project directory, or give a file path.",
            ) from exc
        raise import_error(target, where, exc) from exc
    except Exception as exc:
        raise import_error(target, where, exc) from exc


def import_error(target: str, where: str, error: BaseException) -> TargetError:
    """The diagnostic of a TARGET whose import raised: the exception, and where in its code."""
    frames = raised_frames(error)
    location = location_of(frames)
    if isinstance(error, ModuleNotFoundError):
        summary = f"'{where}' imports '{error.name}', which cannot be found"
    else:
        summary = f"importing '{where}' raised {type(error).__name__}"
    analysis, _ = analyze(error)
    details: tuple[str, ...] = (describe_exception(error),)
    action = "Fix the error in the module; smd only imports it to find the Boot."
    if analysis is not None:
        details = (analysis.description, *details)
        action = analysis.action
    diagnostic = Diagnostic(
        boot=target,
        fingerprint="-",
        kind="invalid_target",
        phase=None,
        summary=summary,
        details=details,
        action=action,
        cause=describe_exception(error),
        location=location,
        traceback=frames,
    )
    return TargetError(diagnostic, error)


def _import_file(path: Path) -> object:
    directory = str(path.resolve().parent)
    if directory not in sys.path:
        sys.path.insert(0, directory)
    name = path.stem if path.stem.isidentifier() else "smd_target"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
