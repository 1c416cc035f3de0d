"""Authorization between tenants: the other tenant calls every ID-taking field with our IDs.

Persona A (``api.personas[0]``) and B (a persona of another ``tenant``, or a fresh account from
``api.login.sign_up``). The probes walk the schema (:func:`graphql_schema`): every Query field
that needs no argument is selected as A, ``__typename`` and ``id`` (and the scalar fields) of
each object reachable to ``WALK_DEPTH`` (lists: their first page), which gives A's IDs per type.
B walks too, and objects B can see itself are not A's to protect. Then:

- every Query field with an ID argument, returning a type with ``id``, is called as B with one of
  A's IDs and with a random well-formed ID (same shape as A's). B must get no data
  (``api/authz-cross-tenant-read``) and an answer indistinguishable from the random ID's: same
  status, error codes and messages (``api/authz-existence-oracle``), or B learns which IDs exist;
- every mutation taking an ID (an argument, or an input field ``id``/``…Id``) is called once as B
  on one of A's objects of the type the ID names, other required inputs filled with plausible
  values; a success, or any change in A's data when A walks again, is
  ``api/authz-cross-tenant-write``.

Bounded: at most ``MAX_ROOTS`` walked fields, ``MAX_READS`` read fields, ``MAX_WRITES`` mutations,
so about 40 requests a probe. The write probe changes (and may delete) A's data: an unsafe family.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from opsctl.gates.api.probe import (
    Answer,
    ProbeFinding,
    ProbeIncomplete,
    ProbeNotRun,
    ProbeTarget,
)
from opsctl.gates.api.schema_source import graphql_schema
from opsctl.gates.api.session import (
    Session,
    data_of,
    described,
    error_codes,
    errors_of,
    log_in,
    login_flow,
    personas,
    sign_up,
)
from opsctl.gates.api.tenant_data import (
    Holdings,
    headers_of,
    id_argument,
    is_id,
    like,
    named_type,
    plausible,
    returns_identified,
    walk,
)

if TYPE_CHECKING:
    from graphql import GraphQLField, GraphQLSchema


#: Verbs stripped from a mutation's name to find the type its ``id`` names (deleteProject).
_VERBS = re.compile(
    r"^(update|delete|remove|archive|edit|set|rename|move|change|patch|put|destroy|restore|"
    r"publish|unpublish|close|reopen|transfer|share|add|create|assign|unassign)",
    re.I,
)
MAX_READS, MAX_WRITES = 10, 8  # ID-taking fields read, mutations called
_DESTRUCTIVE = re.compile(r"^(delete|remove|destroy|archive|purge)", re.I)


@dataclass(frozen=True)
class _Tenants:
    a: Session
    b: Session
    how_b: str  # "persona x@y (tenant t)" or "a fresh account"


def _tenants(target: ProbeTarget) -> _Tenants:
    """The two tenants' sessions, once per run (a fresh account is signed up only once)."""
    cached = target.extra.get("tenants")
    if isinstance(cached, _Tenants):
        return cached
    tenants = _new_tenants(target)
    target.extra["tenants"] = tenants
    return tenants


def _new_tenants(target: ProbeTarget) -> _Tenants:
    flow = login_flow(target)
    found = personas(target)
    if not found:
        raise ProbeNotRun("api.personas is empty: the first tenant's IDs come from a persona")
    first = found[0]
    other = next((p for p in found[1:] if p.tenant and p.tenant != first.tenant), None)
    # fresh sessions: the authentication probes may have revoked the ones logged in before
    a = log_in(target, first, fresh=True)
    if other is not None:
        b = log_in(target, other, fresh=True)
        return _Tenants(a, b, f"persona {other.email} (tenant {other.tenant})")
    if flow.sign_up is None:
        raise ProbeNotRun(
            "authorization needs two personas in different tenants (api.personas with tenant) "
            "or api.login.sign_up for a fresh account as the other tenant"
        )
    fresh = sign_up(target)
    return _Tenants(a, fresh, f"a fresh account {fresh.email}")


