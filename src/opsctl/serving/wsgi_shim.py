"""An ASGI factory for uvicorn that serves a WSGI app (Flask ...) through a2wsgi.

uvicorn imports this in every worker process; the target comes from the environment the
start-up sets (``OPSCTL_WSGI_APP`` = ``module:attribute``, ``OPSCTL_WSGI_FACTORY`` = ``1`` when
the attribute is a factory to call).
"""

from __future__ import annotations

import importlib
import os
from typing import Any

APP_VARIABLE = "OPSCTL_WSGI_APP"
FACTORY_VARIABLE = "OPSCTL_WSGI_FACTORY"


def create_app() -> Any:
    from a2wsgi import WSGIMiddleware

    module_name, _, attribute = os.environ[APP_VARIABLE].partition(":")
    target = getattr(importlib.import_module(module_name), attribute)
    if os.environ.get(FACTORY_VARIABLE) == "1":
        target = target()
    return WSGIMiddleware(target)
