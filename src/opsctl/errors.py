"""Every error opsctl raises on purpose, and the exit code each one maps to.

The tree (catch the narrowest class you can handle)::

    OpsctlError                     exit 3 unless a subclass says otherwise
    ├── UsageError                  exit 2: the command line is wrong
    ├── ConfigError                 exit 2: a configuration file is wrong (names file, line, key)
    │   └── MissingVariableError    exit 2: ${VAR} without a default is not set
    ├── RefusedError                exit 2: the request is valid but unsafe (protected environment,
    │                               database not at head, ...)
    ├── DependencyError             exit 3: something opsctl needs is unreachable or broken
    │   ├── DatabaseError           exit 3: PostgreSQL could not be reached or started
    │   └── ToolError               exit 3: a wrapped tool (bandit, pip-audit, ...) crashed
    └── InterruptedByUser           exit 3: Ctrl-C

Third-party exceptions are translated into these at the boundary that calls the library
(for example ``opsctl.database`` for psycopg), so the CLI only ever catches ``OpsctlError``.
"""

from __future__ import annotations

import enum


class ExitCode(enum.IntEnum):
    """Exit codes, the same for every command (documented in the README)."""

    OK = 0
    CHECK_FAILED = 1
    USAGE = 2
    INCOMPLETE = 3


class OpsctlError(Exception):
    """Base of every expected opsctl error; ``str(error)`` is the one-line message for the user."""

    exit_code: ExitCode = ExitCode.INCOMPLETE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message if self.hint is None else f"{self.message}\n  hint: {self.hint}"


class UsageError(OpsctlError):
    """The command line asks for something that does not exist or does not fit together."""

    exit_code = ExitCode.USAGE


class ConfigError(OpsctlError):
    """A configuration file is invalid. Names the file, the line and the key where known."""

    exit_code = ExitCode.USAGE

    def __init__(
        self,
        message: str,
        *,
        file: str | None = None,
        line: int | None = None,
        key: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = file or "<configuration>"
        if line is not None:
            where = f"{where}:{line}"
        prefix = f"{where}: " if key is None else f"{where}: {key}: "
        super().__init__(prefix + message, hint=hint)
        self.file = file
        self.line = line
        self.key = key


class MissingVariableError(ConfigError):
    """``${VAR}`` is used without a default and ``VAR`` is not set in the environment."""


class RefusedError(OpsctlError):
    """The request is well-formed but opsctl refuses it to keep an environment safe."""

    exit_code = ExitCode.USAGE


class DependencyError(OpsctlError):
    """Something opsctl needs (a server, a tool) is unreachable or broken: nothing was judged."""

    exit_code = ExitCode.INCOMPLETE


class DatabaseError(DependencyError):
    """PostgreSQL could not be reached, started or queried."""


class ToolError(DependencyError):
    """A wrapped tool crashed or produced output opsctl cannot read."""


class InterruptedByUser(OpsctlError):  # noqa: N818 (a user action, not an error)
    """The user pressed Ctrl-C; whatever was started has been stopped."""

    exit_code = ExitCode.INCOMPLETE
