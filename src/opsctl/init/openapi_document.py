"""The service's routes, read from its app in a subprocess that cannot reach a real database.

FastAPI (and any app with an ``openapi()`` method) gives its OpenAPI document; Flask gives its
URL map, turned into a minimal document of the same shape (``paths`` -> methods -> parameters)
so that :func:`opsctl.init.openapi_scenario.scenario_from_openapi` drafts both. The app is
imported with the service's database settings pointed at a closed port on loopback: a service
that connects on import fails instead of touching its developer's database.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from opsctl.config.service_wiring import DEFAULT_DATABASE_ENV, database_variables
from opsctl.serving.service import free_port

TIMEOUT_S = 60.0

_ROUTES = r"""
import json, re, sys, importlib
module_name, _, attribute = sys.argv[1].partition(":")
try:
    target = importlib.import_module(module_name)
    for part in attribute.split("."):
        target = getattr(target, part)
    if sys.argv[2] == "factory":
        target = target()
except Exception as error:
    first = (str(error).strip().splitlines() or [""])[0]
    print(json.dumps({"error": f"{type(error).__name__}: {first}"[:300]}))
    sys.exit(0)
if hasattr(target, "openapi") and callable(target.openapi):
    document = target.openapi()
    document["x-opsctl-openapi-url"] = getattr(target, "openapi_url", None)
elif hasattr(target, "url_map"):
    paths = {}
    for rule in target.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        converters = dict(rule._converters) if hasattr(rule, "_converters") else {}
        parameters = []
        def swap(match):
            converter, name = match.group(1), match.group(2)
            kind = "integer" if converter in ("int", "float") else "string"
            parameters.append(
                {"name": name, "in": "path", "required": True, "schema": {"type": kind}}
            )
            return "{" + name + "}"
        path = re.sub(r"<(?:(\w+)(?:\([^)]*\))?:)?(\w+)>", swap, rule.rule)
        methods = sorted(m.lower() for m in (rule.methods or ()) if m not in ("HEAD", "OPTIONS"))
        item = paths.setdefault(path, {})
        for method in methods:
            item[method] = {"parameters": parameters, "responses": {"200": {"description": ""}}}
    info = {"title": "Flask url_map", "version": ""}
    document = {"openapi": "3.0.3", "info": info, "paths": paths}
else:
    print(json.dumps({"error": "the app has neither openapi() nor a url_map"}))
    sys.exit(0)
print(json.dumps({"document": document}))
"""


def read_routes(
    target: str,
    *,
    factory: bool,
    root: Path,
    database_env: Mapping[str, str] | None,
    required: list[str],
) -> tuple[dict[str, Any] | None, str | None]:
    """The app's OpenAPI document (or Flask's routes as one), or ``None`` and why not."""
    closed = f"postgresql://opsctl-init:opsctl-init@127.0.0.1:{free_port()}/opsctl_init"
    environment = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join(
            [str(root), str(root / "src"), os.environ.get("PYTHONPATH", "")]
        ),
        **dict.fromkeys(required, "opsctl-init"),
        **database_variables(database_env or DEFAULT_DATABASE_ENV, closed),
    }
    try:
        completed = subprocess.run(
            [sys.executable, "-c", _ROUTES, target, "factory" if factory else "instance"],
            cwd=root,
            env=environment,
            capture_output=True,
            text=True,
            timeout=TIMEOUT_S,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return None, f"importing {target} took over {TIMEOUT_S:.0f}s"
    lines = completed.stdout.strip().splitlines()
    try:
        answer = json.loads(lines[-1]) if lines else {}
    except json.JSONDecodeError:
        answer = {}
    if isinstance(answer.get("document"), dict):
        return answer["document"], None
    from opsctl.output.masking import mask_text

    error = answer.get("error") or (completed.stderr.strip().splitlines() or ["no answer"])[-1]
    return None, mask_text(f"could not import {target}: {error}")
