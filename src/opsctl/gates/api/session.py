"""Sessions for the probes: log a persona in, refresh, log out, sign up a fresh account.

Everything goes through :meth:`ProbeTarget.graphql` with the Definition of Done's log-in flow
(``api.login``). Tokens are read at the flow's dotted paths (``logIn.accessToken``); the
refresh and sign-up answers at the same paths below *their* root field (``accessToken`` below
``refreshToken``), since one flow names one shape of token payload.
"""

from __future__ import annotations

import re
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from opsctl.gates.api.probe import Answer, ProbeIncomplete, ProbeNotRun, ProbeTarget

if TYPE_CHECKING:
    from opsctl.gates.api.settings import LoginFlow, Persona

#: Error codes (``extensions.code``) and messages that mean "rate limited".
RATE_LIMIT_CODES = frozenset(
    {"RATE_LIMITED", "TOO_MANY_REQUESTS", "THROTTLED", "RATE_LIMIT_EXCEEDED", "LOCKED_OUT"}
)
_RATE_LIMIT_TEXT = re.compile(r"rate.?limit|too many|throttl|locked out|try again later", re.I)


@dataclass(frozen=True)
class Session:
    """Tokens one log-in (or refresh, or sign-up) handed out, and whose they are."""

    email: str
    access_token: str
    refresh_token: str | None


def login_flow(target: ProbeTarget) -> LoginFlow:
    """The log-in flow, or :class:`ProbeNotRun` (the probes need one, and never guess it)."""
    flow = target.settings.login if target.settings is not None else None
    if flow is None:
        raise ProbeNotRun("api.login names no log-in flow: the probe needs one to get tokens")
    return flow


def personas(target: ProbeTarget) -> list[Persona]:
    return list(target.settings.personas) if target.settings is not None else []


def auth_headers(target: ProbeTarget, token: str) -> dict[str, str]:
    flow = login_flow(target)
    return {flow.header: f"{flow.scheme} {token}".strip()}


def errors_of(answer: Answer) -> list[dict[str, Any]]:
    document = answer.json()
    errors = document.get("errors") if isinstance(document, dict) else None
    return [e for e in errors if isinstance(e, dict)] if isinstance(errors, list) else []


def error_codes(answer: Answer) -> list[str]:
    codes = []
    for entry in errors_of(answer):
        extensions = entry.get("extensions")
        if isinstance(extensions, dict) and isinstance(extensions.get("code"), str):
            codes.append(extensions["code"])
    return codes


def data_of(answer: Answer) -> dict[str, Any]:
    document = answer.json()
    data = document.get("data") if isinstance(document, dict) else None
    return data if isinstance(data, dict) else {}


def has_data(answer: Answer) -> bool:
    """The answer carries data: a 2xx with at least one non-null root field."""
    return (
        answer.status is not None
        and answer.status < 300
        and any(value is not None for value in data_of(answer).values())
    )


def rate_limited(answer: Answer) -> bool:
    """HTTP 429, or a GraphQL error whose code or message says "rate limited"."""
    if answer.status == 429:
        return True
    if RATE_LIMIT_CODES.intersection(code.upper() for code in error_codes(answer)):
        return True
    return any(_RATE_LIMIT_TEXT.search(str(e.get("message", ""))) for e in errors_of(answer))


def at_path(data: Any, dotted: str) -> Any:
    for key in dotted.split("."):
        if not isinstance(data, dict):
            return None
        data = data.get(key)
    return data


def _below_root(answer: Answer, login_path: str) -> Any:
    """The token at the log-in path's tail, below the answer's (only) root field."""
    data = data_of(answer)
    tail = login_path.partition(".")[2]
    root = next(iter(data.values()), None) if len(data) == 1 else None
    return at_path(root, tail) if tail else root


