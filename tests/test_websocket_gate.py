"""The factory gate as a whole: a seeded, replayable probe; the seed system's synchronous
check; refusals that hostile factory code cannot turn into crashes; the manager shapes the
interface check admits."""

from __future__ import annotations

import asyncio
import functools
import random
import re
import time
from typing import Any
from unittest.mock import Mock

import anyio
import pytest
import websocket_catalogue as catalogue

from orchestrator import Boot, BootAborted
from phases.websocket import (
    StandardizedWebSocketManagerFactory,
    WebSocketManagerFactoryValidator,
    websocket_phases,
)
from phases.websocket._conformance import check_manager_interface, manager_interface_violations
from phases.websocket._probe import neutralise
from phases.websocket._scenario import MIN_USERS, plan_users

FAST = 0.5


async def validate(factory: object, **options: Any) -> Any:
    return await WebSocketManagerFactoryValidator.validate_factory(
        factory, call_timeout=FAST, **options
    )


# --- the seed -------------------------------------------------------------------------------


def test_every_cast_has_at_least_sixteen_users_and_their_number_follows_the_seed() -> None:
    counts = {len(plan_users(random.Random(seed))) for seed in range(40)}
    assert min(counts) >= MIN_USERS
    assert len(counts) > 1


def test_the_same_seed_draws_the_same_cast() -> None:
    first, again = plan_users(random.Random(7)), plan_users(random.Random(7))
    assert [u.context.user_id for u in first] == [u.context.user_id for u in again]


def test_the_cast_holds_the_id_collisions_real_systems_make() -> None:
    users = plan_users(random.Random(3))
    ids = [user.context.user_id for user in users]
    threads = [user.context.thread_id for user in users]
    assert any(a != b and a.casefold() == b.casefold() for a in ids for b in ids)
    assert any(a != b and a.split(":")[-1] == b.split(":")[-1] for a in ids for b in ids)
    assert len(set(threads)) < len(threads)
    assert sum("ws-1" in user.connection_ids for user in users) > 1
    assert any(user.late for user in users)


@pytest.mark.anyio
async def test_a_refusal_names_its_seed_and_the_seed_replays_it() -> None:
    entry = catalogue.BY_NAME["scale-PoolOfEightFactory"]
    result = await validate(entry.make(), seed=4242)
    assert result.probe_seed == 4242
    assert "SMD_GATE_SEED=4242" in result.actions[0]
    assert "validate_factory(factory, seed=4242)" in result.actions[0]
    replay = await validate(entry.make(), seed=4242)
    assert replay.validation_errors == result.validation_errors


@pytest.mark.anyio
async def test_the_seed_can_be_set_through_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("SMD_GATE_SEED", "99")
    result = await validate(catalogue.PoolOfEightFactory())
    assert result.probe_seed == 99


@pytest.mark.anyio
async def test_a_seed_that_is_not_an_integer_is_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SMD_GATE_SEED", "lucky")
    with pytest.raises(ValueError, match="SMD_GATE_SEED='lucky' is not an integer seed"):
        await validate(StandardizedWebSocketManagerFactory())


@pytest.mark.anyio
async def test_a_negative_seed_is_refused() -> None:
    with pytest.raises(ValueError, match="seed must not be negative"):
        await validate(StandardizedWebSocketManagerFactory(), seed=-1)


@pytest.mark.anyio
async def test_a_passing_factory_passes_whatever_the_seed() -> None:
    for seed in range(6):
        result = await validate(StandardizedWebSocketManagerFactory(), seed=seed)
        assert result.is_valid, (seed, result.validation_errors)
        assert result.probe_seed == seed


# --- lines ----------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_a_blocking_create_manager_is_refused_with_the_time_it_blocked() -> None:
    result = await validate(catalogue.LoopSleepingFactory(), seed=1)
    (line,) = result.validation_errors
    assert re.fullmatch(
        r"create_manager: blocked the event loop for 0\.\d\ds creating user [A-Z]'s manager", line
    )


@pytest.mark.anyio
async def test_one_slow_create_manager_is_a_hiccup_not_a_refusal() -> None:
    class OneHiccup(catalogue.Factory):
        """Slow once, as when the host pauses the process; fast otherwise."""

        def make(self, context: Any, mode: Any) -> Any:
            if self.created == 2:
                time.sleep(0.1)
            return super().make(context, mode)

    result = await validate(OneHiccup(), seed=1)
    assert result.is_valid, result.validation_errors


@pytest.mark.anyio
async def test_a_shared_emergency_manager_is_refused_naming_the_mode_and_the_two_users() -> None:
    result = await validate(catalogue.SharedEmergencyFactory(), seed=1)
    (line,) = result.validation_errors
    assert line.startswith("create_manager(mode=EMERGENCY): users ")
    assert line.endswith(" received the same manager instance")


@pytest.mark.anyio
async def test_a_leak_names_the_method_and_the_two_users() -> None:
    factory = catalogue.BY_NAME["ids-TenantStrippingManagerFactory"].make()
    result = await validate(factory, seed=1)
    line = result.validation_errors[0]
    assert line.startswith("isolation: user ")
    assert "'s manager delivered to user " in line
    assert "send_to_user(user " in line


