"""Mask secrets before anything reaches a terminal, a log or a report.

Two layers, because secrets travel both as typed values and inside free text:

* :func:`mask_value` / :func:`masked_config` mask what the configuration *knows* is secret
  (pydantic ``SecretStr`` fields such as ``database_url`` and ``redis_url``): a URL keeps its
  scheme, user, host and database so people can tell environments apart, and loses its password;
  anything else becomes ``***``.
* :func:`mask_text` is the safety net for free text (error messages from libraries, logs): it
  replaces the password of every ``scheme://user:password@host`` and every ``password=...``
  query/keyword parameter it finds, and every value given in ``secrets``.

Values known at run time (a runbook's secrets, the passwords inside an environment's URLs) are
registered with a :class:`SecretMasker`. It masks each value *and the forms it takes when it
travels inside other text*: base64 (standard and URL-safe, padded or not, and at any byte
alignment inside a longer base64 text such as an HTTP Basic header), percent-encoding,
JSON string escaping, and the reversed value. A command that prints ``base64(secret)`` must
not put the secret into a log.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus, unquote, urlsplit, urlunsplit

from pydantic import BaseModel, SecretStr

MASK = "***"

# scheme://user:password@  (the password may contain anything but '@', '/' and whitespace)
_URL_PASSWORD = re.compile(r"(?P<prefix>[A-Za-z][A-Za-z0-9+.-]*://[^:/@\s]*:)(?P<pw>[^@/\s]+)(?=@)")
# password=secret in URL queries and libpq keyword strings
_KEYWORD_PASSWORD = re.compile(r"(?P<prefix>\b(?:password|passwd|pwd)=)(?P<pw>[^&\s'\"]+)", re.I)

# values that are keywords rather than secrets
_PLAIN_KEYWORDS = frozenset({"", "embedded"})
# shorter values would mask ordinary words and digits (runbooks refuse such secrets)
MIN_SECRET_LENGTH = 3
# a piece of a base64 text shorter than this is too likely to occur by chance
_MIN_FRAGMENT = 6
_PERCENT_ESCAPE = re.compile(r"%[0-9A-F]{2}")


def mask_text(text: str, secrets: Iterable[str] = ()) -> str:
    """``text`` with every password in a URL or ``password=`` parameter replaced by ``***``.

    Each value of ``secrets`` (and its encoded forms, see :class:`SecretMasker`) is masked too.
    """
    if secrets:
        text = SecretMasker(secrets).values_masked(text)
    text = _URL_PASSWORD.sub(lambda m: m.group("prefix") + MASK, text)
    return _KEYWORD_PASSWORD.sub(lambda m: m.group("prefix") + MASK, text)


def encoded_forms(value: str) -> set[str]:
    """The forms ``value`` takes inside other text (the value itself excluded)."""
    raw = value.encode("utf-8")
    forms: set[str] = set()
    for alignment in range(3):
        # inside a longer base64 text the value starts at one of three byte alignments; keep
        # the characters that depend on its bytes only (not on the neighbours')
        encoded = base64.b64encode(b"\0" * alignment + raw).decode("ascii")
        start = -(-8 * alignment // 6)
        stable = encoded[start : 8 * (alignment + len(raw)) // 6]
        if alignment == 0:
            forms.update((encoded, encoded.rstrip("=")))
        if len(stable) >= _MIN_FRAGMENT or (alignment == 0 and stable):
            forms.add(stable)
    forms |= {form.translate(_URLSAFE) for form in forms}
    for quoted in (quote(value, safe=""), quote(value), quote_plus(value)):
        forms.update((quoted, _PERCENT_ESCAPE.sub(lambda m: m.group().lower(), quoted)))
    for escaped in (json.dumps(value)[1:-1], json.dumps(value, ensure_ascii=False)[1:-1]):
        forms.update((escaped, escaped.replace("/", "\\/")))
    forms.add(value[::-1])
    forms.discard(value)
    return {form for form in forms if len(form) >= MIN_SECRET_LENGTH}


_URLSAFE = str.maketrans("+/", "-_")


class SecretMasker:
    """Masks registered secret values, and their encoded forms, in text and data.

    A value becomes ``***`` unless registered with its own replacement (a URL keeps scheme,
    user, host and database and loses its password: people must tell environments apart).
    Overlapping matches are masked as one span, so no piece of either secret stays visible.
    Free text also goes through :func:`mask_text`, which catches passwords in any URL.
    """

    def __init__(self, values: Iterable[str] | None = None) -> None:
        self._replacements: dict[str, str] = {}
        for value in values or ():
            self.add(value)

    def add(self, value: str | None, replacement: str = MASK) -> None:
        if not value or len(value) < MIN_SECRET_LENGTH:
            return
        self._replacements[value] = replacement
        for form in encoded_forms(value):
            self._replacements.setdefault(form, MASK)

    def add_url(self, url: str | None) -> None:
        """Mask the password inside a URL (wherever it appears) and the URL as a whole."""
        if not url:
            return
        try:
            password = urlsplit(url).password
        except ValueError:
            self.add(url)
            return
        if password:
            self.add(password)
            self.add(unquote(password))
            self.add(url, mask_url(url))

    def values_masked(self, text: str) -> str:
        """``text`` with the registered values (and their forms) replaced; nothing else."""
        spans: list[tuple[int, int, str]] = []
        for needle, replacement in self._replacements.items():
            start = text.find(needle)
            while start != -1:
                spans.append((start, start + len(needle), replacement))
                start = text.find(needle, start + 1)
        if not spans:
            return text
        spans.sort(key=lambda span: (span[0], span[0] - span[1]))  # longest first per start
        out: list[str] = []
        position = 0
        start, end, replacement = spans[0]
        for next_start, next_end, _ in spans[1:]:
            if next_start < end:  # overlapping: one span; only the covering one keeps its form
                if next_end > end:
                    end, replacement = next_end, MASK
                continue
            out += [text[position:start], replacement]
            position = end
            start, end, replacement = next_start, next_end, _
        out += [text[position:start], replacement, text[end:]]
        return "".join(out)

    def text(self, text: str) -> str:
        return mask_text(self.values_masked(text))

    def data(self, value: Any) -> Any:
        """``value`` (JSON-like data) with every string, keys included, masked."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(key)): self.data(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        return value


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
