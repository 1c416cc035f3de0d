"""What ``service.app`` names, told apart in a small subprocess, and the command that serves it.

The probe imports the app the way the server would (the service's own environment and
``PYTHONPATH``), so that importing never touches opsctl's own process: an ASGI instance
(FastAPI, Starlette: an ``async __call__``), a factory (a callable without required
arguments; it is called once to see what it returns), or a WSGI app (Flask: a synchronous
``(environ, start_response)`` callable), served through a2wsgi.
"""

from __future__ import annotations

import enum
import json
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path

from opsctl.errors import ConfigError, DependencyError

PROBE_TIMEOUT_S = 60.0


class AppKind(enum.Enum):
    ASGI = "asgi"
    ASGI_FACTORY = "asgi_factory"
    WSGI = "wsgi"
    WSGI_FACTORY = "wsgi_factory"


_PROBE = r"""
import importlib, inspect, json, sys
module_name, _, attribute = sys.argv[1].partition(":")
try:
    target = getattr(importlib.import_module(module_name), attribute)
except Exception as error:
    print(json.dumps({"error": f"cannot import {sys.argv[1]}: {type(error).__name__}: {error}"}))
    sys.exit(0)

def is_asgi(obj):
    if inspect.iscoroutinefunction(obj):
        return True
    call = getattr(obj, "__call__", None)
    return inspect.iscoroutinefunction(call) and not inspect.isclass(obj)

def is_factory(obj):
    if is_asgi(obj) or not callable(obj) or inspect.isclass(obj):
        return False
    try:
        parameters = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [p for p in parameters if p.default is p.empty
                and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
    return not required

factory = is_factory(target)
if factory:
    try:
        target = target()
    except Exception as error:
        print(json.dumps({"error": f"{sys.argv[1]}() failed: {type(error).__name__}: {error}"}))
        sys.exit(0)
kind = "asgi" if is_asgi(target) else "wsgi" if callable(target) else None
if kind is None:
    print(json.dumps({"error": f"{sys.argv[1]} is neither an ASGI/WSGI app nor a factory"}))
else:
    print(json.dumps({"kind": kind + ("_factory" if factory else "")}))
"""


def probe_app(target: str, *, root: Path, environment: Mapping[str, str], file: str) -> AppKind:
    """The kind of app ``target`` names; a :class:`ConfigError` on ``service.app`` if none."""
    module_name, _, attribute = target.partition(":")
    if not module_name or not attribute:
        raise ConfigError(
            f"expected 'module:attribute', got {target!r}", file=file, key="service.app"
        )
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _PROBE, target],
            cwd=root,
            env=dict(environment),
            capture_output=True,
            text=True,
            timeout=PROBE_TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired as error:
        raise DependencyError(f"importing {target} took over {PROBE_TIMEOUT_S:.0f}s") from error
    from opsctl.output.masking import mask_text

    lines = completed.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        answer = {}
    if "kind" in answer:
        return AppKind(answer["kind"])
    message = answer.get("error") or (completed.stderr.strip()[-400:] or "no answer")
    raise ConfigError(mask_text(str(message)), file=file, key="service.app")


def uvicorn_command(
    target: str,
    kind: AppKind,
    *,
    host: str,
    port: int,
    workers: int,
    log_level: str = "warning",
    access_log: bool = False,
) -> tuple[list[str], dict[str, str]]:
    """The uvicorn command for ``target`` of ``kind``, and variables it needs (WSGI shim)."""
    extra: dict[str, str] = {}
    factory: list[str] = []
    app = target
    if kind is AppKind.ASGI_FACTORY:
        factory = ["--factory"]
    elif kind in (AppKind.WSGI, AppKind.WSGI_FACTORY):
        from opsctl.serving import wsgi_shim

        extra = {
            wsgi_shim.APP_VARIABLE: target,
            wsgi_shim.FACTORY_VARIABLE: "1" if kind is AppKind.WSGI_FACTORY else "0",
        }
        app, factory = "opsctl.serving.wsgi_shim:create_app", ["--factory"]
    # No proxy stands in front of a service opsctl serves: a forwarded header comes from the
    # client itself, and uvicorn believes one from 127.0.0.1 by default (its rewrite of the
    # client address would hand every probe a fresh rate-limit bucket). A service that trusts
    # such headers in its own code is still seen doing so.
    command = [
        sys.executable, "-m", "uvicorn", *factory, app,
        "--host", host, "--port", str(port), "--workers", str(workers),
        "--log-level", log_level, *([] if access_log else ["--no-access-log"]),
        "--no-proxy-headers",
    ]  # fmt: skip
    return command, extra


def start_command(template: list[str], *, host: str, port: int) -> list[str]:
    """``service.start`` with ``{host}`` and ``{port}`` filled in (nothing else is replaced)."""
    return [part.replace("{host}", host).replace("{port}", str(port)) for part in template]
