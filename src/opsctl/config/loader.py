"""Read a YAML configuration file into a pydantic model, with errors that name file, line and key.

One entry point for every YAML file opsctl reads (``opsctl.yaml``, the Definition of Done,
runbooks): :func:`load_yaml_model`. It

1. parses the YAML and remembers the line of every key (PyYAML's node marks);
2. expands ``${VAR}`` and ``${VAR:-default}`` in string values from the environment;
3. validates with pydantic and turns the first error into a :class:`ConfigError` naming the
   file, the line and the dotted key, with a "did you mean" for unknown keys.
"""

from __future__ import annotations

import difflib
import os
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

from opsctl.errors import ConfigError, MissingVariableError

ModelT = TypeVar("ModelT", bound=BaseModel)

# ${VAR}, ${VAR:-default}, and $$ for a literal '$' (as in docker compose)
_VARIABLE = re.compile(r"\$\$|\$\{(?P<name>[A-Za-z_][A-Za-z0-9_]*)(?::-(?P<default>[^}]*))?\}")

KeyPath = tuple[str | int, ...]
MAX_NODES = 100_000  # far beyond any real configuration file


class _LineLoader(yaml.SafeLoader):
    """A SafeLoader that records the line (1-based) of every mapping key and sequence item."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self.lines: dict[KeyPath, int] = {}


def _record_lines(
    node: yaml.Node,
    path: KeyPath,
    lines: dict[KeyPath, int],
    *,
    file: str,
    ancestors: frozenset[int] = frozenset(),
) -> None:
    """Record the line of every key; reject duplicate keys (YAML would keep the last silently)."""
    if len(lines) > MAX_NODES:
        # aliases can make a small file expand exponentially ("billion laughs")
        raise ConfigError(f"more than {MAX_NODES} values (aliases expanding?)", file=file)
    if id(node) in ancestors:
        raise ConfigError("a YAML alias refers to itself", file=file, line=node.start_mark.line + 1)
    ancestors = ancestors | {id(node)}
    lines.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        seen: set[str] = set()
        for key_node, value_node in node.value:
            key = str(key_node.value)
            if key in seen and key != "<<":
                raise ConfigError(
                    "duplicate key",
                    file=file,
                    line=key_node.start_mark.line + 1,
                    key=_dotted((*path, key)),
                    hint=f"it is already set on line {lines[(*path, key)]}",
                )
            seen.add(key)
            lines[(*path, key)] = key_node.start_mark.line + 1
            _record_lines(value_node, (*path, key), lines, file=file, ancestors=ancestors)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _record_lines(item, (*path, index), lines, file=file, ancestors=ancestors)


def parse_yaml(text: str, *, file: str) -> tuple[Any, dict[KeyPath, int]]:
    """Parse YAML text; return the data and the line of each key path."""
    loader = _LineLoader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, {}
        lines: dict[KeyPath, int] = {}
        _record_lines(node, (), lines, file=file)
        try:
            return loader.construct_document(node), lines
        except (ValueError, OverflowError, TypeError) as error:
            # PyYAML raises plain errors for values it recognises but cannot build (2021-02-30)
            raise _unconstructable_value(loader, node, file=file, cause=error) from None
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line = mark.line + 1 if mark is not None else None
        raise ConfigError(f"invalid YAML: {error.problem or error}", file=file, line=line) from None
    except yaml.YAMLError as error:
        raise ConfigError(f"invalid YAML: {error}", file=file) from None
    finally:
        loader.dispose()


def _unconstructable_value(
    loader: yaml.SafeLoader, root: yaml.Node, *, file: str, cause: Exception
) -> ConfigError:
    """The ConfigError naming the first scalar whose value PyYAML cannot build."""
    pending: list[tuple[yaml.Node, KeyPath]] = [(root, ())]
    while pending:
        node, path = pending.pop(0)
        if isinstance(node, yaml.MappingNode):
            pending.extend((value, (*path, str(key.value))) for key, value in node.value)
        elif isinstance(node, yaml.SequenceNode):
            pending.extend((item, (*path, index)) for index, item in enumerate(node.value))
        elif isinstance(node, yaml.ScalarNode):
            constructor = loader.yaml_constructors.get(node.tag)
            try:
                if constructor is not None:
                    constructor(loader, node)
            except (ValueError, OverflowError, TypeError) as error:
                return ConfigError(
                    f"invalid value {node.value!r}: {error}",
                    file=file,
                    line=node.start_mark.line + 1,
                    key=_dotted(path) or None,
                    hint="quote it to keep it as text",
                )
    return ConfigError(f"invalid value: {cause}", file=file)


def expand_variables(
    data: Any,
    environ: Mapping[str, str],
    *,
    file: str,
    lines: Mapping[KeyPath, int],
    path: KeyPath = (),
) -> Any:
    """Expand ``${VAR}`` / ``${VAR:-default}`` in every string of ``data`` (recursively)."""
    if isinstance(data, dict):
        return {
            key: expand_variables(value, environ, file=file, lines=lines, path=(*path, str(key)))
            for key, value in data.items()
        }
    if isinstance(data, list):
        return [
            expand_variables(item, environ, file=file, lines=lines, path=(*path, index))
            for index, item in enumerate(data)
        ]
    if not isinstance(data, str):
        return data

    def substitute(match: re.Match[str]) -> str:
        if match.group(0) == "$$":
            return "$"
        name, default = match.group("name"), match.group("default")
        value = environ.get(name)
        if value is not None and (value != "" or default is None):
            return value
        if default is not None:
            return default
        raise MissingVariableError(
            f"environment variable {name} is not set",
            file=file,
            line=_line_for(lines, path),
            key=_dotted(path),
            hint=f"export {name}=... or write ${{{name}:-default}}",
        )

    return _VARIABLE.sub(substitute, data)


def load_yaml_model(
    path: Path,
    model: type[ModelT],
    *,
    environ: Mapping[str, str] | None = None,
    display_name: str | None = None,
) -> ModelT:
    """Load ``path`` into ``model``; every problem becomes one :class:`ConfigError`."""
    file = display_name or str(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", file=file) from None
    except OSError as error:
        raise ConfigError(f"cannot read: {error.strerror}", file=file) from None
    except UnicodeDecodeError:
        raise ConfigError("not UTF-8 text", file=file) from None
    data, lines = parse_yaml(text, file=file)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError("expected a mapping of keys at the top level", file=file, line=1)
    raw = data
    data = expand_variables(
        data, os.environ if environ is None else environ, file=file, lines=lines
    )
    try:
        return model.model_validate(data)
    except ValidationError as error:
        raise _to_config_error(error, model, data, file=file, lines=lines, raw=raw) from None


def _to_config_error(
    error: ValidationError,
    model: type[BaseModel],
    data: Any,
    *,
    file: str,
    lines: Mapping[KeyPath, int],
    raw: Any = None,
) -> ConfigError:
    """One ConfigError for a pydantic error: file, line, dotted key, what was expected.

    ``raw`` is the data before ``${VAR}`` expansion: a value that came from the environment is
    named by its variable, never echoed (it may be a secret).
    """
    problems = error.errors(include_url=False)
    # an unknown top-level key first: a misspelt section explains the problems after it
    problems.sort(key=lambda p: not (p["type"] == "extra_forbidden" and len(p["loc"]) == 1))
    first = problems[0]
    more = f" (and {len(problems) - 1} more problem(s))" if len(problems) > 1 else ""
    loc: KeyPath = tuple(first["loc"])
    # pydantic puts union/tagged-variant names in loc; keep only the parts that exist in the data.
    path = _existing_path(data, loc)
    key = _dotted(path) if path else None
    line = _line_for(lines, path)
    kind = first["type"]
    if kind == "extra_forbidden":
        allowed = _allowed_keys(model, path[:-1])
        suggestion = difflib.get_close_matches(str(path[-1]), allowed, n=1)
        hint = f"did you mean '{suggestion[0]}'?" if suggestion else None
        if hint is None and allowed:
            hint = "allowed keys: " + ", ".join(sorted(allowed))
        return ConfigError("unknown key" + more, file=file, line=line, key=key, hint=hint)
    if kind == "missing":
        return ConfigError("required key is missing" + more, file=file, line=line, key=key)
    got = _value_at(data, path)
    secret = key is not None and _SECRET_KEY.search(key) is not None
    written = _value_at(raw, path) if raw is not None else None
    if isinstance(written, str) and _VARIABLE.search(written):
        shown = f" (got the value of {written.strip()})"
    elif isinstance(got, str | int | float | bool) and not secret:
        shown = f" (got {got!r})"
    else:
        shown = ""
    return ConfigError(f"{_expected(first)}{shown}{more}", file=file, line=line, key=key)


# values under these keys may be secrets: never echo them back in an error
_SECRET_KEY = re.compile(r"(url|password|secret|token)$", re.IGNORECASE)

_EXPECTED_BY_TYPE = {
    "model_type": "expected a mapping of keys",
    "model_attributes_type": "expected a mapping of keys",
    "dict_type": "expected a mapping of keys",
    "list_type": "expected a list",
    "string_type": "expected a string",
    "bool_parsing": "expected true or false",
    "bool_type": "expected true or false",
    "int_parsing": "expected a whole number",
    "int_type": "expected a whole number",
    "float_parsing": "expected a number",
    "float_type": "expected a number",
}


def _expected(problem: Any) -> str:
    """pydantic's message, phrased as what was expected."""
    known = _EXPECTED_BY_TYPE.get(str(problem["type"]))
    if known is not None:
        return known
    message = str(problem["msg"])
    message = message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    if message.startswith("Input should be "):
        return "expected " + message.removeprefix("Input should be ")
    return message


