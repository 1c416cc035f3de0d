"""The service under load on ``local``: :mod:`opsctl.serving`, with the load section's options.

Kept as the load gate's adapter (the start-up itself is shared with the api gate and ``up``).
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterator

from opsctl.gates.interface import GateContext
from opsctl.gates.load.settings import LoadSettings
from opsctl.serving.service import MULTIPROC_VARIABLE, ServeOptions, started_service

__all__ = ["MULTIPROC_VARIABLE", "local_service", "serve_options"]


def serve_options(settings: LoadSettings) -> ServeOptions:
    return ServeOptions(
        workers=settings.server_workers,
        seed_scale=settings.seed_scale,
        environment=dict(settings.service_environment),
        progress_label="load",
    )


@contextlib.contextmanager
def local_service(context: GateContext, settings: LoadSettings) -> Iterator[str]:
    """Yield the base URL of a freshly started, seeded service; stop it and drop its data after."""
    with started_service(context, serve_options(settings)) as url:
        yield url
