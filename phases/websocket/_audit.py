"""The behavioural audit of one factory: every check the factory gate runs, in order."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from ._conformance import (
    FACTORY_METHODS,
    check_manager_interface,
    check_method,
    qualified_type_name,
)
from ._connection import WebSocketConnection
from ._context import UserExecutionContext
from ._findings import Findings, short_repr
from ._probe import (
    Impostor,
    Outcome,
    ProbeWebSocket,
    call_sync,
    impostor_named_like,
    ordinary_id,
)
from ._result import Concern, FactoryValidationResult
from ._traffic import ProbeUser, TrafficProbe

# Users served before A and B, so a factory that isolates only its first few users fails.
_EARLIER_USERS = ("C", "D")


class FactoryAudit:
    """Runs every check against one factory and collects what failed.

    Each call into the factory or its managers is bounded by `call_timeout`; a call
    that hangs becomes a violation and the checks that depend on it are skipped
    rather than reported again.

    Args:
        factory: The object to audit.
        call_timeout: Seconds any one call may take.
    """

    def __init__(self, factory: object, *, call_timeout: float) -> None:
        self._factory: Any = factory
        self._findings = Findings(timeout=call_timeout)
        self._checked: set[Concern] = set()
        self._manager_type: str | None = None

    async def run(self) -> FactoryValidationResult:
        """Run the checks and return what they found."""
        await self._audit()
        return FactoryValidationResult.from_violations(
            self._findings.violations, manager_type=self._manager_type, checked=self._checked
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
        first, second = users[-2:]
        distinct = self._check_distinct(users)
        compliant = self._check_interfaces(first, second)
        if "validate_manager_instance" in usable:
            await self._check_self_validation(first.manager, second.manager)
        self._checked.add(Concern.FACTORY_METHOD)
        if compliant and distinct and await TrafficProbe(self._findings).run(first, second):
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

    async def _create_manager(self, user_context: UserExecutionContext | None) -> Outcome:
        create: Callable[..., Any] = self._factory.create_manager
        outcome = await call_sync(self._findings.timeout, create, user_context)
        if outcome.returned and inspect.isawaitable(outcome.value):
            if inspect.iscoroutine(outcome.value):
                outcome.value.close()
            return Outcome(error=_ReturnedAwaitableError())
        return outcome

    def _declares_context_optional(self) -> bool:
        try:
            declared = getattr(self._factory, "require_user_context", True)
        except Exception:  # A property that raises declares nothing; the default applies.
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
        """Create managers for the earlier users, then A and B; None if creation failed."""
        users: list[ProbeUser] = []
        for label in (*_EARLIER_USERS, "A", "B"):
            context = UserExecutionContext(
                user_id=ordinary_id("user"),
                thread_id=ordinary_id("thread"),
                run_id=ordinary_id("run"),
            )
            outcome = await self._create_manager(context)
            if isinstance(outcome.error, _ReturnedAwaitableError):
                self._findings.fail(
                    "create_manager: returned an awaitable, not a manager, for a valid "
                    "user context",
                    "Make create_manager a plain method that returns the manager itself.",
                    Concern.FACTORY_METHOD,
                )
                return None
            if not outcome.returned:
                self._findings.fail_call(
                    "create_manager", outcome, Concern.FACTORY_METHOD, "for a valid user context"
                )
                return None
            if outcome.value is None:
                self._findings.fail(
                    "create_manager: returned None for a valid user context",
                    "Return the manager created for the user context.",
                    Concern.FACTORY_METHOD,
                )
                return None
            websocket = ProbeWebSocket()
            connection = WebSocketConnection(
                ordinary_id("conn"), context.user_id, websocket, thread_id=context.thread_id
            )
            users.append(ProbeUser(label, context, outcome.value, websocket, connection))
        return users

    def _check_distinct(self, users: list[ProbeUser]) -> bool:
        if len({id(user.manager) for user in users}) == len(users):
            return True
        self._findings.fail(
            "create_manager: two users received the same manager instance",
            "Return a new manager from every create_manager call; never reuse one "
            "across user contexts.",
            Concern.ISOLATION,
        )
        return False

    def _check_interfaces(self, first: ProbeUser, second: ProbeUser) -> bool:
        self._manager_type = qualified_type_name(first.manager)
        found = check_manager_interface(first.manager)
        if type(second.manager) is not type(first.manager):
            found += check_manager_interface(second.manager)
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


class _ReturnedAwaitableError(TypeError):
    """create_manager returned a coroutine or other awaitable instead of a manager."""


def _verdict_of(value: object) -> bool | None:
    try:
        verdict = getattr(value, "is_valid", None)
    except Exception:  # A raising property is no verdict; reported as such.
        return None
    return verdict if isinstance(verdict, bool) else None
