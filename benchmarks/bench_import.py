"""Import time: `import orchestrator` against its own runtime dependencies, each in a fresh process.

For a boot orchestrator, import time is boot time. Fresh interpreters alternate
so that both sides see the same machine load:

- `python -c "import orchestrator"` against `python -c "import anyio, structlog, networkx"`
  (its runtime dependencies), and against `python -c "import anyio, structlog"` (the ones
  it loads: networkx loads only with a graph, which a boot does not need), the second
  being smd's own cost on top of what it loads;
- `smd --version` against `python -c pass` (the console script's start-up).
"""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
import sys
import time
from importlib.metadata import version

ROUNDS = 21

ORCHESTRATOR = [sys.executable, "-c", "import orchestrator"]
DEPENDENCIES = [sys.executable, "-c", "import anyio, structlog, networkx"]
# What `import orchestrator` loads of them: networkx only loads with a graph (analysis,
# a cycle's diagnostic, a verification), never for a boot that plans and runs.
LOADED = [sys.executable, "-c", "import anyio, structlog"]
SMD_VERSION = [
    sys.executable,
    "-c",
    "import sys; from orchestrator.cli import main; "
    "sys.argv = ['smd', '--version']; sys.exit(main())",
]
BARE_PYTHON = [sys.executable, "-c", "pass"]


def versions() -> str:
    """The versions the figures depend on."""
    return (
        f"python {platform.python_version()}, anyio {version('anyio')}, "
        f"structlog {version('structlog')}, networkx {version('networkx')}, "
        f"rich {version('rich')}"
    )


# An installed service imports compiled bytecode: the first (warm-up) run may write it even
# where the environment says not to, so that no run compiles the sources again.
_ENVIRONMENT = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}


def _elapsed(command: list[str]) -> float:
    began = time.perf_counter()
    subprocess.run(command, check=True, stdout=subprocess.DEVNULL, env=_ENVIRONMENT)
    return time.perf_counter() - began


def alternate(first: list[str], second: list[str], rounds: int = ROUNDS) -> tuple[float, float]:
    """Median wall time of each command, run `rounds` times each, alternating."""
    _elapsed(first), _elapsed(second)  # warm the file cache and the bytecode
    times: tuple[list[float], list[float]] = ([], [])
    for _ in range(rounds):
        times[0].append(_elapsed(first))
        times[1].append(_elapsed(second))
    return statistics.median(times[0]), statistics.median(times[1])


def main() -> list[tuple[str, float, float]]:
    """Print each pair's medians and ratio; return (label, smd seconds, reference seconds)."""
    print(f"\nimport time, fresh processes, median of {ROUNDS} alternating runs")
    print(versions())
    rows = [
        (
            "import orchestrator / import anyio, structlog, networkx",
            *alternate(ORCHESTRATOR, DEPENDENCIES),
        ),
        ("import orchestrator / import anyio, structlog", *alternate(ORCHESTRATOR, LOADED)),
        ("smd --version / python -c pass", *alternate(SMD_VERSION, BARE_PYTHON)),
    ]
    width = max(len(label) for label, _, _ in rows)
    print(f"{'':<{width}}  smd ms   ref ms   ratio")
    for label, mine, reference in rows:
        print(
            f"{label:<{width}}  {mine * 1e3:6.1f}   {reference * 1e3:6.1f}   "
            f"{mine / reference:5.2f}"
        )
    return rows


if __name__ == "__main__":
    main()
