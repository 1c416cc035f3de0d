"""Typed runbook parameters: ``-p key=value`` from the command line, checked before any step."""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from opsctl.config.durations import parse_duration
from opsctl.errors import UsageError
from opsctl.runbook.model import Param, Runbook

_TRUE = {"true", "yes", "y", "1", "on"}
_FALSE = {"false", "no", "n", "0", "off"}


class ParamError(ValueError):
    """A value does not fit its parameter's type or bounds."""


def coerce(param: Param, value: Any) -> Any:
    """``value`` (text from the command line, or a YAML default) as the parameter's type."""
    text = str(value).strip()
    result: Any
    if param.type == "bool":
        if isinstance(value, bool):
            return value
        if text.lower() not in _TRUE | _FALSE:
            raise ParamError(f"expected true or false, got {text!r}")
        return text.lower() in _TRUE
    if param.type == "int":
        if isinstance(value, bool) or not re.fullmatch(r"[-+]?\d+", text):
            raise ParamError(f"expected a whole number, got {text!r}")
        result = int(text)
    elif param.type == "float":
        try:
            result = float(text)
        except ValueError:
            raise ParamError(f"expected a number, got {text!r}") from None
    elif param.type == "duration":
        try:
            result = parse_duration(value)
        except ValueError as error:
            raise ParamError(str(error)) from None
    elif param.type == "enum":
        if text not in (param.values or []):
            raise ParamError(f"expected one of {', '.join(param.values or [])}, got {text!r}")
        return text
    else:
        result = str(value)
        if param.pattern is not None and not re.fullmatch(param.pattern, result):
            raise ParamError(f"{result!r} does not match the pattern {param.pattern}")
        size = len(result)
        if param.min is not None and size < param.min:
            raise ParamError(f"shorter than {param.min:g} characters")
        if param.max is not None and size > param.max:
            raise ParamError(f"longer than {param.max:g} characters")
        return result
    if param.min is not None and result < param.min:
        raise ParamError(f"{text} is below the minimum {param.min:g}")
    if param.max is not None and result > param.max:
        raise ParamError(f"{text} is above the maximum {param.max:g}")
    return result


def parse_assignments(pairs: list[str]) -> dict[str, str]:
    """``["key=value", ...]`` as a dict; a pair without ``=`` is a usage error."""
    given: dict[str, str] = {}
    for pair in pairs:
        key, sep, value = pair.partition("=")
        if not sep or not key.strip():
            raise UsageError(f"-p expects key=value, got {pair!r}")
        given[key.strip()] = value
    return given


def resolve_params(runbook: Runbook, given: Mapping[str, Any]) -> dict[str, Any]:
    """Every declared parameter's value: given, else its default; all checked."""
    unknown = sorted(set(given) - set(runbook.params))
    if unknown:
        known = ", ".join(sorted(runbook.params)) or "none"
        raise UsageError(f"unknown parameter {unknown[0]!r} ({runbook.name} takes: {known})")
    values: dict[str, Any] = {}
    for name, param in runbook.params.items():
        if name in given:
            raw = given[name]
        elif param.default is not None:
            raw = param.default
        elif param.required:
            about = f" ({param.description})" if param.description else ""
            raise UsageError(f"parameter {name!r} is required", hint=f"add -p {name}=...{about}")
        else:
            values[name] = None
            continue
        try:
            values[name] = coerce(param, raw)
        except ParamError as error:
            raise UsageError(f"parameter {name!r}: {error}") from None
    return values
