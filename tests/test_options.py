"""Phase options, declared once: every reader follows the table, every bad value is refused."""

from __future__ import annotations

import dataclasses
import functools
import inspect
import math
from collections.abc import AsyncIterator, Callable, Iterator
from typing import Any, get_overloads

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from orchestrator import (
    Boot,
    Diagnostic,
    GraphError,
    PhaseSpec,
    PhaseStatus,
    Retry,
    TeardownOutcome,
)
from orchestrator._model._checks import LONGEST_WAIT
from orchestrator._model._options import DEFAULTS_STORED, PHASE_OPTIONS, PhaseOption
from orchestrator._model._phase import PhaseStyle, build_spec
from orchestrator.cli._inspect import describe_options

OPTION_NAMES = [option.name for option in PHASE_OPTIONS]


def keyword_options(method: Callable[..., Any]) -> list[tuple[str, object, object]]:
    """(name, default, annotation) of each keyword-only parameter of `method`'s overloads."""
    found = []
    for overload in get_overloads(method):
        for parameter in inspect.signature(overload).parameters.values():
            if parameter.kind is parameter.KEYWORD_ONLY:
                found.append((parameter.name, parameter.default, parameter.annotation))
    return found


def invalid_options(**options: Any) -> tuple[str, ...]:
    """The option problems `validate()` reports for one phase declared with `options`."""
    boot = Boot("options")
    boot.add(lambda: None, **{"name": "p", **options})
    with pytest.raises(GraphError) as caught:
        boot.validate()
    (diagnostic,) = caught.value.diagnostics
    assert diagnostic.kind == "invalid_graph"
    assert diagnostic.exit_code == 65
    return diagnostic.details


# -- one declaration, read by everyone --------------------------------------------------


@pytest.mark.parametrize("method", [Boot.phase, Boot.gate, Boot.service])
def test_typed_overloads_list_exactly_the_declared_options(method: Callable[..., Any]) -> None:
    declared = [(option.name, option.default, option.annotation) for option in PHASE_OPTIONS]
    assert keyword_options(method) == declared


def test_phase_spec_has_a_field_for_every_declared_option() -> None:
    fields = [field.name for field in dataclasses.fields(PhaseSpec)]
    assert [name for name in fields if name in OPTION_NAMES] == OPTION_NAMES


def test_canonical_form_holds_every_declared_option() -> None:
    boot = Boot("canonical")
    boot.add(lambda: None, name="p")
    (spec,) = boot.plan().phases
    assert set(spec.canonical()) == {"kind", "style", "requires", *OPTION_NAMES}


@pytest.mark.parametrize("option", PHASE_OPTIONS, ids=OPTION_NAMES)
def test_every_default_is_a_valid_value_stored_as_it_is(option: PhaseOption) -> None:
    assert option.problems(option.default) == []
    assert DEFAULTS_STORED[option.name] == option.store(option.default) == option.default


def test_an_option_left_out_gives_the_spec_its_default_would_give() -> None:
    def settings(ctx: object) -> None: ...

    every_default = {option.name: option.default for option in PHASE_OPTIONS}
    given = build_spec(settings, kind="phase", **every_default)
    left_out = build_spec(settings, kind="phase")
    assert given == left_out
    assert given.declared_problems == left_out.declared_problems == ()


def test_plan_table_summarises_options_in_declared_order() -> None:
    boot = Boot("summary")
    boot.add(
        lambda: None,
        name="p",
        expected_duration=0.5,
        teardown_timeout=3,
        when=False,
        critical=False,
        retry=Retry(attempts=4),
        timeout=2,
    )
    (spec,) = boot.plan().phases
    assert describe_options(spec) == (
        "timeout=2s retry=4x non-critical when=False teardown_timeout=3s expected=0.5s"
    )


def test_an_unknown_option_is_reported_with_the_closest_name() -> None:
    assert invalid_options(timeot=5) == (
        "unknown option timeot= (did you mean timeout=? seconds for one attempt of the start; "
        "on expiry the attempt is cancelled)",
    )


def test_an_unknown_option_unlike_any_is_reported_with_the_list() -> None:
    (problem,) = invalid_options(colour="red")
    assert problem == "unknown option colour= (the options are " + ", ".join(OPTION_NAMES) + ")"


# -- each kind of bad value ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"timeout": "5"}, "timeout must be a number of seconds, got '5'"),
        ({"critical": "yes"}, "critical must be True or False, got 'yes'"),
        ({"after": 5}, "after must be a phase name or a list of phase names, got 5"),
        ({"retry": 3}, "retry must be a Retry(...) or None, got 3"),
        ({"description": 7}, "description must be a str, got 7"),
        ({"when": 42}, "when must be a bool or a zero-argument callable, got 42"),
    ],
)
def test_a_value_of_the_wrong_type_is_refused(options: dict[str, Any], expected: str) -> None:
    assert invalid_options(**options) == (expected,)


