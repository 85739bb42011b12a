"""User execution contexts and connections accept real ids only."""

from __future__ import annotations

import dataclasses

import pytest
import websocket_fakes as fakes

from phases.websocket import UserExecutionContext, WebSocketConnection


def test_a_context_keeps_the_ids_it_was_given() -> None:
    context = UserExecutionContext(
        user_id="u-1", thread_id="t-1", run_id="r-1", request_id="q-1", websocket_client_id="c-1"
    )
    assert (context.user_id, context.thread_id, context.run_id) == ("u-1", "t-1", "r-1")
    assert (context.request_id, context.websocket_client_id) == ("q-1", "c-1")


def test_a_context_generates_a_distinct_request_id_when_none_is_given() -> None:
    first = UserExecutionContext(user_id="u-1", thread_id="t-1", run_id="r-1")
    second = UserExecutionContext(user_id="u-1", thread_id="t-1", run_id="r-1")
    assert first.request_id != second.request_id


@pytest.mark.parametrize(
    "placeholder",
    ["", "none", "None", "null", "placeholder", "registry", "00000000-0000-0000-0000-000000000000"],
)
def test_a_context_rejects_empty_and_placeholder_user_ids(placeholder: str) -> None:
    with pytest.raises(ValueError, match="empty or a placeholder"):
        UserExecutionContext(user_id=placeholder, thread_id="t-1", run_id="r-1")


def test_a_context_rejects_a_placeholder_thread_id() -> None:
    with pytest.raises(ValueError, match="thread_id"):
        UserExecutionContext(user_id="u-1", thread_id="default", run_id="r-1")


def test_a_context_rejects_ids_padded_with_whitespace() -> None:
    with pytest.raises(ValueError, match="surrounding whitespace"):
        UserExecutionContext(user_id=" u-1", thread_id="t-1", run_id="r-1")


def test_a_context_rejects_ids_that_are_not_strings() -> None:
    with pytest.raises(TypeError, match="run_id must be a str"):
        UserExecutionContext(user_id="u-1", thread_id="t-1", run_id=7)  # type: ignore[arg-type]


def test_a_context_is_frozen() -> None:
    context = fakes.make_context("a")
    with pytest.raises(dataclasses.FrozenInstanceError):
        context.user_id = "someone-else"  # type: ignore[misc]


def test_a_connection_needs_a_websocket_with_send_json() -> None:
    with pytest.raises(TypeError, match="no send_json"):
        WebSocketConnection("c-1", "u-1", object())  # type: ignore[arg-type]


def test_a_connection_keeps_its_websocket_out_of_its_repr() -> None:
    class TokenBearingWebSocket(fakes.RecordingWebSocket):
        def __repr__(self) -> str:
            return "<ws token=sk-live-123>"

    connection = WebSocketConnection("c-1", "u-1", TokenBearingWebSocket())
    assert "sk-live-123" not in repr(connection)


def test_a_connection_without_a_thread_listens_to_every_thread() -> None:
    connection = WebSocketConnection("c-1", "u-1", fakes.RecordingWebSocket())
    assert connection.listens_to("t-1")
    assert connection.listens_to("t-2")


def test_a_connection_with_a_thread_listens_to_that_thread_only() -> None:
    connection = WebSocketConnection("c-1", "u-1", fakes.RecordingWebSocket(), thread_id="t-1")
    assert connection.listens_to("t-1")
    assert not connection.listens_to("t-2")
