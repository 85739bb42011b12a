"""Masking of credentials before they reach a log line, a report or a diagnostic.

`mask_secrets` runs three passes, each a single left-to-right scan that never
looks at a character twice: PEM private key blocks first (their bodies are
masked whole and kept out of the other passes), then the password part of
DSNs, then values that follow a credential-looking word, whether as
`key=value`, `key: value`, a dict repr, JSON, an `Authorization` header, a bare
`Bearer` token or prose ("password hunter2 rejected"). Every pattern is
possessive or anchored, so no input can make the regular expressions
backtrack: the time is linear in the length of the text.

The module imports only the standard library, so the WebSocket domain can take
`mask_secrets` from `orchestrator` without pulling the engine's weight in.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Mapping, MutableMapping
from typing import Any

MASK = "***"

# Substrings that make any word a credential name, wherever they sit in it.
_STRONG = (
    *("password", "passwd", "passphrase", "pwd", "secret", "token", "credential", "creds"),
    *("apikey", "api_key", "api-key"),
)
# Words that name a credential only as the last part of a key (`api_key`, `X-Auth`, `apiKey`),
# never inside a longer word (`monkey`, `author`, `compass`).
_WEAK_ENDINGS = ("authorization", "auth", "key", "pass")
_AUTH_SCHEMES = frozenset({"basic", "bearer", "digest", "token"})
# Words that may follow a credential word in prose without being its value.
_STOP_WORDS = frozenset(
    """a an and are as at be been by can cannot could did do does empty error expired
    failed failure field file for from given has hash have header in incorrect invalid
    is length manager may mismatch missing must no not of on or policy provided refresh
    rejected required reset set should store that the this to too type unknown unset
    used value was were will with without would wrong""".split()  # noqa: SIM905 (prose reads best)
)
_LINKING_WORDS = ("is", "was")
# Credential words themselves: in "bearer token abc", "token" is the next keyword, not a value.
_KEYWORDS = frozenset(_STRONG) | {"auth", "bearer", "credentials", "key", "tokens"}

# One word that contains a credential hint. The lazy scan starts only where a word
# starts and cannot leave the word, so each character is looked at a bounded number
# of times; the possessive tail then takes the rest of the word.
_CANDIDATE = re.compile(
    r"(?<![\w.\-])[\w.\-]*?(?:pass|pwd|secret|token|cred|key|auth|bearer)[\w.\-]*+",
    re.IGNORECASE,
)
_SEPARATOR = re.compile(r"['\"]?+[ \t]*+(?:=>|=|:(?!//))[ \t]*+")
_GAP = re.compile(r"[ \t]++")
_QUOTED = r"'(?:[^'\\]++|\\.)*+'?+|\"(?:[^\"\\]++|\\.)*+\"?+"
_VALUE = re.compile(rf"{_QUOTED}|[^\s,;&'\"()\[\]{{}}<>]++", re.DOTALL)
_BRACKET_TOKEN = re.compile(rf"[^\[\](){{}}'\"]++|{_QUOTED}|.", re.DOTALL)
_OPENERS = "([{"
_CLOSERS = ")]}"

# After `scheme://`: the user, then everything up to the host. The password is the
# first chunk plus every `@chunk` that still looks like userinfo; it ends at the last `@`.
_USER = re.compile(r"[^:/@\s]*+:")
_USERINFO = re.compile(r"[^\s@'\"<>]*+(?:@[^\s@/?#'\"<>]*+)*+")

_PEM_BEGIN = "-----BEGIN "
_PEM_LABEL = re.compile(r"[A-Z0-9 ]*+-----")


@functools.lru_cache(maxsize=4096)  # a log's keys are few and asked again on every line
def is_secret_key(key: str) -> bool:
    """Whether a mapping key or field name looks like it holds a credential."""
    name = key.rstrip(".-_")
    lowered = name.lower()
    if any(hint in lowered for hint in _STRONG):
        return True
    return any(
        len(name) >= len(ending)
        and name[len(name) - len(ending) :].lower() == ending
        and _starts_a_word(name, len(name) - len(ending))
        for ending in _WEAK_ENDINGS
    )


def _starts_a_word(name: str, start: int) -> bool:
    if start == 0:
        return True
    before = name[start - 1]
    return before in "_-. " or (name[start].isupper() and not before.isupper())


def _is_prose_keyword(word: str) -> bool:
    """Whether `word` is followed by its value in prose ("password hunter2 rejected")."""
    lowered = word.lower()
    if not (lowered[-1].isalnum() or lowered.endswith("_")):
        return False  # "wrong password. Try again": the sentence ended
    return lowered == "bearer" or any(hint in lowered for hint in _STRONG)


def mask_secrets(text: str) -> str:
    """Mask every credential in `text`, in time linear in its length.

    Masked: values under credential-looking names (`password=x`, `token: x`,
    `{'secret': 'x'}`, `"api_key": "x"`, "password x rejected"), the password of
    a DSN (`scheme://user:***@host`, up to the last `@` before the host), the
    token of `Authorization: Bearer`/`Basic` and of any `Bearer` in free text, and
    the body of PEM private key blocks. The rest of the text is kept as it was.

    Args:
        text: Free text: an exception message, a log line, a command line.

    Returns:
        The text with each secret replaced by `***`.
    """
    if text.isidentifier():  # one word, no separator: no name=value, DSN, Bearer or PEM
        return text
    pieces: list[str] = []
    for segment, is_pem in _split_private_keys(text):
        pieces.append(segment if is_pem else _mask_pairs(_mask_dsn_passwords(segment)))
    return "".join(pieces)


mask_text = mask_secrets


def _split_private_keys(text: str) -> list[tuple[str, bool]]:
    """`text` cut into (segment, is_masked_pem_block) pieces, private key bodies masked."""
    pieces: list[tuple[str, bool]] = []
    done = 0
    cursor = text.find(_PEM_BEGIN)
    while cursor != -1:
        label = _PEM_LABEL.match(text, cursor + len(_PEM_BEGIN))
        if label is None or not label.group().endswith("PRIVATE KEY-----"):
            cursor = text.find(_PEM_BEGIN, cursor + len(_PEM_BEGIN))
            continue
        body_start = label.end()
        end = text.find("-----END ", body_start)
        body_end = len(text) if end == -1 else end
        body = text[body_start:body_end]
        lead = body[: len(body) - len(body.lstrip())]
        trail = body[len(body.rstrip()) :] if body.strip() else ""
        pieces.append((text[done:cursor], False))
        pieces.append((text[cursor:body_start] + lead + MASK + trail, True))
        done = body_end
        cursor = text.find(_PEM_BEGIN, body_end)
    pieces.append((text[done:], False))
    return pieces


def _mask_dsn_passwords(text: str) -> str:
    pieces: list[str] = []
    done = 0
    cursor = text.find("://")
    while cursor != -1:
        resume = cursor + 3
        user = _USER.match(text, resume)
        if user is not None:
            userinfo = _USERINFO.match(text, user.end())
            assert userinfo is not None  # every part of the pattern may be empty
            at = userinfo.group().rfind("@")
            if at > 0:
                pieces += [text[done : user.end()], MASK]
                done = user.end() + at
            resume = userinfo.end()
        cursor = text.find("://", resume)
    pieces.append(text[done:])
    return "".join(pieces)


def _mask_pairs(text: str) -> str:
    pieces: list[str] = []
    done = 0
    for word in _CANDIDATE.finditer(text):
        if word.start() < done:
            continue
        span = _value_after(text, word.group(), word.end())
        if span is not None:
            start, end = span
            pieces += [text[done:start], _masked(text[start:end])]
            done = end
    pieces.append(text[done:])
    return "".join(pieces)


def _value_after(text: str, word: str, end: int) -> tuple[int, int] | None:
    """Where the secret that follows the credential word ending at `end` lies, if any."""
    bearer = word.lower() == "bearer"
    separator = _SEPARATOR.match(text, end)
    if separator is not None and (bearer or is_secret_key(word)):
        return _value_span(text, separator.end())
    if separator is None and _is_prose_keyword(word):
        return _prose_value_span(text, end)
    return None


def _value_span(text: str, start: int) -> tuple[int, int] | None:
    if start < len(text) and text[start] in _OPENERS:
        return start, _balanced_end(text, start)
    value = _VALUE.match(text, start)
    if value is None:
        return None
    if value.group().lower() in _AUTH_SCHEMES:
        gap = _GAP.match(text, value.end())
        token = _VALUE.match(text, gap.end()) if gap is not None else None
        if token is not None:
            return token.span()
    return value.span()


def _prose_value_span(text: str, end: int) -> tuple[int, int] | None:
    gap = _GAP.match(text, end)
    if gap is None:
        return None
    start = gap.end()
    for linking in _LINKING_WORDS:
        after = start + len(linking)
        if text.startswith(linking, start) and (link_gap := _GAP.match(text, after)):
            start = link_gap.end()
            break
    value = _VALUE.match(text, start)
    if value is None:
        return None
    bare = value.group().lower()
    if bare in _STOP_WORDS or bare in _KEYWORDS:
        return None
    return value.span()


def _balanced_end(text: str, start: int) -> int:
    """The end of the bracketed value opening at `start` (the end of `text` if unbalanced)."""
    depth = 0
    for token in _BRACKET_TOKEN.finditer(text, start):
        char = token.group()
        if char in _OPENERS:
            depth += 1
        elif char in _CLOSERS:
            depth -= 1
            if depth == 0:
                return token.end()
    return len(text)


def _masked(value: str) -> str:
    """`value` with its content masked, its quotes or brackets kept."""
    first, last = value[0], value[-1]
    if first in "'\"" or first in _OPENERS:
        closing = {"(": ")", "[": "]", "{": "}"}.get(first, first)
        closed = len(value) > 1 and last == closing
        return first + MASK + (closing if closed else "")
    return MASK


def mask_value(key: str, value: Any) -> Any:
    """Mask one value given the key it is stored under."""
    if is_secret_key(key) and value not in (None, ""):
        return MASK
    if isinstance(value, str):
        return mask_secrets(value)
    if isinstance(value, Mapping):
        return mask_mapping(value)
    return value


def mask_mapping(values: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `values` with every credential masked, recursively."""
    return {key: mask_value(str(key), value) for key, value in values.items()}


def mask_processor(
    _logger: Any, _method: str, event_dict: MutableMapping[str, Any]
) -> dict[str, Any]:
    """A structlog processor that masks credentials in every event."""
    return {key: mask_value(key, value) for key, value in event_dict.items()}


class MaskingLogger:
    """Wraps a structlog logger so that every call's fields are masked first.

    Used for `PhaseContext.log`: the library never configures structlog, so it
    masks before handing fields to whatever pipeline the application set up.
    """

    __slots__ = ("_logger",)

    def __init__(self, logger: Any) -> None:
        self._logger = logger

    def bind(self, **fields: Any) -> MaskingLogger:
        """A logger with `fields` (masked) added to every line."""
        return MaskingLogger(self._logger.bind(**mask_mapping(fields)))

    def __getattr__(self, method: str) -> Any:
        target = getattr(self._logger, method)

        def log(event: Any = None, *args: Any, **fields: Any) -> Any:
            text = mask_secrets(event) if isinstance(event, str) else event
            return target(text, *args, **mask_mapping(fields))

        return log
