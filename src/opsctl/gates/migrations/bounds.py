"""Bounds on the database checks: statement and lock timeouts, an overall deadline, Ctrl-C.

The service's migrations run inside the opsctl process, so a statement that blocks (a lock
another session holds, ``pg_sleep``, a huge backfill) would hang ``opsctl verify``. Three bounds
stop it, each making the gate ``incomplete`` with the step it stopped at:

* every session on a throwaway database starts with ``statement_timeout`` and ``lock_timeout``
  (libpq ``options`` in the URL, so an ``env.py`` that builds its own engine from
  ``sqlalchemy.url`` gets them too, and ``RESET`` or a rolled back ``SET`` returns to them);
* a :class:`Watchdog` thread waits for the overall deadline or the gate's ``cancelled`` event
  (Ctrl-C, ``--fail-fast``), then cancels whatever runs on the databases it watches
  (``pg_cancel_backend``, whichever connection ``env.py`` uses), again every half second until
  the walk is over;
* between steps the walk asks :meth:`Watchdog.check`.

Python code of a migration that blocks without running SQL (``time.sleep``) cannot be
interrupted this way; the deadline is then noticed at the next statement or step.
"""

from __future__ import annotations

import contextlib
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from types import TracebackType
from urllib.parse import parse_qsl, quote, urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import errors as pg_errors

_POLL_S = 0.1  # how soon the watchdog notices the deadline or a cancel
_RECANCEL_S = 0.5  # once fired, how often it cancels what runs again
_BOUND_SQLSTATES = ("57014", "55P03")  # query_canceled, lock_not_available


class WalkStoppedError(Exception):
    """The database checks were stopped by a bound; ``str(error)`` says which, in plain words."""


def _shown(seconds: float) -> str:
    return f"{seconds * 1000:g}ms" if seconds < 1 else f"{seconds:g}s"


@dataclass(frozen=True)
class Bounds:
    """In seconds: ``migrations.timeout``, ``statement_timeout`` and ``lock_timeout``."""

    timeout: float = 600.0
    statement_timeout: float = 60.0
    lock_timeout: float = 10.0

    def session_options(self) -> str:
        """The session timeouts as libpq ``options`` (also what ``PGOPTIONS`` takes)."""
        return (
            f"-c statement_timeout={max(1, round(self.statement_timeout * 1000))}"
            f" -c lock_timeout={max(1, round(self.lock_timeout * 1000))}"
        )

    def url(self, url: str) -> str:
        """``url`` with the session timeouts as libpq startup ``options``."""
        parts = urlsplit(url)
        query = parse_qsl(parts.query, keep_blank_values=True)
        existing = " ".join(value for key, value in query if key == "options")
        options = f"{existing} {self.session_options()}".strip()
        query = [(key, value) for key, value in query if key != "options"]
        query.append(("options", options))
        # %20, not +: libpq does not read + as a space
        encoded = urlencode(query, quote_via=quote)
        return urlunsplit((parts.scheme, parts.netloc, parts.path, encoded, parts.fragment))

    def explain(self, error: BaseException) -> str | None:
        """Why ``error`` is a bound that was hit (None: it is an ordinary error)."""
        original = getattr(error, "orig", None) or error
        # an error of the migration worker carries the SQLSTATE, not the psycopg class
        bound_state = getattr(original, "sqlstate", None) in _BOUND_SQLSTATES
        if not bound_state and not isinstance(
            original, pg_errors.QueryCanceled | pg_errors.LockNotAvailable
        ):
            return None
        lines = str(original).strip().splitlines()
        text = lines[0] if lines else type(original).__name__
        if "statement timeout" in text:
            setting = f"statement_timeout {_shown(self.statement_timeout)}"
            return f"{text} ({setting}: migrations.statement_timeout)"
        if "lock timeout" in text:
            setting = f"lock_timeout {_shown(self.lock_timeout)}"
            return f"{text} ({setting}: migrations.lock_timeout)"
        return text


def is_bound_hit(error: BaseException) -> bool:
    """True when ``error`` is a cancelled statement or a lock wait that timed out."""
    return Bounds().explain(error) is not None


def database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


class Watchdog:
    """Cancels the statements running on watched databases after the deadline or a cancel."""

    def __init__(self, server_url: str, cancelled: threading.Event, bounds: Bounds) -> None:
        self.bounds = bounds
        self.reason: str | None = None  # set (before cancelling) when the watchdog fires
        self._server_url = server_url
        self._cancelled = cancelled
        self._deadline = time.monotonic() + bounds.timeout
        self._databases: set[str] = set()
        self._lock = threading.Lock()
        self._done = threading.Event()
        self._thread = threading.Thread(target=self._watch, name="opsctl-migrations-watchdog")

    def __enter__(self) -> Watchdog:
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self._done.set()
        self._thread.join()

    @contextlib.contextmanager
    def watching(self, url: str) -> Iterator[None]:
        """Statements on ``url``'s database are cancelled when the watchdog fires."""
        name = database_name(url)
        with self._lock:
            self._databases.add(name)
        try:
            yield
        finally:
            with self._lock:
                self._databases.discard(name)

    def check(self) -> None:
        """Raise :class:`WalkStoppedError` if the deadline passed or the gate was cancelled."""
        self._fire_if_due()
        if self.reason is not None:
            raise WalkStoppedError(self.reason)

    def explain(self, error: BaseException) -> str | None:
        """Why ``error`` stopped the walk (a bound), or None if it is the migration's own error."""
        if isinstance(error, WalkStoppedError):
            return str(error)
        if self.reason is not None:  # whatever failed, the watchdog was cancelling it
            return self.reason
        return self.bounds.explain(error)

    def _fire_if_due(self) -> None:
        if self.reason is not None:
            return
        if self._cancelled.is_set():
            self.reason = "cancelled (Ctrl-C or --fail-fast)"
        elif time.monotonic() >= self._deadline:
            self.reason = (
                f"the database checks took longer than {_shown(self.bounds.timeout)} "
                "(migrations.timeout)"
            )

    def _watch(self) -> None:
        while self.reason is None:
            if self._done.wait(_POLL_S):
                return
            self._fire_if_due()
        while True:
            self._cancel_running()
            if self._done.wait(_RECANCEL_S):
                return

    def _cancel_running(self) -> None:
        with self._lock:
            names = sorted(self._databases)
        if not names:
            return
        # the server going away is not this thread's to report: the walk's statements fail
        with (
            contextlib.suppress(psycopg.Error),
            psycopg.connect(self._server_url, autocommit=True, connect_timeout=5) as admin,
        ):
            admin.execute(
                "SELECT pg_cancel_backend(pid) FROM pg_stat_activity "
                "WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                (names,),
            )
