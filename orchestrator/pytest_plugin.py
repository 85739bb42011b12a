"""The pytest plugin: boot a `Boot` around a test, hand it the running boot, check its life.

Registered through the `pytest11` entry point, so installing smd is enough.
It adds nothing to a test that does not ask for its fixtures.

- marker `smd_boot(boot, *, faults=(), allow_degraded=False, **start_options)`:
  which boot a test (or a module, through `pytestmark`) runs, and how;
- fixture `smd_boot`: that `Boot` (override it to build one, with overrides);
- fixture `smd_running`: the running boot, on the test's anyio backend; it
  requires a clean start (READY) before the test and a clean stop after it,
  and a boot that fails fails the test with its diagnostic as the message;
- fixture `smd_events`: every event of that boot, in order.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from typing import Any

import pytest
from _pytest._code.code import ExceptionRepr
from _pytest.runner import runtestprotocol

from ._boot import Boot
from ._model._events import Event
from ._runtime._running import RunningBoot
from .testing import BootTestFailure, booted

MARKER = "smd_boot"


def pytest_configure(config: pytest.Config) -> None:
    """Declare the marker, so `--strict-markers` accepts it."""
    config.addinivalue_line(
        "markers",
        f"{MARKER}(boot, *, faults=(), allow_degraded=False, **start_options): the Boot "
        "that the smd_running fixture starts around the test, its faults and start options",
    )


@pytest.fixture
def smd_boot(request: pytest.FixtureRequest) -> Boot:
    """The boot under test: the `smd_boot` marker's (override this fixture to build one)."""
    marker = request.node.get_closest_marker(MARKER)
    boot = marker.args[0] if marker is not None and marker.args else None
    if not isinstance(boot, Boot):
        raise pytest.UsageError(
            f"{request.node.nodeid}: smd_running needs a Boot: mark the test "
            f"@pytest.mark.{MARKER}(boot) or define a fixture named smd_boot that returns one"
        )
    return boot


@pytest.fixture
def smd_events() -> list[Event]:
    """Every event of the boot `smd_running` starts, in the order they happened."""
    return []


@pytest.fixture
async def smd_running(
    smd_boot: Boot,
    smd_events: list[Event],
    request: pytest.FixtureRequest,
    anyio_backend: Any,
) -> AsyncIterator[RunningBoot]:
    """The running boot, started before the test and stopped after it, both cleanly.

    Runs on the test's anyio backend (`anyio_backend`).
    """
    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    async with booted(smd_boot, sinks=[smd_events.append], **options) as running:
        yield running


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> bool | None:
    """Run a test that boots; a boot that did not stop cleanly makes its call one failure.

    The boot stops in the fixture's teardown, after pytest has judged the
    test's call: left alone, the test would be reported passed and then
    failed. Its reports are held back until the teardown, and a stop that
    failed is folded into the call's report (beside the test's own failure,
    if it had one).
    """
    if "smd_running" not in getattr(item, "fixturenames", ()):
        return None
    hook = item.ihook
    hook.pytest_runtest_logstart(nodeid=item.nodeid, location=item.location)
    reports = runtestprotocol(item, nextitem=nextitem, log=False)
    _fold_stop_into_call(reports)
    for report in reports:
        hook.pytest_runtest_logreport(report=report)
    hook.pytest_runtest_logfinish(nodeid=item.nodeid, location=item.location)
    return True


def _fold_stop_into_call(reports: list[pytest.TestReport]) -> None:
    call = next((r for r in reports if r.when == "call"), None)
    stop = next((r for r in reports if r.when == "teardown"), None)
    if call is None or stop is None or ("smd_boot_failed", True) not in stop.user_properties:
        return
    message = str(stop.longrepr)
    if call.failed and isinstance(call.longrepr, ExceptionRepr):
        call.longrepr.addsection("smd: the boot did not stop cleanly either", message)
    elif call.failed:
        call.longrepr = f"{call.longrepr}\n\n{message}"
    else:
        call.outcome = "failed"
        call.longrepr = message
    stop.outcome = "passed"
    stop.longrepr = None
    stop.user_properties.remove(("smd_boot_failed", True))


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A boot that did not start or stop cleanly fails the test with its diagnostic alone."""
    report = yield
    if call.excinfo is not None and call.excinfo.errisinstance(BootTestFailure):
        report.longrepr = str(call.excinfo.value)
        if report.when != "call":
            report.user_properties.append(("smd_boot_failed", True))
    return report


def pytest_report_teststatus(
    report: pytest.TestReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    """Count a boot that failed in the fixture as a failed test, not as an error in setup."""
    if report.failed and ("smd_boot_failed", True) in report.user_properties:
        return "failed", "F", "FAILED"
    return None
