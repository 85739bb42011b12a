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
    _findings,
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
    "queries on the event loop": (
        ((_findings.Findings, "too_slow", lambda self, method, elapsed: False),),
        catalogue.BY_NAME["blocking-LazyHealthManagerFactory"].make,
    ),
    "create_manager on the event loop": (
        ((_audit.FactoryAudit, "_create_manager", _create_in_a_thread),),
        catalogue.LoopSleepingFactory,
    ),
    "every mode": (((_scenario, "_MODE_USERS", ()),), catalogue.SharedEmergencyFactory),
    "managers for two users are distinct": (
        ((_audit.FactoryAudit, "_check_distinct", lambda self, users: True),),
        catalogue.WrappingSlotsFactory,
    ),
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
    "another user named in a user's own answers": (
        ((_queries.QueryProbe, "_check_others_unnamed", lambda self, *args: None),),
        catalogue.BY_NAME["queries-OnlineUsersHealthManagerFactory"].make,
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


class _RoutingPoolFactory(catalogue.Factory):
    """Two managers, handed out in turn, each routing by user id for all of its users."""

    def make(self, context: Any, mode: Any) -> Any:
        pool = self.shared.setdefault("pool", [])
        if len(pool) < 2:
            pool.append(catalogue.SingleManager(context.user_id, self, mode))
        return pool[(self.created - 1) % 2]


@pytest.mark.parametrize(
    "make", [catalogue.SingleManagerFactory, _RoutingPoolFactory], ids=["one", "pool"]
)
async def test_a_manager_shared_by_users_the_probe_crosses_is_refused_by_isolation_lines_too(
    make: Callable[[], object], monkeypatch: pytest.MonkeyPatch
) -> None:
    # A shared manager cannot tell which of its users is calling. The probe asks each
    # user's manager to reach its partner and removes connection ids other users hold
    # too (`ws-1`), so when two users sharing a manager are partners or hold a common
    # id, one of them gets a wrong answer: an isolation line, distinctness or not.
    # Only sharing between users the probe never crosses (WrappingSlotsFactory) needs
    # the distinctness check, which is why it stays.
    monkeypatch.setattr(_audit.FactoryAudit, "_check_distinct", lambda self, users: True)
    errors = await validate(make())
    assert any(error.startswith("isolation: ") for error in errors), errors
    assert not any("received the same manager instance" in error for error in errors)
