"""Authentication probes: tokens a service must refuse, and refresh tokens it must retire.

Given the log-in flow (``api.login``) the probes log a persona in, check that the flow's
``protected`` query answers with data for the real token (else they cannot judge), and then send
manipulated tokens. The oracle of every token probe: the protected query must not return data.

Without the signing key no probe can put a *changed claim* under a *valid signature*, so the
claim probes (expired, audience, issuer) send the changed claims under the original signature.
A refusal proves that the service checks the signature or the claim (it cannot say which); an
acceptance proves it checks neither. When the same service also accepts a broken signature over
unchanged claims (``api/auth-tampered-signature``), a refusal of the changed claim isolates the
claim check, so the pair of answers tells "no signature check" apart from "no checks at all".
JWTs are taken apart by hand (base64url and JSON): no JWT library is needed to forge them.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from opsctl.gates.api.probe import (
    Answer,
    ProbeFinding,
    ProbeIncomplete,
    ProbeNotRun,
    ProbeTarget,
)
from opsctl.gates.api.session import (
    Session,
    auth_headers,
    described,
    has_data,
    log_in,
    log_out,
    login_flow,
    personas,
    refresh,
    sign_up,
)
from opsctl.gates.interface import Severity

_DEFAULT_PROTECTED = "query { __typename }"  # the setting's default: needs no token anywhere
_FOREIGN = "https://opsctl-probe.invalid"
_HMAC = {"HS256": hashlib.sha256, "HS384": hashlib.sha384, "HS512": hashlib.sha512}


def _b64encode(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _b64decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


@dataclass(frozen=True)
class Jwt:
    header: dict[str, Any]
    claims: dict[str, Any]
    signature: str  # base64url, as received

    @classmethod
    def parse(cls, token: str) -> Jwt | None:
        parts = token.split(".")
        if len(parts) != 3:
            return None
        try:
            header, claims = (json.loads(_b64decode(part)) for part in parts[:2])
        except (ValueError, binascii.Error):
            return None
        if not isinstance(header, dict) or not isinstance(claims, dict):
            return None
        return cls(header, claims, parts[2])

    def encode(
        self,
        *,
        header: dict[str, Any] | None = None,
        claims: dict[str, Any] | None = None,
        signature: str | None = None,
    ) -> str:
        def part(value: dict[str, Any]) -> str:
            return _b64encode(json.dumps(value, separators=(",", ":")).encode())

        head = part(self.header if header is None else header)
        body = part(self.claims if claims is None else claims)
        return f"{head}.{body}.{self.signature if signature is None else signature}"


def hmac_signed(header: dict[str, Any], claims: dict[str, Any], key: bytes) -> str:
    """A JWT re-signed with HMAC under ``key`` (the algorithm named in ``header``)."""
    unsigned = Jwt(header, claims, "").encode().rstrip(".")
    digest = hmac.new(key, unsigned.encode(), _HMAC[header["alg"]]).digest()
    return f"{unsigned}.{_b64encode(digest)}"


@dataclass(frozen=True)
class Variant:
    """A token to send, what it proves when refused, and whether it may be shown in reports."""

    label: str
    token: str
    derived_signature: bool  # carries (a tweak of) the real signature: never printed whole


def _working_session(target: ProbeTarget) -> Session:
    """A session whose token the protected query accepts (else no refusal could be judged)."""
    flow = login_flow(target)
    if flow.protected.strip() == _DEFAULT_PROTECTED:
        raise ProbeNotRun(
            "api.login.protected is the default `query { __typename }`, which needs no token: "
            "name a query that does"
        )
    found = personas(target)
    session = log_in(target, found[0]) if found else sign_up(target)
    baseline = _protected(target, session.access_token)
    if not has_data(baseline):
        raise ProbeIncomplete(
            f"the protected query returned no data even with {session.email}'s valid token, so "
            f"no refusal can be judged: {described(baseline)}"
        )
    return session


def _token(target: ProbeTarget) -> Jwt:
    """The working access token taken apart (the forging probes need a JWT)."""
    token = Jwt.parse(_working_session(target).access_token)
    if token is None:
        raise ProbeNotRun("the access token is not a JWT: the token-forging probes do not apply")
    return token


def _protected(target: ProbeTarget, token: str | None) -> Answer:
    headers = auth_headers(target, token) if token is not None else None
    return target.graphql(login_flow(target).protected, headers=headers)


def _shown(variant: Variant) -> str:
    if not variant.derived_signature:
        return variant.token
    return variant.token.rsplit(".", 1)[0] + ".<signature of a fresh token>"


def _refused_all(
    target: ProbeTarget, probe: str, variants: list[Variant], fix: str
) -> list[ProbeFinding]:
    """One finding per variant the protected query answered with data."""
    flow = login_flow(target)
    findings = []
    for variant in variants:
        answer = _protected(target, variant.token)
        if not has_data(answer):
            continue
        shown = _shown(variant)
        body = json.dumps({"query": flow.protected}).encode()
        headers = {flow.header: f"{flow.scheme} {shown}".strip()}
        findings.append(
            ProbeFinding(
                probe=probe,
                message=f"the protected query answered with data for {variant.label}",
                sent=f"POST {target.endpoint} {flow.protected!r} with {flow.header}: "
                f"{flow.scheme} <{variant.label}>",
                received=described(answer),
                fix=fix,
                curl=target.curl(body, headers=headers),
            )
        )
    return findings


def missing_token(target: ProbeTarget) -> list[ProbeFinding]:
    """No token, and a token that is not one: the protected query must not return data."""
    _working_session(target)  # the protected query must work with a token first
    flow = login_flow(target)
    findings = []
    answer = _protected(target, None)
    if has_data(answer):
        findings.append(
            ProbeFinding(
                "api/auth-missing-token",
                "the protected query answered with data without a token",
                f"POST {target.endpoint} {flow.protected!r} without {flow.header}",
                described(answer),
                "require a valid token on every protected field (deny by default)",
                curl=target.curl(json.dumps({"query": flow.protected}).encode()),
            )
        )
    garbage = [Variant("a garbage token", "opsctl-probe-not-a-token", derived_signature=False)]
    return findings + _refused_all(
        target,
        "api/auth-missing-token",
        garbage,
        "treat a token that does not parse as no token, and refuse",
    )


def tampered_signature(target: ProbeTarget) -> list[ProbeFinding]:
    """The real claims under a broken or missing signature: refusal proves the signature check."""
    token = _token(target)
    raw = bytearray(_b64decode(token.signature) or b"\0")
    raw[0] ^= 0x01  # one bit: the smallest change a lenient verifier could miss
    flipped = token.encode(signature=_b64encode(bytes(raw)))
    variants = [
        Variant("a token with one signature bit flipped", flipped, derived_signature=True),
        Variant("a token with its signature removed", token.encode(signature=""), False),
    ]
    return _refused_all(
        target,
        "api/auth-tampered-signature",
        variants,
        "verify the token's signature with the service's key before reading any claim",
    )


def alg_none(target: ProbeTarget) -> list[ProbeFinding]:
    """``alg: none`` (in four spellings) and no signature: refusal proves a pinned algorithm."""
    token = _token(target)
    variants = [
        Variant(
            f"an unsigned token with alg {alg!r}",
            token.encode(header={**token.header, "alg": alg}, signature=""),
            derived_signature=False,
        )
        for alg in ("none", "None", "NONE", "nOnE")  # filters that compare case-sensitively
    ]
    return _refused_all(
        target,
        "api/auth-alg-none",
        variants,
        "pin the accepted algorithms (e.g. algorithms=['HS256']); never take alg from the token",
    )


def algorithm_switch(target: ProbeTarget) -> list[ProbeFinding]:
    """The token's header names another algorithm.

    Variants: the real signature under a switched ``alg`` (refused: the service does not pick
    the algorithm from the header); HMAC-SHA512 and HMAC-SHA256 with an empty key (refused:
    no key confusion onto an empty or absent HMAC secret, the shape of the RS256-to-HS256
    attack when no public key is at hand).
    """
    token = _token(target)
    header = token.header
    current = str(header.get("alg", ""))
    switched = "HS512" if current != "HS512" else "HS256"
    relabelled = token.encode(header={**header, "alg": switched})
    variants = [
        Variant(f"the real signature under alg {switched} (was {current})", relabelled, True),
    ]
    for alg in ("HS512", "HS256"):
        forged = hmac_signed({**header, "alg": alg}, token.claims, b"")
        variants.append(Variant(f"a token re-signed {alg} with an empty key", forged, False))
    return _refused_all(
        target,
        "api/auth-algorithm-switch",
        variants,
        "verify with one pinned algorithm and its own key; reject every other alg",
    )


def _claims_probe(
    target: ProbeTarget, probe: str, claim: str, value: Any, label: str, fix: str
) -> list[ProbeFinding]:
    token = _token(target)
    variant = Variant(
        f"{label} under the original signature (so the signature no longer matches either)",
        token.encode(claims={**token.claims, claim: value}),
        derived_signature=True,
    )
    return _refused_all(target, probe, [variant], fix)


def expired(target: ProbeTarget) -> list[ProbeFinding]:
    """``exp`` an hour ago. Refused: the signature or ``exp`` is checked; accepted: neither."""
    return _claims_probe(
        target,
        "api/auth-expired",
        "exp",
        int(time.time()) - 3600,
        "a token that expired an hour ago",
        "check exp (with little leeway) after verifying the signature",
    )


def wrong_audience(target: ProbeTarget) -> list[ProbeFinding]:
    """``aud`` of another service. Refused: the signature or ``aud`` is checked."""
    return _claims_probe(
        target,
        "api/auth-wrong-audience",
        "aud",
        _FOREIGN,
        f"a token for the audience {_FOREIGN}",
        "verify aud against this service's audience",
    )


def wrong_issuer(target: ProbeTarget) -> list[ProbeFinding]:
    """``iss`` of another issuer. Refused: the signature or ``iss`` is checked."""
    return _claims_probe(
        target,
        "api/auth-wrong-issuer",
        "iss",
        _FOREIGN,
        f"a token issued by {_FOREIGN}",
        "verify iss against the one issuer this service trusts",
    )


def _fresh_refresh_token(target: ProbeTarget) -> Session:
    flow = login_flow(target)
    if flow.refresh is None or flow.refresh_token is None:
        raise ProbeNotRun("api.login names no refresh mutation or refresh_token path")
    found = personas(target)
    session = log_in(target, found[0], fresh=True) if found else sign_up(target)
    if session.refresh_token is None:
        raise ProbeIncomplete(f"the log-in of {session.email} returned no refresh token")
    return session


def refresh_reuse(target: ProbeTarget) -> list[ProbeFinding]:
    """A refresh token used twice: the second use must fail (rotation).

    Ideally the reuse also revokes the session family, since either the client or a thief holds
    a copy: the newest refresh token, issued by the first use, then stops working too (reported
    as a warning when it does not).
    """
    session = _fresh_refresh_token(target)
    assert session.refresh_token is not None
    first, rotated = refresh(target, session.refresh_token)
    if rotated is None:
        raise ProbeIncomplete(f"the first refresh failed, nothing to judge: {described(first)}")
    second, reused = refresh(target, session.refresh_token)
    sent = f"POST {target.endpoint} the refresh mutation twice with one refresh token"
    if reused is not None:
        return [
            ProbeFinding(
                "api/auth-refresh-reuse",
                "a refresh token worked twice (no rotation): a stolen copy stays usable",
                sent,
                described(second),
                "rotate refresh tokens: each one works once, and a reused one revokes its family",
            )
        ]
    if rotated.refresh_token is None:
        return []
    newest, still = refresh(target, rotated.refresh_token)
    if still is None:
        return []
    return [
        ProbeFinding(
            "api/auth-refresh-reuse",
            "the reuse was refused, but the session family lives on: the newest refresh token "
            "(from the first use) still works",
            sent + ", then the newest refresh token",
            described(newest),
            "on reuse of a refresh token, revoke every token of its family",
            severity=Severity.WARNING,
        )
    ]


def after_logout(target: ProbeTarget) -> list[ProbeFinding]:
    """After log-out the session's refresh token must fail (log-out ends the session)."""
    session = _fresh_refresh_token(target)
    assert session.refresh_token is not None
    out = log_out(target, session.refresh_token)
    if out.status is None or out.status >= 500:
        raise ProbeIncomplete(f"the log-out failed, nothing to judge: {described(out)}")
    answer, renewed = refresh(target, session.refresh_token)
    if renewed is None:
        return []
    return [
        ProbeFinding(
            "api/auth-after-logout",
            "the refresh token still worked after log-out",
            f"POST {target.endpoint} the log-out mutation, then the refresh mutation with the "
            "logged-out refresh token",
            described(answer),
            "revoke the session (its refresh token family) on log-out",
        )
    ]


PROBES: list[Callable[[ProbeTarget], list[ProbeFinding]]] = [
    missing_token,
    tampered_signature,
    alg_none,
    algorithm_switch,
    expired,
    wrong_audience,
    wrong_issuer,
    refresh_reuse,
    after_logout,
]
