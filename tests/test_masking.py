"""Credentials never reach a log line or a diagnostic."""

from __future__ import annotations

import pytest
import structlog

from orchestrator import Boot, BootAborted, PhaseContext
from orchestrator._masking import mask_mapping, mask_text


def test_dsn_password_is_masked() -> None:
    assert mask_text("postgresql://app:s3cr3t@db:5432/chat") == "postgresql://app:***@db:5432/chat"


def test_key_value_credentials_are_masked() -> None:
    text = "connect password=hunter2 api_key: abc123 token='xyz' user=bob"
    assert mask_text(text) == "connect password=*** api_key: *** token='***' user=bob"


def test_values_under_credential_keys_are_masked_recursively() -> None:
    masked = mask_mapping({"db": {"password": "p", "host": "h"}, "jwt_secret": "s", "port": 1})
    assert masked == {"db": {"password": "***", "host": "h"}, "jwt_secret": "***", "port": 1}


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
