"""Credentials never reach a log line or a diagnostic."""

from __future__ import annotations

import ast
import json
import pathlib
import string
import sys
from collections.abc import Callable

import pytest
import structlog
from hypothesis import assume, given
from hypothesis import strategies as st

import orchestrator
from orchestrator import Boot, BootAborted, PhaseContext, mask_secrets
from orchestrator._model._masking import (
    _AUTH_SCHEMES,
    _KEYWORDS,
    _STOP_WORDS,
    is_secret_key,
    mask_mapping,
    mask_text,
)

# --- one test per form ------------------------------------------------------------------


def test_dsn_password_is_masked() -> None:
    assert mask_text("postgresql://app:s3cr3t@db:5432/chat") == "postgresql://app:***@db:5432/chat"


def test_dsn_password_holding_at_signs_ends_at_the_last_at_before_the_host() -> None:
    masked = mask_secrets("cannot reach postgresql://app:p@ss@w0rd@db:5432/chat now")
    assert masked == "cannot reach postgresql://app:***@db:5432/chat now"


def test_dsn_without_a_user_name_has_its_password_masked() -> None:
    assert mask_secrets("redis://:pw123@cache:6379/0") == "redis://:***@cache:6379/0"


def test_url_without_a_password_is_left_alone() -> None:
    text = "see https://example.com:8443/docs and ssh://git@example.com/repo"
    assert mask_secrets(text) == text


def test_key_value_credentials_are_masked() -> None:
    text = "connect password=hunter2 api_key: abc123 token='xyz' user=bob"
    assert mask_text(text) == "connect password=*** api_key: *** token='***' user=bob"


def test_key_colon_value_credentials_are_masked() -> None:
    masked = mask_secrets("db_password: hunter2\nhost: db")
    assert masked == "db_password: ***\nhost: db"


def test_credentials_in_a_dict_repr_are_masked() -> None:
    text = repr({"user": "bob", "password": "hunter2", "port": 5432})
    assert mask_secrets(text) == "{'user': 'bob', 'password': '***', 'port': 5432}"


def test_credentials_in_json_are_masked_escaped_quotes_included() -> None:
    text = json.dumps({"token": 'ab"cd', "user": "bob"})
    assert mask_secrets(text) == '{"token": "***", "user": "bob"}'


def test_a_credential_holding_a_structure_is_masked_whole() -> None:
    masked = mask_secrets("Config(auth=('bob', 'hunter2'), host='db')")
    assert masked == "Config(auth=(***), host='db')"


def test_authorization_bearer_header_keeps_the_scheme_and_masks_the_token() -> None:
    masked = mask_secrets("Authorization: Bearer eyJhbGciOi.eyJzdWIi.c2lnbmF0dXJl sent")
    assert masked == "Authorization: Bearer *** sent"


def test_authorization_basic_header_masks_the_credentials() -> None:
    assert mask_secrets("Authorization: Basic dXNlcjpwYXNz") == "Authorization: Basic ***"


def test_a_bearer_token_in_free_text_is_masked() -> None:
    masked = mask_secrets("request with Bearer abc123.def== was refused")
    assert masked == "request with Bearer *** was refused"


def test_a_pem_private_key_body_is_masked_and_its_markers_kept() -> None:
    text = (
        "bad key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEowIBAAKCAQEA\nq83vEjWBmz==\n"
        "-----END RSA PRIVATE KEY-----\nend"
    )
    masked = mask_secrets(text)
    assert masked == (
        "bad key:\n-----BEGIN RSA PRIVATE KEY-----\n***\n-----END RSA PRIVATE KEY-----\nend"
    )


def test_a_truncated_pem_private_key_is_masked_to_the_end() -> None:
    masked = mask_secrets("-----BEGIN PRIVATE KEY-----\nMIIEowIBAAKCAQEA")
    assert masked == "-----BEGIN PRIVATE KEY-----\n***"


def test_a_pem_certificate_is_not_a_secret() -> None:
    text = "-----BEGIN CERTIFICATE-----\nMIIBszCCAVmg\n-----END CERTIFICATE-----"
    assert mask_secrets(text) == text


