"""Secrets are masked in every output: typed secrets and passwords inside free text."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from opsctl.config.models import EnvironmentConfig
from opsctl.output.masking import mask_text, mask_url, mask_value, masked_config


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://app:pw@db:5432/app", "postgresql://app:***@db:5432/app"),
        ("redis://:pw@cache:6379/0", "redis://:***@cache:6379/0"),
        ("failed: postgresql+psycopg://u:p%40ss@h/d x", "failed: postgresql+psycopg://u:***@h/d x"),
        ("host=db password=hunter2 user=app", "host=db password=*** user=app"),
        (
            "postgresql://h/d?password=hunter2&sslmode=require",
            "postgresql://h/d?password=***&sslmode=require",
        ),
        ("postgresql://postgres@127.0.0.1:5432/app", "postgresql://postgres@127.0.0.1:5432/app"),
        ("no secrets here", "no secrets here"),
    ],
)
def test_mask_text(text: str, expected: str) -> None:
    assert mask_text(text) == expected


def test_mask_url_keeps_what_tells_environments_apart() -> None:
    assert (
        mask_url("postgresql://app:pw@db.example:5432/app")
        == "postgresql://app:***@db.example:5432/app"
    )


@pytest.mark.parametrize(
    ("value", "expected"),
    [("embedded", "embedded"), ("", ""), ("plain-token-value", "***")],
)
def test_mask_value(value: str, expected: str) -> None:
    assert mask_value(value) == expected


def test_masked_config_masks_secret_fields() -> None:
    environment = EnvironmentConfig(
        url="https://user:pw@api.example",
        database_url=SecretStr("postgresql://app:pw@db/app"),
        redis_url=SecretStr("redis://:pw@cache:6379/0"),
    )

    shown = masked_config(environment)

    assert shown == {
        "url": "https://user:***@api.example",
        "database_url": "postgresql://app:***@db/app",
        "redis_url": "redis://:***@cache:6379/0",
        "protected": False,
    }
