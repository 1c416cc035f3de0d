"""Redis-backed rate limits and membership cache, against the real Redis on 127.0.0.1:6379."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest
import redis.asyncio as aioredis
from redis.exceptions import RedisError
from tests.reference_api.conftest import make_settings
from tests.reference_api.helpers import running_api

from reference_api.cache.interface import MembershipCacheError
from reference_api.cache.redis import RedisMembershipCache
from reference_api.models import Role
from reference_api.ratelimit.interface import RateLimiterError
from reference_api.ratelimit.redis import RedisRateLimiter

REDIS_URL = "redis://127.0.0.1:6379/0"

pytestmark = pytest.mark.redis


@pytest.fixture
async def redis_prefix() -> AsyncIterator[str]:
    """A key prefix of our own on the shared Redis (deleted afterwards), or a skip."""
    client = aioredis.from_url(REDIS_URL, socket_connect_timeout=1)
    try:
        await client.ping()
    except (RedisError, OSError):
        await client.aclose()
        pytest.skip("no Redis answers on 127.0.0.1:6379 (start one to run these tests)")
    prefix = f"refapi-test-{uuid.uuid4().hex}:"
    try:
        yield prefix
    finally:
        keys = [key async for key in client.scan_iter(match=f"{prefix}*")]
        if keys:
            await client.delete(*keys)
        await client.aclose()


async def test_redis_rate_limiter_counts_across_instances(redis_prefix: str) -> None:
    client = aioredis.from_url(REDIS_URL)
    first = RedisRateLimiter(client, prefix=redis_prefix)
    second = RedisRateLimiter(client, prefix=redis_prefix)
    decisions = [
        await limiter.hit("ip:1.2.3.4", limit=3, window_seconds=60)
        for limiter in (first, second, first, second)
    ]
    await client.aclose()
    assert [d.allowed for d in decisions] == [True, True, True, False]
    assert 1 <= decisions[-1].retry_after <= 60


async def test_redis_membership_cache_round_trip(redis_prefix: str) -> None:
    client = aioredis.from_url(REDIS_URL)
    cache = RedisMembershipCache(client, prefix=redis_prefix, ttl_seconds=30)
    user, member_of, not_member_of, unknown = (uuid.uuid4() for _ in range(4))
    assert await cache.get_many(user, []) == {}
    await cache.set_many(user, {member_of: Role.ADMIN, not_member_of: None})
    cached = await cache.get_many(user, [member_of, not_member_of, unknown])
    assert cached == {member_of: Role.ADMIN, not_member_of: None}
    await cache.invalidate(member_of, user)
    assert await cache.get_many(user, [member_of]) == {}
    await client.aclose()


async def test_redis_failures_become_interface_errors() -> None:
    client = aioredis.from_url("redis://127.0.0.1:1/0", socket_connect_timeout=0.2)
    cache = RedisMembershipCache(client, prefix="x:", ttl_seconds=1)
    limiter = RedisRateLimiter(client, prefix="x:")
    some = uuid.uuid4()
    with pytest.raises(MembershipCacheError):
        await cache.get_many(some, [some])
    with pytest.raises(MembershipCacheError):
        await cache.set_many(some, {some: None})
    with pytest.raises(MembershipCacheError):
        await cache.invalidate(some, some)
    with pytest.raises(RateLimiterError):
        await limiter.hit("k", limit=1, window_seconds=1)
    await client.aclose()


async def test_the_app_uses_redis_and_invalidates_memberships(
    clean_database: str, redis_prefix: str
) -> None:
    settings = make_settings(
        clean_database, REDIS_URL=REDIS_URL, REDIS_KEY_PREFIX=redis_prefix, RATE_LIMIT_PER_IP=50
    )
    async with running_api(settings) as api:
        owner = await api.sign_up("Olivia")
        other = await api.sign_up("Otto")
        workspace_id = await api.create_workspace(owner)
        query = "query($id: ID!) { workspace(id: $id) { viewerRole } }"
        # Otto is not a member: cached as such ...
        assert (await api.gql(query, {"id": workspace_id}, token=other.access_token))["errors"]
        client = aioredis.from_url(REDIS_URL)
        key = f"{redis_prefix}membership:{workspace_id}:{other.user_id}"
        assert await client.get(key) == b""
        # ... until he is added: the entry is invalidated, not served stale.
        await api.add_member(owner, workspace_id, other, "MEMBER")
        assert await client.get(key) is None
        data = await api.data(query, {"id": workspace_id}, token=other.access_token)
        assert data["workspace"]["viewerRole"] == "MEMBER"
        assert await client.get(key) == b"MEMBER"
        counters = [key async for key in client.scan_iter(match=f"{redis_prefix}ratelimit:ip:*")]
        assert counters
        await client.aclose()


async def test_the_app_keeps_serving_when_redis_is_down(clean_database: str) -> None:
    settings = make_settings(clean_database, REDIS_URL="redis://127.0.0.1:1/0")
    async with running_api(settings) as api:
        owner = await api.sign_up("Olivia")
        workspace_id = await api.create_workspace(owner)
        query = "query($id: ID!) { workspace(id: $id) { viewerRole } }"
        data = await api.data(query, {"id": workspace_id}, token=owner.access_token)
        assert data["workspace"]["viewerRole"] == "OWNER"
        login = await api.gql(
            """mutation($e: String!) { logIn(input: {email: $e, password: "correct horse battery"})
               { accessToken } }""",
            {"e": owner.email},
        )
        assert "errors" not in login
