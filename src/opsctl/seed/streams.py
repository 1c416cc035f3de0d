"""Counter-based randomness: every value derives from (seed, table, column, row).

Each (seed, table, column, sub-key) names an independent stream, keyed by BLAKE2b. A stream is
cut into blocks of :data:`BLOCK_ROWS` rows; a block's bytes are SHAKE-256 of the key and the block
number, read as little-endian unsigned 64-bit integers. So row ``r`` of a column reads the same
64 bits whatever else the plan contains: adding a column or a table changes no other value, and
both hash functions are standard (FIPS 202, RFC 7693), so every machine gets the same bytes.
"""

from __future__ import annotations

import hashlib
import sys
from array import array

BLOCK_ROWS = 16_384
_BYTES_PER_VALUE = 8


def stream_key(seed: int, *names: str) -> bytes:
    """The 32-byte key of the stream named by ``seed`` and ``names`` (table, column, sub-key)."""
    material = "\x1f".join([str(seed), *names]).encode()
    return hashlib.blake2b(material, digest_size=32, person=b"opsctl-seed-v1").digest()


def block_values(key: bytes, block: int) -> list[int]:
    """The :data:`BLOCK_ROWS` unsigned 64-bit values of one block of a stream."""
    data = hashlib.shake_256(key + block.to_bytes(8, "little")).digest(
        BLOCK_ROWS * _BYTES_PER_VALUE
    )
    values = array("Q")
    values.frombytes(data)
    if sys.byteorder != "little":  # pragma: no cover - big-endian machines only
        values.byteswap()
    return values.tolist()


def values_for_rows(key: bytes, rows: range) -> list[int]:
    """The stream's values for ``rows`` (any contiguous range, ascending)."""
    if len(rows) == 0:
        return []
    first_block = rows.start // BLOCK_ROWS
    last_block = (rows.stop - 1) // BLOCK_ROWS
    values: list[int] = []
    for block in range(first_block, last_block + 1):
        values.extend(block_values(key, block))
    offset = rows.start - first_block * BLOCK_ROWS
    return values[offset : offset + len(rows)]
