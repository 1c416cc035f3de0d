"""PostgreSQL binary COPY encoding, a whole column at a time.

Binary COPY applies no casts, so each column is encoded for its exact base type (read from
the catalog). A column's values become a list of length-prefixed fields; rows are then
interleaved with ``zip`` and joined in C, which keeps Python work per value small.
"""

from __future__ import annotations

import json
import struct
import uuid
from collections.abc import Callable, Sequence
from datetime import UTC, date, datetime, timedelta
from itertools import chain, repeat
from operator import add, sub

HEADER = b"PGCOPY\n\xff\r\n\x00" + struct.pack(">ii", 0, 0)
TRAILER = struct.pack(">h", -1)
NULL = struct.pack(">i", -1)

# PostgreSQL counts timestamps from 2000-01-01; the plan's integers count from 1970-01-01.
_PG_EPOCH_DAYS = 10_957
_PG_EPOCH_MICROSECONDS = _PG_EPOCH_DAYS * 86_400_000_000
_UNIX_EPOCH_DATE = date(1970, 1, 1)
_UNIX_EPOCH_DATETIME = datetime(1970, 1, 1, tzinfo=UTC)
_ONE_MICROSECOND = timedelta(microseconds=1)

_INT2 = struct.Struct(">ih").pack
_INT4 = struct.Struct(">ii").pack
_INT8 = struct.Struct(">iq").pack
_FLOAT4 = struct.Struct(">if").pack
_FLOAT8 = struct.Struct(">id").pack
_LENGTH = struct.Struct(">i").pack
# Length prefixes of short fields, looked up instead of packed: with ``map`` the whole column
# is then encoded in C, with no Python bytecode per value (the seed's hottest loop).
_PREFIXES = [struct.pack(">i", length) for length in range(4096)]
_TRUE = b"\x00\x00\x00\x01\x01"
_FALSE = b"\x00\x00\x00\x01\x00"

Encoder = Callable[[Sequence[object]], list[bytes]]


class UnsupportedTypeError(Exception):
    """No binary encoder for this PostgreSQL type."""


def _fixed(pack: Callable[[int, object], bytes], size: int) -> Encoder:
    def encode(values: Sequence[object]) -> list[bytes]:
        try:  # fast path: no NULL (struct refuses None)
            return list(map(pack, repeat(size), values))
        except struct.error:
            return [NULL if value is None else pack(size, value) for value in values]

    return encode


def _prefixed(fields: list[bytes]) -> list[bytes]:
    """Each field behind its length (``fields`` holds no NULL)."""
    if not fields:
        return []
    if max(map(len, fields)) < len(_PREFIXES):
        return list(map(add, map(_PREFIXES.__getitem__, map(len, fields)), fields))
    return [_LENGTH(len(data)) + data for data in fields]


_FEW = 256  # distinct values below which a column is encoded once per value, then looked up


def _text(values: Sequence[object]) -> list[bytes]:
    try:  # fast path: all str, no NULL
        distinct = set(values)
        if len(distinct) <= _FEW < len(values):  # statuses, roles: a few strings, many rows
            keys = list(distinct)
            encoded = dict(zip(keys, _prefixed(list(map(str.encode, keys))), strict=True))  # type: ignore[arg-type]
            return list(map(encoded.__getitem__, values))
        return _prefixed(list(map(str.encode, values)))  # type: ignore[arg-type]
    except TypeError:
        pass
    out: list[bytes] = []
    for value in values:
        if value is None:
            out.append(NULL)
        else:
            data = str(value).encode()
            out.append(_LENGTH(len(data)) + data)
    return out


def _raw_bytes(value: object, kind: str) -> bytes:
    if isinstance(value, bytes | bytearray | memoryview):
        return bytes(value)
    raise TypeError(f"expected bytes for {kind}, got {type(value).__name__}")


def _bytea(values: Sequence[object]) -> list[bytes]:
    out: list[bytes] = []
    for value in values:
        if value is None:
            out.append(NULL)
        else:
            data = _raw_bytes(value, "bytea")
            out.append(_LENGTH(len(data)) + data)
    return out


def _bool(values: Sequence[object]) -> list[bytes]:
    return [NULL if value is None else (_TRUE if value else _FALSE) for value in values]


