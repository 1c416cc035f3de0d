"""Durations in configuration files: ``500ms``, ``30s``, ``5m``, ``1h30m``, or seconds."""

from __future__ import annotations

import re
from typing import Annotated

from pydantic import BeforeValidator

_PART = re.compile(r"(?P<value>\d+(?:\.\d+)?)(?P<unit>ms|s|m|h)")
_SECONDS = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}


def parse_duration(value: object) -> float:
    """Seconds in ``value``; raises ``ValueError`` with the accepted forms."""
    if isinstance(value, bool):
        raise ValueError("expected a duration such as 30s, 5m or 1h30m")
    if isinstance(value, int | float):
        if value < 0:
            raise ValueError("a duration cannot be negative")
        return float(value)
    if isinstance(value, str):
        text = value.strip().replace(" ", "")
        if text and _PART.sub("", text) == "":
            return sum(
                float(m.group("value")) * _SECONDS[m.group("unit")] for m in _PART.finditer(text)
            )
    raise ValueError("expected a duration such as 30s, 5m or 1h30m")


def format_duration(seconds: float) -> str:
    """``seconds`` as a short human text (``1.2s``, ``3m05s``)."""
    if seconds < 60:
        return f"{seconds:.1f}s"
    minutes, rest = divmod(int(seconds), 60)
    if minutes < 60:
        return f"{minutes}m{rest:02d}s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours}h{minutes:02d}m"


Duration = Annotated[float, BeforeValidator(parse_duration)]
"""A pydantic field type: text or number in the file, seconds (float) in the model."""


def _duration_or_template(value: object) -> object:
    if isinstance(value, str) and "{{" in value:
        return value  # rendered (and parsed) when the step runs
    return parse_duration(value)


TemplatedDuration = Annotated[float | str, BeforeValidator(_duration_or_template)]
"""A duration that may also be a template such as ``{{ params.pause }}``."""
