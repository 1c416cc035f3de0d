"""Built-in value makers for seed plans. Each makes a whole chunk of values at once.

Time values are made relative to the run's anchor date (``Chunk.anchor``, 00:00 UTC), so the
same seed and anchor give the same bytes: timestamps are integers of microseconds since the
Unix epoch and dates integers of days since it (the encoder also accepts datetime/date).
"""

from __future__ import annotations

import bisect
import functools
import hashlib
import itertools
import operator
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime
from itertools import repeat

from opsctl.seed.plan import Chunk, Identity, PlanError, Values
from opsctl.seed.streams import stream_key, values_for_rows

_TWO_TO_64 = float(2**64)
MICROSECONDS_PER_DAY = 86_400_000_000
_UNIX_EPOCH = date(1970, 1, 1)


def anchor_days(chunk: Chunk) -> int:
    """The anchor date as days since the Unix epoch."""
    return (chunk.anchor - _UNIX_EPOCH).days


def anchor_microseconds(chunk: Chunk) -> int:
    """The anchor date at 00:00 UTC as microseconds since the Unix epoch."""
    return anchor_days(chunk) * MICROSECONDS_PER_DAY


def microseconds_to_datetime(value: int) -> datetime:
    """For plans and tests that want a datetime back."""
    return datetime.fromtimestamp(value / 1_000_000, tz=UTC)


def _offset_modulo(values: list[int], base: int, span: int) -> list[object]:
    """``[base + value % span for value in values]``, computed by ``map`` in C (hot path)."""
    return list(map(operator.add, repeat(base), map(operator.mod, values, repeat(span))))


class Serial(Identity):
    """Integer keys ``1..n`` (after the rows already there in ``append`` mode)."""

    def ids_for(self, chunk: Chunk, table: str, rows: Sequence[int]) -> list[object]:
        offset = chunk.id_offsets.get(table, 0) + 1
        if isinstance(rows, range):  # a key column: the same integers, made in C
            return list(range(rows.start + offset, rows.stop + offset, rows.step))
        return [row + offset for row in rows]


_VERSION_4 = bytes((byte & 0x0F) | 0x40 for byte in range(256))
_VARIANT_RFC4122 = bytes((byte & 0x3F) | 0x80 for byte in range(256))


def uuid_bytes(seed: int, table: str, count: int, stream: str = "") -> list[bytes]:
    """The 16-byte UUIDs (version 4 layout) of rows ``0..count-1`` of ``table``.

    Row ``r`` takes bytes ``16r..16r+15`` of one SHAKE-256 stream keyed by (seed, table): an
    extendable-output function, so a row's UUID does not depend on how many rows there are.
    """
    key = stream_key(seed, table, "\x00uuid", stream)
    data = bytearray(hashlib.shake_256(key).digest(16 * count))
    data[6::16] = data[6::16].translate(_VERSION_4)
    data[8::16] = data[8::16].translate(_VARIANT_RFC4122)
    raw = bytes(data)
    return [raw[start : start + 16] for start in range(0, len(raw), 16)]


class Uuid(Identity):
    """UUIDs derived from (seed, table, row); computed once per run for the whole table.

    ``stream`` names a second, independent series (for a non-key UUID column such as a
    family id); the key column uses the default series, which is what :meth:`Chunk.ids` reads.
    """

    def __init__(self, stream: str = "") -> None:
        self.stream = stream

    def ids_for(self, chunk: Chunk, table: str, rows: Sequence[int]) -> list[object]:
        cached = self._ids(chunk, table, chunk.counts.get(table, 0))
        if isinstance(rows, range) and rows.step == 1:
            if rows.stop > len(cached):
                cached = self._ids(chunk, table, rows.stop)
            return cached[rows.start : rows.stop]  # a key column: one slice, not a lookup per row
        try:  # a foreign-key column: rows are almost always below the table's count
            return list(map(cached.__getitem__, rows))
        except IndexError:
            return list(map(self._ids(chunk, table, max(rows) + 1).__getitem__, rows))

    def _ids(self, chunk: Chunk, table: str, needed: int) -> list[object]:
        """At least ``needed`` UUIDs of ``table``, made once per run (a longer series starts
        with the same UUIDs: SHAKE-256 is an extendable-output function)."""
        memo_key = f"uuid:{table}:{self.stream}"
        found = chunk.memo.get(memo_key)
        cached: list[object] = found if isinstance(found, list) else []
        if len(cached) < needed:
            cached = list(uuid_bytes(chunk.seed, table, needed, self.stream))
            chunk.memo[memo_key] = cached
        return cached


class Constant(Values):
    """The same value in every row."""

    def __init__(self, value: object) -> None:
        self.value = value

    def generate(self, chunk: Chunk) -> Sequence[object]:
        return [self.value] * len(chunk.rows)


