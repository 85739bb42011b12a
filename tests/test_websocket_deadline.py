"""complete_within: a bound on every wait of an awaitable, free when it never waits."""

from __future__ import annotations

from collections.abc import Generator
from typing import Any

import anyio
import anyio.lowlevel
import pytest

from phases.websocket._deadline import complete_within

pytestmark = pytest.mark.anyio


async def answer_at_once() -> str:
    return "sent"


async def answer_after_waits(waits: int) -> str:
    for _ in range(waits):
        await anyio.lowlevel.checkpoint()
    return "sent"


async def fail_after_a_wait() -> None:
    await anyio.lowlevel.checkpoint()
    raise ConnectionResetError("client went away")


async def hang() -> None:
    await anyio.sleep_forever()


async def hang_inside_own_scope() -> None:
    with anyio.CancelScope():
        await anyio.sleep_forever()


async def hang_inside_own_task_group() -> None:
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(anyio.sleep_forever)
        await anyio.sleep_forever()


class FutureLike:
    """An awaitable that is not a coroutine, like an asyncio Future."""

    def __await__(self) -> Generator[Any, Any, str]:
        yield from answer_after_waits(1).__await__()
        return "sent"


async def test_an_await_that_never_waits_returns_its_value() -> None:
    assert await complete_within(answer_at_once(), 1) == "sent"


async def test_an_await_that_never_waits_is_not_even_a_checkpoint() -> None:
    with anyio.CancelScope() as outer:
        outer.cancel()
        assert await complete_within(answer_at_once(), 1) == "sent"
    assert not outer.cancelled_caught


async def test_an_await_that_waits_returns_its_value() -> None:
    assert await complete_within(answer_after_waits(3), 10) == "sent"


async def test_an_awaitable_that_is_not_a_coroutine_is_bounded_too() -> None:
    assert await complete_within(FutureLike(), 10) == "sent"


async def test_an_error_after_a_wait_passes_through_unchanged() -> None:
    with pytest.raises(ConnectionResetError, match="client went away"):
        await complete_within(fail_after_a_wait(), 10)


async def test_a_hanging_await_times_out() -> None:
    with pytest.raises(TimeoutError, match=r"still waiting after 0\.05 s"):
        await complete_within(hang(), 0.05)


@pytest.mark.parametrize("hanging", [hang_inside_own_scope, hang_inside_own_task_group])
async def test_a_hang_inside_the_awaitables_own_scope_times_out_and_scopes_stay_nested(
    hanging: Any,
) -> None:
    with pytest.raises(TimeoutError):
        await complete_within(hanging(), 0.05)
    await anyio.lowlevel.checkpoint()  # the task's scopes are intact: it still runs


async def test_the_awaitable_runs_its_cleanup_when_it_times_out() -> None:
    cleaned: list[str] = []

    async def send() -> None:
        try:
            await anyio.sleep_forever()
        finally:
            cleaned.append("closed")

    with pytest.raises(TimeoutError):
        await complete_within(send(), 0.05)
    assert cleaned == ["closed"]


async def test_an_await_that_absorbs_its_timeout_still_counts_as_timed_out() -> None:
    async def send() -> str:
        try:
            await anyio.sleep_forever()
        except anyio.get_cancelled_exc_class():
            return "gave up quietly"  # a careless send swallows its cancellation
        return "unreachable"

    with pytest.raises(TimeoutError):
        await complete_within(send(), 0.05)


async def test_an_outer_cancellation_passes_through_as_a_cancellation() -> None:
    with anyio.CancelScope() as outer:
        outer.cancel()
        await complete_within(hang(), 10)
    assert outer.cancelled_caught


async def test_nested_bounds_the_inner_shorter_times_out_inside() -> None:
    async def deliver() -> str:
        try:
            await complete_within(hang(), 0.05)
        except TimeoutError:
            return "inner timed out"
        return "delivered"

    assert await complete_within(deliver(), 10) == "inner timed out"


async def test_nested_bounds_the_outer_shorter_times_out_outside() -> None:
    async def deliver() -> None:
        await complete_within(hang(), 10)

    with pytest.raises(TimeoutError, match=r"after 0\.05 s"):
        await complete_within(deliver(), 0.05)
