"""The pytest plugin: a boot around a test, its events, a clean start and stop, on both backends."""

from __future__ import annotations

from importlib.metadata import entry_points

import pytest

pytest_plugins = ["pytester"]

CONFTEST = """
import pytest

@pytest.fixture(params=["asyncio", "trio"])
def anyio_backend(request):
    return request.param
"""

BOOTS = """
from orchestrator import Boot, GateResult

def shop(torn=None, fail_teardown=False):
    boot = Boot("shop")

    @boot.phase()
    async def settings():
        return {"dsn": "sqlite://"}

    @boot.phase()
    async def database(settings):
        yield f"db at {settings['dsn']}"
        if fail_teardown:
            raise RuntimeError("the pool would not close")
        if torn is not None:
            torn.append("database")

    @boot.gate()
    def schema_is_current(database) -> GateResult:
        return GateResult(True)

    @boot.phase(critical=False)
    async def cache(settings):
        return "cache"

    return boot
"""


@pytest.fixture
def project(pytester: pytest.Pytester) -> pytest.Pytester:
    pytester.makeconftest(CONFTEST)
    pytester.makepyfile(shop_boots=BOOTS)
    pytester.syspathinsert()
    return pytester


def run(pytester: pytest.Pytester, test: str) -> pytest.RunResult:
    pytester.makepyfile(test_inner=test)
    return pytester.runpytest("-p", "anyio", "-p", "no:cacheprovider")


def test_the_plugin_is_registered_through_the_pytest11_entry_point() -> None:
    plugins = {ep.name: ep.value for ep in entry_points(group="pytest11")}
    assert plugins["smd"] == "orchestrator.pytest_plugin"


def test_the_test_gets_the_running_boot_on_each_backend(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
import pytest, sniffio
from shop_boots import shop

@pytest.mark.anyio
@pytest.mark.smd_boot(shop())
async def test_it(smd_running, anyio_backend):
    assert smd_running.state.value == "ready"
    assert smd_running.resources["database"] == "db at sqlite://"
    assert sniffio.current_async_library() == anyio_backend
""",
    )
    result.assert_outcomes(passed=2)


def test_the_boot_is_stopped_after_the_test(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
import pytest
from shop_boots import shop

TORN = []
SEEN = []

@pytest.mark.anyio
@pytest.mark.smd_boot(shop(TORN))
async def test_it(smd_running):
    SEEN.append(len(TORN))

def test_after():
    assert SEEN == [0, 1]
    assert TORN == ["database", "database"]
""",
    )
    result.assert_outcomes(passed=3)


def test_a_boot_that_does_not_start_fails_the_test_with_its_diagnostic(
    project: pytest.Pytester,
) -> None:
    result = run(
        project,
        """
import pytest
from orchestrator.testing import Fault
from shop_boots import shop

@pytest.mark.anyio
@pytest.mark.smd_boot(shop(), faults=[Fault("database", error=ConnectionError("refused"))])
async def test_it(smd_running):
    raise AssertionError("never reached")
""",
    )
    result.assert_outcomes(failed=2)
    output = result.stdout.str()
    assert "boot 'shop' did not start" in output
    assert "phase 'database' failed" in output
    assert "ConnectionError: refused" in output
    assert "_scheduler.py" not in output
    assert "Traceback" not in output


def test_the_events_of_the_boot_are_captured(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
import pytest
from orchestrator import BootReady, PhaseCompleted
from shop_boots import shop

@pytest.mark.anyio
@pytest.mark.smd_boot(shop())
async def test_it(smd_running, smd_events):
    completed = [e.phase for e in smd_events if isinstance(e, PhaseCompleted)]
    assert sorted(completed) == ["cache", "database", "schema_is_current", "settings"]
    assert isinstance(smd_events[-1], BootReady)
""",
    )
    result.assert_outcomes(passed=2)


def test_overrides_come_from_an_smd_boot_fixture(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
import pytest
from shop_boots import shop

@pytest.fixture
def smd_boot():
    return shop().override(database="in-memory")

@pytest.mark.anyio
async def test_it(smd_running):
    assert smd_running.resources["database"] == "in-memory"
    assert [o.phase for o in smd_running.report.overrides] == ["database"]
""",
    )
    result.assert_outcomes(passed=2)


def test_the_marker_gives_faults_to_the_boot_an_smd_boot_fixture_builds(
    project: pytest.Pytester,
) -> None:
    result = run(
        project,
        """
import pytest
from orchestrator.testing import Fault
from shop_boots import shop

@pytest.fixture
def smd_boot():
    return shop().override(settings={"dsn": "memory://"})

@pytest.mark.anyio
@pytest.mark.smd_boot(faults=[Fault("database", error=ConnectionError("refused"))])
async def test_it(smd_running):
    raise AssertionError("never reached")
""",
    )
    result.assert_outcomes(failed=2)
    assert "ConnectionError: refused" in result.stdout.str()


