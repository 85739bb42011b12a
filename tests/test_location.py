"""Where a failure was raised, or where a timed-out phase was stuck, in the user's own code."""

from __future__ import annotations

import json
import signal
import threading
import traceback

import anyio
import anyio.lowlevel
import pytest

from orchestrator import Boot, BootAborted, BootInterrupt, Diagnostic
from orchestrator._model._frames import Frame, is_user_file, raised_frames, user_frames

pytestmark = pytest.mark.anyio

HERE = __file__


def line_of(marker: str) -> int:
    """The line of this file that holds `marker` in a comment."""
    with open(HERE) as source:
        for number, text in enumerate(source, start=1):
            if f"# {marker}" in text and "line_of" not in text:
                return number
    raise AssertionError(marker)


def connect(dsn: str) -> None:
    raise ConnectionError(f"cannot reach {dsn}")  # raise-in-connect


async def aborted(boot: Boot, **options: object) -> BootAborted:
    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[], **options)  # type: ignore[arg-type]
    return caught.value


async def test_async_phase_failure_is_located_in_the_users_code() -> None:
    boot = Boot("located")

    @boot.phase()
    async def database() -> None:
        connect("postgres://app:hunter2@db/app")  # call-from-async

    diagnostic = (await aborted(boot)).diagnostic
    assert diagnostic.location == f"{HERE}:{line_of('raise-in-connect')} in connect"
    assert [frame.function for frame in diagnostic.traceback] == ["database", "connect"]
    assert diagnostic.traceback[0].line == line_of("call-from-async")


async def test_sync_phase_failure_is_located_in_the_users_code() -> None:
    boot = Boot("located-sync")

    @boot.phase()
    def database() -> None:
        connect("db")  # call-from-sync

    diagnostic = (await aborted(boot)).diagnostic
    assert [str(frame) for frame in diagnostic.traceback] == [
        f"{HERE}:{line_of('call-from-sync')} in database",
        f"{HERE}:{line_of('raise-in-connect')} in connect",
    ]


async def test_generator_phase_failure_is_located_in_the_users_code() -> None:
    boot = Boot("located-generator")

    @boot.phase()
    async def database():  # type: ignore[no-untyped-def]
        connect("db")  # call-from-generator
        yield "db"

    diagnostic = (await aborted(boot)).diagnostic
    assert diagnostic.traceback[0] == Frame(HERE, line_of("call-from-generator"), "database")


async def test_component_object_failure_is_located_in_its_start() -> None:
    class Cache:
        async def start(self) -> None:
            connect("redis://cache")  # call-from-component

    boot = Boot("located-component")
    boot.add(Cache(), name="cache")
    diagnostic = (await aborted(boot)).diagnostic
    assert diagnostic.traceback[0] == Frame(HERE, line_of("call-from-component"), "start")


async def test_no_frame_of_smd_or_its_dependencies_is_shown() -> None:
    boot = Boot("only-user-frames")

    @boot.phase()
    async def database() -> None:
        await anyio.lowlevel.checkpoint()
        connect("db")

    frames = (await aborted(boot)).diagnostic.traceback
    assert frames
    assert all(frame.file == HERE for frame in frames)


async def test_boot_aborted_is_caused_by_the_original_exception() -> None:
    boot = Boot("chained")
    error = ConnectionError("refused")

    @boot.phase()
    async def database() -> None:
        raise error

    assert (await aborted(boot)).__cause__ is error


async def test_an_interrupted_boot_has_no_cause_and_no_location() -> None:
    boot = Boot("interrupted")
    interrupt = BootInterrupt()

    @boot.phase()
    async def warmup() -> None:
        interrupt.trigger(signal.SIGTERM)
        await anyio.sleep_forever()

    caught = await aborted(boot, interrupt=interrupt)
    assert caught.__cause__ is None
    assert (caught.diagnostic.phase, caught.diagnostic.location) == (None, None)