@pytest.mark.parametrize("option", ["timeout", "teardown_timeout", "expected_duration"])
def test_a_bool_is_not_a_number_of_seconds(option: str) -> None:
    assert invalid_options(**{option: True}) == (f"{option} must be a number of seconds, got True",)


@pytest.mark.parametrize("option", ["timeout", "teardown_timeout", "expected_duration"])
def test_nan_seconds_are_refused(option: str) -> None:
    (problem,) = invalid_options(**{option: math.nan})
    assert problem.startswith(f"{option} must be a finite number of seconds, got nan")


@pytest.mark.parametrize("value", [math.inf, -math.inf])
@pytest.mark.parametrize("option", ["timeout", "teardown_timeout", "expected_duration"])
def test_infinite_seconds_are_refused_and_none_is_named_instead(option: str, value: float) -> None:
    assert invalid_options(**{option: value}) == (
        f"{option} must be a finite number of seconds, got {value!r} (None means no limit)",
    )


@pytest.mark.parametrize("option", ["timeout", "teardown_timeout", "expected_duration"])
def test_negative_seconds_are_refused(option: str) -> None:
    (problem,) = invalid_options(**{option: -0.5})
    assert problem.startswith(f"{option} must be >")


@pytest.mark.parametrize("option", ["timeout", "teardown_timeout"])
def test_a_zero_timeout_is_refused(option: str) -> None:
    assert invalid_options(**{option: 0}) == (f"{option} must be > 0 seconds, got 0",)


def test_a_zero_expected_duration_is_allowed() -> None:
    boot = Boot("instant")
    boot.add(lambda: None, name="p", expected_duration=0)
    boot.validate()


@pytest.mark.parametrize("option", ["timeout", "teardown_timeout", "expected_duration"])
def test_seconds_past_the_longest_wait_are_refused(option: str) -> None:
    assert invalid_options(**{option: 1e12}) == (
        f"{option} must be <= 1e+09 seconds, got 1000000000000.0 (None means no limit)",
    )


def test_an_integer_too_large_for_a_float_is_refused() -> None:
    (problem,) = invalid_options(timeout=10**400)
    assert problem.startswith("timeout must be a finite number of seconds, got 1000000")


def test_a_wrong_retry_field_is_refused_with_the_phase() -> None:
    assert invalid_options(retry=Retry(delay=math.nan)) == (
        "retry.delay must be a finite number of seconds, got nan",
    )


def test_after_names_must_be_strings() -> None:
    assert invalid_options(after=["db", 5]) == (
        "after must be a phase name or a list of phase names, got ['db', 5]",
    )


def test_after_refuses_a_generator_it_would_use_up() -> None:
    (problem,) = invalid_options(after=(name for name in ["db"]))
    assert problem.startswith("after must be a phase name or a list of phase names")


def test_after_given_as_a_set_is_planned_in_sorted_order() -> None:
    boot = Boot("after-set")
    for name in ("b", "a", "c"):
        boot.add(lambda: None, name=name)
    boot.add(lambda: None, name="p", after={"c", "a", "b"})
    assert boot.plan()["p"].after == ("a", "b", "c")


@pytest.mark.anyio
async def test_a_name_given_twice_in_after_is_waited_for_once() -> None:
    boot = Boot("after-twice")
    boot.add(lambda: None, name="a")
    spec = boot.add(lambda: None, name="p", after=["a", "a"])
    assert spec.waits_for == ("a",)
    report = await boot.run_once(sinks=[])
    assert report["p"].status is PhaseStatus.COMPLETED


def test_when_with_a_required_argument_is_refused() -> None:
    (problem,) = invalid_options(when=lambda flag: flag)
    assert problem.startswith("when must take no arguments")


def test_an_async_when_is_refused() -> None:
    async def enabled() -> bool:
        return True

    (problem,) = invalid_options(when=enabled)
    assert problem.startswith("when must be a plain function returning a bool")


def test_a_description_on_several_lines_is_refused() -> None:
    assert invalid_options(description="one\ntwo") == (
        "description must be one line, got 'one\\ntwo'",
    )


def test_a_name_that_is_not_a_string_is_refused() -> None:
    boot = Boot("names")
    boot.add(lambda: None, name=5)
    with pytest.raises(GraphError) as caught:
        boot.validate()
    summaries = [d.summary for d in caught.value.diagnostics]
    details = [line for d in caught.value.diagnostics for line in d.details]
    assert "phase name '5' is not a Python identifier" in summaries
    assert "name must be a str, got 5" in details