def _timestamp_micros(value: object) -> int:
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise UnsupportedTypeError("naive datetime for a timestamp column; give it a tzinfo")
        return (value - _UNIX_EPOCH_DATETIME) // _ONE_MICROSECOND
    if isinstance(value, int):
        return value
    raise TypeError(f"expected microseconds (int) or datetime, got {type(value).__name__}")


def _timestamp(values: Sequence[object]) -> list[bytes]:
    shift = _PG_EPOCH_MICROSECONDS
    try:  # fast path: integers (microseconds since the Unix epoch), no NULL
        return list(map(_INT8, repeat(8), map(sub, values, repeat(shift))))
    except TypeError:
        pass
    try:  # integers and NULLs
        return [NULL if value is None else _INT8(8, value - shift) for value in values]  # type: ignore[operator]
    except TypeError:
        pass
    return [
        NULL if value is None else _INT8(8, _timestamp_micros(value) - shift) for value in values
    ]


def _date(values: Sequence[object]) -> list[bytes]:
    shift = _PG_EPOCH_DAYS
    try:  # fast path: integers (days since the Unix epoch) and NULLs
        return [NULL if value is None else _INT4(4, value - shift) for value in values]  # type: ignore[operator]
    except TypeError:
        pass

    def days(value: object) -> int:
        if isinstance(value, date):
            return (value - _UNIX_EPOCH_DATE).days
        if isinstance(value, int):
            return value
        raise TypeError(f"expected days (int) or date, got {type(value).__name__}")

    return [NULL if value is None else _INT4(4, days(value) - shift) for value in values]


_UUID_LENGTH = _LENGTH(16)


def _uuid(values: Sequence[object]) -> list[bytes]:
    try:  # fast path: 16-byte strings (what the Uuid maker makes), no NULL
        return list(map(add, repeat(_UUID_LENGTH), values))
    except TypeError:
        pass
    try:  # 16-byte strings and NULLs
        return [NULL if value is None else _UUID_LENGTH + value for value in values]  # type: ignore[operator]
    except TypeError:
        pass

    def raw(value: object) -> bytes:
        return value.bytes if isinstance(value, uuid.UUID) else _raw_bytes(value, "uuid")

    return [NULL if value is None else _UUID_LENGTH + raw(value) for value in values]


def _json_text(value: object) -> bytes:
    if isinstance(value, str):
        return value.encode()
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _json(values: Sequence[object]) -> list[bytes]:
    out: list[bytes] = []
    for value in values:
        data = None if value is None else _json_text(value)
        out.append(NULL if data is None else _LENGTH(len(data)) + data)
    return out


def _jsonb(values: Sequence[object]) -> list[bytes]:
    out: list[bytes] = []
    for value in values:
        data = None if value is None else b"\x01" + _json_text(value)
        out.append(NULL if data is None else _LENGTH(len(data)) + data)
    return out


_BY_TYPE: dict[str, Encoder] = {
    "int2": _fixed(_INT2, 2),
    "int4": _fixed(_INT4, 4),
    "int8": _fixed(_INT8, 8),
    "float4": _fixed(_FLOAT4, 4),
    "float8": _fixed(_FLOAT8, 8),
    "oid": _fixed(_INT4, 4),
    "bool": _bool,
    "text": _text,
    "varchar": _text,
    "bpchar": _text,
    "name": _text,
    "citext": _text,
    "bytea": _bytea,
    "timestamptz": _timestamp,
    "timestamp": _timestamp,
    "date": _date,
    "uuid": _uuid,
    "json": _json,
    "jsonb": _jsonb,
}


def encoder_for(type_name: str, *, is_enum: bool) -> Encoder:
    """The encoder for a base type name as ``pg_type.typname`` spells it (enums send labels)."""
    if is_enum:
        return _text
    try:
        return _BY_TYPE[type_name]
    except KeyError:
        supported = ", ".join(sorted(_BY_TYPE))
        raise UnsupportedTypeError(
            f"type {type_name} is not supported by the seed encoder (supported: {supported}, enums)"
        ) from None


def encode_rows(columns: Sequence[list[bytes]]) -> bytes:
    """Interleave encoded columns into binary COPY rows (no header or trailer)."""
    count = len(columns[0]) if columns else 0
    field_count = struct.pack(">h", len(columns))
    return b"".join(chain.from_iterable(zip(repeat(field_count, count), *columns, strict=False)))
