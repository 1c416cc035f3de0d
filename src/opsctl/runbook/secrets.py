"""Secrets: resolved from references (``env:VAR``, ``file:PATH``) at run time, masked everywhere.

The :class:`Masker` (:class:`opsctl.output.masking.SecretMasker`) replaces every known secret
value, and its encoded forms, in any text or structure before it is printed or recorded; it
also knows the passwords inside the environment's database and Redis URLs. Values are never
written to the run record, only the references.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from pathlib import Path

from opsctl.errors import ConfigError
from opsctl.output.masking import MASK, SecretMasker

# The shared masker (values and their base64, percent-encoded, JSON-escaped forms).
Masker = SecretMasker
__all__ = ["MASK", "Masker", "current_environ", "resolve_secrets"]


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


def masker_for_record(
    references: Mapping[str, str],
    *,
    root: Path,
    environ: Mapping[str, str],
    urls: list[str | None],
) -> Masker:
    """A masker for reading back a run record (``log``, ``history``).

    Records are masked when written; this masks again with what can be resolved now (the
    run's secret references, the environment's URLs), so a record written by an older opsctl
    or edited by hand does not show a secret either. A reference that cannot be resolved
    here is skipped: reading a record never needs the secrets.
    """
    masker = Masker()
    for name, ref in references.items():
        try:
            value = resolve_secrets({name: ref}, root=root, environ=environ, file="record")
        except ConfigError:
            continue
        masker.add(value[name])
    for url in urls:
        masker.add_url(url)
    return masker