def _call(
    kind: str,
    name: str,
    graphql_field: GraphQLField,
    values: dict[str, Any],
) -> tuple[str, dict[str, Any]]:
    """The document calling ``name`` with every given or required argument as a variable."""
    from graphql import is_required_argument

    args = {
        arg_name: values[arg_name] if arg_name in values else plausible(arg.type)
        for arg_name, arg in graphql_field.args.items()
        if arg_name in values or is_required_argument(arg)
    }
    definitions = ", ".join(f"$v{i}: {graphql_field.args[n].type}" for i, n in enumerate(args))
    passed = ", ".join(f"{n}: $v{i}" for i, n in enumerate(args))
    sel = "{ __typename id }" if returns_identified(graphql_field) else ""
    if not sel and getattr(named_type(graphql_field.type), "fields", None):
        sel = "{ __typename }"
    head = f"{kind}({definitions})" if definitions else kind
    call = f"{name}({passed})" if passed else name
    variables = {f"v{i}": value for i, value in enumerate(args.values())}
    return f"{head} {{ {f'{call} {sel}'.strip()} }}", variables


def _leaked(value: Any) -> bool:
    if isinstance(value, list):
        return any(item is not None for item in value)
    return value is not None and value is not False


def _shape(answer: Answer, ident: str) -> str:
    """What the answer tells about the ID, with the ID itself masked (it echoes either way)."""
    errors = [
        (str(e.get("message", "")).replace(ident, "<id>"), str(e.get("path", "")))
        for e in errors_of(answer)
    ]
    data = json.dumps(data_of(answer), sort_keys=True).replace(ident, "<id>")
    return json.dumps([answer.status, sorted(error_codes(answer)), sorted(errors), data])


def _read_targets(schema: GraphQLSchema) -> list[tuple[str, GraphQLField, str]]:
    query_type = schema.query_type
    if query_type is None:
        return []
    found = []
    for name, graphql_field in query_type.fields.items():
        arg = id_argument(graphql_field)
        if arg is not None and not name.startswith("__") and returns_identified(graphql_field):
            found.append((name, graphql_field, arg))
    return found[:MAX_READS]


def _type_for(schema: GraphQLSchema, holdings: Holdings, kind: Any) -> str | None:
    """Which of A's types an ID-taking field's return type stands for (an interface: any)."""
    from graphql import is_abstract_type

    named = named_type(kind)
    if named.name in holdings.ids:
        return named.name
    if is_abstract_type(named):
        possible = [t.name for t in schema.get_possible_types(named)]
        return next((t for t in possible if t in holdings.ids), None)
    return None


def _finding(probe: str, message: str, query: str, variables: dict[str, Any], answer: Answer,
             target: ProbeTarget, session: Session, fix: str) -> ProbeFinding:  # fmt: skip
    body = json.dumps({"query": query, "variables": variables}).encode()
    flow = login_flow(target)
    headers = {flow.header: f"{flow.scheme} <token of {session.email}>".strip()}
    return ProbeFinding(
        probe,
        message,
        f"POST {target.endpoint} as {session.email}: {query} variables {json.dumps(variables)}",
        described(answer),
        fix,
        curl=target.curl(body, headers=headers),
    )