@pytest.mark.anyio
async def test_terminal_escapes_from_the_factory_are_neutralised() -> None:
    result = await validate(catalogue.EscapeRaisingFactory(), seed=1)
    (line,) = result.validation_errors
    assert "\x1b" not in line
    assert "\x07" not in line
    assert "\\x1b[2J" in line


def test_neutralise_shows_control_characters_and_bidi_overrides_as_escapes() -> None:
    assert neutralise("ok\x1b[31m\u202e\n") == "ok\\x1b[31m\\u202e\\n"
    assert neutralise("plain text") == "plain text"


# --- a validator that cannot be knocked over ------------------------------------------------


@pytest.mark.anyio
@pytest.mark.parametrize(
    "error",
    [asyncio.CancelledError, SystemExit, GeneratorExit, KeyboardInterrupt],
    ids=lambda error: error.__name__,
)
async def test_any_exception_from_the_factory_is_a_refusal_with_exit_78(
    error: type[BaseException],
) -> None:
    class Hostile(catalogue.Factory):
        def make(self, context: Any, mode: Any) -> Any:
            raise error

    boot = Boot("hostile")
    boot.include(websocket_phases(Hostile(), call_timeout=FAST))
    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    diagnostic = caught.value.diagnostic
    assert (diagnostic.kind, diagnostic.exit_code) == ("gate_failed", 78)
    assert diagnostic.details[0].startswith(f"create_manager: raised {error.__name__}")


@pytest.mark.anyio
async def test_a_real_cancellation_of_the_gate_still_cancels_it() -> None:
    class Slow(catalogue.Manager):
        async def add_connection(self, connection: Any) -> None:
            await anyio.sleep_forever()

    factory = catalogue._with_manager(Slow, "Slow")()
    with anyio.move_on_after(0.05) as scope:
        await WebSocketManagerFactoryValidator.validate_factory(factory, call_timeout=5)
    assert scope.cancelled_caught


# --- the seed system's synchronous check ----------------------------------------------------


def test_the_synchronous_check_answers_in_the_seed_systems_dict() -> None:
    verdict = WebSocketManagerFactoryValidator.validate_factory_compliance(
        StandardizedWebSocketManagerFactory()
    )
    assert verdict == {
        "compliant": True,
        "factory_type": "phases.websocket._factory.StandardizedWebSocketManagerFactory",
        "missing_methods": [],
        "violations": [],
    }


def test_the_synchronous_check_refuses_a_mock_the_seed_system_accepted() -> None:
    verdict = WebSocketManagerFactoryValidator.validate_factory_compliance(Mock(), seed=1)
    assert verdict["compliant"] is False
    assert (
        "create_manager: users A and B received the same manager instance"
        in (verdict["violations"])
    )


def test_the_synchronous_check_lists_missing_methods() -> None:
    verdict = WebSocketManagerFactoryValidator.validate_factory_compliance(object())
    assert verdict["missing_methods"] == [
        "create_manager",
        "supports_user_isolation",
        "validate_manager_instance",
    ]


def test_the_synchronous_check_runs_the_same_probe_as_the_async_one() -> None:
    factory = catalogue.BY_NAME["ids-CaseFoldingManagerFactory"].make
    verdict = WebSocketManagerFactoryValidator.validate_factory_compliance(factory(), seed=8)
    result = anyio.run(functools.partial(validate, factory(), seed=8))
    assert verdict["violations"] == list(result.validation_errors)


@pytest.mark.anyio
async def test_the_synchronous_check_refuses_to_run_inside_an_event_loop() -> None:
    with pytest.raises(
        RuntimeError, match=re.escape("await WebSocketManagerFactoryValidator.validate_factory(")
    ):
        WebSocketManagerFactoryValidator.validate_factory_compliance(
            StandardizedWebSocketManagerFactory()
        )


# --- the interface check the bridge admits managers with ------------------------------------


@pytest.mark.parametrize(
    "manager_class",
    [
        catalogue.UnifiedEmitManager,
        catalogue.DelegatingManager,
        catalogue.DecoratedManager,
        catalogue.TextPayloadManager,
    ],
)
def test_the_interface_check_admits_the_shapes_correct_managers_take(manager_class: type) -> None:
    manager = manager_class("user-1", catalogue.Factory(), catalogue.UNIFIED)
    assert check_manager_interface(manager) == []


def test_the_interface_check_refuses_an_async_method_hidden_behind_a_plain_wrapper() -> None:
    manager = catalogue.UndeclaredAsyncManager("user-1", catalogue.Factory(), catalogue.UNIFIED)
    assert manager_interface_violations(manager) == (
        "manager.send_to_user: is a plain method; the protocol requires async def",
    )


def test_the_interface_check_verdict_is_the_same_every_time() -> None:
    assert manager_interface_violations(Mock()) == manager_interface_violations(Mock())


@pytest.mark.anyio
async def test_connections_reported_as_a_mapping_of_id_to_details_are_accepted() -> None:
    class DetailedManager(catalogue.Manager):
        def get_user_connections(self, user_id: str) -> dict[str, Any]:  # type: ignore[override]
            own = user_id == self.user_id
            return {key: {"thread": c.thread_id} for key, c in self._connections.items() if own}

    result = await validate(catalogue._with_manager(DetailedManager, "Detailed")(), seed=2)
    assert result.is_valid, result.validation_errors
