"""The service in the foreground for ``opsctl up``: the same command and environment as the gates.

The app is told apart and started exactly as :func:`opsctl.serving.started_service` does, on
the host and port the developer chose, with its output on the terminal, until Ctrl-C.
"""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from typing import TYPE_CHECKING

from opsctl.errors import ConfigError, DependencyError
from opsctl.processes import stop_group
from opsctl.serving.service import SERVICE_GRACE_S, project_environment, wait_ready

if TYPE_CHECKING:
    from opsctl.config.models import LoadedProject


def serve_in_foreground(
    project: LoadedProject,
    *,
    database_url: str | None,
    redis_url: str | None,
    host: str,
    port: int,
    log_level: str,
    access_log: bool,
    on_ready: Callable[[], None],
) -> None:
    """Serve until the process ends or Ctrl-C (``KeyboardInterrupt``); stop it on the way out."""
    from opsctl.serving.apps import probe_app, start_command, uvicorn_command

    service = project.config.service
    environment = project_environment(
        project, environment={}, database_url=database_url, redis_url=redis_url, extra={}
    )
    if service.start:
        command = start_command(service.start, host=host, port=port)
    elif service.app:
        kind = probe_app(
            service.app, root=project.root, environment=environment, file=project.path.name
        )
        command, shim = uvicorn_command(
            service.app,
            kind,
            host=host,
            port=port,
            workers=1,
            log_level=log_level,
            access_log=access_log,
        )
        environment.update(shim)
    else:
        raise ConfigError(
            "opsctl up needs service.app or service.start",
            file=project.path.name,
            key="service.app",
        )
    try:
        # its own process group: a wrapper (sh -c, poetry run) and uvicorn's workers are
        # stopped with it, never left holding the port
        process = subprocess.Popen(
            command, cwd=project.root, env=environment, start_new_session=True
        )
    except OSError as error:
        raise DependencyError(f"cannot start {command[0]}: {error.strerror}") from error
    local_host = "127.0.0.1" if host in ("0.0.0.0", "::", "") else host  # noqa: S104
    url = f"http://{'[' + local_host + ']' if ':' in local_host else local_host}:{port}"
    try:
        wait_ready(process, url, None)
        on_ready()
        code = process.wait()
        if code != 0:
            raise DependencyError(f"the service exited with status {code}", hint="see above")
    finally:
        stop_group(process, grace=SERVICE_GRACE_S)