def cross_tenant_read(target: ProbeTarget) -> list[ProbeFinding]:
    """B reads A's objects by ID: no data, and the answer of a random ID (no existence oracle)."""
    schema = graphql_schema(target)
    tenants = _tenants(target)
    theirs = walk(target, tenants.a).without(walk(target, tenants.b))
    if not theirs.ids:
        raise ProbeIncomplete(
            f"{tenants.a.email} sees no object of its own through the argument-free Query "
            "fields: seed the first tenant, or the probe has nothing to aim at"
        )
    findings = []
    for name, graphql_field, arg in _read_targets(schema):
        kind = _type_for(schema, theirs, graphql_field.type)
        if kind is None:
            continue
        ident = theirs.ids[kind][0]
        fake = like(ident)
        as_list = "[" in str(graphql_field.args[arg].type)
        query, foreign_vars = _call(
            "query", name, graphql_field, {arg: [ident] if as_list else ident}
        )
        foreign = target.graphql(query, foreign_vars, headers=headers_of(target, tenants.b))
        _, missing_vars = _call("query", name, graphql_field, {arg: [fake] if as_list else fake})
        missing = target.graphql(query, missing_vars, headers=headers_of(target, tenants.b))
        if _leaked(data_of(foreign).get(name)):
            findings.append(_finding(
                "api/authz-cross-tenant-read",
                f"{tenants.how_b} read {tenants.a.email}'s {kind} {ident} through {name}",
                query, foreign_vars, foreign, target, tenants.b,
                f"scope {name} to the caller's tenant (a foreign ID must be NOT_FOUND)",
            ))  # fmt: skip
        elif _shape(foreign, ident) != _shape(missing, fake):
            findings.append(_finding(
                "api/authz-existence-oracle",
                f"{name} answers {tenants.how_b} differently for {tenants.a.email}'s {kind} "
                f"{ident} than for the random ID {fake}: the answer tells that the ID exists "
                f"(foreign: {missing_summary(foreign)}; random: {missing_summary(missing)})",
                query, foreign_vars, foreign, target, tenants.b,
                "answer a foreign ID exactly like a missing one (same status, code, message)",
            ))  # fmt: skip
    return findings


def missing_summary(answer: Answer) -> str:
    codes = ",".join(error_codes(answer)) or "no code"
    messages = "; ".join(str(e.get("message", "")) for e in errors_of(answer))[:120]
    return f"HTTP {answer.status} {codes} {messages!r}"


@dataclass(frozen=True)
class _Write:
    name: str
    graphql_field: GraphQLField
    kind: str  # the type of A's object the ID names
    values: dict[str, Any]  # argument values with the ID put in (A's ID filled in later)
    slot: tuple[str, str | None]  # (argument, input field or None)


def _slot_type(
    slot_name: str, mutation: str, graphql_field: GraphQLField, holdings: Holdings
) -> str | None:
    by_lower = {name.lower(): name for name in holdings.ids}
    stem = re.sub(r"(_id|Id|ID)$", "", slot_name)
    if stem and stem.lower() != slot_name.lower() and stem.lower() in by_lower:
        return by_lower[stem.lower()]  # workspaceId: a Workspace
    if slot_name.lower() in {"id", "ids"}:
        named = _VERBS.sub("", mutation)
        if named.lower() in by_lower:
            return by_lower[named.lower()]  # deleteProject(id): a Project
        returned = named_type(graphql_field.type).name
        if returned in holdings.ids:
            return returned
    return None


def _input_slot(
    arg_name: str, kind: Any, mutation: str, graphql_field: GraphQLField, holdings: Holdings
) -> tuple[tuple[str, str | None] | None, str | None]:
    """An input object's ``id``/``…Id`` field (ID or String) naming one of A's types."""
    from graphql import GraphQLInputObjectType

    named = named_type(kind)
    if not isinstance(named, GraphQLInputObjectType):
        return None, None
    for input_name, input_field in named.fields.items():
        aims = input_name == "id" or re.search(r"(Id|_id)$", input_name)
        if aims and named_type(input_field.type).name in {"ID", "String"}:
            found = _slot_type(input_name, mutation, graphql_field, holdings)
            if found is not None:
                return (arg_name, input_name), found
    return None, None


def _write_targets(schema: GraphQLSchema, holdings: Holdings) -> list[_Write]:
    mutation_type = schema.mutation_type
    if mutation_type is None:
        return []
    found = []
    for name, graphql_field in mutation_type.fields.items():
        for arg_name, arg in graphql_field.args.items():
            slot: tuple[str, str | None] | None = None
            kind = None
            if is_id(arg.type):
                slot, kind = (arg_name, None), _slot_type(arg_name, name, graphql_field, holdings)
            else:
                slot, kind = _input_slot(arg_name, arg.type, name, graphql_field, holdings)
            if slot is not None and kind is not None:
                found.append(_Write(name, graphql_field, kind, {}, slot))
                break
    found.sort(key=lambda w: bool(_DESTRUCTIVE.match(w.name)))  # deletes last
    return found[:MAX_WRITES]