def test_a_password_in_prose_is_masked() -> None:
    assert mask_secrets("password hunter2 rejected") == "password *** rejected"


def test_a_quoted_password_in_prose_is_masked() -> None:
    masked = mask_secrets("login with password 'hunter 2' failed")
    assert masked == "login with password '***' failed"


def test_a_password_after_is_in_prose_is_masked() -> None:
    assert mask_secrets("the password is hunter2") == "the password is ***"


def test_ordinary_words_after_a_credential_word_are_kept() -> None:
    for text in (
        "invalid password for user bob",
        "the token expired at 12:00",
        "wrong password. Try again",
        "KeyError: 'password'",
    ):
        assert mask_secrets(text) == text


def test_names_that_only_contain_key_auth_or_pass_are_not_credentials() -> None:
    assert [is_secret_key(k) for k in ("monkey", "author", "compass", "bypass")] == [False] * 4
    assert all(is_secret_key(k) for k in ("apiKey", "X-Api-Key", "basic_auth", "db_pass"))


def test_values_under_credential_keys_are_masked_recursively() -> None:
    masked = mask_mapping({"db": {"password": "p", "host": "h"}, "jwt_secret": "s", "port": 1})
    assert masked == {"db": {"password": "***", "host": "h"}, "jwt_secret": "***", "port": 1}


def test_masking_is_published_as_one_function() -> None:
    assert orchestrator.mask_secrets is mask_text


