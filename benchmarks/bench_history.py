"""`smd diff` of two reports, `smd stats` and `smd plot` over 100, at 2,500 to 10,000 phases.

Each step runs the real command (`orchestrator.cli.main`, output captured):
reading the JSON files, checking them, and computing the result. The reports
are written by hand, layered like bench_analysis's boot: phase i waits for
phase i-1 and phase i/2. `stats` reads 100 reports from 5 distinct files, each
given 20 times, so the disk holds 5 reports per size, not 100.
"""

from __future__ import annotations

import contextlib
import io
import itertools
import tempfile
import time
from pathlib import Path

from orchestrator._model._report import BootReport, PhaseRecord
from orchestrator._model._status import BootState, PhaseStatus
from orchestrator.cli import main as smd

SIZES = (2_500, 5_000, 10_000)
REPORTS = 100
DISTINCT = 5


def build_report(count: int, seed: int) -> BootReport:
    """A READY boot of `count` phases whose durations depend on `seed`."""
    ends: list[float] = []
    records = []
    for i in range(count):
        needs = tuple(sorted({f"p{i - 1}", f"p{i // 2}"})) if i > 1 else (("p0",) if i else ())
        start = max((ends[int(name[1:])] for name in needs), default=0.0)
        end = start + 0.001 * (1 + (i * (seed + 3)) % 7)
        ends.append(end)
        records.append(
            PhaseRecord(f"p{i}", "phase", PhaseStatus.COMPLETED, 1, start, end, depends_on=needs)
        )
    return BootReport(
        boot="bench",
        fingerprint=f"{count:012x}",
        state=BootState.STOPPED,
        started_at="2026-11-26T12:00:00+00:00",
        duration=max(ends),
        phases=tuple(records),
        outcome=BootState.READY,
    )


def _timed_command(arguments: list[str], *, runs: int = 1) -> float:
    """The least CPU time of `runs` runs (CPU, not wall time: the machine may be shared)."""
    best = float("inf")
    for _ in range(runs):
        began = time.process_time()
        with contextlib.redirect_stdout(io.StringIO()):
            code = smd(arguments)
        best = min(best, time.process_time() - began)
        if code not in (0, 1):
            raise RuntimeError(f"smd {' '.join(arguments[:2])} exited {code}")
    return best


def main() -> list[tuple[str, float]]:
    """Time both commands at each size; print the times and their growth per doubling."""
    rows: list[tuple[str, float]] = []
    with tempfile.TemporaryDirectory() as folder:
        for count in SIZES:
            paths = []
            for seed in range(DISTINCT):
                path = Path(folder) / f"report-{count}-{seed}.json"
                path.write_text(build_report(count, seed).to_json(indent=None))
                paths.append(str(path))
            diff_time = _timed_command(["diff", paths[0], paths[1], "--fail-over", "10"], runs=3)
            rows.append((f"smd diff, 2 reports of {count} phases", diff_time))
            many = paths * (REPORTS // DISTINCT)
            stats_time = _timed_command(["stats", *many, "--format", "json"])
            rows.append((f"smd stats, {REPORTS} reports of {count} phases", stats_time))
            svg = str(Path(folder) / "spread.svg")
            plot_time = _timed_command(["plot", *many, "-o", svg])
            rows.append((f"smd plot, {REPORTS} reports of {count} phases", plot_time))
    width = max(len(step) for step, _ in rows)
    print(f"\n{'step':<{width}}  CPU seconds")
    for step, seconds in rows:
        print(f"{step:<{width}}  {seconds:8.3f}")
    for command in ("diff", "stats", "plot"):
        times = [seconds for step, seconds in rows if step.startswith(f"smd {command}")]
        ratios = ", ".join(f"{later / earlier:.2f}" for earlier, later in itertools.pairwise(times))
        print(f"smd {command}: time ratio per doubling of phases {ratios} (linear: 2.00)")
    return rows


if __name__ == "__main__":
    main()
