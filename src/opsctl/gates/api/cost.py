"""Abuse of cost: password hashes bought in bulk, and log-in rate limits and their bypasses.

A log-in or sign-up costs the service a password hash (argon2: tens of milliseconds of CPU by
design). Aliases put many of them into one request, which an HTTP rate limiter counts once; and
a limiter keyed on a client-supplied address header gives every request a fresh bucket. Every
probe here is bounded in attempts (``api.login_attempts``) and in time (``PROBE_SECONDS``).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsctl.gates.api.probe import Answer, ProbeFinding, ProbeIncomplete, ProbeNotRun, ProbeTarget
from opsctl.gates.api.session import (
    data_of,
    described,
    fresh_email,
    fresh_password,
    log_in,
    login_flow,
    personas,
    rate_limited,
    sign_up,
    try_log_in,
)

#: Aliased hashing fields in one request (graphql-armor's alias limit is 15: stay under it, so
#: that only a per-operation cost rule, not the alias limit, can refuse the request).
HASH_ALIASES = 12
#: No probe of this family runs longer (its loop stops, and the probe is incomplete).
PROBE_SECONDS = 9.0
WRONG_GUESS = "opsctl-probe-wrong-password"
#: Each header gets addresses from its own documentation range (RFC 5737), fresh per attempt.
FORWARDED_HEADERS: dict[str, Callable[[int], str]] = {
    "X-Forwarded-For": lambda i: f"203.0.113.{i % 254 + 1}",
    "Forwarded": lambda i: f"for=198.51.100.{i % 254 + 1}",
    "X-Real-IP": lambda i: f"192.0.2.{i % 254 + 1}",
}


def aliased(document: str, count: int) -> str:
    """The document's first root field ``count`` times, aliased ``a0``…, variables suffixed.

    Built as text from printed nodes (AST nodes are frozen in graphql-core 3.3); ``$email``
    of alias ``a3`` becomes ``$email_3``.
    """
    from graphql import (
        FieldNode,
        NameNode,
        OperationDefinitionNode,
        VariableNode,
        Visitor,
        parse,
        print_ast,
        visit,
    )

    class Suffix(Visitor):
        def __init__(self, suffix: str) -> None:
            super().__init__()
            self.suffix = suffix

        def enter_variable(self, node: VariableNode, *_: Any) -> VariableNode:
            return VariableNode(name=NameNode(value=node.name.value + self.suffix))

    parsed = parse(document)
    operation = next(d for d in parsed.definitions if isinstance(d, OperationDefinitionNode))
    field = operation.selection_set.selections[0]
    if not isinstance(field, FieldNode):
        raise ProbeIncomplete("the hashing mutation's first selection is not a field")
    prefix = f"{field.alias.value}: " if field.alias else ""
    definitions, fields = [], []
    for index in range(count):
        suffix = f"_{index}"
        renamed = print_ast(visit(field, Suffix(suffix)))
        fields.append(f"a{index}: {renamed.removeprefix(prefix)}")
        definitions += [
            print_ast(visit(d, Suffix(suffix))) for d in operation.variable_definitions or ()
        ]
    head = f"{operation.operation.value}({', '.join(definitions)})" if definitions else "mutation"
    rest = [print_ast(d) for d in parsed.definitions if d is not operation]
    return "\n".join([f"{head} {{ {' '.join(fields)} }}", *rest])


def aliased_password_hash(target: ProbeTarget) -> list[ProbeFinding]:
    """``HASH_ALIASES`` sign-ups (fresh emails) or log-ins in one request.

    Oracle: at most one of them succeeds, and the answer comes within the budget. More than
    one success means one request bought that many password hashes past any per-request limit;
    a slow answer means the hashes ran even if the answers were errors.
    """
    flow = login_flow(target)
    found = personas(target)
    variables: dict[str, Any] = {}
    if flow.sign_up is not None:
        document, what = flow.sign_up, "signUp (fresh emails)"
        for index in range(HASH_ALIASES):
            variables |= {
                f"email_{index}": fresh_email(),
                f"password_{index}": fresh_password(),
                f"name_{index}": "opsctl probe",
            }
    elif found:
        log_in(target, found[0])  # the password must work, or no alias could succeed
        document, what = flow.document, f"logIn as {found[0].email}"
        for index in range(HASH_ALIASES):
            variables |= {f"email_{index}": found[0].email, f"password_{index}": found[0].password}
    else:
        raise ProbeNotRun("neither api.login.sign_up nor a persona: no hashing field to alias")
    query = aliased(document, HASH_ALIASES)
    answer = target.graphql(query, variables, wait_s=max(5 * target.budget_s, 5.0))
    data = data_of(answer)
    succeeded = sum(data.get(f"a{index}") is not None for index in range(HASH_ALIASES))
    if succeeded == 0 and rate_limited(answer):
        raise ProbeIncomplete(
            "the service's rate limit refused every alias, the first included (its window was "
            "spent before this probe): whether one request can buy several hashes is unknown"
        )
    if succeeded <= 1 and answer.status is not None and answer.seconds <= target.budget_s:
        return []
    shown = {k: ("***" if k.startswith("password") else v) for k, v in variables.items()}
    return [
        ProbeFinding(
            "api/cost-aliased-password-hash",
            f"{succeeded} of {HASH_ALIASES} aliased {what} succeeded in one request, "
            f"answered in {answer.seconds:.2f}s (budget {target.budget_s:g}s)",
            f"POST {target.endpoint}: {HASH_ALIASES} aliases of the hashing mutation",
            described(answer),
            "allow one password-hashing field per request (a cost rule per operation), and "
            "rate-limit sign-ups and log-ins per address and account",
            curl=target.curl(_body(query, shown)),
        )
    ]


def _body(query: str, variables: dict[str, Any]) -> bytes:
    import json

    return json.dumps({"query": query, "variables": variables}).encode()


@dataclass(frozen=True)
class _Run:
    """Failed log-ins sent until the first rate-limited answer (``limited_at``) or the bound."""

    sent: int
    limited_at: int | None
    last: Answer | None


def _until_limited(
    attempts: int, attempt: Callable[[int], Answer], deadline: float, what: str
) -> _Run:
    last = None
    for index in range(attempts):
        if time.monotonic() > deadline:
            raise ProbeIncomplete(
                f"{what}: {index} failed log-ins took longer than {PROBE_SECONDS:g}s, "
                "no verdict within the probe's time bound"
            )
        last = attempt(index)
        if last.status is None:
            raise ProbeIncomplete(f"{what}: the service stopped answering: {described(last)}")
        if rate_limited(last):
            return _Run(index + 1, index + 1, last)
    return _Run(attempts, None, last)


def _attempts(target: ProbeTarget) -> int:
    return target.settings.login_attempts if target.settings is not None else 30


def _account(target: ProbeTarget) -> str:
    """The email of an account to attack: a fresh one from the sign-up flow (or, when sign-ups
    are limited, an email with no account), else a persona's.

    A fresh account first, because a probe that works locks the account out for the service's
    window: a locked persona would leave the other families (and the next run) unable to log in.
    """
    if login_flow(target).sign_up is not None:
        try:
            return sign_up(target).email
        except ProbeIncomplete:
            # sign-ups limited per address (as they should be): an email with no account;
            # a per-account limit keyed on the name it is sent for holds it all the same
            return fresh_email()
    found = personas(target)
    if found:
        return found[0].email
    raise ProbeNotRun("no persona and no api.login.sign_up: no account to attack")


def _not_limited(
    target: ProbeTarget, probe: str, run: _Run, what: str, fix: str, message: str = ""
) -> ProbeFinding:
    return ProbeFinding(
        probe,
        message
        or f"{run.sent} failed log-ins {what} were not limited (api.login_attempts "
        f"{_attempts(target)}): no HTTP 429 and no RATE_LIMITED error",
        f"POST {target.endpoint}: {run.sent} log-ins with a wrong password {what}",
        described(run.last) if run.last else "",
        fix,
    )


def brute_force_account(target: ProbeTarget) -> list[ProbeFinding]:
    """Wrong passwords for one account: limited (429 or RATE_LIMITED) within the bound."""
    email = _account(target)
    deadline = time.monotonic() + PROBE_SECONDS
    run = _until_limited(
        _attempts(target),
        lambda i: try_log_in(target, email, f"{WRONG_GUESS}-{i}"),
        deadline,
        "brute force on one account",
    )
    if run.limited_at is not None:
        return []
    return [
        _not_limited(
            target,
            "api/brute-force-account",
            run,
            f"for {email}",
            "limit failed log-ins per account (lockout or back-off), whatever the address",
        )
    ]


def brute_force_address(target: ProbeTarget) -> list[ProbeFinding]:
    """Wrong passwords for a new account each time, from one address: limited within bound."""
    login_flow(target)
    deadline = time.monotonic() + PROBE_SECONDS
    run = _until_limited(
        _attempts(target),
        lambda _: try_log_in(target, fresh_email(), WRONG_GUESS),
        deadline,
        "brute force from one address",
    )
    if run.limited_at is not None:
        return []
    return [
        _not_limited(
            target,
            "api/brute-force-address",
            run,
            "for a new account each time, from one address",
            "limit failed log-ins per client address (the peer, or the trusted proxy's hop)",
        )
    ]


def _with_header(
    target: ProbeTarget, header: str, value: Callable[[int], str]
) -> Callable[[int], Answer]:
    def attempt(index: int) -> Answer:
        headers = {header: value(index)}
        return try_log_in(target, fresh_email(), f"{WRONG_GUESS}-{index}", headers=headers)

    return attempt


def forwarded_headers(target: ProbeTarget) -> list[ProbeFinding]:
    """Failed log-ins for a new email each time, with a new client address in a header.

    A new email each time leaves only the per-address limit to stop them (credential stuffing).
    The baseline is the same without the header: when it is limited within the bound and a
    header's run is not, that header bypassed the limit (the service keys its buckets on a
    value the client chooses). When even the baseline is not limited there is no limit to
    bypass; the finding says so (``api/brute-force-address`` reports the same hole).
    """
    email = "a new email each time"
    attempts, deadline = _attempts(target), time.monotonic() + PROBE_SECONDS
    baseline = _until_limited(
        attempts,
        lambda i: try_log_in(target, fresh_email(), f"{WRONG_GUESS}-{i}"),
        deadline,
        "forwarded-header baseline",
    )
    if baseline.limited_at is None:
        return [
            _not_limited(
                target,
                "api/rate-limit-forwarded-headers",
                baseline,
                f"for {email}, without forwarded headers",
                "limit failed log-ins, keyed on the peer address (ignore X-Forwarded-For, "
                "Forwarded, X-Real-IP unless set by a proxy you trust)",
                message=f"no limit to bypass: {baseline.sent} failed log-ins ({email}) were not "
                "limited even without forwarded headers, so no header could be judged",
            )
        ]
    findings = []
    for header, value in FORWARDED_HEADERS.items():
        run = _until_limited(
            attempts,
            _with_header(target, header, value),
            deadline,
            f"forwarded-header run with {header}",
        )
        if run.limited_at is None:
            findings.append(
                ProbeFinding(
                    "api/rate-limit-forwarded-headers",
                    f"{header} bypassed the log-in rate limit: without it, failed log-ins "
                    f"({email}) were limited after {baseline.limited_at - 1}; with a new "
                    f"{header} each time {run.sent} were not",
                    f"POST {target.endpoint}: {run.sent} wrong-password log-ins for {email}, "
                    f"{header}: {value(0)}, {value(1)}, …",
                    described(run.last) if run.last else "",
                    f"key rate limits on the peer address; trust {header} only from your own "
                    "proxies (e.g. uvicorn --forwarded-allow-ips)",
                )
            )
    return findings


PROBES: list[Callable[[ProbeTarget], list[ProbeFinding]]] = [
    aliased_password_hash,
    brute_force_account,
    brute_force_address,
    forwarded_headers,
]
