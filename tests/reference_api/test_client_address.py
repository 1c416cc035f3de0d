"""The client address: forwarding headers only from ``TRUSTED_PROXIES``, in one place.

Before: uvicorn believed ``X-Forwarded-For`` from 127.0.0.1, so forty failed log-ins with a
new forwarded address each were never limited (audit S4); ``TRUSTED_PROXIES`` did not exist.
"""

from __future__ import annotations

import sys
from pathlib import Path

import httpx
import pytest
from tests.reference_api.conftest import make_settings
from tests.reference_api.helpers import (
    VENV_BIN,
    error_codes,
    free_port,
    running_api,
    running_server,
    server_environment,
    wait_until_healthy,
)

from reference_api.middleware.client_address import (
    REWRITTEN_BY_SERVER,
    ClientAddress,
    parse_networks,
)

LOG_IN = (
    'mutation { logIn(input: {email: "victim@example.test", password: "wrong guess"})'
    " { accessToken } }"
)
SPOOFS = ("x-forwarded-for", "forwarded", "x-real-ip")


def _scope(peer: str, **headers: str) -> dict[str, object]:
    encoded = [(name.replace("_", "-").encode(), value.encode()) for name, value in headers.items()]
    return {"type": "http", "client": (peer, 51000), "headers": encoded}


def test_without_trusted_proxies_forwarding_headers_are_ignored() -> None:
    address = ClientAddress(())
    assert address(_scope("203.0.113.9")) == "203.0.113.9"
    assert address(_scope("203.0.113.9", x_forwarded_for="198.51.100.1")) == "203.0.113.9"
    assert address(_scope("203.0.113.9", forwarded="for=198.51.100.1")) == "203.0.113.9"
    assert address(_scope("203.0.113.9", x_real_ip="198.51.100.1")) == "203.0.113.9"
    # uvicorn (without --no-proxy-headers) replaced the loopback peer with the header's value:
    rewritten = _scope("198.51.100.7", x_forwarded_for="198.51.100.7")
    assert address(rewritten) == REWRITTEN_BY_SERVER
    rewritten_v6 = _scope("2001:db8::7", x_forwarded_for="[2001:db8::7]:443")
    assert address(rewritten_v6) == REWRITTEN_BY_SERVER
    assert address({"type": "http", "headers": []}) == "unknown"


def test_trusted_proxies_give_the_nearest_untrusted_hop() -> None:
    address = ClientAddress(parse_networks(["10.0.0.0/8"]))
    assert address(_scope("10.1.1.1", x_forwarded_for="198.51.100.1")) == "198.51.100.1"
    # The client may write anything to the left; the proxies append to the right.
    chain = "6.6.6.6, 198.51.100.1, 10.2.2.2"
    assert address(_scope("10.1.1.1", x_forwarded_for=chain)) == "198.51.100.1"
    assert address(_scope("10.1.1.1", x_forwarded_for="garbage")) == "10.1.1.1"
    assert address(_scope("10.1.1.1")) == "10.1.1.1"
    # A peer that is not a trusted proxy is the client, whatever it forwards.
    assert address(_scope("203.0.113.9", x_forwarded_for="198.51.100.1")) == "203.0.113.9"
    # The Forwarded and X-Real-IP headers are never read, even from a trusted proxy.
    assert address(_scope("10.1.1.1", forwarded="for=198.51.100.1")) == "10.1.1.1"
    assert address(_scope("10.1.1.1", x_real_ip="198.51.100.1")) == "10.1.1.1"


def test_loopback_proxy_trusted_after_uvicorn_rewrote_the_peer() -> None:
    address = ClientAddress(parse_networks(["127.0.0.1", "::1"]))
    rewritten = _scope("198.51.100.7", x_forwarded_for="198.51.100.7")
    assert address(rewritten) == "198.51.100.7"


def test_trusted_proxies_setting_is_validated() -> None:
    from reference_api.config import SettingsError

    with pytest.raises(SettingsError, match="TRUSTED_PROXIES"):
        make_settings("postgresql://x/y", TRUSTED_PROXIES="10.0.0.0/8, not-an-address")
    settings = make_settings("postgresql://x/y", TRUSTED_PROXIES="10.0.0.0/8, ::1")
    assert settings.trusted_proxies == ("10.0.0.0/8", "::1")


