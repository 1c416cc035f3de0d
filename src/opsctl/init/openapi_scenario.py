"""A starting Locust scenario drafted from a service's OpenAPI document (for ``opsctl init``).

:func:`scenario_from_openapi` writes one ``@task`` per read-only operation (``GET``) it can
call: path parameters are filled from the document (the parameter's ``example`` or
``examples``, its schema's ``example``, ``examples``, ``default`` or first ``enum`` value),
else with a placeholder (``1`` for numbers, ``"1"`` for strings); a required query or header
parameter only from the document, else the operation is skipped. Every request is named by
its endpoint (``name="GET /items/{item_id}"``), the name the load gate reports and its SLAs
match, and tagged ``simple``. Writes (``POST``/``PUT``/``PATCH``/``DELETE``) are never called
by a starting scenario: they change data, and need bodies only the user knows.

When the document declares a security scheme the draft can send (HTTP bearer, an API key in
a header, or OAuth2/OpenID Connect access tokens as bearer tokens), the user reads the token
from the environment variable :data:`TOKEN_VARIABLE` and sends it with every request.

Pure: it reads the document and returns text; nothing is imported, written or sent.
"""

from __future__ import annotations

import json
import re
import textwrap
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote, urlencode, urlsplit

TOKEN_VARIABLE = "OPSCTL_LOAD_TOKEN"  # noqa: S105 (the name of a variable, no secret)
TAG = "simple"
LINE_LENGTH = 100
METHOD_NAME_LENGTH = 60  # of a task method's name after "get_" (a def line stays short)
#: Path item keys that are operations, in the order the OpenAPI specification lists them.
OPERATION_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
WRITE_METHODS = frozenset({"post", "put", "patch", "delete"})
#: Endpoints for probes, not users: a load test of them measures nothing users see.
PROBE_PATHS = frozenset(
    {"/health", "/healthz", "/livez", "/readyz", "/ready", "/live", "/ping", "/metrics"}
)
WRITES_REASON = "writes: add them by hand"
#: Placeholder values by string format, where ``"1"`` would be rejected by validation.
FORMAT_PLACEHOLDERS = {
    "uuid": "00000000-0000-0000-0000-000000000001",
    "date": "2024-01-01",
    "date-time": "2024-01-01T00:00:00Z",
    "email": "user@example.com",
}
_MISSING = object()


@dataclass
class ScenarioDraft:
    """A drafted scenario file and what it does and does not cover."""

    source: str  # the Python text of the Locust file
    operations: list[str] = field(default_factory=list)  # the names it sends ("GET /items")
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (operation, why)
    notes: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class _Auth:
    scheme: str  # its key in the document's security schemes
    description: str  # "HTTP bearer", "API key in header X-API-Key", ...
    header: str  # the header it is sent in
    value: str  # Python expression of the header's value, ``token`` being the token


@dataclass
class _Task:
    name: str  # "GET /items/{item_id}"
    url: str  # "/items/1"
    method_name: str  # "get_items_item_id"
    auth: bool


