"""The membership cache in Redis: one string key per membership, with a TTL."""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence

import redis.asyncio as aioredis
from redis.exceptions import RedisError

from reference_api.cache.interface import NOT_A_MEMBER, MembershipCache, MembershipCacheError
from reference_api.models import Role


class RedisMembershipCache(MembershipCache):
    """Keys ``<prefix>membership:<workspace>:<user>`` hold the role, or "" for non-members."""

    def __init__(self, client: aioredis.Redis, *, prefix: str, ttl_seconds: int) -> None:
        self._client = client
        self._prefix = prefix
        self._ttl = ttl_seconds

    def _key(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> str:
        return f"{self._prefix}membership:{workspace_id}:{user_id}"

    async def get_many(
        self, user_id: uuid.UUID, workspace_ids: Sequence[uuid.UUID]
    ) -> dict[uuid.UUID, Role | None]:
        if not workspace_ids:
            return {}
        try:
            values = await self._client.mget([self._key(ws, user_id) for ws in workspace_ids])
        except RedisError as error:
            raise MembershipCacheError(str(error)) from error
        cached: dict[uuid.UUID, Role | None] = {}
        for workspace_id, value in zip(workspace_ids, values, strict=True):
            if value is None:
                continue
            text = value.decode() if isinstance(value, bytes) else str(value)
            cached[workspace_id] = None if text == NOT_A_MEMBER else Role(text)
        return cached

    async def set_many(self, user_id: uuid.UUID, roles: Mapping[uuid.UUID, Role | None]) -> None:
        try:
            async with self._client.pipeline(transaction=False) as pipe:
                for workspace_id, role in roles.items():
                    value = NOT_A_MEMBER if role is None else role.value
                    pipe.set(self._key(workspace_id, user_id), value, ex=self._ttl)
                await pipe.execute()
        except RedisError as error:
            raise MembershipCacheError(str(error)) from error

    async def invalidate(self, workspace_id: uuid.UUID, user_id: uuid.UUID) -> None:
        try:
            await self._client.delete(self._key(workspace_id, user_id))
        except RedisError as error:
            raise MembershipCacheError(str(error)) from error
