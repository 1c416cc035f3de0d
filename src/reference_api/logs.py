"""JSON logs: one object per line on stdout, each with the request id of its request.

Log lines carry only what we put in them explicitly (``extra={"fields": {...}}``): never
headers, bodies, tokens or passwords.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import sys
from typing import Any

from reference_api.middleware.request_context import request_id_var

LOGGER_NAME = "reference_api"


class JsonFormatter(logging.Formatter):
    """Format a record as one JSON object."""

    def format(self, record: logging.LogRecord) -> str:
        payload: dict[str, Any] = {
            "time": dt.datetime.fromtimestamp(record.created, dt.UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "requestId": request_id_var.get(),
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            payload.update(fields)
        if record.exc_info:
            payload["exception"] = self.formatException(record.exc_info)
        return json.dumps(payload, default=str)


def configure_logging(level: str) -> logging.Logger:
    """Send the service's logs to stdout as JSON (once per process, whatever the app count)."""
    root = logging.getLogger(LOGGER_NAME)
    root.setLevel(level.upper())
    if not any(isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        handler = logging.StreamHandler(sys.stdout)
        handler.setFormatter(JsonFormatter())
        root.addHandler(handler)
    # uvicorn configures the root logger; ours must not print each line twice.
    root.propagate = False
    return root