def _values(write: _Write, ident: str) -> dict[str, Any]:
    arg, input_field = write.slot
    if input_field is None:
        kind = write.graphql_field.args[arg].type
        return {arg: [ident] if "[" in str(kind) else ident}
    filled = plausible(write.graphql_field.args[arg].type)
    return {arg: {**filled, input_field: ident}}


def cross_tenant_write(target: ProbeTarget) -> list[ProbeFinding]:
    """B's mutations on A's objects: each must fail, and A's data must not change."""
    schema = graphql_schema(target)
    tenants = _tenants(target)
    before = walk(target, tenants.a)
    theirs = before.without(walk(target, tenants.b))
    if not theirs.ids:
        raise ProbeIncomplete(
            f"{tenants.a.email} sees no object of its own through the argument-free Query "
            "fields: seed the first tenant, or the probe has nothing to aim at"
        )
    succeeded: dict[str, ProbeFinding] = {}  # by the ID of A's object (or the one created)
    used: dict[str, int] = {}
    for write in _write_targets(schema, theirs):
        ids = theirs.ids[write.kind]
        ident = ids[used.get(write.kind, 0) % len(ids)]  # a different object per mutation
        used[write.kind] = used.get(write.kind, 0) + 1
        query, variables = _call("mutation", write.name, write.graphql_field, _values(write, ident))
        answer = target.graphql(query, variables, headers=headers_of(target, tenants.b))
        result = data_of(answer).get(write.name)
        if not _leaked(result):
            continue
        finding = _finding(
            "api/authz-cross-tenant-write",
            f"{tenants.how_b} ran {write.name} on {tenants.a.email}'s {write.kind} {ident}, "
            "and it succeeded",
            query, variables, answer, target, tenants.b,
            f"check in {write.name} that the object belongs to the caller's tenant "
            "(NOT_FOUND otherwise)",
        )  # fmt: skip
        created = result.get("id") if isinstance(result, dict) else None
        succeeded[str(created) if created and created != ident else ident] = finding
    changes = _changes(before, walk(target, tenants.a))
    findings = []
    for ident, finding in succeeded.items():  # a success and the change it made: one finding
        seen = changes.pop(ident, None)
        note = f"; {tenants.a.email} re-read it: {seen}" if seen else ""
        findings.append(replace(finding, message=finding.message + note))
    for ident, seen in changes.items():
        findings.append(
            ProbeFinding(
                "api/authz-cross-tenant-write",
                f"{tenants.a.email}'s data changed after {tenants.how_b}'s mutations: {seen}",
                f"POST {target.endpoint}: {tenants.a.email} walked its data before and after "
                f"the mutations (object {ident})",
                seen,
                "check the tenant in every mutation before changing anything",
            )
        )
    return findings


def _changes(before: Holdings, after: Holdings) -> dict[str, str]:
    """A's objects, walked again: which are gone, changed or new (by ID, described)."""
    changes: dict[str, str] = {}
    for (kind, ident), old in before.objects.items():
        new = after.objects.get((kind, ident))
        if new is None:
            changes[ident] = f"{kind} {ident} is gone (was {json.dumps(old)})"
        elif new != old:
            changes[ident] = f"{kind} {ident} changed from {json.dumps(old)} to {json.dumps(new)}"
    for (kind, ident), new in after.objects.items():
        if (kind, ident) not in before.objects:
            changes[ident] = f"{kind} {ident} appeared: {json.dumps(new)}"
    return changes


Probe = Callable[[ProbeTarget], list[ProbeFinding]]
PROBES: list[Probe] = [
    cross_tenant_read,
    cross_tenant_write,  # last: it changes (and may delete) the first tenant's data
]