def scenario_from_openapi(
    document: Mapping[str, Any], *, service_name: str, placeholders: bool = True
) -> ScenarioDraft:
    """Draft a Locust scenario for ``document`` (an OpenAPI 3.x or Swagger 2.0 document).

    With ``placeholders=False`` an operation whose path needs a value the document does not
    give (an id) is skipped instead of called with ``1``: on a service with no such row, every
    request would be a 404, and the starting scenario would fail on day one.

    Raises :class:`ValueError` when ``document`` has no ``paths`` object.
    """
    paths = document.get("paths")
    if not isinstance(paths, Mapping):
        raise ValueError("not an OpenAPI document: it has no 'paths' object")
    resolver = _Resolver(document)
    draft = ScenarioDraft(source="")
    auth, auth_notes = _choose_auth(document, resolver)
    draft.notes.extend(auth_notes)
    base, base_note = _base_path(document)
    if base_note:
        draft.notes.append(base_note)
    tasks: list[_Task] = []
    used_methods: set[str] = set()
    for path, item in paths.items():
        if not isinstance(path, str) or not path.startswith("/") or not isinstance(item, Mapping):
            continue
        item = resolver.resolve(item)
        for method in OPERATION_METHODS:
            operation = item.get(method)
            if not isinstance(operation, Mapping):
                continue
            name = f"{method.upper()} {base}{path}"
            if method in WRITE_METHODS:
                draft.skipped.append((name, WRITES_REASON))
                continue
            if method != "get":
                draft.skipped.append((name, "only GET operations are drafted"))
                continue
            if path.rstrip("/") in PROBE_PATHS:
                draft.skipped.append((name, "a health or metrics probe, not a user operation"))
                continue
            task, why = _task(
                name, base, path, item, operation, document, resolver, auth, placeholders
            )
            if task is None:
                draft.skipped.append((name, why))
                continue
            task.method_name = _unique(_method_name(path), used_methods)
            tasks.append(task)
            if why:
                draft.notes.append(f"{name}: {why}")
    draft.operations = [task.name for task in tasks]
    if not tasks:
        draft.notes.append(
            "no GET operation could be called: the user class is abstract until you add tasks"
        )
    if auth is not None and any(task.auth for task in tasks):
        draft.notes.append(
            f"set {TOKEN_VARIABLE} to a token for {auth.description} (scheme {auth.scheme!r}) "
            "before a run: the user refuses to start without it"
        )
    draft.notes.append(
        f"every task is tagged {TAG!r}: move slower operations to another tag (e.g. 'complex')"
        " and give each tag its SLA in checks/definition-of-done.yaml"
    )
    draft.source = _render(document, service_name, tasks, draft.skipped, auth)
    return draft


# -- the document -------------------------------------------------------------------------------


class _Resolver:
    """Local ``$ref`` resolution (``#/components/...``, ``#/definitions/...``)."""

    def __init__(self, document: Mapping[str, Any]) -> None:
        self.document = document

    def resolve(self, node: Any, depth: int = 0) -> Any:
        while isinstance(node, Mapping) and isinstance(node.get("$ref"), str) and depth < 32:
            node = self._lookup(node["$ref"])
            depth += 1
        return node

    def _lookup(self, reference: str) -> Any:
        if not reference.startswith("#/"):
            return {}  # another file: not followed
        node: Any = self.document
        for part in reference[2:].split("/"):
            part = part.replace("~1", "/").replace("~0", "~")
            if not isinstance(node, Mapping) or part not in node:
                return {}
            node = node[part]
        return node


def _base_path(document: Mapping[str, Any]) -> tuple[str, str | None]:
    """The path prefix of the document's first server (OpenAPI 3) or its basePath (Swagger 2)."""
    servers = document.get("servers")
    url = ""
    if isinstance(servers, Sequence) and servers and isinstance(servers[0], Mapping):
        url = str(servers[0].get("url") or "")
    elif isinstance(document.get("basePath"), str):
        url = str(document["basePath"])
    path = urlsplit(url).path.rstrip("/")
    if not path:
        return "", None
    if "{" in path:
        return "", f"the server URL {url!r} has variables: its path is not prefixed, add it"
    return path, f"paths are prefixed with the server's base path {path}"


def _choose_auth(
    document: Mapping[str, Any], resolver: _Resolver
) -> tuple[_Auth | None, list[str]]:
    """The one scheme the draft sends the token with: the first supported one operations use."""
    components = document.get("components")
    schemes: Any = components.get("securitySchemes") if isinstance(components, Mapping) else None
    if schemes is None:
        schemes = document.get("securityDefinitions")  # Swagger 2.0
    if not isinstance(schemes, Mapping) or not schemes:
        return None, []
    used = [name for name in _required_schemes(document) if name in schemes]
    order = used + [name for name in schemes if name not in used]
    notes: list[str] = []
    for name in order:
        auth = _auth(str(name), resolver.resolve(schemes[name]))
        if auth is not None:
            notes.append(
                f"authentication: {auth.description} (scheme {auth.scheme!r}); the user reads "
                f"the token from {TOKEN_VARIABLE} and sends it with every request"
            )
            others = [str(other) for other in schemes if other != name]
            if others:
                notes.append(f"other security schemes are not sent: {', '.join(others)}")
            return auth, notes
    names = ", ".join(str(name) for name in schemes)
    return None, [f"no security scheme the draft can send ({names}): add authentication by hand"]


