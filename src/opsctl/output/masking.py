"""Mask secrets before anything reaches a terminal, a log or a report.

Two layers, because secrets travel both as typed values and inside free text:

* :func:`mask_value` / :func:`masked_config` mask what the configuration *knows* is secret
  (pydantic ``SecretStr`` fields such as ``database_url`` and ``redis_url``): a URL keeps its
  scheme, user, host and database so people can tell environments apart, and loses its password;
  anything else becomes ``***``.
* :func:`mask_text` is the safety net for free text (error messages from libraries, logs): it
  replaces the password of every ``scheme://user:password@host`` and every ``password=...``
  query/keyword parameter it finds.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

MASK = "***"

# scheme://user:password@  (the password may contain anything but '@', '/' and whitespace)
_URL_PASSWORD = re.compile(r"(?P<prefix>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@/\s]+)(?=@)")
# password=secret in URL queries and libpq keyword strings
_KEYWORD_PASSWORD = re.compile(r"(?P<prefix>\b(?:password|passwd|pwd)=)(?P<pw>[^&\s'\"]+)", re.I)

# values that are keywords rather than secrets
_PLAIN_KEYWORDS = frozenset({"", "embedded"})


def mask_text(text: str) -> str:
    """``text`` with every password in a URL or ``password=`` parameter replaced by ``***``."""
    text = _URL_PASSWORD.sub(lambda m: m.group("prefix") + MASK, text)
    return _KEYWORD_PASSWORD.sub(lambda m: m.group("prefix") + MASK, text)


def mask_url(url: str) -> str:
    """A URL without its password (user, host, port, path and query kept)."""
    try:
        parts = urlsplit(url)
        has_password = parts.password is not None
    except ValueError:
        return MASK
    if not has_password:
        return mask_text(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    netloc = f"{parts.username or ''}:{MASK}@{host}"
    return mask_text(urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment)))


def mask_value(value: str) -> str:
    """A secret as it may be shown: a URL without password, a keyword as is, else ``***``."""
    if value in _PLAIN_KEYWORDS:
        return value
    if "://" in value:
        return mask_url(value)
    return MASK


def reveal_or_mask(secret: SecretStr | None, *, reveal: bool = False) -> str | None:
    """The secret's value when ``reveal`` is asked for, its masked form otherwise."""
    if secret is None:
        return None
    value = secret.get_secret_value()
    return value if reveal else mask_value(value)


def masked_config(model: BaseModel) -> dict[str, Any]:
    """``model`` as plain data (for YAML/JSON output) with every secret masked."""
    return {name: _masked(getattr(model, name)) for name in type(model).model_fields}


def _masked(value: Any) -> Any:
    if isinstance(value, SecretStr):
        return mask_value(value.get_secret_value())
    if isinstance(value, BaseModel):
        return masked_config(value)
    if isinstance(value, dict):
        return {str(key): _masked(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_masked(item) for item in value]
    if isinstance(value, str):
        return mask_text(value)
    return value