async def test_an_interrupted_boot_says_what_was_running() -> None:
    boot = Boot("interrupted-while")
    interrupt = BootInterrupt()

    @boot.phase()
    async def warmup() -> None:
        interrupt.trigger(signal.SIGINT)
        await anyio.sleep_forever()

    diagnostic = (await aborted(boot, interrupt=interrupt)).diagnostic
    assert diagnostic.summary == (
        "the boot was interrupted by SIGINT before it was ready, while 'warmup' was running"
    )


async def test_timed_out_async_phase_is_located_where_it_waited() -> None:
    boot = Boot("stuck-async")

    @boot.phase(timeout=0.05)
    async def database() -> None:
        await anyio.sleep_forever()  # waiting-async

    diagnostic = (await aborted(boot)).diagnostic
    assert diagnostic.kind == "timed_out"
    assert diagnostic.location == f"{HERE}:{line_of('waiting-async')} in database"
    assert f"it was waiting at {diagnostic.location} when it was cancelled" in diagnostic.details
    assert "Waiting at:  " in str(diagnostic)


async def test_timed_out_sync_phase_is_located_where_its_thread_was_stuck() -> None:
    boot = Boot("stuck-sync")
    release = threading.Event()

    @boot.phase(timeout=0.05)
    def database() -> None:
        release.wait()  # waiting-sync

    try:
        diagnostic = (await aborted(boot)).diagnostic
    finally:
        release.set()
    assert diagnostic.location == f"{HERE}:{line_of('waiting-sync')} in database"


async def test_location_and_traceback_are_in_the_json_and_read_back() -> None:
    boot = Boot("json-location")

    @boot.phase()
    async def database() -> None:
        connect("db")

    diagnostic = (await aborted(boot)).diagnostic
    data = json.loads(diagnostic.to_json())
    assert data["location"] == diagnostic.location
    assert data["traceback"][-1] == {
        "file": HERE,
        "line": line_of("raise-in-connect"),
        "function": "connect",
    }
    assert Diagnostic.from_dict(data) == diagnostic


def test_a_diagnostic_written_before_location_existed_is_read() -> None:
    data = json.loads(
        Diagnostic(boot="b", fingerprint="f", kind="phase_failed", phase="p", summary="s").to_json()
    )
    del data["location"], data["traceback"]
    diagnostic = Diagnostic.from_dict(data)
    assert (diagnostic.location, diagnostic.traceback) == (None, ())


def test_human_block_shows_the_location_and_the_users_frames() -> None:
    frames = (Frame("app/boot.py", 10, "database"), Frame("app/db.py", 42, "connect"))
    diagnostic = Diagnostic(
        boot="b",
        fingerprint="f",
        kind="phase_failed",
        phase="database",
        summary="phase 'database' failed",
        location=str(frames[-1]),
        traceback=frames,
    )
    text = str(diagnostic)
    assert "Location:    app/db.py:42 in connect" in text
    assert "Location:    app/db.py:42 in connect\n  called from app/boot.py:10 in database" in text


def test_frame_text_is_masked() -> None:
    summary = traceback.FrameSummary("/srv/password=hunter2/app.py", 3, "connect", line="")
    assert "hunter2" not in str(user_frames([summary])[0])


def test_standard_library_frames_are_not_the_users() -> None:
    assert not is_user_file(json.__file__)
    assert not is_user_file(anyio.__file__)
    assert not is_user_file("<frozen importlib._bootstrap>")
    assert is_user_file(HERE)


def test_an_exception_raised_inside_the_standard_library_is_located_at_the_users_call() -> None:
    try:
        json.loads("{")  # call-into-stdlib
    except ValueError as exc:
        frames = raised_frames(exc)
    assert frames[-1] == Frame(
        HERE,
        line_of("call-into-stdlib"),
        "test_an_exception_raised_inside_the_standard_library_is_located_at_the_users_call",
    )
