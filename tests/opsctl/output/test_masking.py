"""Secrets are masked in every output: typed secrets and passwords inside free text."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from opsctl.config.models import EnvironmentConfig
from opsctl.output.masking import (
    MASK,
    SecretMasker,
    encoded_forms,
    mask_text,
    mask_url,
    mask_value,
    masked_config,
)


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


def _b64(data: bytes, *, urlsafe: bool = False, pad: bool = True) -> str:
    import base64

    text = (base64.urlsafe_b64encode if urlsafe else base64.b64encode)(data).decode()
    return text if pad else text.rstrip("=")


SECRET = 'tok/en+"Zq8v-4711?'


@pytest.mark.parametrize(
    "leaked",
    [
        SECRET,
        _b64(SECRET.encode()),
        _b64(SECRET.encode(), pad=False),
        _b64(SECRET.encode(), urlsafe=True),
        _b64(SECRET.encode(), urlsafe=True, pad=False),
        _b64(b"user:" + SECRET.encode()),  # an HTTP Basic header: the secret is not aligned
        _b64(b"u:" + SECRET.encode(), urlsafe=True, pad=False),
        "tok%2Fen%2B%22Zq8v-4711%3F",
        "tok%2fen%2b%22Zq8v-4711%3f",
        "tok/en%2B%22Zq8v-4711%3F",
        'tok/en+\\"Zq8v-4711?',
        'tok\\/en+\\"Zq8v-4711?',
        SECRET[::-1],
    ],
)
def test_secret_masker_masks_encoded_forms(leaked: str) -> None:
    masker = SecretMasker([SECRET])
    shown = masker.text(f"before {leaked} after")
    assert leaked not in shown
    assert shown.startswith("before ") and shown.endswith(" after") and MASK in shown
    assert mask_text(f"x {leaked}", secrets=[SECRET]) != f"x {leaked}"


def test_secret_masker_keeps_url_form_and_masks_overlaps_as_one() -> None:
    masker = SecretMasker(["abcdef-123"])
    masker.add("123-ghijkl")
    assert masker.text("abcdef-123-ghijkl!") == "***!"  # no piece of either stays
    masker.add_url("postgresql://app:pa%24%24word@db:5432/app")
    assert (
        masker.text("to postgresql://app:pa%24%24word@db:5432/app (pa$$word)")
        == "to postgresql://app:***@db:5432/app (***)"
    )
    assert masker.data({"k": [_b64(b"abcdef-123"), 3]}) == {"k": ["***", 3]}
    assert mask_text("no secrets here", secrets=["abcdef-123"]) == "no secrets here"


def test_encoded_forms_skip_short_fragments() -> None:
    assert all(len(form) >= 3 for form in encoded_forms("abc"))
    assert "abc" not in encoded_forms("abc")
