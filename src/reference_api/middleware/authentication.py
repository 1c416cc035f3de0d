"""Read ``Authorization: Bearer <token>`` and record who is calling.

An invalid, expired or tampered token is treated as no token: fields that need a user then
answer ``UNAUTHENTICATED``, while ``signUp``/``logIn`` still work.
"""

from __future__ import annotations

from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from reference_api.domain.errors import UnauthenticatedError
from reference_api.middleware.request_context import request_info
from reference_api.security.tokens import TokenService


class AuthenticationMiddleware:
    """Put the verified user id in the request's ``RequestInfo``."""

    def __init__(self, app: ASGIApp, *, tokens: TokenService) -> None:
        self.app = app
        self.tokens = tokens

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            scheme, _, token = Headers(scope=scope).get("authorization", "").partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                try:
                    request_info(scope).viewer_id = self.tokens.verify_access_token(token.strip())
                except UnauthenticatedError:
                    request_info(scope).viewer_id = None
        await self.app(scope, receive, send)