def _auth(name: str, scheme: Any) -> _Auth | None:
    if not isinstance(scheme, Mapping):
        return None
    kind = str(scheme.get("type") or "").lower()
    if kind == "http" and str(scheme.get("scheme") or "").lower() == "bearer":
        return _Auth(name, "HTTP bearer", "Authorization", 'f"Bearer {token}"')
    if kind == "apikey" and scheme.get("in") == "header" and isinstance(scheme.get("name"), str):
        header = scheme["name"]
        return _Auth(name, f"API key in header {header}", header, "token")
    if kind in ("oauth2", "openidconnect"):
        description = "OAuth2" if kind == "oauth2" else "OpenID Connect"
        return _Auth(
            name,
            f"{description} (an access token, sent as bearer)",
            "Authorization",
            'f"Bearer {token}"',
        )
    return None


def _required_schemes(document: Mapping[str, Any]) -> Iterator[str]:
    """Scheme names in the security requirements of the document and its operations."""
    requirements: list[Any] = [document.get("security")]
    paths = document.get("paths")
    if isinstance(paths, Mapping):
        for item in paths.values():
            if isinstance(item, Mapping):
                requirements.extend(
                    operation.get("security")
                    for operation in item.values()
                    if isinstance(operation, Mapping)
                )
    seen: set[str] = set()
    for requirement in requirements:
        for entry in requirement if isinstance(requirement, list) else []:
            for name in entry if isinstance(entry, Mapping) else {}:
                if name not in seen:
                    seen.add(name)
                    yield str(name)


def _needs_auth(document: Mapping[str, Any], operation: Mapping[str, Any]) -> list[list[str]]:
    """The alternatives of schemes an operation requires (empty: it is public)."""
    security = operation.get("security", document.get("security"))
    if not isinstance(security, list) or not security:
        return []
    alternatives = [list(entry) for entry in security if isinstance(entry, Mapping)]
    if any(not names for names in alternatives):
        return []  # {} among the alternatives: authentication is optional
    return [[str(name) for name in names] for names in alternatives]


# -- one operation ------------------------------------------------------------------------------


def _task(
    name: str,
    base: str,
    path: str,
    item: Mapping[str, Any],
    operation: Mapping[str, Any],
    document: Mapping[str, Any],
    resolver: _Resolver,
    auth: _Auth | None,
    use_placeholders: bool = True,
) -> tuple[_Task | None, str]:
    """The task for one GET operation, or None and why; with a note on placeholders."""
    alternatives = _needs_auth(document, operation)
    if alternatives and (auth is None or [auth.scheme] not in alternatives):
        wanted = " or ".join(" + ".join(names) for names in alternatives)
        return None, f"needs authentication the draft does not send ({wanted}): add it by hand"
    if _body_required(operation, resolver):
        return None, "needs a request body"
    url = path
    query: list[tuple[str, str]] = []
    placeholders: list[str] = []
    for parameter in _parameters(item, operation, resolver):
        where, pname = parameter.get("in"), str(parameter.get("name"))
        required = bool(parameter.get("required")) or where == "path"
        if where == "path":
            value = _value(parameter, resolver)
            if value is _MISSING:
                value = _placeholder(parameter, resolver)
                if value is _MISSING:
                    return None, f"cannot fill the path parameter {pname} (not a scalar)"
                if not use_placeholders:
                    return None, (
                        f"needs an existing value of {pname} (the document gives no example): "
                        "add it by hand with one your load data has"
                    )
                placeholders.append(f"{pname}={_text(value)}")
            url = url.replace("{" + pname + "}", quote(_text(value), safe=""))
        elif where == "query" and required:
            value = _value(parameter, resolver)
            if value is _MISSING or isinstance(value, Mapping):
                return None, (
                    f"the required query parameter {pname} has no example, default or enum "
                    "to fill it with"
                )
            values = value if isinstance(value, list) else [value]
            query.extend((pname, _text(one)) for one in values)
        elif where in ("header", "cookie") and required:
            is_auth = auth is not None and pname.lower() == auth.header.lower()
            if not is_auth:
                return None, f"needs the {where} parameter {pname}: add it by hand"
    if "{" in url:
        return None, "its path has parameters the document does not describe"
    if query:
        url += "?" + urlencode(query)
    note = ""
    if placeholders:
        note = f"placeholder {', '.join(placeholders)}: use values that exist under load"
    return _Task(name, base + url, "", bool(alternatives)), note  # it really needs the token


