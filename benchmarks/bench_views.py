"""Text views at 10,000 and 100,000 phases: each should cost time linear in the report.

The boot is bench_analysis's layered one (each phase needs its predecessor, so
the critical chain is as long as the boot). Each view runs as `smd` would run
it, stdout captured; the ratio from 10,000 to 100,000 phases is about 10 when
the view is linear. `smd run --once` runs in a fresh process (stdout and
stderr discarded): the real boot, its log and the printed summary.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Sequence
from pathlib import Path

from rich.console import Console

from benchmarks.bench_analysis import build_boot
from orchestrator._analysis._chain import critical_chain
from orchestrator._analysis._simulator import simulate
from orchestrator._model._report import BootReport
from orchestrator.cli import main as smd
from orchestrator.cli._run import timings_table

SIZES = (10_000, 100_000)

VIEWS: tuple[tuple[str, tuple[str, ...]], ...] = (
    ("smd analyze blame", ("blame",)),
    ("smd analyze critical-chain", ("critical-chain",)),
)

TARGET = """
import sys
sys.path.insert(0, {root!r})
from benchmarks.bench_analysis import build_boot
boot = build_boot({count})
"""


def _smd(arguments: Sequence[str]) -> float:
    began = time.perf_counter()
    with contextlib.redirect_stdout(io.StringIO()):
        code = smd(list(arguments))
    elapsed = time.perf_counter() - began
    assert code == 0, (arguments, code)
    return elapsed


def _run_summary(report: BootReport) -> float:
    """What `smd run` prints after the boot: the timings table and the critical chain."""
    began = time.perf_counter()
    console = Console(file=io.StringIO(), width=120)
    console.print(timings_table(report))
    console.print(" -> ".join(link.name for link in critical_chain(report).links[:20]))
    return time.perf_counter() - began


def _run_once(directory: Path, count: int) -> float:
    target = directory / f"boot_{count}.py"
    target.write_text(textwrap.dedent(TARGET.format(root=str(Path.cwd()), count=count)))
    command = [sys.executable, "-m", "orchestrator.cli", "run", "--once", f"{target}:boot"]
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return time.perf_counter() - began


def main() -> dict[str, dict[int, float]]:
    """Time each view at each size; print seconds and the ratio per 10x."""
    times: dict[str, dict[int, float]] = {}
    with tempfile.TemporaryDirectory() as scratch:
        directory = Path(scratch)
        for count in SIZES:
            report = simulate(build_boot(count).plan()).to_report()
            path = directory / f"report_{count}.json"
            path.write_text(report.to_json())
            for label, view in VIEWS:
                times.setdefault(label, {})[count] = _smd(["analyze", str(path), *view])
            if count == SIZES[0]:
                for label, view in VIEWS:
                    row = f"{label} --all"
                    times[row] = {count: _smd(["analyze", str(path), *view, "--all"])}
            times.setdefault("smd run summary alone (table + chain)", {})[count] = _run_summary(
                report
            )
            times.setdefault("smd run --once (boot, log, summary)", {})[count] = _run_once(
                directory, count
            )
    print("\ntext views, seconds (layered boot, critical chain as long as the boot)")
    width = max(len(label) for label in times)
    print(f"{'view':<{width}}  " + "  ".join(f"{n:>9,}" for n in SIZES) + "  ratio/10x")
    for label, row in times.items():
        cells = "  ".join(f"{row[n]:9.3f}" if n in row else f"{'-':>9}" for n in SIZES)
        ratio = f"{row[SIZES[1]] / row[SIZES[0]]:9.1f}" if len(row) == len(SIZES) else ""
        print(f"{label:<{width}}  {cells}  {ratio}")
    return times


if __name__ == "__main__":
    main()
