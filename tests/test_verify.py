"""`smd verify`: every gate with only what it needs, each judged on its own, then torn down."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import anyio
import pytest

from orchestrator import (
    Boot,
    FailureAnalysis,
    GateFailed,
    GateResult,
    PhaseStatus,
    TeardownOutcome,
    testing,
)
from orchestrator._runtime._verify import verify_gates
from orchestrator.cli import main

ROOT = Path(__file__).parent.parent
EXAMPLES = ROOT / "examples"
SMD = [sys.executable, "-m", "orchestrator.cli"]


def refusing(name: str) -> GateResult:
    return GateResult(False, (f"{name} does not hold",), (f"make {name} hold",))


def two_gates_and_an_api(torn: list[str]) -> Boot:
    """settings -> [config_ok (refuses), disk_ok (refuses)]; quota_ok needs config_ok."""
    boot = Boot("gated")

    @boot.phase()
    def settings() -> Iterator[str]:
        yield "settings"
        torn.append("settings")

    @boot.gate()
    def config_ok(settings: str) -> GateResult:
        return refusing("config")

    @boot.gate()
    def disk_ok(settings: str) -> GateResult:
        return refusing("disk")

    @boot.gate()
    def quota_ok(config_ok: GateResult) -> GateResult:
        return GateResult(True)

    @boot.gate()
    def clock_ok() -> GateResult:
        return GateResult(True)

    @boot.phase()
    def api(settings: str) -> str:
        raise AssertionError("no gate waits for the api: verify must not start it")

    return boot


@pytest.mark.anyio
async def test_every_gate_is_judged_even_after_another_refused() -> None:
    verification = await verify_gates(two_gates_and_an_api([]).plan())
    verdicts = {v.gate: v.verdict for v in verification.verdicts}
    assert verdicts == {
        "config_ok": "refused",
        "disk_ok": "refused",
        "quota_ok": "blocked",
        "clock_ok": "passed",
    }


@pytest.mark.anyio
async def test_a_refused_gate_lists_its_violations_and_action() -> None:
    verdict = (await verify_gates(two_gates_and_an_api([]).plan()))["disk_ok"]
    assert verdict.violations == ("disk does not hold",)
    assert verdict.action == "make disk hold"


@pytest.mark.anyio
async def test_a_gate_waiting_for_a_refused_gate_is_blocked_by_it() -> None:
    verdict = (await verify_gates(two_gates_and_an_api([]).plan()))["quota_ok"]
    assert verdict.blocked_by == ("config_ok",)


@pytest.mark.anyio
async def test_phases_no_gate_waits_for_are_not_started() -> None:
    verification = await verify_gates(two_gates_and_an_api([]).plan())
    assert verification.not_started == ("api",)
    assert "api" not in [record.name for record in verification.report.phases]


@pytest.mark.anyio
async def test_what_the_gates_needed_is_torn_down() -> None:
    torn: list[str] = []
    verification = await verify_gates(two_gates_and_an_api(torn).plan())
    assert torn == ["settings"]
    assert verification.report["settings"].teardown is TeardownOutcome.TORN_DOWN


@pytest.mark.anyio
async def test_a_refusal_gives_exit_code_78_and_the_first_refusal_as_diagnostic() -> None:
    verification = await verify_gates(two_gates_and_an_api([]).plan())
    assert verification.exit_code == 78
    assert verification.diagnostic is not None
    assert verification.diagnostic.phase == "config_ok"


@pytest.mark.anyio
async def test_a_failed_phase_the_gates_need_blocks_them_with_its_own_exit_code() -> None:
    boot = Boot("broken")

    @boot.phase()
    def database() -> None:
        raise ConnectionError("refused")

    @boot.gate()
    def schema_ok(database: None) -> GateResult:
        return GateResult(True)

    verification = await verify_gates(boot.plan())
    assert verification["schema_ok"].verdict == "blocked"
    assert verification["schema_ok"].blocked_by == ("database",)
    assert verification.exit_code == 69


@pytest.mark.anyio
async def test_a_gate_that_raises_something_else_has_failed_not_refused() -> None:
    boot = Boot("raising")

    @boot.gate()
    def flaky() -> GateResult:
        raise RuntimeError("cannot tell")

    @boot.gate()
    def strict() -> GateResult:
        raise GateFailed("strict says no", ("one",))

    verification = await verify_gates(boot.plan())
    assert [(v.gate, v.verdict) for v in verification.verdicts] == [
        ("flaky", "failed"),
        ("strict", "refused"),
    ]
    assert verification.exit_code == 69  # the first in plan order decides


@pytest.mark.anyio
async def test_a_gate_whose_condition_is_false_is_skipped() -> None:
    boot = Boot("conditional")

    @boot.gate(when=False)
    def only_in_production() -> GateResult:
        return refusing("production")

    verification = await verify_gates(boot.plan())
    assert verification["only_in_production"].verdict == "skipped"
    assert verification.exit_code == 0


@pytest.mark.anyio
async def test_verify_keeps_the_fingerprint_of_the_boot_it_verifies() -> None:
    boot = two_gates_and_an_api([])
    assert (await verify_gates(boot.plan())).fingerprint == boot.plan().fingerprint


@pytest.mark.anyio
async def test_the_chat_service_gates_run_without_the_bridge_or_finalize() -> None:
    sys.path.insert(0, str(EXAMPLES))
    try:
        from chat_service import boot as chat
    finally:
        sys.path.remove(str(EXAMPLES))
    verification = await verify_gates(chat.plan())
    ran = {r.name: r.status for r in verification.report.phases}
    assert "agent_websocket_bridge" not in ran
    assert "finalize" not in ran
    assert ran["websocket_factory_validation"] is PhaseStatus.COMPLETED
    assert ran["settings_are_valid"] is PhaseStatus.COMPLETED
    assert {"agent_websocket_bridge", "finalize"} <= set(verification.not_started)
    gates = [spec for spec in chat.plan().phases if spec.kind == "gate"]
    assert all(name not in spec.waits_for for spec in gates for name in verification.not_started)
    assert verification.exit_code == 0


def test_smd_verify_refuses_the_factory_that_leaks_between_users() -> None:
    result = subprocess.run(
        [*SMD, "verify", str(EXAMPLES / "noncompliant_factory.py"), "--log-format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
    )
    assert result.returncode == 78
    assert "REFUSED  websocket_factory_validation" in result.stdout
    assert "user B's manager delivered to user A's connection" in result.stdout
    assert "Traceback" not in result.stdout + result.stderr


def test_smd_verify_passes_the_chat_service() -> None:
    result = subprocess.run(
        [*SMD, "verify", str(EXAMPLES / "chat_service.py"), "--format", "json"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        cwd=ROOT,
        env={"PATH": "", "SMD_SIMULATE_LATENCY": "0"},
    )
    document = json.loads(result.stdout)
    assert result.returncode == 0
    assert document["schema"] == "smd.verify/1"
    assert document["passed"] is True
    assert [g["verdict"] for g in document["gates"]] == ["passed"] * 4


def test_smd_verify_as_json_gives_each_gate_its_verdict(
    capsys: pytest.CaptureFixture[str],
) -> None:
    code = main(
        ["verify", f"{Path(__file__).parent}/boots/failing.py:gate_refuses", "--format", "json"]
    )
    document = json.loads(capsys.readouterr().out)
    assert code == document["exit_code"] == 78
    assert {g["gate"]: g["verdict"] for g in document["gates"]} == {"config_is_complete": "refused"}


@pytest.mark.anyio
async def test_a_gate_only_ordered_after_a_refused_gate_is_still_judged() -> None:
    boot = Boot("ordered")

    @boot.gate()
    def first() -> GateResult:
        return refusing("first")

    @boot.gate(after="first")
    def second() -> GateResult:
        return GateResult(True)

    verification = await verify_gates(boot.plan())
    assert verification["second"].verdict == "passed"


def test_smd_verify_as_json_keeps_its_shape_when_the_target_cannot_load(
    capsys: pytest.CaptureFixture[str],
) -> None:
    main(["verify", f"{Path(__file__).parent}/boots/failing.py:gate_refuses", "--format", "json"])
    verified = json.loads(capsys.readouterr().out)
    code = main(["verify", f"{Path(__file__).parent}/boots/failing.py:invalid", "--format", "json"])
    invalid = json.loads(capsys.readouterr().out)
    assert code == invalid["exit_code"] == 65
    assert invalid.keys() == verified.keys()
    assert invalid["schema"] == "smd.verify/1"
    assert len(invalid["problems"]) == 2


VAULT_IS_DOWN = FailureAnalysis("the vault refused the connection", "start the vault")


def vault_boot() -> Boot:
    """secrets (raises ConnectionError) -> secrets_ok; tls_ok raises ConnectionError itself."""
    boot = Boot("vaulted")
    boot.failure_analyzer(ConnectionError, lambda exc: VAULT_IS_DOWN)

    @boot.phase()
    def secrets() -> str:
        raise ConnectionError("vault:8200 refused")

    @boot.gate()
    def secrets_ok(secrets: str) -> GateResult:
        return GateResult(True)

    @boot.gate()
    def tls_ok() -> GateResult:
        raise ConnectionError("vault:8200 refused")

    return boot


@pytest.mark.anyio
async def test_a_gate_that_fails_is_described_by_the_boots_failure_analyzer() -> None:
    verdict = (await testing.verify_gates(vault_boot()))["tls_ok"]
    assert verdict.violations[0] == "the vault refused the connection"
    assert verdict.action is not None
    assert verdict.action.startswith("start the vault")


@pytest.mark.anyio
async def test_a_failed_phase_the_gates_need_is_described_by_the_boots_failure_analyzer() -> None:
    verification = await testing.verify_gates(vault_boot())
    assert verification.diagnostic is not None
    assert verification.diagnostic.phase == "secrets"
    assert verification.diagnostic.details[0] == "the vault refused the connection"


def test_smd_verify_describes_failures_with_the_boots_failure_analyzers(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    target = tmp_path / "vaulted.py"
    target.write_text(
        "from orchestrator import Boot, FailureAnalysis, GateResult\n"
        "boot = Boot('vaulted')\n"
        "boot.failure_analyzer(\n"
        "    ConnectionError, lambda exc: FailureAnalysis('the vault is down', 'start the vault')\n"
        ")\n"
        "@boot.gate()\n"
        "def tls_ok() -> GateResult:\n"
        "    raise ConnectionError('vault:8200 refused')\n"
    )
    code = main(["verify", f"{target}:boot", "--format", "json", "--log-format", "json"])
    document = json.loads(capsys.readouterr().out)
    assert code == 69
    assert document["gates"][0]["violations"][0] == "the vault is down"
    assert document["gates"][0]["action"].startswith("start the vault")


@pytest.mark.anyio
async def test_a_gate_is_judged_even_when_a_phase_it_does_not_need_fails_first() -> None:
    boot = Boot("unrelated")

    @boot.phase()
    async def secrets() -> str:
        raise ConnectionError("vault:8200 refused")

    @boot.gate()
    async def secrets_ok(secrets: str) -> GateResult:
        return GateResult(True)

    @boot.gate()
    async def slow_ok() -> GateResult:
        await anyio.sleep(0.01)  # still running when `secrets` has failed
        return GateResult(True)

    verification = await testing.verify_gates(boot)

    assert verification["slow_ok"].verdict == "passed"
    assert verification["secrets_ok"].blocked_by == ("secrets",)
    assert verification.diagnostic is not None
    assert verification.diagnostic.phase == "secrets"


@pytest.mark.anyio
async def test_a_phase_that_would_only_degrade_the_boot_does_not_fail_its_verification() -> None:
    boot = Boot("optional")

    @boot.phase(critical=False)
    async def metrics() -> str:
        raise ConnectionError("collector down")

    @boot.gate()
    async def metrics_ok(metrics: str) -> GateResult:
        return GateResult(True)

    verification = await testing.verify_gates(boot)

    assert verification["metrics_ok"].verdict == "blocked"
    assert verification["metrics_ok"].blocked_by == ("metrics",)