def _parameters(
    item: Mapping[str, Any], operation: Mapping[str, Any], resolver: _Resolver
) -> list[Mapping[str, Any]]:
    """The path item's parameters, overridden by the operation's (by name and location)."""
    merged: dict[tuple[str, str], Mapping[str, Any]] = {}
    for source in (item.get("parameters"), operation.get("parameters")):
        for raw in source if isinstance(source, list) else []:
            parameter = resolver.resolve(raw)
            if isinstance(parameter, Mapping) and "name" in parameter:
                merged[(str(parameter["name"]), str(parameter.get("in")))] = parameter
    return list(merged.values())


def _body_required(operation: Mapping[str, Any], resolver: _Resolver) -> bool:
    body = resolver.resolve(operation.get("requestBody"))
    if isinstance(body, Mapping) and body.get("required"):
        return True
    parameters = operation.get("parameters")
    for raw in parameters if isinstance(parameters, list) else []:  # Swagger 2.0: in body
        parameter = resolver.resolve(raw)
        if isinstance(parameter, Mapping) and parameter.get("in") == "body":
            return bool(parameter.get("required"))
    return False


def _schemas(parameter: Mapping[str, Any], resolver: _Resolver) -> list[Mapping[str, Any]]:
    """The parameter's schema and its non-null alternatives (``anyOf``, ``oneOf``, ``allOf``)."""
    schema = resolver.resolve(parameter.get("schema"))
    if not isinstance(schema, Mapping):
        schema = parameter  # Swagger 2.0: type, default, enum on the parameter itself
    found = [schema]
    for key in ("anyOf", "oneOf", "allOf"):
        for alternative in schema.get(key) or []:
            alternative = resolver.resolve(alternative)
            if isinstance(alternative, Mapping) and alternative.get("type") != "null":
                found.append(alternative)
    return found


def _value(parameter: Mapping[str, Any], resolver: _Resolver) -> Any:
    """A value the document gives for the parameter, or ``_MISSING``."""
    candidates: list[Any] = [
        parameter.get("example", _MISSING),
        parameter.get("x-example", _MISSING),
    ]
    examples = parameter.get("examples")
    if isinstance(examples, Mapping):  # OpenAPI 3: name -> Example object
        for example in examples.values():
            example = resolver.resolve(example)
            if isinstance(example, Mapping) and "value" in example:
                candidates.append(example["value"])
    for schema in _schemas(parameter, resolver):
        candidates.append(schema.get("example", _MISSING))
        listed = schema.get("examples")
        if isinstance(listed, list) and listed:
            candidates.append(listed[0])
        candidates.append(schema.get("default", _MISSING))
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            candidates.append(enum[0])
        items = resolver.resolve(schema.get("items"))  # an array's items: one value of them
        if schema.get("type") == "array" and isinstance(items, Mapping):
            one = _value({"schema": items}, resolver)
            if one is not _MISSING:
                candidates.append([one])
    for candidate in candidates:
        if _usable(candidate):
            return candidate
    return _MISSING


def _usable(value: Any) -> bool:
    if isinstance(value, list):
        return bool(value) and all(_usable(one) and not isinstance(one, list) for one in value)
    return isinstance(value, str | int | float) and value != ""  # bool is an int


def _placeholder(parameter: Mapping[str, Any], resolver: _Resolver) -> Any:
    """``1`` or ``"1"`` (or a value of the string's format) when the document gives none."""
    for schema in _schemas(parameter, resolver):
        kind = schema.get("type")
        if kind in ("integer", "number"):
            return 1
        if kind == "boolean":
            return True
        if kind in ("object", "array"):
            return _MISSING
        if kind == "string":
            return FORMAT_PLACEHOLDERS.get(str(schema.get("format")), "1")
    return "1"


def _text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


# -- the file -----------------------------------------------------------------------------------


def _method_name(path: str) -> str:
    words = re.sub(r"[^0-9A-Za-z]+", "_", path).strip("_").lower()[:METHOD_NAME_LENGTH]
    return f"get_{words.rstrip('_') or 'root'}"


def _unique(name: str, used: set[str]) -> str:
    candidate, number = name, 2
    while candidate in used:
        candidate, number = f"{name}_{number}", number + 1
    used.add(candidate)
    return candidate


