"""Secrets: resolved from references (``env:VAR``, ``file:PATH``) at run time, masked everywhere.

The :class:`Masker` replaces every known secret value in any text or structure before it is
printed or recorded; it also knows the passwords inside the environment's database and Redis
URLs. Values are never written to the run record, only the references.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import unquote, urlsplit

from opsctl.errors import ConfigError
from opsctl.output.masking import mask_text, mask_url

MASK = "***"


class Masker:
    """Replaces secret values in text, longest first (a value inside another stays hidden).

    Secrets become ``***``; a URL keeps scheme, user, host and database and loses its password
    (people must tell environments apart), as everywhere in opsctl. Free text also goes
    through :func:`opsctl.output.masking.mask_text`, which catches passwords in any URL.
    """

    def __init__(self, values: list[str] | None = None) -> None:
        self._replacements: dict[str, str] = {}
        for value in values or []:
            self.add(value)

    def add(self, value: str | None, replacement: str = MASK) -> None:
        # very short values would mask ordinary words and digits; they are refused on resolve
        if value and len(value) >= 3:
            self._replacements[value] = replacement

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

    def text(self, text: str) -> str:
        for value in sorted(self._replacements, key=len, reverse=True):
            if value in text:
                text = text.replace(value, self._replacements[value])
        return mask_text(text)

    def data(self, value: Any) -> Any:
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, dict):
            return {self.text(str(key)): self.data(item) for key, item in value.items()}
        if isinstance(value, list | tuple):
            return [self.data(item) for item in value]
        return value


def resolve_secrets(
    references: Mapping[str, str], *, root: Path, environ: Mapping[str, str], file: str
) -> dict[str, str]:
    """The value of every secret reference; a missing one is a :class:`ConfigError`."""
    values: dict[str, str] = {}
    for name, ref in references.items():
        kind, _, target = ref.partition(":")
        if kind == "env":
            value = environ.get(target)
            if value is None or value == "":
                raise ConfigError(
                    f"secret {name!r}: environment variable {target} is not set",
                    file=file,
                    key=f"secrets.{name}",
                    hint=f"export {target}=... before running the runbook",
                )
        else:
            path = Path(target).expanduser()
            path = path if path.is_absolute() else root / path
            try:
                value = path.read_text(encoding="utf-8").strip()
            except OSError as error:
                raise ConfigError(
                    f"secret {name!r}: cannot read {target}: {error.strerror}",
                    file=file,
                    key=f"secrets.{name}",
                ) from None
        if len(value) < 3:
            raise ConfigError(
                f"secret {name!r} ({ref}) is shorter than 3 characters: too short to mask",
                file=file,
                key=f"secrets.{name}",
            )
        values[name] = value
    return values


def current_environ() -> Mapping[str, str]:
    return os.environ