def test_the_masking_module_imports_only_the_standard_library() -> None:
    source = pathlib.Path(orchestrator.__file__).parent / "_model" / "_masking.py"
    modules: set[str] = set()
    for node in ast.walk(ast.parse(source.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name.split(".")[0] for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module:
            modules.add(node.module.split(".")[0])
    assert modules <= set(sys.stdlib_module_names) | {"__future__"}


# --- inputs that made the former patterns quadratic: correctness only ---------------------


def test_a_long_run_of_credential_keys_is_masked() -> None:
    assert mask_secrets("password=" * 5000) == "password=***"


def test_a_scheme_followed_by_a_long_run_of_colons_is_left_alone() -> None:
    text = "a://" + ":" * 30000
    assert mask_secrets(text) == text


def test_long_words_without_credentials_are_left_alone() -> None:
    for text in ("a" * 32768, "a." * 16384, "x-" * 16384):
        assert mask_secrets(text) == text


def test_a_long_run_of_credential_words_keeps_every_word() -> None:
    text = "password token secret api_key auth bearer " * 3000
    assert mask_secrets(text) == text


def test_a_long_run_of_unclosed_quotes_after_a_key_is_masked() -> None:
    masked = mask_secrets("token='" * 5000)
    assert "token='***'" in masked
    assert set(masked.replace("token='***'", "")) <= set("token='*")


def test_a_long_word_ending_in_key_is_masked_once() -> None:
    assert mask_secrets("x" * 30000 + "_key=v") == "x" * 30000 + "_key=***"


def test_many_unterminated_private_key_headers_are_masked() -> None:
    masked = mask_secrets("-----BEGIN PRIVATE KEY-----" * 3000)
    assert masked == "-----BEGIN PRIVATE KEY-----***"


# --- property: no generated secret survives, in any form -----------------------------------

_WORD = string.ascii_letters + string.digits
_PUNCT = "!#$%+-./=?^_`|~"
_B64 = _WORD + "-._~+/="

FORMS: dict[str, tuple[Callable[[str], str], st.SearchStrategy[str]]] = {
    "key=value": (lambda s: f"connect password={s} user=bob", st.text(_WORD + _PUNCT, min_size=4)),
    "key: value": (lambda s: f"api_key: {s}\nhost: db", st.text(_WORD + _PUNCT, min_size=4)),
    "dict repr": (lambda s: repr({"user": "bob", "secret": s}), st.text(min_size=4)),
    "json": (lambda s: json.dumps({"token": s, "n": 1}), st.text(min_size=4)),
    "prose": (lambda s: f"password {s} rejected", st.text(_WORD + _PUNCT, min_size=6)),
    "quoted prose": (
        lambda s: f"with password '{s}' failed",
        st.text(st.characters(exclude_characters="'\\"), min_size=4),
    ),
    "bearer header": (lambda s: f"Authorization: Bearer {s}\n", st.text(_B64, min_size=4)),
    "basic header": (lambda s: f"Authorization: Basic {s} sent", st.text(_B64, min_size=4)),
    "bearer in text": (lambda s: f"sent Bearer {s} upstream", st.text(_B64, min_size=6)),
    "dsn": (
        lambda s: f"cannot reach postgresql://app:{s}@db:5432/chat",
        st.text(_WORD + "!$%&+,;=:@-._~", min_size=4),
    ),
    "pem": (
        lambda s: f"-----BEGIN EC PRIVATE KEY-----\n{s}\n-----END EC PRIVATE KEY-----",
        st.lists(st.text(_B64, min_size=1), min_size=1).map("\n".join),
    ),
}


@pytest.mark.parametrize("form", sorted(FORMS))
@given(data=st.data())
def test_no_generated_secret_reaches_the_masked_text(form: str, data: st.DataObject) -> None:
    render, secrets = FORMS[form]
    secret = data.draw(secrets.filter(lambda s: s.strip() and "*" not in s), label="secret")
    # A secret that reads as an ordinary word, a keyword or a separator ("password =x")
    # is indistinguishable from the text around it; every other one must vanish.
    assume(secret.lower() not in _STOP_WORDS | _KEYWORDS | _AUTH_SCHEMES)
    assume(not secret.startswith(("=", ":")))
    text = render(secret)
    embedded = json.dumps(secret)[1:-1] if form == "json" else secret
    if form == "dict repr":
        embedded = repr(secret)[1:-1]
    neutral = mask_secrets(render("neutral0"))
    assume(embedded.strip() not in neutral and embedded in text)
    masked = mask_secrets(text)
    assert embedded.strip() not in masked
    # Only the quotes a repr chose around the secret may differ from a neutral rendering.
    assert masked.replace('"', "'") == neutral.replace('"', "'")


# --- the diagnostic and the logger ----------------------------------------------------------


@pytest.mark.anyio
async def test_exception_message_with_a_dsn_is_masked_in_the_diagnostic() -> None:
    boot = Boot("leaky")

    @boot.phase()
    async def database() -> None:
        raise ConnectionError("cannot reach postgresql://app:s3cr3t@db/chat password=s3cr3t")

    with pytest.raises(BootAborted) as caught:
        await boot.run_once(sinks=[])
    rendered = str(caught.value.diagnostic) + caught.value.diagnostic.to_json()
    rendered += caught.value.report.to_json()
    assert "s3cr3t" not in rendered
    assert "postgresql://app:***@db/chat" in rendered


@pytest.mark.anyio
async def test_phase_context_logger_masks_credentials() -> None:
    boot = Boot("logging")

    @boot.phase()
    async def database(ctx: PhaseContext) -> None:
        ctx.log.info("connecting", dsn="redis://:pw123@cache:6379", password="pw123")

    with structlog.testing.capture_logs() as logs:
        await boot.run_once(sinks=[])
    line = next(entry for entry in logs if entry["event"] == "connecting")
    assert line["dsn"] == "redis://:***@cache:6379"
    assert line["password"] == "***"
    assert line["phase"] == "database"


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,40}", fullmatch=True))
def test_a_single_word_is_never_changed_by_masking_as_the_full_scan_says(word: str) -> None:
    from orchestrator._model._masking import _mask_dsn_passwords, _mask_pairs

    assert mask_secrets(word) == _mask_pairs(_mask_dsn_passwords(word)) == word


def test_the_secret_key_verdict_is_the_same_when_asked_again() -> None:
    assert [is_secret_key(key) for key in ("password", "phase", "api_key", "at_ms")] * 2 == [
        True,
        False,
        True,
        False,
    ] * 2
