"""The ``DateTime`` and ``Date`` scalars: ISO 8601 strings on the wire."""

from __future__ import annotations

import datetime as dt
from typing import Any

from ariadne import ScalarType

datetime_scalar = ScalarType("DateTime")
date_scalar = ScalarType("Date")


@datetime_scalar.serializer
def serialize_datetime(value: dt.datetime) -> str:
    return value.isoformat()


@datetime_scalar.value_parser
def parse_datetime(value: Any) -> dt.datetime:
    parsed = dt.datetime.fromisoformat(str(value))
    if parsed.tzinfo is None:
        raise ValueError("DateTime needs a UTC offset, e.g. 2026-11-26T17:00:00+00:00")
    return parsed


@date_scalar.serializer
def serialize_date(value: dt.date) -> str:
    return value.isoformat()


@date_scalar.value_parser
def parse_date(value: Any) -> dt.date:
    return dt.date.fromisoformat(str(value))
