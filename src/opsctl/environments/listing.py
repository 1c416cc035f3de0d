"""``opsctl env list``: the environments of ``opsctl.yaml``, secrets masked."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

from opsctl.config.models import EMBEDDED

if TYPE_CHECKING:
    from rich.console import Console, ConsoleOptions, RenderResult

    from opsctl.config.models import EnvironmentConfig, LoadedProject


def database_host(environment: EnvironmentConfig) -> str:
    """Where the environment's database lives: ``host:port``, ``embedded`` or ``-``."""
    if environment.database_url is None or not environment.database_url.get_secret_value():
        return "-"
    url = environment.database_url.get_secret_value()
    if url == EMBEDDED:
        return EMBEDDED
    try:
        parts = urlsplit(url)
        host, port = parts.hostname, parts.port
    except ValueError:
        return "?"
    if host is None:
        return "local socket"
    return f"{host}:{port}" if port else host


@dataclass(frozen=True)
class EnvironmentList:
    """The rows of ``opsctl env list``; renders as a table."""

    project: LoadedProject
    current: str

    def __rich_console__(self, console: Console, options: ConsoleOptions) -> RenderResult:
        from rich.table import Table

        from opsctl.output.masking import mask_url

        table = Table()
        for column in ("name", "url", "database host", "protected"):
            table.add_column(column, overflow="fold")
        for name, environment in self.project.config.environments.items():
            marker = " (--env)" if name == self.current else ""
            table.add_row(
                name + marker,
                mask_url(environment.url),
                database_host(environment),
                "yes" if environment.protected else "no",
            )
        yield table
