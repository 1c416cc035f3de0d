"""The binary COPY encoders: the all-values fast paths give the bytes of the NULL-aware paths."""

from __future__ import annotations

import struct
from datetime import UTC, date, datetime

from opsctl.seed.encode import NULL, encoder_for

PG_EPOCH_MICROSECONDS = 946_684_800_000_000


def encode(type_name: str, values: list[object]) -> list[bytes]:
    return encoder_for(type_name, is_enum=False)(values)


def test_fast_and_null_aware_paths_agree_per_type() -> None:
    samples: dict[str, object] = {
        "int2": 7,
        "int4": -70_000,
        "int8": 2**40,
        "text": "naïve 🚀",
        "uuid": bytes(range(16)),
        "timestamptz": 1_767_225_600_000_000,
        "date": 20_454,
    }
    for type_name, value in samples.items():
        alone = encode(type_name, [value, value])
        with_null = encode(type_name, [value, None])
        assert alone[0] == with_null[0] == alone[1], type_name
        assert with_null[1] == NULL, type_name


def test_fields_are_length_prefixed_big_endian() -> None:
    assert encode("int4", [1]) == [struct.pack(">ii", 4, 1)]
    assert encode("text", ["é"]) == [struct.pack(">i", 2) + "é".encode()]
    long_text = "x" * 5_000  # past the precomputed prefixes
    assert encode("text", [long_text]) == [struct.pack(">i", 5_000) + long_text.encode()]
    assert encode("timestamptz", [PG_EPOCH_MICROSECONDS]) == [struct.pack(">iq", 8, 0)]


def test_datetime_and_date_objects_encode_like_their_integers() -> None:
    moment = datetime(2026, 1, 1, tzinfo=UTC)
    micros = int(moment.timestamp()) * 1_000_000
    assert encode("timestamptz", [moment]) == encode("timestamptz", [micros])
    assert encode("date", [date(2026, 1, 1), None]) == encode("date", [20_454, None])


def test_a_few_distinct_strings_encode_like_many() -> None:
    statuses = ["TODO", "DONE", "IN_PROGRESS"] * 400  # the lookup path: few distinct values
    expected = [struct.pack(">i", len(value)) + value.encode() for value in statuses]
    assert encode("text", statuses) == expected
    assert encode("text", [*statuses, None])[-1] == NULL
