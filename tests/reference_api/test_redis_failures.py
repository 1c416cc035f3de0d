"""A Redis that hangs (accepts, never answers) costs a request its timeouts, not forever,
and the password limits still hold (counted in the process).

Before: the client had no timeouts (a hung Redis hung every request) and the log-in limit
switched off when Redis errored (audit §2.19, S5).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator

import pytest
from tests.reference_api.conftest import make_settings
from tests.reference_api.helpers import PASSWORD, error_codes, running_api

LOG_IN = "mutation($input: LogInInput!) { logIn(input: $input) { accessToken } }"


@pytest.fixture
async def hung_redis() -> AsyncIterator[str]:
    """A TCP server that accepts connections and never writes a byte."""
    held: list[asyncio.StreamWriter] = []

    async def accept(_reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        held.append(writer)

    server = await asyncio.start_server(accept, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        for writer in held:
            writer.close()
        server.close()
        await server.wait_closed()


async def test_a_hung_redis_costs_its_timeouts_and_log_in_stays_limited(
    clean_database: str, hung_redis: str
) -> None:
    settings = make_settings(
        clean_database,
        REDIS_URL=hung_redis,
        REDIS_TIMEOUT_SECONDS="0.2",
        RATE_LIMIT_LOGIN="3",
        RATE_LIMIT_WINDOW_SECONDS="3600",  # no window boundary in the middle of the test
    )
    async with running_api(settings) as api:
        started = time.perf_counter()
        session = await asyncio.wait_for(api.sign_up(), timeout=5)
        elapsed = time.perf_counter() - started
        assert elapsed < 3, elapsed  # a few timed-out calls of 0.2 s, not a hang
        credentials = {"input": {"email": session.email, "password": PASSWORD}}
        codes = [
            error_codes(await asyncio.wait_for(api.gql(LOG_IN, credentials), 5)) for _ in range(3)
        ]
    # sign-up, then two log-ins, counted in the process while Redis hangs; the third is over
    assert codes == [[], [], ["RATE_LIMITED"]]