def _existing_path(data: Any, loc: KeyPath) -> KeyPath:
    """The part of pydantic's error location that names keys of the data (plus a missing key)."""
    path: list[str | int] = []
    current = data
    for part in loc:
        if _has(current, part):
            current = current[part]
            path.append(part)
        elif (
            isinstance(current, dict)
            and isinstance(part, str)
            and path[-1:] != [part]
            and not part[:1].isupper()  # a model name pydantic adds for unions
        ):
            # a key pydantic expected but the data lacks: name it, at its parent's line
            path.append(part)
            break
    return tuple(path)


def _has(container: Any, part: str | int) -> bool:
    if isinstance(container, dict):
        return part in container
    return isinstance(container, list) and isinstance(part, int) and 0 <= part < len(container)


def _value_at(data: Any, path: KeyPath) -> Any:
    current = data
    for part in path:
        try:
            current = current[part]
        except (KeyError, IndexError, TypeError):
            return None
    return current


def _allowed_keys(model: type[BaseModel], path: KeyPath) -> list[str]:
    """The field names of the (nested) model at ``path``, for "did you mean" hints."""
    current: Any = model
    for part in path:
        if isinstance(part, int):
            continue
        fields = getattr(current, "model_fields", None)
        if fields is None or part not in fields:
            # dict[str, Model]: the key is free-form, step into the value type
            current = _value_model(current)
            continue
        current = _value_model(fields[part].annotation)
    fields = getattr(current, "model_fields", None)
    return list(fields) if fields else []


def _value_model(annotation: Any) -> Any:
    for arg in getattr(annotation, "__args__", ()) or ():
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
        found = _value_model(arg)
        if found is not None:
            return found
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    return None


def _line_for(lines: Mapping[KeyPath, int], path: KeyPath) -> int | None:
    for end in range(len(path), -1, -1):
        if path[:end] in lines:
            return lines[path[:end]]
    return None


def _dotted(path: KeyPath) -> str:
    out = ""
    for part in path:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else part)
    return out


#: The public name of :func:`_to_config_error`, for modules that validate parsed YAML themselves.
config_error_from_validation = _to_config_error
