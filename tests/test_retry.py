"""`Retry`: deterministic delays, jitter only with a seed, retried exception types."""

from __future__ import annotations

import math
import subprocess
import sys

import anyio
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orchestrator import Boot, BootAborted, PhaseRetrying, PhaseStatus, Retry
from orchestrator._model._checks import LONGEST_WAIT
from orchestrator.testing import capture_events, inject_fault


def test_delays_grow_by_backoff_and_are_capped() -> None:
    retry = Retry(attempts=5, delay=0.1, backoff=2.0, max_delay=0.5)
    assert [retry.delay_before(n) for n in range(1, 6)] == [0.0, 0.1, 0.2, 0.4, 0.5]


def test_jitter_with_the_same_seed_gives_the_same_delays() -> None:
    first = Retry(attempts=6, delay=1.0, backoff=1.5, jitter=7)
    second = Retry(attempts=6, delay=1.0, backoff=1.5, jitter=7)
    delays = [first.delay_before(n) for n in range(2, 7)]
    assert delays == [second.delay_before(n) for n in range(2, 7)]
    assert delays != [
        Retry(attempts=6, delay=1.0, backoff=1.5).delay_before(n) for n in range(2, 7)
    ]
    assert all(
        0.5 * 1.5 ** (n - 2) <= d <= 1.5 ** (n - 2)
        for n, d in zip(range(2, 7), delays, strict=True)
    )


def test_invalid_policy_lists_every_problem() -> None:
    problems = Retry(attempts=0, delay=-1, backoff=0.5, max_delay=-2, on=()).problems()
    assert len(problems) == 5


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("attempts", True),
        ("attempts", 2.0),
        ("attempts", "3"),
        ("attempts", 0),
        ("attempts", 2**63),
        ("delay", math.nan),
        ("delay", math.inf),
        ("delay", None),
        ("delay", True),
        ("delay", "0.1"),
        ("backoff", math.nan),
        ("backoff", math.inf),
        ("backoff", 0.5),
        ("backoff", False),
        ("max_delay", -1),
        ("max_delay", math.nan),
        ("max_delay", math.inf),
        ("max_delay", 1e10),
        ("delay", 1e10),
        ("on", ValueError),
        ("on", [ValueError]),
        ("on", (int,)),
        ("jitter", True),
        ("jitter", 1.5),
        ("jitter", 2**64),
    ],
)
def test_each_bad_field_is_refused_by_name(field: str, value: object) -> None:
    (problem,) = Retry(**{field: value}).problems()
    assert problem.startswith(f"retry.{field} must be")


def test_a_policy_of_any_size_costs_nothing_to_declare() -> None:
    # Delays are computed when asked for: declaring this must not enumerate 2**62 of them.
    retry = Retry(attempts=2**62, delay=1.0, backoff=2.0, max_delay=30.0)
    assert retry.problems() == []
    assert retry.delay_before(2**62) == 30.0


def test_a_hundred_million_attempts_with_jitter_are_declared_at_once() -> None:
    retry = Retry(attempts=10**8, delay=0.5, jitter=1)
    assert 0.25 <= retry.delay_before(10**8) <= 0.5


def test_delays_that_outgrow_a_float_are_refused_unless_capped() -> None:
    (problem,) = Retry(attempts=5000, delay=1.0, backoff=2.0).problems()
    assert problem.startswith("retry delays grow past 1e+09 seconds before attempt 5000")
    assert "retry.max_delay" in problem
    assert Retry(attempts=5000, delay=1.0, backoff=2.0, max_delay=60).problems() == []


def test_delays_that_outgrow_the_longest_wait_are_refused() -> None:
    assert Retry(attempts=31, delay=1.0, backoff=2.0).problems() == []  # 2**29 s
    (problem,) = Retry(attempts=33, delay=1.0, backoff=2.0).problems()  # 2**31 s
    assert problem.startswith("retry delays grow past 1e+09 seconds")


def test_a_capped_delay_stays_finite_where_the_power_overflows() -> None:
    assert Retry(attempts=5000, delay=1.0, backoff=2.0, max_delay=60).delay_before(4999) == 60


def test_an_attempt_past_the_last_waits_as_long_as_the_last() -> None:
    retry = Retry(attempts=3, delay=1.0, backoff=2.0)
    assert retry.delay_before(9) == retry.delay_before(3) == 2.0


def test_a_jittered_delay_does_not_depend_on_which_delays_were_asked_before() -> None:
    retry = Retry(attempts=10, delay=1.0, jitter=5)
    later = retry.delay_before(7)
    for attempt in range(2, 7):
        retry.delay_before(attempt)
    assert retry.delay_before(7) == later