def test_a_value_whose_repr_raises_is_still_reported() -> None:
    class Hostile:
        def __repr__(self) -> str:
            raise RuntimeError("no repr")

    assert invalid_options(timeout=Hostile()) == (
        "timeout must be a number of seconds, got <Hostile object whose repr() raised "
        "RuntimeError>",
    )


def test_a_value_that_raises_when_looked_at_is_refused_by_name() -> None:
    class Unreadable(list[str]):
        def __iter__(self) -> Iterator[str]:
            raise RuntimeError("unreadable")

    assert invalid_options(after=Unreadable()) == (
        "after could not be checked: [] raised RuntimeError('unreadable')",
    )


def test_bad_options_are_reported_with_every_other_problem() -> None:
    boot = Boot("everything")
    boot.add(lambda missing: None, name="a", timeout=math.nan, critical="yes")
    boot.add(lambda: None, name="a")
    with pytest.raises(GraphError) as caught:
        boot.validate()
    summaries = [d.summary for d in caught.value.diagnostics]
    assert summaries == [
        "phase name 'a' is declared 2 times",
        "phase 'a' has 2 invalid option(s)",
        "phase 'a' depends on unknown phase 'missing' (no phase has a similar name)",
    ]
    assert {d.exit_code for d in caught.value.diagnostics} == {65}


def test_a_spec_built_by_hand_is_checked_when_validated() -> None:
    boot = Boot("by-hand")
    spec = boot.add(lambda: None, name="p")
    boot = Boot("replaced")
    boot.include([dataclasses.replace(spec, timeout=math.nan, options_checked=False)])
    with pytest.raises(GraphError) as caught:
        boot.validate()
    assert caught.value.diagnostics[0].details == (
        "timeout must be a finite number of seconds, got nan (None means no limit)",
    )


def test_an_invalid_value_never_reaches_the_spec() -> None:
    boot = Boot("kept-out")
    spec = boot.add(lambda: None, name="p", timeout=math.inf, after=5)
    assert spec.timeout is None
    assert spec.after == ()


# -- any value: refused by name or accepted, never another exception -----------------------


def hostile_values() -> st.SearchStrategy[object]:
    numbers = st.one_of(
        st.integers(min_value=-(10**400), max_value=10**400),
        st.floats(allow_nan=True, allow_infinity=True),
        st.booleans(),
    )
    retries = st.builds(
        Retry,
        attempts=st.one_of(numbers, st.none(), st.text(max_size=3)),
        delay=numbers,
        backoff=numbers,
        max_delay=st.one_of(st.none(), numbers),
        on=st.one_of(
            st.just((Exception,)),
            st.just(ValueError),
            st.just(()),
            st.tuples(st.sampled_from([int, OSError, object])),
        ),
        jitter=st.one_of(st.none(), numbers),
    )
    callables = st.sampled_from([lambda: True, lambda flag: flag, print, len, object()])
    texts = st.text(max_size=20)
    return st.one_of(
        st.none(),
        numbers,
        texts,
        st.lists(st.one_of(texts.filter(lambda name: name != "p"), numbers), max_size=3),
        retries,
        callables,
    )


def refusals(boot: Boot) -> list[Diagnostic]:
    """The diagnostics `validate()` raises for `boot`, or none."""
    try:
        boot.validate()
    except GraphError as exc:
        return list(exc.diagnostics)
    return []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(option=st.sampled_from(OPTION_NAMES), value=hostile_values())
def test_any_option_value_validates_or_is_refused_by_name(option: str, value: object) -> None:
    boot = Boot("any")
    boot.add(lambda: None, **{"name": "p", option: value})
    diagnostics = refusals(boot)
    if diagnostics:
        text = " ".join(f"{d.summary} {' '.join(d.details)}" for d in diagnostics)
        assert option.split("_", maxsplit=1)[0] in text
        assert {d.kind for d in diagnostics} == {"invalid_graph"}
        return
    plan = boot.plan()
    (spec,) = plan.phases
    assert len(plan.fingerprint) == 12
    assert describe_options(spec)
    if spec.retry is not None:
        assert 0 <= spec.retry.delay_before(spec.retry.attempts) <= LONGEST_WAIT


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    options=st.dictionaries(
        st.sampled_from([*OPTION_NAMES, "timeot", "colour"]), hostile_values(), max_size=4
    )
)
def test_any_set_of_options_validates_or_raises_a_graph_error(options: dict[str, Any]) -> None:
    boot = Boot("many")
    boot.add(lambda: None, **{"name": "p", **options})
    if not refusals(boot):
        assert len(boot.plan().fingerprint) == 12