def _session(flow: LoginFlow, email: str, answer: Answer, *, below_root: bool) -> Session | None:
    def read(path: str) -> Any:
        return _below_root(answer, path) if below_root else at_path(data_of(answer), path)

    access = read(flow.access_token)
    refresh = read(flow.refresh_token) if flow.refresh_token else None
    if not isinstance(access, str) or not access:
        return None
    return Session(email, access, refresh if isinstance(refresh, str) and refresh else None)


def try_log_in(
    target: ProbeTarget, email: str, password: str, headers: dict[str, str] | None = None
) -> Answer:
    """One log-in attempt, as sent (the brute-force probes judge the answer themselves)."""
    flow = login_flow(target)
    return target.graphql(flow.document, {"email": email, "password": password}, headers=headers)


def log_in(target: ProbeTarget, persona: Persona, *, fresh: bool = False) -> Session:
    """Log a configured persona in; a failure is :class:`ProbeIncomplete` naming the email.

    The session is kept for the run (``fresh`` for a new one, e.g. to spend its refresh
    token): every probe logging in anew would spend the service's log-in limit on opsctl.
    """
    sessions: dict[str, Session] = target.extra.setdefault("sessions", {})
    if not fresh and persona.email in sessions:
        return sessions[persona.email]
    flow = login_flow(target)
    answer = try_log_in(target, persona.email, persona.password)
    session = _session(flow, persona.email, answer, below_root=False)
    if session is None:
        hint = (
            " (rate limited: a brute-force probe may have locked the account or address; "
            "wait for the service's window)"
            if rate_limited(answer)
            else ""
        )
        raise ProbeIncomplete(
            f"log-in of persona {persona.email} failed (no token at {flow.access_token}){hint}: "
            f"{_redacted(answer, persona.password)}"
        )
    sessions[persona.email] = session
    return session


def refresh(target: ProbeTarget, refresh_token: str) -> tuple[Answer, Session | None]:
    """Exchange a refresh token: the answer, and the new session when it worked."""
    flow = login_flow(target)
    if flow.refresh is None:
        raise ProbeNotRun("api.login.refresh names no refresh mutation")
    answer = target.graphql(flow.refresh, {"refreshToken": refresh_token})
    return answer, _session(flow, "", answer, below_root=True)


def log_out(target: ProbeTarget, refresh_token: str) -> Answer:
    flow = login_flow(target)
    if flow.log_out is None:
        raise ProbeNotRun("api.login.log_out names no log-out mutation")
    return target.graphql(flow.log_out, {"refreshToken": refresh_token})


def fresh_email() -> str:
    return f"opsctl-probe-{uuid.uuid4().hex[:12]}@example.invalid"


def fresh_password() -> str:
    return f"Opsctl-{uuid.uuid4().hex}"


def sign_up(target: ProbeTarget) -> Session:
    """A fresh account through ``api.login.sign_up`` (in no tenant the personas share)."""
    flow = login_flow(target)
    if flow.sign_up is None:
        raise ProbeNotRun("api.login.sign_up names no sign-up mutation")
    email, password = fresh_email(), fresh_password()
    variables = {"email": email, "password": password, "name": "opsctl probe"}
    answer = target.graphql(flow.sign_up, variables)
    session = _session(flow, email, answer, below_root=True)
    if session is None:
        raise ProbeIncomplete(f"sign-up of {email} failed: {_redacted(answer, password)}")
    return session


_JWT = re.compile(r"eyJ[\w-]*\.[\w-]*\.[\w-]*")
_TOKEN_VALUE = re.compile(r'("[^"]*[Tt]oken[^"]*"\s*:\s*")[^"]*(")')


def described(answer: Answer) -> str:
    """:meth:`Answer.describe` with tokens masked: reports must not carry live credentials."""
    body = _TOKEN_VALUE.sub(r"\1<token>\2", _JWT.sub("<jwt>", answer.body))
    return Answer(answer.status, body, answer.seconds, answer.health_worst_s,
                  answer.health_failures).describe()  # fmt: skip


def _redacted(answer: Answer, password: str) -> str:
    """The answer for a message, tokens masked and the password cut out should it be echoed."""
    return described(answer).replace(password, "***")