def _class_name(service_name: str) -> str:
    words = re.findall(r"[0-9A-Za-z]+", service_name)
    name = "".join(word[:1].upper() + word[1:] for word in words)
    if not name or name[0].isdigit():
        name = "Service" + name
    return name if name.endswith("User") else name + "User"


def _literal(text: str) -> str:
    """A double-quoted Python string literal (as ruff format writes them)."""
    return json.dumps(text)


def _comment(text: str, *, indent: str = "", bullet: str = "") -> list[str]:
    """``text`` as comment lines no longer than the line length (line breaks removed)."""
    flat = " ".join(text.split())
    first = f"{indent}# {bullet}"
    rest = f"{indent}# " + " " * len(bullet)
    return textwrap.wrap(
        flat,
        LINE_LENGTH,
        initial_indent=first,
        subsequent_indent=rest,
        break_long_words=True,
        break_on_hyphens=False,
    ) or [first.rstrip()]


def _code(line: str) -> str:
    """A line of code; one that cannot be shortened keeps its length (and says so to ruff)."""
    if len(line) <= LINE_LENGTH or len(line.split()) == 1:  # one word: ruff lets it be
        return line
    return line + "  # noqa: E501"


def _render(
    document: Mapping[str, Any],
    service_name: str,
    tasks: list[_Task],
    skipped: list[tuple[str, str]],
    auth: _Auth | None,
) -> str:
    info = document.get("info")
    title = ""
    if isinstance(info, Mapping) and info.get("title"):
        title = f" ({info.get('title')} {info.get('version') or ''})".rstrip(" )") + ")"
    lines = [
        *_comment(
            f"Written by `opsctl init` from the OpenAPI document of {service_name}{title}. "
            "This file is yours to edit: `opsctl init` shows what it would change and replaces it "
            "only with --force (remove this first line to make it yours for good)."
        ),
        '"""Load scenario: one task per read-only operation (GET) of the OpenAPI document.',
        "",
        'Every request is named by its endpoint (name="GET /path/{param}"), the name the load',
        "gate reports and the SLAs of checks/definition-of-done.yaml match (by operation, or by",
        f'the tag "{TAG}" of every task). Parameter values come from the document\'s examples,',
        "defaults and enums, or are placeholders (1): use ids that exist under load.",
        '"""',
    ]
    if skipped:
        lines.append("")
        lines.extend(_comment("Not called by this scenario (add them by hand):"))
        for operation, why in skipped:
            lines.extend(_comment(f"{operation}: {why}", bullet="- "))
    lines.append("")
    if auth is not None:
        lines += ["import os", ""]
    names = "FastHttpUser, tag, task" if tasks else "FastHttpUser"
    lines += [f"from locust import {names}", "", ""]
    lines.append(f"class {_class_name(service_name)}(FastHttpUser):")
    if not tasks:
        lines += [
            *_comment(
                "No GET operation could be called: add @task methods, then remove this.",
                indent="    ",
            ),
            "    abstract = True",
        ]
        return "\n".join(lines) + "\n"
    if auth is not None:
        lines += _on_start(auth, required=any(task.auth for task in tasks))
    for index, task in enumerate(tasks):
        if index or auth is not None:
            lines.append("")
        lines += [
            f"    @tag({_literal(TAG)})",
            "    @task",
            f"    def {task.method_name}(self) -> None:",
            "        self.client.get(",
            _code(f"            {_literal(task.url)},"),
            _code(f"            name={_literal(task.name)},"),
        ]
        if auth is not None:
            lines.append("            headers=self.auth,")
        lines.append("        )")
    return "\n".join(lines) + "\n"


def _on_start(auth: _Auth, *, required: bool) -> list[str]:
    header = _literal(auth.header)
    lines = [
        "    def on_start(self) -> None:",
        *_comment(
            f"{auth.description} (security scheme {auth.scheme}): the token comes from "
            f"{TOKEN_VARIABLE}.",
            indent="        ",
        ),
        f'        token = os.environ.get({_literal(TOKEN_VARIABLE)}, "")',
    ]
    if required:
        message = f"set {TOKEN_VARIABLE} to a token for {auth.description}"
        lines += [
            "        if not token:",
            _code(f"            raise RuntimeError({_literal(message)})"),
            f"        self.auth = {{{header}: {auth.value}}}",
        ]
    else:
        lines.append(f"        self.auth = {{{header}: {auth.value}}} if token else {{}}")
    return lines
