"""`boot.validate()`: every problem at once, each with what to do."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import Boot, GraphError, Retry
from orchestrator._model._validate import check_run_arguments


def problems(boot: Boot) -> list[str]:
    with pytest.raises(GraphError) as caught:
        boot.validate()
    assert all(d.kind == "invalid_graph" and d.exit_code == 65 for d in caught.value.diagnostics)
    return [d.summary for d in caught.value.diagnostics]


def test_cycle_is_reported_with_its_full_path() -> None:
    boot = Boot("cyclic")

    @boot.phase()
    def a(c: None) -> None: ...

    @boot.phase()
    def b(a: None) -> None: ...

    @boot.phase()
    def c(b: None) -> None: ...

    assert problems(boot) == [
        "dependency cycle: a -> b -> c -> a (each phase waits for the one before it)"
    ]


def test_cycle_report_is_the_same_every_time() -> None:
    def build() -> Boot:
        boot = Boot("cyclic")
        for name, needs in [("x", "z"), ("y", "x"), ("z", "y"), ("w", "y")]:
            boot.add(eval(f"lambda {needs}: None"), name=name)
        return boot

    assert problems(build()) == problems(build())


def test_unknown_dependency_suggests_the_closest_name() -> None:
    boot = Boot("typo")

    @boot.phase()
    def database() -> None: ...

    @boot.phase()
    def api(databse: None) -> None: ...

    (summary,) = problems(boot)
    assert "unknown phase 'databse'" in summary
    assert "did you mean 'database'?" in summary


def test_unknown_after_name_is_reported() -> None:
    boot = Boot("after")

    @boot.phase(after=["migrations"])
    def api() -> None: ...

    assert "unknown phase 'migrations'" in problems(boot)[0]


def action_for(boot: Boot) -> str:
    with pytest.raises(GraphError) as caught:
        boot.validate()
    (diagnostic,) = caught.value.diagnostics
    return diagnostic.action


def test_an_after_typo_is_told_to_rename_or_remove_the_after_name_not_a_parameter() -> None:
    boot = Boot("after-typo")

    @boot.phase()
    def database() -> None: ...

    @boot.phase(after=["databse"])
    def api() -> None: ...

    action = action_for(boot)
    assert "parameter" not in action
    assert action == (
        "Rename it to 'database', or remove it from the after= of 'api' if 'api' need not "
        "wait for it."
    )


def test_a_parameter_typo_is_told_to_rename_it_or_give_it_a_default() -> None:
    boot = Boot("parameter-typo")

    @boot.phase()
    def database() -> None: ...

    @boot.phase()
    def api(databse: None) -> None: ...

    assert action_for(boot) == (
        "Rename it to 'database', or give the parameter a default value if it is not a dependency."
    )


def test_every_problem_is_reported_at_once() -> None:
    boot = Boot("broken")

    @boot.phase()
    def one() -> None: ...

    boot.add(lambda: None, name="one")
    boot.add(lambda: None, name="not-an-identifier")
    boot.add(lambda: None, name="bad_options", timeout=-1, retry=Retry(attempts=0))

    @boot.phase()
    def needs_missing(nothing_like_it: None) -> None: ...

    found = problems(boot)
    assert len(found) == 4
    assert "declared 2 times" in found[0]
    assert "is not a Python identifier" in found[1]
    assert "invalid option" in found[2]
    assert "unknown phase 'nothing_like_it'" in found[3]


def test_bad_option_values_are_listed_one_per_line_in_declaration_order() -> None:
    boot = Boot("options")
    boot.add(
        lambda: None,
        name="p",
        timeout=0,
        teardown_timeout="soon",
        retry=Retry(attempts=2, delay=-1, backoff=0.5),
        when=42,
    )
    with pytest.raises(GraphError) as caught:
        boot.validate()
    details = caught.value.diagnostics[0].details
    assert details == (
        "timeout must be > 0 seconds, got 0",
        "retry.delay must be >= 0 seconds, got -1",
        "retry.backoff must be >= 1, got 0.5",
        "when must be a bool or a zero-argument callable, got 42",
        "teardown_timeout must be a number of seconds, got 'soon'",
    )


def test_ctx_and_keywords_are_not_phase_names() -> None:
    boot = Boot("names")
    boot.add(lambda: None, name="ctx")
    boot.add(lambda: None, name="class")
    found = problems(boot)
    assert "reserved" in found[0]
    assert "keyword" in found[1]


def test_empty_boot_is_invalid() -> None:
    assert problems(Boot("empty")) == ["boot 'empty' declares no phases"]


@pytest.mark.parametrize("name", ["", "  ", "two\nlines", 5])
def test_a_boot_name_must_be_a_line_of_text(name: object) -> None:
    boot = Boot(name)  # type: ignore[arg-type]
    boot.add(lambda: None, name="p")
    (summary,) = problems(boot)
    assert summary.startswith("boot name ")


def test_graph_error_message_lists_every_problem() -> None:
    boot = Boot("msg")
    boot.add(lambda x: None, name="a")
    boot.add(lambda y: None, name="b")
    with pytest.raises(GraphError) as caught:
        boot.validate()
    assert "has 2 problem(s)" in str(caught.value)


def test_a_class_with_start_must_be_given_as_an_instance() -> None:
    class Cache:
        async def start(self) -> None: ...

    boot = Boot("component-class")
    boot.add(Cache, name="cache")
    with pytest.raises(GraphError) as caught:
        boot.validate()
    assert "pass an instance" in caught.value.diagnostics[0].details[0]


def test_a_lambda_needs_a_name() -> None:
    boot = Boot("lambda")
    boot.add(lambda: None)
    with pytest.raises(GraphError) as caught:
        boot.validate()
    assert "'<lambda>' is not a Python identifier" in caught.value.diagnostics[0].summary
    assert "name=" in caught.value.diagnostics[0].action


def test_good_run_arguments_pass() -> None:
    check_run_arguments(max_concurrency=None, deadline=None, stop_timeout=None)
    check_run_arguments(max_concurrency=1, deadline=0.5, stop_timeout=30)


@pytest.mark.parametrize(
    ("argument", "value", "error"),
    [
        ("max_concurrency", 0, ValueError),
        ("max_concurrency", -3, ValueError),
        ("max_concurrency", math.nan, TypeError),
        ("max_concurrency", 2.0, TypeError),
        ("max_concurrency", True, TypeError),
        ("max_concurrency", "4", TypeError),
        ("deadline", 0, ValueError),
        ("deadline", -1, ValueError),
        ("deadline", math.nan, ValueError),
        ("deadline", math.inf, ValueError),
        ("deadline", -math.inf, ValueError),
        ("deadline", 10**400, ValueError),
        ("deadline", 1e10, ValueError),
        ("deadline", True, TypeError),
        ("deadline", "5", TypeError),
        ("stop_timeout", 0.0, ValueError),
        ("stop_timeout", math.nan, ValueError),
        ("stop_timeout", math.inf, ValueError),
        ("stop_timeout", 1e10, ValueError),
        ("stop_timeout", False, TypeError),
        ("stop_timeout", [5], TypeError),
    ],
)
def test_a_bad_run_argument_is_refused_by_name(
    argument: str, value: object, error: type[Exception]
) -> None:
    arguments: dict[str, object] = {
        "max_concurrency": None,
        "deadline": None,
        "stop_timeout": None,
        argument: value,
    }
    with pytest.raises(error, match=f"^{argument} must be"):
        check_run_arguments(**arguments)


@settings(max_examples=200, deadline=None)
@given(
    argument=st.sampled_from(["max_concurrency", "deadline", "stop_timeout"]),
    value=st.one_of(
        st.none(),
        st.booleans(),
        st.integers(min_value=-(10**400), max_value=10**400),
        st.floats(allow_nan=True, allow_infinity=True),
        st.text(max_size=3),
    ),
)
def test_any_run_argument_passes_or_is_refused_by_name(argument: str, value: object) -> None:
    arguments: dict[str, object] = {
        "max_concurrency": None,
        "deadline": None,
        "stop_timeout": None,
        argument: value,
    }
    try:
        check_run_arguments(**arguments)
    except (TypeError, ValueError) as exc:
        message = str(exc)
    else:
        return
    assert message.startswith(f"{argument} must be")


def test_plan_reports_the_same_problems_as_validate_when_a_duplicate_hides_a_cycle() -> None:
    boot = Boot("duplicate")
    boot.add(lambda b: None, name="a")
    boot.add(lambda: None, name="a")  # the plan order of the whole list has no cycle
    boot.add(lambda a: None, name="b")
    expected = problems(boot)
    with pytest.raises(GraphError) as caught:
        boot.plan()
    assert [d.summary for d in caught.value.diagnostics] == expected
    assert any(summary.startswith("dependency cycle: a -> b -> a") for summary in expected)