@pytest.mark.parametrize("header", SPOOFS)
async def test_rotating_spoofed_headers_share_one_log_in_bucket(
    clean_database: str, header: str
) -> None:
    settings = make_settings(clean_database, RATE_LIMIT_LOGIN=3, **NO_WINDOW_EDGE)
    async with running_api(settings) as api:
        codes = []
        for n in range(5):
            spoof = f"for=198.51.100.{n}" if header == "forwarded" else f"198.51.100.{n}"
            response = await api.client.post(
                "/graphql", json={"query": LOG_IN}, headers={header: spoof}
            )
            codes.append(error_codes(response.json()))
    assert codes[3:] == [["RATE_LIMITED"], ["RATE_LIMITED"]], codes


async def test_genuine_forwarded_addresses_get_their_own_buckets(clean_database: str) -> None:
    settings = make_settings(
        clean_database, RATE_LIMIT_LOGIN=2, TRUSTED_PROXIES="127.0.0.1", **NO_WINDOW_EDGE
    )
    async with running_api(settings) as api:  # the in-process client is 127.0.0.1, the proxy

        async def attempt(client: str) -> list[str]:
            headers = {"x-forwarded-for": client}
            response = await api.client.post("/graphql", json={"query": LOG_IN}, headers=headers)
            return error_codes(response.json())

        first = [await attempt("198.51.100.1") for _ in range(3)]
        assert first == [["UNAUTHENTICATED"], ["UNAUTHENTICATED"], ["RATE_LIMITED"]]
        assert await attempt("198.51.100.2") == ["UNAUTHENTICATED"]  # another client


# The limiter counts in fixed windows: a test that crossed a window's edge between its attempts
# would see the count start again (CI saw 5 attempts pass a limit of 3). Windows of ~31 years,
# beginning at epoch multiples of 1e9 (2001, 2033), put no edge inside a test.
NO_WINDOW_EDGE = {"RATE_LIMIT_WINDOW_SECONDS": "1000000000"}


def _attempts(base_url: str, count: int, forwarded: str | None = None) -> list[list[str]]:
    codes = []
    for n in range(count):
        headers = {"X-Forwarded-For": forwarded or f"198.51.100.{n}"}
        response = httpx.post(
            f"{base_url}/graphql", json={"query": LOG_IN}, headers=headers, timeout=10
        )
        codes.append(error_codes(response.json()))
    return codes


FACTORY = [str(VENV_BIN / "uvicorn"), "--factory", "reference_api.app:create_app"]
MODULE = [sys.executable, "-m", "reference_api"]


@pytest.mark.slow
@pytest.mark.parametrize("command", [FACTORY, MODULE], ids=["uvicorn-factory", "python-m"])
def test_real_servers_ignore_spoofed_forwarding_from_loopback(
    clean_database: str, tmp_path: Path, command: list[str]
) -> None:
    """uvicorn's own proxy handling included: both start commands, as opsctl runs them."""
    port = free_port()
    full = [*command, "--host", "127.0.0.1", "--port", str(port)] if command is FACTORY else command
    environment = {
        **server_environment(clean_database, port),
        **NO_WINDOW_EDGE,
        "RATE_LIMIT_LOGIN": "3",
    }
    with running_server(full, environment, tmp_path / "server.log") as process:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_healthy(base_url, process)
        codes = _attempts(base_url, 6)
    assert codes[3:] == [["RATE_LIMITED"]] * 3, codes


@pytest.mark.slow
def test_python_m_believes_a_trusted_proxy(clean_database: str, tmp_path: Path) -> None:
    port = free_port()
    environment = {
        **server_environment(clean_database, port),
        **NO_WINDOW_EDGE,
        "RATE_LIMIT_LOGIN": "2",
        "TRUSTED_PROXIES": "127.0.0.1",
    }
    with running_server(MODULE, environment, tmp_path / "server.log") as process:
        base_url = f"http://127.0.0.1:{port}"
        wait_until_healthy(base_url, process)
        rotating = _attempts(base_url, 4)  # each a different client behind the proxy
        one = _attempts(base_url, 3, forwarded="198.51.100.77")
    assert rotating == [["UNAUTHENTICATED"]] * 4
    assert one[2] == ["RATE_LIMITED"]
