"""A tenant's data as the probes see it: the schema walked from the argument-free Query
fields (IDs per type, scalars per object), and plausible values for the inputs a call needs.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import re
import secrets
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from opsctl.gates.api.probe import (
    ProbeTarget,
    refused,
)
from opsctl.gates.api.schema_source import graphql_schema
from opsctl.gates.api.session import (
    Session,
    auth_headers,
    data_of,
)

if TYPE_CHECKING:
    from graphql import GraphQLField, GraphQLNamedType

WALK_DEPTH = 3
MAX_ROOTS = 8  # Query fields walked
MAX_ITEMS = 20  # list items kept per list (the first page)
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)


@dataclass
class Holdings:
    """What one persona's walk saw: IDs per type (in order) and each object's scalar values."""

    ids: dict[str, list[str]] = field(default_factory=dict)
    objects: dict[tuple[str, str], dict[str, Any]] = field(default_factory=dict)

    def add(self, value: Any) -> None:
        if isinstance(value, list):
            for item in value[:MAX_ITEMS]:
                self.add(item)
            return
        if not isinstance(value, dict):
            return
        kind, ident = value.get("__typename"), value.get("id")
        if isinstance(kind, str) and isinstance(ident, (str, int)):
            key = (kind, str(ident))
            if key not in self.objects:
                self.ids.setdefault(kind, []).append(str(ident))
            scalars = {k: v for k, v in value.items() if not isinstance(v, (dict, list))}
            self.objects[key] = scalars
        for child in value.values():
            self.add(child)

    def without(self, other: Holdings) -> Holdings:
        """Objects this persona sees and the other does not (the ones to attack)."""
        left = Holdings()
        for (kind, ident), scalars in self.objects.items():
            if (kind, ident) not in other.objects:
                left.ids.setdefault(kind, []).append(ident)
                left.objects[(kind, ident)] = scalars
        return left


def named_type(kind: Any) -> GraphQLNamedType:
    from graphql import get_named_type

    named: GraphQLNamedType = get_named_type(kind)
    return named


def needs_arguments(graphql_field: GraphQLField) -> bool:
    from graphql import is_required_argument

    return any(is_required_argument(arg) for arg in graphql_field.args.values())


def selection(kind: Any, depth: int, path: frozenset[str], *, scalars: bool = True) -> str | None:
    """``{ __typename id scalars… nested { … } }`` of an object or interface type, bounded.

    Without ``scalars`` only ``__typename`` and ``id``: a smaller document for a service whose
    own limits (tokens, complexity) refuse the full one.
    """
    from graphql import is_interface_type, is_leaf_type, is_object_type

    named = named_type(kind)
    if not (is_object_type(named) or is_interface_type(named)) or named.name in path:
        return None
    parts = ["__typename"]
    for name, child in named.fields.items():
        if name.startswith("__") or needs_arguments(child):
            continue
        if is_leaf_type(named_type(child.type)):
            if scalars or name == "id":
                parts.append(name)
        elif depth < WALK_DEPTH:
            nested = selection(child.type, depth + 1, path | {named.name}, scalars=scalars)
            if nested is not None:
                parts.append(f"{name} {nested}")
    return "{ " + " ".join(parts) + " }"


def walk(target: ProbeTarget, session: Session) -> Holdings:
    """The persona's objects, through every Query field that needs no argument."""
    schema = graphql_schema(target)
    holdings = Holdings()
    query_type = schema.query_type
    if query_type is None:
        return holdings
    roots = [
        (name, root)
        for name, root in query_type.fields.items()
        if not name.startswith("__")
        and not needs_arguments(root)
        and selection(root.type, 1, frozenset()) is not None
    ][:MAX_ROOTS]
    for name, root in roots:
        for scalars in (True, False):  # the IDs alone when the service refuses the full walk
            sel = selection(root.type, 1, frozenset(), scalars=scalars)
            answer = target.graphql(
                f"query {{ {name} {sel} }}", headers=headers_of(target, session)
            )
            found = data_of(answer).get(name)
            if not refused(answer):
                break
        holdings.add(found)
    return holdings


def headers_of(target: ProbeTarget, session: Session) -> dict[str, str]:
    return auth_headers(target, session.access_token)


def like(example: str) -> str:
    """A random ID of the same shape: a UUID, digits, a Relay ``Type:n`` in base64, or hex."""
    if _UUID.match(example):
        return str(uuid.uuid4())
    if example.isdigit():
        low = 10 ** (len(example) + 3)  # longer than any real one: surely missing
        return str(low + secrets.randbelow(9 * low))
    try:
        decoded = base64.b64decode(example, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        decoded = ""
    if re.fullmatch(r"[A-Za-z_]\w*:\w+", decoded):
        type_name = decoded.split(":")[0]
        number = 10**9 + secrets.randbelow(9 * 10**9)
        return base64.b64encode(f"{type_name}:{number}".encode()).decode()
    prefix = re.match(r"^[A-Za-z]+[_-]", example)
    head = prefix.group(0) if prefix else ""
    return head + uuid.uuid4().hex[: max(len(example) - len(head), 8)]


def plausible(kind: Any, depth: int = 0) -> Any:
    """A value of the input type that a validator accepts, for inputs the probe does not aim."""
    from graphql import is_enum_type, is_input_object_type, is_list_type, is_non_null_type

    if is_non_null_type(kind):
        return plausible(kind.of_type, depth)
    if is_list_type(kind):
        return [plausible(kind.of_type, depth)]
    if is_enum_type(kind):
        return next(iter(kind.values))
    if is_input_object_type(kind):
        if depth > 3:
            return {}
        return {
            name: plausible(child.type, depth + 1)
            for name, child in kind.fields.items()
            if is_non_null_type(child.type) and child.default_value is undefined()
        }
    return scalar(kind.name)


def undefined() -> Any:
    from graphql.pyutils import Undefined

    return Undefined


def scalar(name: str) -> Any:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {"String": "opsctl-probe", "Int": 1, "Float": 1.0, "Boolean": False}
    if name in values:
        return values[name]
    if name == "ID":
        return str(uuid.uuid4())
    lowered = name.lower()
    if "datetime" in lowered or "timestamp" in lowered:
        return now.isoformat()
    if "date" in lowered:
        return now.date().isoformat()
    if "email" in lowered:
        return "opsctl-probe@example.invalid"
    if "url" in lowered or "uri" in lowered:
        return "https://example.invalid/"
    if "json" in lowered:
        return {}
    return "opsctl-probe"


def is_id(kind: Any) -> bool:
    return named_type(kind).name == "ID"


def id_argument(graphql_field: GraphQLField) -> str | None:
    return next((n for n, a in graphql_field.args.items() if is_id(a.type)), None)


def returns_identified(graphql_field: GraphQLField) -> bool:
    fields = getattr(named_type(graphql_field.type), "fields", None)
    return isinstance(fields, dict) and "id" in fields
