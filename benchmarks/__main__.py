"""`python -m benchmarks` (what `make bench` runs): every benchmark, side by side."""

from __future__ import annotations

import importlib
import platform
import sys

BENCHMARKS = (
    "benchmarks.bench_scheduler",
    "benchmarks.bench_boot",
    "benchmarks.bench_floor",
    "benchmarks.bench_scaling",
    "benchmarks.bench_import",
    "benchmarks.bench_analysis",
    "benchmarks.bench_views",
    "benchmarks.bench_masking",
    "benchmarks.bench_history",
    "benchmarks.bench_bridge",
    "benchmarks.bench_gate",
    "benchmarks.bench_services",
)


def main() -> int:
    """Run each benchmark module's `main()` in turn."""
    print(f"python {platform.python_version()} on {platform.machine()}, {sys.platform}")
    for name in BENCHMARKS:
        try:
            module = importlib.import_module(name)
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise
            print(f"\n{name}: not present, skipped")
            continue
        module.main()
    return 0


if __name__ == "__main__":
    sys.exit(main())
