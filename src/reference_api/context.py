"""What a request runs with: the process-wide services and the per-request state.

``AppState`` is built once by the application's lifespan; ``RequestContext`` once per
GraphQL request (it is the ``info.context`` resolvers see and the first argument of every
service function).
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from sqlalchemy.ext.asyncio import AsyncEngine

from reference_api.cache.interface import MembershipCache
from reference_api.config import Settings
from reference_api.loaders import Loaders
from reference_api.middleware.request_context import RequestInfo
from reference_api.ratelimit.interface import RateLimiter
from reference_api.services.errors import UnauthenticatedError
from reference_api.services.passwords import PasswordService
from reference_api.services.tokens import TokenService


@dataclass(frozen=True, slots=True)
class AppState:
    """Long-lived services shared by all requests of one process."""

    settings: Settings
    engine: AsyncEngine
    #: The same pool in AUTOCOMMIT mode, for the loaders' single SELECTs: no transaction, so
    #: no BEGIN and ROLLBACK round trips around each batch.
    reader: AsyncEngine
    passwords: PasswordService
    tokens: TokenService
    rate_limiter: RateLimiter
    membership_cache: MembershipCache


@dataclass(frozen=True, slots=True)
class RequestContext:
    """One request: who is calling, from where, and its data loaders."""

    app: AppState
    info: RequestInfo
    loaders: Loaders

    @classmethod
    def create(cls, app: AppState, info: RequestInfo) -> RequestContext:
        loaders = Loaders(
            app.reader, viewer_id=info.viewer_id, membership_cache=app.membership_cache
        )
        return cls(app=app, info=info, loaders=loaders)

    @property
    def client_ip(self) -> str:
        return self.info.client_ip

    def require_viewer(self) -> uuid.UUID:
        """The signed-in user's id, or ``UnauthenticatedError``."""
        if self.info.viewer_id is None:
            raise UnauthenticatedError("sign in first: send a valid access token")
        return self.info.viewer_id