# -- what calling a target gives, whatever its shape ---------------------------------------


class AsyncCallable:
    """An object whose `__call__` is a coroutine function."""

    async def __call__(self, settings: str) -> str:
        return f"called with {settings}"


class AsyncGeneratorCallable:
    """An object whose `__call__` is an async generator function."""

    def __init__(self) -> None:
        self.closed = False

    async def __call__(self, settings: str) -> AsyncIterator[str]:
        yield f"opened with {settings}"
        self.closed = True


async def open_with(prefix: str, settings: str) -> str:
    return f"{prefix} {settings}"


async def open_and_close(prefix: str, settings: str) -> AsyncIterator[str]:
    yield f"{prefix} {settings}"


@pytest.mark.parametrize(
    ("target", "style"),
    [
        (AsyncCallable(), PhaseStyle.ASYNC),
        (AsyncGeneratorCallable(), PhaseStyle.ASYNC_GENERATOR),
        (functools.partial(open_with, "partial"), PhaseStyle.ASYNC),
        (functools.partial(open_and_close, "partial"), PhaseStyle.ASYNC_GENERATOR),
        (functools.partial(functools.partial(open_with, "twice")), PhaseStyle.ASYNC),
    ],
    ids=["async-call", "async-generator-call", "partial", "partial-generator", "nested"],
)
def test_async_callables_of_every_shape_are_async_phases(target: object, style: PhaseStyle) -> None:
    boot = Boot("shapes")
    spec = boot.add(target, name="resource")
    assert spec.style is style
    assert spec.requires == ("settings",)


def test_a_component_whose_start_is_a_generator_is_refused() -> None:
    class Pool:
        async def start(self) -> AsyncIterator[None]:
            yield None

    boot = Boot("component")
    boot.add(Pool(), name="pool")
    with pytest.raises(GraphError) as caught:
        boot.validate()
    (problem,) = caught.value.diagnostics[0].details
    assert problem.startswith("Pool.start is an async generator function")


def test_a_partial_is_named_after_the_function_it_wraps() -> None:
    assert Boot("named").add(functools.partial(open_with, "x")).name == "open_with"


def shaped_boot(target: object, received: list[object]) -> Boot:
    boot = Boot("shaped")

    @boot.phase()
    async def settings() -> str:
        return "dsn"

    boot.add(target, name="resource")

    @boot.phase()
    async def user(resource: object) -> None:
        received.append(resource)

    return boot


@pytest.mark.anyio
async def test_an_object_with_async_call_is_awaited() -> None:
    received: list[object] = []
    report = await shaped_boot(AsyncCallable(), received).run_once(sinks=[])
    assert report["resource"].status is PhaseStatus.COMPLETED
    assert received == ["called with dsn"]


@pytest.mark.anyio
async def test_an_object_with_async_generator_call_yields_and_tears_down() -> None:
    target = AsyncGeneratorCallable()
    received: list[object] = []
    report = await shaped_boot(target, received).run_once(sinks=[])
    assert received == ["opened with dsn"]
    assert report["resource"].teardown is TeardownOutcome.TORN_DOWN
    assert target.closed


@pytest.mark.anyio
async def test_a_partial_of_an_async_function_is_awaited() -> None:
    received: list[object] = []
    await shaped_boot(functools.partial(open_with, "partial"), received).run_once(sinks=[])
    assert received == ["partial dsn"]


@pytest.mark.anyio
async def test_a_partial_of_an_async_generator_yields_and_tears_down() -> None:
    received: list[object] = []
    target = functools.partial(open_and_close, "partial")
    report = await shaped_boot(target, received).run_once(sinks=[])
    assert received == ["partial dsn"]
    assert report["resource"].teardown is TeardownOutcome.TORN_DOWN


@pytest.mark.anyio
async def test_the_largest_valid_values_run_like_any_other() -> None:
    boot = Boot("largest")
    started: list[int] = []

    @boot.phase(
        timeout=LONGEST_WAIT,
        teardown_timeout=LONGEST_WAIT,
        expected_duration=LONGEST_WAIT,
        retry=Retry(attempts=2**63 - 1, delay=LONGEST_WAIT, backoff=2.0, max_delay=0),
    )
    async def flaky() -> AsyncIterator[None]:
        started.append(1)
        if len(started) == 1:
            raise ConnectionError("first attempt")
        yield None

    report = await boot.run_once(sinks=[])
    assert report["flaky"].status is PhaseStatus.COMPLETED
    assert report["flaky"].attempts == 2
    assert report["flaky"].teardown is TeardownOutcome.TORN_DOWN