def test_a_boot_that_fails_in_service_interrupts_the_test_and_fails_it_with_its_diagnostic(
    project: pytest.Pytester,
) -> None:
    result = run(
        project,
        """
import anyio
import pytest
from orchestrator import Boot

def pumping():
    boot = Boot("pumping")

    @boot.service()
    async def pump(ctx):
        ctx.started("pump")
        raise RuntimeError("the pump broke")

    return boot

@pytest.mark.anyio
@pytest.mark.smd_boot(pumping())
async def test_it(smd_running):
    await anyio.sleep_forever()
""",
    )
    result.assert_outcomes(failed=2)
    failures = [r for r in result.reprec.getreports("pytest_runtest_logreport") if r.failed]
    assert [r.when for r in failures] == ["call", "call"]
    assert all(
        str(r.longrepr).startswith("boot 'pumping' failed in service while the test ran")
        for r in failures
    )
    output = result.stdout.str()
    assert "RuntimeError: the pump broke" in output
    assert "Cancelled" not in output
    assert "ClosedResourceError" not in output


def test_a_teardown_that_fails_fails_the_test(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
import pytest
from shop_boots import shop

@pytest.mark.anyio
@pytest.mark.smd_boot(shop(fail_teardown=True))
async def test_it(smd_running):
    pass
""",
    )
    result.assert_outcomes(failed=2)
    assert "did not stop cleanly" in result.stdout.str()
    assert "RuntimeError: the pool would not close" in result.stdout.str()


def test_a_teardown_that_fails_is_one_failure_with_the_teardown_error_as_its_message(
    project: pytest.Pytester,
) -> None:
    result = run(
        project,
        """
import pytest
from shop_boots import shop

@pytest.mark.anyio
@pytest.mark.smd_boot(shop(fail_teardown=True))
async def test_it(smd_running):
    pass
""",
    )
    failures = [r for r in result.reprec.getreports("pytest_runtest_logreport") if r.failed]
    assert [(r.when, r.passed) for r in failures] == [("call", False), ("call", False)]
    passed_calls = [
        r
        for r in result.reprec.getreports("pytest_runtest_logreport")
        if r.when == "call" and r.passed
    ]
    assert passed_calls == []
    assert all(str(r.longrepr).startswith("boot 'shop' did not stop cleanly") for r in failures)
    assert "Traceback" not in result.stdout.str()


def test_a_test_that_fails_and_a_teardown_that_fails_are_one_failure_naming_both(
    project: pytest.Pytester,
) -> None:
    result = run(
        project,
        """
import pytest
from shop_boots import shop

@pytest.mark.anyio
@pytest.mark.smd_boot(shop(fail_teardown=True))
async def test_it(smd_running):
    assert 1 == 2, "the test's own failure"
""",
    )
    result.assert_outcomes(failed=2)
    failures = [r for r in result.reprec.getreports("pytest_runtest_logreport") if r.failed]
    assert [r.when for r in failures] == ["call", "call"]
    text = result.stdout.str()
    assert "the test's own failure" in text
    assert "RuntimeError: the pool would not close" in text


def test_a_degraded_start_fails_unless_the_marker_allows_it(project: pytest.Pytester) -> None:
    result = run(
        project,
        """
import pytest
from orchestrator.testing import Fault
from shop_boots import shop

CACHE_DOWN = [Fault("cache", error=ConnectionError("cache down"))]

@pytest.mark.anyio
@pytest.mark.smd_boot(shop(), faults=CACHE_DOWN)
async def test_strict(smd_running):
    pass

@pytest.mark.anyio
@pytest.mark.smd_boot(shop(), faults=CACHE_DOWN, allow_degraded=True)
async def test_lenient(smd_running):
    assert smd_running.state.value == "degraded"
""",
    )
    result.assert_outcomes(passed=2, failed=2)
    assert "started degraded, not ready" in result.stdout.str()


def test_asking_for_the_running_boot_without_a_boot_is_a_usage_error(
    project: pytest.Pytester,
) -> None:
    result = run(
        project,
        """
import pytest

@pytest.mark.anyio
async def test_it(smd_running):
    pass
""",
    )
    assert result.ret != 0
    assert "mark the test @pytest.mark.smd_boot(boot)" in result.stdout.str() + result.stderr.str()
