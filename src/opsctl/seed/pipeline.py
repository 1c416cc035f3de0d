"""Generate the next chunks in a thread while the main thread waits on the server.

Seeding alternates two kinds of work: Python making COPY payloads, and PostgreSQL ingesting
them and building indexes. Done in turn, each waits for the other. Here a thread makes every
table's payloads, in load order, into a buffer bounded in bytes; the main thread (which owns
the one connection and the one transaction) takes them in that same order. psycopg waits on
the socket without holding the GIL, so the generator runs while the server works. The bytes,
and so the fingerprint, are exactly those of generating in turn: same chunks, same order.

The bound is in bytes, not chunks, and generous: while the server spends a second or more
building one table's indexes, the generator should get well into the next table.
"""

from __future__ import annotations

import collections
import threading
from collections.abc import Sequence
from typing import Protocol

from opsctl.seed.plan import Table
from opsctl.seed.streams import BLOCK_ROWS

AHEAD_BYTES = 96 * 1024 * 1024  # made but not yet sent: bounded memory, rarely a wait


class PayloadMaker(Protocol):
    def payload(self, table: Table, rows: range) -> bytes: ...


def chunk_ranges(rows: int) -> list[range]:
    """A table's rows cut into the chunks the streams are cut into."""
    return [range(start, min(start + BLOCK_ROWS, rows)) for start in range(0, rows, BLOCK_ROWS)]


class _Failed:
    def __init__(self, error: BaseException) -> None:
        self.error = error


class PayloadPipeline:
    """Every chunk of ``tables`` (table, rows) in order, made ahead by a worker thread."""

    def __init__(
        self,
        maker: PayloadMaker,
        tables: Sequence[tuple[Table, int]],
        ahead_bytes: int = AHEAD_BYTES,
    ) -> None:
        self._items: collections.deque[tuple[str, range, bytes] | _Failed] = collections.deque()
        self._buffered = 0
        self._ahead = ahead_bytes
        self._changed = threading.Condition()
        self._cancelled = False
        self._thread = threading.Thread(
            target=self._run, args=(maker, list(tables)), name="opsctl-seed-generate", daemon=True
        )
        self._thread.start()

    def _run(self, maker: PayloadMaker, tables: list[tuple[Table, int]]) -> None:
        try:
            for table, rows in tables:
                for chunk in chunk_ranges(rows):
                    if not self._put((table.name, chunk, maker.payload(table, chunk))):
                        return
        except BaseException as error:  # handed to the main thread, which raises it
            self._put(_Failed(error))

    def _put(self, item: tuple[str, range, bytes] | _Failed) -> bool:
        size = len(item[2]) if isinstance(item, tuple) else 0
        with self._changed:
            # one item always fits, however large, so a huge chunk cannot dead-lock
            while self._buffered and self._buffered + size > self._ahead and not self._cancelled:
                self._changed.wait()
            if self._cancelled:
                return False
            self._items.append(item)
            self._buffered += size
            self._changed.notify_all()
            return True

    def next(self, table: str, rows: range) -> bytes:
        """The payload of ``rows`` of ``table``: must be asked for in the order made."""
        with self._changed:
            while not self._items:
                self._changed.wait()
            item = self._items.popleft()
            if isinstance(item, tuple):
                self._buffered -= len(item[2])
            self._changed.notify_all()
        if isinstance(item, _Failed):
            self.cancel()
            raise item.error
        name, made, payload = item
        if name != table or made != rows:  # pragma: no cover - an engine bug, not a user error
            raise RuntimeError(f"seed pipeline out of order: wanted {table} {rows}, got {name}")
        return payload

    def cancel(self) -> None:
        """Stop the worker (after a failure or Ctrl-C in the main thread)."""
        with self._changed:
            self._cancelled = True
            self._items.clear()
            self._buffered = 0
            self._changed.notify_all()
        self._thread.join(timeout=30)