def test_the_same_seed_gives_the_same_delays_in_another_process() -> None:
    script = (
        "from orchestrator import Retry\n"
        "print(repr(Retry(attempts=4, delay=1, jitter=9).delay_before(3)))"
    )
    outputs = {
        subprocess.run(
            [sys.executable, "-c", script],
            capture_output=True,
            text=True,
            check=True,
            env={"PYTHONHASHSEED": seed, "PATH": "", "PYTHONPATH": ":".join(sys.path)},
        ).stdout.strip()
        for seed in ("1", "2")
    }
    assert outputs == {repr(Retry(attempts=4, delay=1, jitter=9).delay_before(3))}


NUMBERS = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.floats(allow_nan=True, allow_infinity=True),
    st.booleans(),
)


@settings(max_examples=300, deadline=None)
@given(
    retry=st.builds(
        Retry,
        attempts=NUMBERS,
        delay=NUMBERS,
        backoff=NUMBERS,
        max_delay=st.one_of(st.none(), NUMBERS),
        jitter=st.one_of(st.none(), NUMBERS),
    ),
    attempt=st.integers(min_value=-5, max_value=2**70),
)
def test_a_policy_is_refused_or_gives_bounded_delays_for_any_attempt(
    retry: Retry, attempt: int
) -> None:
    problems = retry.problems()
    assert all(problem.startswith("retry") for problem in problems)
    if not problems:
        assert 0 <= retry.delay_before(attempt) <= LONGEST_WAIT


@pytest.mark.anyio
async def test_only_listed_exception_types_are_retried() -> None:
    boot = Boot("retry-types")

    @boot.phase(retry=Retry(attempts=3, on=(ConnectionError,)))
    async def database() -> None:
        return None

    with (
        inject_fault("database", error=ValueError("bad dsn")),
        pytest.raises(BootAborted) as caught,
    ):
        await boot.run_once(sinks=[])
    assert caught.value.report["database"].attempts == 1


@pytest.mark.anyio
async def test_a_phase_that_succeeds_on_a_retry_completes_with_its_attempt_count() -> None:
    boot = Boot("retry-success")

    @boot.phase(retry=Retry(attempts=4, delay=0.001, backoff=2))
    async def database() -> str:
        return "db"

    with (
        capture_events() as events,
        inject_fault("database", error=ConnectionError("x"), attempts=2),
    ):
        report = await boot.run_once(sinks=[])
    assert report["database"].status is PhaseStatus.COMPLETED
    assert report["database"].attempts == 3
    assert [e.delay for e in events if isinstance(e, PhaseRetrying)] == [0.001, 0.002]


@pytest.mark.anyio
async def test_retries_exhausted_report_the_attempt_count() -> None:
    boot = Boot("retry-exhausted")

    @boot.phase(retry=Retry(attempts=3))
    async def database() -> None:
        raise ConnectionError("refused")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    assert caught.value.diagnostic.summary == "phase 'database' failed after 3 attempts"


@pytest.mark.anyio
async def test_each_failed_attempt_keeps_its_error_in_the_report() -> None:
    boot = Boot("errors")
    calls: list[int] = []

    @boot.phase(retry=Retry(attempts=3, delay=0))
    async def database() -> str:
        calls.append(1)
        if len(calls) < 3:
            raise ConnectionRefusedError(f"refused on try {len(calls)}")
        return "db"

    report = await boot.run_once()
    assert [a.error for a in report["database"].attempt_log] == [
        "ConnectionRefusedError: refused on try 1",
        "ConnectionRefusedError: refused on try 2",
        None,
    ]


@pytest.mark.anyio
async def test_an_attempts_error_is_masked() -> None:
    boot = Boot("masked")

    @boot.phase(retry=Retry(attempts=2, delay=0))
    def database() -> None:
        raise OSError("cannot reach postgres://app:hunter2@db/app")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once()
    errors = [a.error or "" for a in caught.value.report["database"].attempt_log]
    assert len(errors) == 2
    assert all(e.startswith("OSError: cannot reach") and "hunter2" not in e for e in errors)


@pytest.mark.anyio
async def test_a_timed_out_attempt_keeps_the_timeout_as_its_error() -> None:
    boot = Boot("slow")
    gate = anyio.Event()

    @boot.phase(timeout=0.01, retry=Retry(attempts=2, delay=0))
    async def database() -> None:
        await gate.wait()

    with pytest.raises(BootAborted) as caught:
        await boot.run_once()
    attempts = caught.value.report["database"].attempt_log
    assert [a.outcome for a in attempts] == ["timed_out", "timed_out"]
    assert all((a.error or "").startswith("PhaseTimeout: ") for a in attempts)


@pytest.mark.anyio
@pytest.mark.parametrize("seconds", [None, 5])
async def test_a_single_failed_attempt_keeps_its_error_on_the_flat_paths(
    seconds: float | None,
) -> None:
    boot = Boot("flat")

    @boot.phase(timeout=seconds)
    async def database() -> None:
        raise ValueError("broke")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once()
    assert caught.value.report["database"].attempt_log[0].error == "ValueError: broke"
