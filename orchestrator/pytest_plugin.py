"""The pytest plugin: boot a `Boot` around a test, hand it the running boot, check its life.

Registered through the `pytest11` entry point, so installing smd is enough.
It adds nothing to a test that does not ask for its fixtures.

- marker `smd_boot(boot, *, faults=(), allow_degraded=False, **start_options)`:
  which boot a test (or a module, through `pytestmark`) runs, and how;
- fixture `smd_boot`: that `Boot` (override it to build one, with overrides);
- fixture `smd_running`: the running boot, on the test's anyio backend; it
  requires a clean start (READY) before the test and a clean stop after it,
  and a boot that fails (at start, in service while the test runs, or at its
  stop) fails the test, once, with its diagnostic as the message;
- fixture `smd_events`: every event of that boot, in order.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Generator
from typing import Any

import anyio
import pytest
from _pytest._code.code import ExceptionRepr
from _pytest.runner import runtestprotocol
from anyio.abc import TaskStatus

from ._boot import Boot
from ._model._errors import BootAborted
from ._model._events import Event, EventSink
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

    Runs on the test's anyio backend (`anyio_backend`). The boot lives in a
    task of its own beside the test: a boot that fails in service interrupts
    the test and fails it with its diagnostic.
    """
    marker = request.node.get_closest_marker(MARKER)
    options: dict[str, Any] = dict(marker.kwargs) if marker is not None else {}
    host = _BootHost(smd_boot, [smd_events.append, *options.pop("sinks", ())], options)
    async with anyio.create_task_group() as group:  # its one task never raises
        running = await group.start(host.run)
        if running is not None:
            request.node.stash[_HOST] = host
            yield running
            host.test_ended.set()
    if host.failure is not None:  # raised outside the group: not wrapped in a group
        raise host.failure


class _BootHost:
    """Runs one boot in its own task, from its start until the test has ended."""

    def __init__(self, boot: Boot, sinks: list[EventSink], options: dict[str, Any]) -> None:
        self.boot = boot
        self.sinks = sinks
        self.options = options
        self.test_ended = anyio.Event()
        self.failure: BootTestFailure | None = None
        self.test_scope: anyio.CancelScope | None = None

    async def run(self, *, task_status: TaskStatus[RunningBoot | None]) -> None:
        started = False
        try:
            async with booted(self.boot, sinks=self.sinks, **self.options) as running:
                started = True
                task_status.started(running)
                await self.test_ended.wait()  # cancelled by a stop request
        except BootTestFailure as failure:
            self.failure = failure
        except BootAborted as aborted:  # failed in service while the test ran
            self.failure = BootTestFailure(
                f"boot '{self.boot.name}' failed in service while the test ran:\n"
                f"{aborted.diagnostic}",
                diagnostic=aborted.diagnostic,
                report=aborted.report,
            )
            if self.test_scope is not None:
                self.test_scope.cancel()
        if not started:
            task_status.started(None)


_HOST = pytest.StashKey[_BootHost]()


@pytest.hookimpl(wrapper=True)
def pytest_pyfunc_call(pyfuncitem: pytest.Function) -> Generator[None, object, object]:
    """Run a test that boots in a cancel scope its boot cancels when it fails in service."""
    host = pyfuncitem.stash.get(_HOST, None)
    test = pyfuncitem.obj
    if host is None or not inspect.iscoroutinefunction(test):
        return (yield)

    @functools.wraps(test)
    async def interruptible(*args: Any, **kwargs: Any) -> None:
        with anyio.CancelScope() as scope:
            host.test_scope = scope
            if host.failure is not None:
                scope.cancel()
            await test(*args, **kwargs)
        host.test_scope = None

    pyfuncitem.obj = interruptible
    try:
        return (yield)
    finally:
        pyfuncitem.obj = test


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
    report: pytest.TestReport | pytest.CollectReport, config: pytest.Config
) -> tuple[str, str, str] | None:
    """Count a boot that failed in the fixture as a failed test, not as an error in setup.

    A collection report (a test file that cannot be imported) has no user properties.
    """
    properties = getattr(report, "user_properties", ())
    if report.failed and ("smd_boot_failed", True) in properties:
        return "failed", "F", "FAILED"
    return None
