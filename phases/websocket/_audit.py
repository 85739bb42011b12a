"""The behavioural audit of one factory: every check the factory gate runs, in order."""

from __future__ import annotations

import inspect
import random
from collections.abc import Callable
from typing import Any

from ._conformance import (
    FACTORY_METHODS,
    check_manager_interface,
    check_method,
    emit_takes_user_id,
    qualified_type_name,
)
from ._context import UserExecutionContext
from ._findings import Findings, short_repr
from ._mode import WebSocketManagerMode
from ._probe import (
    Impostor,
    Outcome,
    call_here,
    call_sync,
    describe_error,
    impostor_named_like,
)
from ._result import Concern, FactoryValidationResult
from ._scenario import ProbeUser, plan_users
from ._traffic import TrafficProbe


class FactoryAudit:
    """Runs every check against one factory and collects what failed.

    Each call into the factory or its managers is bounded by `call_timeout`; a call
    that hangs becomes a violation and the checks that depend on it are skipped
    rather than reported again. Nothing the factory's code raises or returns can
    end the audit other than with a result.

    Args:
        factory: The object to audit.
        call_timeout: Seconds any one call may take.
        seed: Draws the probe users, their ids and the traffic.
        block_budget: Seconds a plain call on the event loop may take.
        settle: Seconds to wait for late deliveries before the ledger is read.
    """

    def __init__(
        self,
        factory: object,
        *,
        call_timeout: float,
        seed: int,
        block_budget: float,
        settle: float,
    ) -> None:
        self._factory: Any = factory
        self._findings = Findings(timeout=call_timeout, block_budget=block_budget)
        self._checked: set[Concern] = set()
        self._manager_type: str | None = None
        self._seed = seed
        self._rng = random.Random(seed)
        self._settle = settle

    async def run(self) -> FactoryValidationResult:
        """Run the checks and return what they found."""
        try:
            await self._audit()
        except Exception as exc:  # Hostile objects can fail in places no check expects.
            self._checked.clear()
            self._findings.fail(
                f"gate: probing the factory raised {describe_error(exc)}",
                "Make the factory and its managers behave as ordinary Python objects; the "
                "error above came from their code or from a value they returned.",
                Concern.FACTORY_METHOD,
            )
        return FactoryValidationResult.from_violations(
            self._findings.violations,
            manager_type=self._manager_type,
            checked=self._checked,
            seed=self._seed,
        )

    async def _audit(self) -> None:
        usable = self._check_factory_methods()
        if "supports_user_isolation" in usable:
            await self._check_isolation_claim()
        if "create_manager" not in usable or not await self._check_missing_context():
            return
        users = await self._create_probe_users()
        if users is None:
            return
        first, second = users[0], users[1]
        distinct = self._check_distinct(users)
        compliant = self._check_interfaces(users)
        if "validate_manager_instance" in usable:
            await self._check_self_validation(first.manager, second.manager)
        self._checked.add(Concern.FACTORY_METHOD)
        if not (compliant and distinct):
            return
        for user in users:
            user.emit_unified = emit_takes_user_id(user.manager)
        probe = TrafficProbe(self._findings, users, rng=self._rng, settle=self._settle)
        if await probe.run():
            self._checked.update((Concern.INTERFACE, Concern.ISOLATION))

    def _check_factory_methods(self) -> set[str]:
        usable: set[str] = set()
        for spec in FACTORY_METHODS:
            violation = check_method(
                self._factory, spec, label=spec.name, concern=Concern.FACTORY_METHOD
            )
            if violation is None:
                usable.add(spec.name)
            else:
                self._findings.violations.append(violation)
        return usable

    async def _check_isolation_claim(self) -> None:
        outcome = await call_sync(self._findings.timeout, self._factory.supports_user_isolation)
        if not outcome.returned:
            self._findings.fail_call("supports_user_isolation", outcome, Concern.ISOLATION)
        elif outcome.value is not True:
            self._findings.fail(
                f"supports_user_isolation: returned {short_repr(outcome.value)}, not True",
                "Serve each user context from its own manager, and return True.",
                Concern.ISOLATION,
            )

    async def _create_manager(
        self, user_context: UserExecutionContext | None, *, on_loop: bool = False, **options: Any
    ) -> Outcome:
        create: Callable[..., Any] = self._factory.create_manager
        if on_loop:
            # As the bridge calls it: on the event loop, where any time it takes blocks the loop.
            outcome = call_here(create, user_context, **options)
        else:
            outcome = await call_sync(self._findings.timeout, create, user_context, **options)
        if outcome.returned and inspect.isawaitable(outcome.value):
            if inspect.iscoroutine(outcome.value):
                outcome.value.close()
            return Outcome(error=_ReturnedAwaitableError(), elapsed=outcome.elapsed)
        return outcome

    def _declares_context_optional(self) -> bool:
        try:
            declared = getattr(self._factory, "require_user_context", True)
        except BaseException:  # A property that raises declares nothing; the default applies.
            return False
        return declared is False

    async def _check_missing_context(self) -> bool:
        """Check `create_manager(None)`; return False when the factory hung."""
        outcome = await self._create_manager(None)
        if outcome.timed_out:
            self._findings.fail_call(
                "create_manager", outcome, Concern.FACTORY_METHOD, "for user_context=None"
            )
            return False
        if not outcome.returned:
            return True
        if not self._declares_context_optional():
            self._findings.fail(
                "create_manager: returned a manager for a missing user context (None) "
                "instead of raising",
                "Raise ValueError from create_manager when user_context is None.",
                Concern.ISOLATION,
            )
            return True
        again = await self._create_manager(None)
        if again.returned and again.value is outcome.value:
            self._findings.fail(
                "create_manager: handed the same manager to two callers without a user context",
                "Give every call without a user context a fresh manager.",
                Concern.ISOLATION,
            )
        return True

    async def _create_probe_users(self) -> list[ProbeUser] | None:
        """Create a manager for every probe user; None when creation failed or blocked.

        Every other user's manager is created on the event loop, the others from a
        worker thread (the first one there, so a hang is abandoned, not suffered).
        Users of the EMERGENCY and DEGRADED modes may be refused by raising.
        """
        users: list[ProbeUser] = []
        for user in plan_users(self._rng):
            # Most users get the bridge's call, without a mode; a few name their mode.
            by_default = user.mode is WebSocketManagerMode.UNIFIED
            options = {} if by_default else {"mode": user.mode}
            label = _create_label(user)
            on_loop = by_default and user.index % 2 == 1
            outcome = await self._create_manager(user.context, on_loop=on_loop, **options)
            if self._blocked(label, user, outcome, on_loop=on_loop):
                return None
            if not by_default and isinstance(outcome.error, Exception):
                continue  # The factory refused the mode by raising: what the protocol allows.
            if isinstance(outcome.error, _ReturnedAwaitableError):
                self._findings.fail(
                    f"{label}: returned an awaitable, not a manager, for {user.name}",
                    "Make create_manager a plain method that returns the manager itself.",
                    Concern.FACTORY_METHOD,
                )
                return None
            if not outcome.returned:
                self._findings.fail_call(
                    label, outcome, Concern.FACTORY_METHOD, f"for {user.name}'s context"
                )
                return None
            if outcome.value is None:
                self._findings.fail(
                    f"{label}: returned None for {user.name}'s context",
                    "Return the manager created for the user context.",
                    Concern.FACTORY_METHOD,
                )
                return None
            user.manager = outcome.value
            users.append(user)
        return users

    def _blocked(self, label: str, user: ProbeUser, outcome: Outcome, *, on_loop: bool) -> bool:
        if outcome.timed_out or not self._findings.too_slow("create_manager", outcome.elapsed):
            return False
        where = (
            "the event loop"
            if on_loop
            else "its worker thread (the bridge calls it on the event loop, which it would block)"
        )
        self._findings.fail(
            f"{label}: blocked {where} for {outcome.elapsed:.2f}s creating {user.name}'s manager",
            f"Make create_manager return within {self._findings.block_budget * 1000:.0f} ms: "
            "no sleeping, blocking I/O or waiting on locks; the bridge calls it on the event "
            "loop, and every other user waits while it runs.",
            Concern.FACTORY_METHOD,
        )
        return True

    def _check_distinct(self, users: list[ProbeUser]) -> bool:
        first_holder: dict[int, ProbeUser] = {}
        for user in users:
            holder = first_holder.setdefault(id(user.manager), user)
            if holder is user:
                continue
            label = _create_label(user)
            self._findings.fail(
                f"{label}: users {holder.label} and {user.label} received the same manager "
                "instance",
                "Return a new manager from every create_manager call, in every mode; never "
                "reuse one across user contexts (refuse a mode by raising instead).",
                Concern.ISOLATION,
            )
            return False
        return True

    def _check_interfaces(self, users: list[ProbeUser]) -> bool:
        self._manager_type = qualified_type_name(users[0].manager)
        found = []
        types: set[type] = set()
        for user in users:
            if type(user.manager) not in types:
                types.add(type(user.manager))
                found += check_manager_interface(user.manager)
        unique = list(dict.fromkeys(found))
        self._findings.violations.extend(unique)
        return not unique

    async def _check_self_validation(self, *managers: object) -> None:
        # Every manager made must be accepted (a verdict may depend on call order), the
        # Mock-like impostor catches hasattr checks and its namesake a class-name check.
        # Each fault is reported once.
        for manager in managers:
            if not await self._judges_correctly(
                manager, expected=True, what="a manager the factory created"
            ):
                break
        if await self._judges_correctly(
            Impostor(),
            expected=False,
            what="an object that is not a manager",
            accepted="an impostor that passes hasattr checks",
        ):
            await self._judges_correctly(
                impostor_named_like(managers[0]),
                expected=False,
                what="an object that is not a manager",
                accepted="an impostor with the class name of the factory's managers",
            )

    async def _judges_correctly(
        self, subject: object, *, expected: bool, what: str, accepted: str = ""
    ) -> bool:
        """Ask validate_manager_instance about `subject`; record and return False if it errs."""
        validate: Callable[..., Any] = self._factory.validate_manager_instance
        label = "validate_manager_instance"
        outcome = await call_sync(self._findings.timeout, validate, subject)
        verdict = _verdict_of(outcome.value) if outcome.returned else None
        if not outcome.returned:
            self._findings.fail_call(label, outcome, Concern.FACTORY_METHOD, f"for {what}")
        elif verdict is None:
            self._findings.fail(
                f"{label}: returned {short_repr(outcome.value)} for {what}, "
                "not a FactoryValidationResult",
                "Return a FactoryValidationResult from validate_manager_instance.",
                Concern.FACTORY_METHOD,
            )
        elif verdict and not expected:
            self._findings.fail(
                f"{label}: accepted {what} ({accepted})",
                "Judge the manager by its type (isinstance) and behaviour, not by hasattr "
                "or by its class name.",
                Concern.FACTORY_METHOD,
            )
        elif expected and not verdict:
            self._findings.fail(
                f"{label}: rejected {what}",
                "Make validate_manager_instance accept the managers create_manager returns.",
                Concern.FACTORY_METHOD,
            )
        else:
            return True
        return False


def _create_label(user: ProbeUser) -> str:
    if user.mode is WebSocketManagerMode.UNIFIED:
        return "create_manager"
    return f"create_manager(mode={user.mode.name})"


class _ReturnedAwaitableError(TypeError):
    """create_manager returned a coroutine or other awaitable instead of a manager."""


def _verdict_of(value: object) -> bool | None:
    try:
        verdict = getattr(value, "is_valid", None)
    except BaseException:  # A raising property is no verdict; reported as such.
        return None
    return verdict if isinstance(verdict, bool) else None
