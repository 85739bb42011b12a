"""Every check of the factory gate is needed: disabled in turn, a catalogue factory then passes.

A check that no factory of the catalogue needs could be deleted without anyone
noticing; each row below names the factory only that check refuses.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import websocket_catalogue as catalogue

from phases.websocket import (
    WebSocketManagerFactoryValidator,
    _audit,
    _ledger,
    _queries,
    _scenario,
    _traffic,
)

pytestmark = pytest.mark.anyio

SEED = 11


async def _nothing(*args: object, **kwargs: object) -> None:
    return None


async def _yes(*args: object, **kwargs: object) -> bool:
    return True


_THREAD_ONLY = _audit.FactoryAudit._create_manager


async def _create_in_a_thread(
    self: Any, context: Any, *, on_loop: bool = False, **options: Any
) -> Any:
    return await _THREAD_ONLY(self, context, on_loop=False, **options)


_ALL_FACTORY_METHODS = {"create_manager", "validate_manager_instance", "supports_user_isolation"}

# check -> (what is disabled: (owner, attribute, replacement)..., the factory only it refuses)
CHECKS: dict[str, tuple[tuple[tuple[Any, str, object], ...], Callable[[], object]]] = {
    "factory methods and signatures": (
        ((_audit.FactoryAudit, "_check_factory_methods", lambda self: _ALL_FACTORY_METHODS),),
        catalogue.NoKwargsFactory,
    ),
    "isolation claim": (
        ((_audit.FactoryAudit, "_check_isolation_claim", _nothing),),
        catalogue.IsolationDenyingFactory,
    ),
    "missing user context": (
        ((_audit.FactoryAudit, "_check_missing_context", _yes),),
        catalogue.ContextlessFactory,
    ),
    "create_manager blocking": (
        ((_audit.FactoryAudit, "_blocked", lambda self, *args, **kwargs: False),),
        catalogue.SleepingFactory,
    ),
    "create_manager on the event loop": (
        ((_audit.FactoryAudit, "_create_manager", _create_in_a_thread),),
        catalogue.LoopSleepingFactory,
    ),
    "every mode": (((_scenario, "_MODE_USERS", ()),), catalogue.SharedEmergencyFactory),
    "manager protocol": (
        ((_audit.FactoryAudit, "_check_interfaces", lambda self, users: True),),
        catalogue.BY_NAME["interface-UndeclaredAsyncManagerFactory"].make,
    ),
    "the factory's own verdicts": (
        ((_audit.FactoryAudit, "_check_self_validation", _nothing),),
        catalogue.AlwaysValidFactory,
    ),
    "messages reaching another user": (
        ((_ledger.Ledger, "_check_leaks", lambda self, users: False),),
        catalogue.BY_NAME["ids-CaseFoldingManagerFactory"].make,
    ),
    "sockets closed by another user's manager": (
        ((_ledger.Ledger, "_check_closes", lambda self, users: None),),
        catalogue.BY_NAME["removal-ClosingRemovalManagerFactory"].make,
    ),
    "mail for another user kept": (
        ((_ledger.Ledger, "_check_misaddressed", lambda self, users: None),),
        catalogue.BY_NAME["ids-AddresseeBlindManagerFactory"].make,
    ),
    "removed connections still receiving": (
        ((_ledger.Ledger, "_check_removed", lambda self, users: None),),
        catalogue.BY_NAME["removal-StickyRemovalManagerFactory"].make,
    ),
    "deliveries missing, late or cut by another user": (
        ((_ledger.Ledger, "_check_missing", lambda self: None),),
        catalogue.BY_NAME["removal-LatestConnectionOnlyManagerFactory"].make,
    ),
    "connections reported": (
        ((_queries.QueryProbe, "_check_connections", _nothing),),
        catalogue.BY_NAME["queries-EmptyConnectionsManagerFactory"].make,
    ),
    "activity reported": (
        ((_queries.QueryProbe, "_check_activity", _nothing),),
        catalogue.BY_NAME["queries-AlwaysActiveManagerFactory"].make,
    ),
    "health reported": (
        ((_queries.QueryProbe, "_check_health", _nothing),),
        catalogue.BY_NAME["queries-ConstantHealthManagerFactory"].make,
    ),
    "another user's connections revealed": (
        ((_queries.QueryProbe, "stranger", _nothing),),
        catalogue.BY_NAME["queries-LeakyConnectionsManagerFactory"].make,
    ),
    "a send nobody receives": (
        ((_traffic.TrafficProbe, "_check_nobody_listening", _nothing),),
        catalogue.BY_NAME["queries-QuietNoConnectionManagerFactory"].make,
    ),
    "a failing delivery": (
        ((_traffic.TrafficProbe, "_check_failed_delivery", _nothing),),
        catalogue.BY_NAME["late-SwallowingManagerFactory"].make,
    ),
}


async def validate(factory: object) -> tuple[str, ...]:
    result = await WebSocketManagerFactoryValidator.validate_factory(
        factory, call_timeout=0.5, seed=SEED
    )
    return result.validation_errors


@pytest.mark.parametrize("check", sorted(CHECKS))
async def test_with_the_check_disabled_the_factory_only_it_refuses_passes(
    check: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    patches, make = CHECKS[check]
    assert await validate(make()), "the check must refuse the factory while enabled"
    for owner, attribute, replacement in patches:
        monkeypatch.setattr(owner, attribute, replacement)
    assert await validate(make()) == ()


async def test_one_manager_for_every_user_is_refused_by_the_traffic_even_without_distinctness(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # Distinctness is the one check with no factory of its own: a manager shared by two
    # users always shows in their traffic. It stays for its precise line, and because
    # it stops the probe before any traffic runs through a shared manager.
    monkeypatch.setattr(_audit.FactoryAudit, "_check_distinct", lambda self, users: True)
    errors = await validate(catalogue.SingleManagerFactory())
    assert errors
    assert not any("received the same manager instance" in error for error in errors)
