"""Importing the TARGET under the signals' rule: an interrupt there is an interrupted boot.

SIGINT and SIGTERM may arrive while a heavy target is still importing (a
supervisor's start timeout, an impatient Ctrl-C). The process then ends like
any interrupted boot: the `interrupted` diagnostic, a report and the
termination log, exit 128 + signal, never a raw `KeyboardInterrupt`.
"""

from __future__ import annotations

import os
import signal
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from types import FrameType

from .._model._diagnostic import Diagnostic, exit_code_for
from .._model._frames import location_of, raised_frames
from .._model._report import BootReport
from .._model._status import BootState
from .._runtime._termination import write_termination_message
from ._output import print_diagnostic, stderr

_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class ImportInterrupted(BaseException):
    """A signal arrived while the TARGET was importing (a BaseException: no `except
    Exception` in the user's module may swallow it)."""

    def __init__(self, signal_number: int) -> None:
        self.signal_number = signal_number
        super().__init__(signal.Signals(signal_number).name)


def _raise_interrupted(signal_number: int, _frame: FrameType | None) -> None:
    raise ImportInterrupted(signal_number)


@contextmanager
def interruptible_import() -> Iterator[None]:
    """Turn SIGINT/SIGTERM into `ImportInterrupted` for the block, then restore the handlers."""
    previous = {number: signal.getsignal(number) for number in _SIGNALS}
    try:
        for number in _SIGNALS:
            signal.signal(number, _raise_interrupted)
    except ValueError:  # not the main thread: signals are not ours to handle
        yield
        return
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)


def interrupted_import(target: str, interrupted: ImportInterrupted) -> Diagnostic:
    """The `interrupted` diagnostic of a boot whose TARGET was still importing; no phase blamed."""
    name = signal.Signals(interrupted.signal_number).name
    frames = raised_frames(interrupted)
    location = location_of(frames)
    details = [f"'{target}' was still being imported; no phase had started"]
    if location:
        details.append(f"the import was at {location}")
    return Diagnostic(
        boot=target,
        fingerprint="-",
        kind="interrupted",
        phase=None,
        summary=f"the boot was interrupted by {name} while its target was being imported",
        details=tuple(details),
        action="Nothing to fix if the interruption was intended; otherwise find who sent "
        f"{name} (a supervisor's start timeout is a common cause) and what makes the "
        "import slow (`python -X importtime`).",
        cause=name,
        exit_code=exit_code_for("interrupted", signal_number=interrupted.signal_number),
        location=location,
        traceback=frames,
    )


def interrupted_report(diagnostic: Diagnostic, *, since: float) -> BootReport:
    """The report of a boot interrupted while importing: FAILED, no phase, the diagnostic."""
    return BootReport(
        import_duration=process_age(fallback_since=since),
        boot=diagnostic.boot,
        fingerprint=diagnostic.fingerprint,
        state=BootState.FAILED,
        started_at=datetime.now(UTC).isoformat(timespec="milliseconds"),
        duration=0.0,
        diagnostic=diagnostic.to_dict(),
        outcome=BootState.FAILED,
    )


def end_interrupted_import(
    target: str,
    interrupted: ImportInterrupted,
    *,
    since: float,
    report_path: Path | None,
    termination_log: Path | None,
) -> int:
    """Show the diagnostic, write the report and the termination log; return the exit code."""
    diagnostic = interrupted_import(target, interrupted)
    print_diagnostic(diagnostic)
    if report_path is not None:
        try:
            report_path.write_text(interrupted_report(diagnostic, since=since).to_json() + "\n")
        except OSError as exc:
            stderr().print(f"smd: cannot write the report: {exc}", markup=False)
    if termination_log is not None:
        try:
            write_termination_message(termination_log, diagnostic)
        except OSError as exc:
            stderr().print(f"smd: cannot write the termination log: {exc}", markup=False)
    return diagnostic.exit_code


def process_age(*, fallback_since: float) -> float:
    """Seconds since this process started: `/proc` on Linux, else since `fallback_since`.

    What `systemd-analyze time` calls the time before the boot: the interpreter
    starting and the TARGET importing, which a report should not hide.
    """
    try:
        stat = Path("/proc/self/stat").read_text()
        uptime = float(Path("/proc/uptime").read_text().split()[0])
        start_ticks = int(stat.rpartition(")")[2].split()[19])  # field 22: starttime
        return max(0.0, uptime - start_ticks / os.sysconf("SC_CLK_TCK"))
    except (OSError, ValueError, IndexError):
        return time.monotonic() - fallback_since