class Choice(Values):
    """One of ``options`` per row, with optional relative ``weights``."""

    def __init__(self, options: Sequence[object], weights: Sequence[float] | None = None) -> None:
        if not options:
            raise PlanError("Choice needs at least one option")
        if weights is not None and len(weights) != len(options):
            raise PlanError("Choice: one weight per option")
        self.options = list(options)
        total = float(sum(weights)) if weights else float(len(options))
        running = itertools.accumulate(weights or [1.0] * len(options))
        self.thresholds = [int(part / total * _TWO_TO_64) for part in running]
        self.thresholds[-1] = 2**64

    def generate(self, chunk: Chunk) -> Sequence[object]:
        pick = functools.partial(bisect.bisect_right, self.thresholds)
        return list(map(self.options.__getitem__, map(pick, chunk.random())))


class IntRange(Values):
    """Integers from ``low`` to ``high`` inclusive, uniform."""

    def __init__(self, low: int, high: int) -> None:
        self.low, self.span = low, high - low + 1

    def generate(self, chunk: Chunk) -> Sequence[object]:
        return _offset_modulo(chunk.random(), self.low, self.span)


class Words(Values):
    """``minimum``..``maximum`` words from ``pool`` joined by spaces, first letter upper-cased.

    Phrases come from a per-run pool of up to :data:`PHRASES` phrases (built from the
    column's own stream), so long texts cost one pick per row, not one per word.
    """

    PHRASES = 16_384

    def __init__(self, pool: Sequence[str], minimum: int, maximum: int) -> None:
        self.pool, self.minimum, self.spread = list(pool), minimum, maximum - minimum + 1

    def phrases(self, chunk: Chunk) -> list[str]:
        count = min(self.PHRASES, max(chunk.counts.get(chunk.table, 0), len(chunk.rows), 1))
        longest = self.minimum + self.spread - 1
        lengths = values_for_rows(
            stream_key(chunk.seed, chunk.table, chunk.column, "length"), range(count)
        )
        picks = values_for_rows(
            stream_key(chunk.seed, chunk.table, chunk.column, "words"), range(count * longest)
        )
        pool, size = self.pool, len(self.pool)
        phrases: list[str] = []
        for index, length in enumerate(lengths):
            start = index * longest
            chosen = picks[start : start + self.minimum + length % self.spread]
            text = " ".join([pool[pick % size] for pick in chosen])
            phrases.append(text[:1].upper() + text[1:])
        return phrases

    def generate(self, chunk: Chunk) -> Sequence[object]:
        memo_key = f"words:{chunk.table}:{chunk.column}:{self.minimum}:{self.spread}"
        phrases = chunk.remember(memo_key, lambda: self.phrases(chunk))
        picks = map(operator.mod, chunk.random(), repeat(len(phrases)))
        return list(map(phrases.__getitem__, picks))


class Timestamps(Values):
    """Timestamps spread uniformly from ``days_before`` the anchor to ``days_after`` it."""

    def __init__(self, days_before: float, days_after: float = 0.0) -> None:
        self.start = -int(days_before * MICROSECONDS_PER_DAY)
        self.span = int((days_before + days_after) * MICROSECONDS_PER_DAY) + 1

    def generate(self, chunk: Chunk) -> Sequence[object]:
        return _offset_modulo(chunk.random(), anchor_microseconds(chunk) + self.start, self.span)


class Dates(Values):
    """Dates spread uniformly from ``days_before`` the anchor to ``days_after`` it."""

    def __init__(self, days_before: int, days_after: int) -> None:
        self.start, self.span = -days_before, days_before + days_after + 1

    def generate(self, chunk: Chunk) -> Sequence[object]:
        return _offset_modulo(chunk.random(), anchor_days(chunk) + self.start, self.span)


class Nullable(Values):
    """``inner``'s value, or NULL in about ``fraction`` of the rows."""

    def __init__(self, inner: Values, fraction: float) -> None:
        self.inner, self.threshold = inner, int(fraction * _TWO_TO_64)

    def generate(self, chunk: Chunk) -> Sequence[object]:
        values = self.inner.generate(chunk)
        threshold = self.threshold
        return [
            None if gate < threshold else value
            for value, gate in zip(values, chunk.random("null"), strict=True)
        ]


class Ref(Values):
    """A key of a row of ``table``; ``skew`` > 0 favours low rows (a few parents get most)."""

    def __init__(self, table: str, skew: float = 0.0) -> None:
        self.table, self.exponent = table, 1.0 + skew

    def generate(self, chunk: Chunk) -> Sequence[object]:
        parents = chunk.counts[self.table]
        exponent = self.exponent
        rows = [int(parents * (value / _TWO_TO_64) ** exponent) for value in chunk.random()]
        return chunk.ids(self.table, rows)


class Computed(Values):
    """Values from a plan function of the whole chunk (for columns that depend on a layout)."""

    def __init__(self, make: Callable[[Chunk], Sequence[object]]) -> None:
        self.make = make

    def generate(self, chunk: Chunk) -> Sequence[object]:
        return self.make(chunk)
