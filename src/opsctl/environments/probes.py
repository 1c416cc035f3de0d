"""One probe per dependency of an environment: HTTP, PostgreSQL (and its migrations), Redis.

Each probe is bounded by a timeout, measures its latency and returns a :class:`Probe` (it never
raises for an unhealthy target: an unreachable host is a verdict, not a crash). Library errors
are translated here, in one place.
"""

from __future__ import annotations

import enum
import time
from dataclasses import dataclass
from pathlib import Path

from opsctl.output.masking import mask_text, mask_url


class Verdict(enum.StrEnum):
    OK = "ok"
    UNHEALTHY = "unhealthy"  # answered, but not as it should
    UNREACHABLE = "unreachable"  # did not answer within the timeout
    SKIPPED = "skipped"  # not configured

    @property
    def healthy(self) -> bool:
        return self in (Verdict.OK, Verdict.SKIPPED)


@dataclass(frozen=True)
class Probe:
    """The outcome of one probe (targets and details are already masked)."""

    name: str
    target: str
    verdict: Verdict
    latency_ms: float | None = None
    detail: str = ""


class _Timer:
    def __enter__(self) -> _Timer:
        self.start = time.perf_counter()
        self.ms = 0.0
        return self

    def __exit__(self, *_exc: object) -> None:
        self.ms = (time.perf_counter() - self.start) * 1000


def probe_http(base_url: str, path: str, *, timeout_s: float) -> Probe:
    """GET ``base_url + path``: ok on 2xx."""
    import httpx

    url = base_url.rstrip("/") + path
    name = f"http {path}"
    target = mask_url(base_url.rstrip("/"))  # the path is in the name already
    timer = _Timer()
    try:
        client = httpx.Client(timeout=httpx.Timeout(timeout_s), follow_redirects=False)
        # time the request only: building the client (TLS setup) is not the target's latency
        with client, timer:
            response = client.get(url)
    except httpx.TimeoutException:
        detail = f"no answer within {timeout_s:g} s"
        return Probe(name, target, Verdict.UNREACHABLE, None, detail)
    except httpx.HTTPError as error:
        return Probe(name, target, Verdict.UNREACHABLE, None, _short(error))
    if response.is_success:
        return Probe(name, target, Verdict.OK, timer.ms, f"HTTP {response.status_code}")
    return Probe(name, target, Verdict.UNHEALTHY, timer.ms, f"HTTP {response.status_code}")


def probe_database(url: str, *, alembic_ini: Path | None, timeout_s: float) -> list[Probe]:
    """Connect and ``SELECT 1``; then compare the Alembic revision with the repository's head."""
    import psycopg

    target = mask_url(url)
    timer, query_timer = _Timer(), _Timer()
    applied: tuple[str, ...] | None = None
    try:
        with timer:
            conn = psycopg.connect(
                url,
                connect_timeout=max(1, round(timeout_s)),
                # a server that accepts but never answers must not hang the check either
                options=f"-c statement_timeout={int(timeout_s * 1000)}",
            )
            conn.execute("SELECT 1")
        try:
            with query_timer:
                if alembic_ini is not None:
                    applied = _applied_revisions(conn)
        finally:
            conn.close()
    except psycopg.OperationalError as error:
        return [Probe("database", target, Verdict.UNREACHABLE, None, _short(error))]
    except psycopg.Error as error:
        return [Probe("database", target, Verdict.UNHEALTHY, timer.ms, _short(error))]
    probes = [Probe("database", target, Verdict.OK, timer.ms, "connected")]
    if alembic_ini is not None:
        probes.append(_migration_probe(alembic_ini, applied, query_timer.ms))
    return probes


def _applied_revisions(conn: object) -> tuple[str, ...] | None:
    import psycopg

    assert isinstance(conn, psycopg.Connection)
    exists = conn.execute("SELECT to_regclass('alembic_version') IS NOT NULL").fetchone()
    if not exists or not exists[0]:
        return None
    rows = conn.execute("SELECT version_num FROM alembic_version").fetchall()
    return tuple(sorted(str(row[0]) for row in rows))


def _migration_probe(ini: Path, applied: tuple[str, ...] | None, latency_ms: float) -> Probe:
    """Applied revisions (queried in ``latency_ms``) against the repository's heads."""
    from opsctl.database.migrations import repository_heads
    from opsctl.errors import ConfigError

    target = ini.name
    try:
        heads = tuple(sorted(repository_heads(ini)))
    except ConfigError as error:
        return Probe("migrations", target, Verdict.UNHEALTHY, None, error.message)
    shown_heads = ", ".join(heads) or "none"
    if applied is None:
        return Probe(
            "migrations",
            target,
            Verdict.UNHEALTHY,
            latency_ms,
            f"no migrations applied (head {shown_heads}): run opsctl up or alembic upgrade head",
        )
    if applied == heads:
        return Probe("migrations", target, Verdict.OK, latency_ms, f"at head {shown_heads}")
    return Probe(
        "migrations",
        target,
        Verdict.UNHEALTHY,
        latency_ms,
        f"at {', '.join(applied) or 'base'}, repository head is {shown_heads}",
    )


def probe_redis(url: str, *, timeout_s: float) -> Probe:
    """``PING``."""
    import redis

    target = mask_url(url)
    with _Timer() as timer:
        try:
            client = redis.Redis.from_url(
                url, socket_connect_timeout=timeout_s, socket_timeout=timeout_s
            )
            try:
                client.ping()
            finally:
                client.close()
        except (redis.ConnectionError, redis.TimeoutError) as error:
            return Probe("redis", target, Verdict.UNREACHABLE, None, _short(error))
        except (redis.RedisError, ValueError) as error:
            return Probe("redis", target, Verdict.UNHEALTHY, timer.ms, _short(error))
    return Probe("redis", target, Verdict.OK, timer.ms, "PONG")


def _short(error: BaseException) -> str:
    text = str(error).strip().splitlines()
    return mask_text(text[0] if text else type(error).__name__)[:200]
