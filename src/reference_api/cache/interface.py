"""The membership cache: which role a user has in a workspace, checked on every request.

An in-process cache would be stale in the other worker processes after ``addMember``, so
without Redis there is no cache at all (:class:`NoMembershipCache`).
"""

from __future__ import annotations

import uuid
from abc import ABC, abstractmethod
from collections.abc import Mapping, Sequence

from reference_api.models import Role

#: A cached "not a member" (so guessing foreign ids does not hit the database each time).
NOT_A_MEMBER = ""


class MembershipCacheError(Exception):
    """The cache backend failed; callers fall back to the database."""


class MembershipCache(ABC):
    """Roles by ``(workspace_id, user_id)``; ``None`` in a result means "not cached"."""

    @abstractmethod
    async def get_many(
        self, user_id: uuid.UUID, workspace_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Role | None]:
        """Cached roles of ``user_id``: a ``Role``, ``None`` for a cached non-member; absent keys
        are not cached."""

    @abstractmethod
    async def set_many(self, user_id: uuid.UUID, roles: Mapping[uuid.UUID, Role | None]) -> None:
        """Remember roles (``None``: not a member) for the configured time."""

    @abstractmethod
    async def invalidate(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
        """Forget one membership (it changed)."""


class NoMembershipCache(MembershipCache):
    """No cache: every request asks the database."""

    async def get_many(
        self, user_id: uuid.UUID, workspace_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Role | None]:
        return {}

    async def set_many(self, user_id: uuid.UUID, roles: Mapping[uuid.UUID, Role | None]) -> None:
        return None

    async def invalidate(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
        return None
