"""The Kubernetes manifest's probes and grace period agree with the chat server's budgets."""

from __future__ import annotations

import ast
import inspect
import re
from pathlib import Path

from orchestrator.asgi import serve_asgi

ROOT = Path(__file__).parent.parent
MANIFEST = (ROOT / "examples" / "k8s" / "deployment.yaml").read_text()
SERVER = (ROOT / "examples" / "chat_server.py").read_text()


def manifest_number(pattern: str) -> float:
    """The one number the manifest gives for `pattern` (a regex with one group)."""
    (found,) = re.findall(pattern, MANIFEST)
    return float(found)


def probe(name: str) -> dict[str, float]:
    """A probe's periodSeconds and failureThreshold."""
    block = MANIFEST.split(f"{name}:", 1)[1].split("Probe:", 1)[0]
    return {
        key: float(re.search(rf"{key}: (\d+)", block).group(1))  # type: ignore[union-attr]
        for key in ("periodSeconds", "failureThreshold")
    }


def server_constant(name: str) -> float:
    """A module-level constant of examples/chat_server.py, read without importing it."""
    for node in ast.parse(SERVER).body:
        if isinstance(node, ast.Assign) and getattr(node.targets[0], "id", None) == name:
            return float(ast.literal_eval(node.value))
    raise AssertionError(f"chat_server.py has no constant {name}")


def test_the_grace_period_covers_prestop_drain_websocket_close_and_stop_budget() -> None:
    grace = manifest_number(r"terminationGracePeriodSeconds: (\d+)")
    pre_stop = manifest_number(r'command: \["sleep", "(\d+)"\]')
    drain = manifest_number(r"--drain-grace=(\d+)")
    close = inspect.signature(serve_asgi).parameters["close_timeout"].default
    assert grace > pre_stop + drain + close + server_constant("STOP_TIMEOUT")


def test_the_startup_probe_outlasts_the_boot_deadline() -> None:
    startup = probe("startupProbe")
    (deadline,) = re.findall(r"deadline=(\d+)", SERVER)
    assert startup["periodSeconds"] * startup["failureThreshold"] > float(deadline)


def test_one_loop_stall_that_ends_never_restarts_the_pod() -> None:
    liveness = probe("livenessProbe")
    window = (liveness["failureThreshold"] - 1) * liveness["periodSeconds"]
    assert server_constant("LOOP_STALL_MEMORY") < window
    assert server_constant("LOOP_STALL_THRESHOLD") < server_constant("LOOP_STALL_MEMORY")
