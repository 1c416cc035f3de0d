"""Access tokens (JWT, short-lived) and refresh tokens (opaque, stored as SHA-256 hashes)."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import uuid

import jwt

from reference_api.domain.errors import UnauthenticatedError

#: Claims every access token must carry; PyJWT rejects a token missing one.
REQUIRED_CLAIMS = ["exp", "iat", "nbf", "sub", "iss", "aud", "jti"]


class TokenService:
    """Issue and verify access tokens with exactly one configured algorithm."""

    def __init__(
        self,
        *,
        secret: str,
        algorithm: str,
        issuer: str,
        audience: str,
        access_ttl_seconds: int,
        refresh_ttl_seconds: int,
    ) -> None:
        self._secret = secret
        self._algorithm = algorithm
        self._issuer = issuer
        self._audience = audience
        self.access_ttl_seconds = access_ttl_seconds
        self.refresh_ttl_seconds = refresh_ttl_seconds

    def issue_access_token(self, user_id: uuid.UUID, *, now: dt.datetime | None = None) -> str:
        issued = now or dt.datetime.now(dt.UTC)
        claims = {
            "sub": str(user_id),
            "iss": self._issuer,
            "aud": self._audience,
            "iat": issued,
            "nbf": issued,
            "exp": issued + dt.timedelta(seconds=self.access_ttl_seconds),
            "jti": uuid.uuid4().hex,
        }
        return jwt.encode(claims, self._secret, algorithm=self._algorithm)

    def verify_access_token(self, token: str) -> uuid.UUID:
        """The user id of a valid token. Only the configured algorithm is accepted, so
        ``alg: none`` and algorithm switching fail like any tampering."""
        try:
            claims = jwt.decode(
                token,
                self._secret,
                algorithms=[self._algorithm],
                audience=self._audience,
                issuer=self._issuer,
                options={"require": REQUIRED_CLAIMS},
            )
            return uuid.UUID(str(claims["sub"]))
        except (jwt.PyJWTError, ValueError):
            raise UnauthenticatedError("invalid or expired access token") from None

    @staticmethod
    def new_refresh_token() -> str:
        """256 random bits, URL-safe: the client's secret, never stored as is."""
        return secrets.token_urlsafe(32)

    @staticmethod
    def hash_refresh_token(token: str) -> str:
        """SHA-256 hex: the token has 256 bits of entropy, so a fast hash is enough."""
        return hashlib.sha256(token.encode()).hexdigest()
