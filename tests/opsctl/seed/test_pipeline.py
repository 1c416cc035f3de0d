"""The generating thread hands over every chunk in order, within its byte bound, and stops."""

from __future__ import annotations

import threading

import pytest

from opsctl.seed.pipeline import PayloadPipeline, chunk_ranges
from opsctl.seed.plan import Rows, Table
from opsctl.seed.streams import BLOCK_ROWS

A = Table("a", Rows(1, 1, 1), {})
B = Table("b", Rows(1, 1, 1), {})


class Maker:
    def __init__(self, fail_at: tuple[str, int] | None = None) -> None:
        self.fail_at, self.made = fail_at, 0

    def payload(self, table: Table, rows: range) -> bytes:
        if (table.name, rows.start) == self.fail_at:
            raise ValueError(f"broken chunk {table.name}@{rows.start}")
        self.made += 1
        return f"{table.name}:{rows.start}-{rows.stop};".encode() * 100


def generating_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == "opsctl-seed-generate"]


def test_chunks_arrive_in_load_order_even_with_a_one_byte_bound() -> None:
    maker = Maker()
    sizes = [(A, BLOCK_ROWS * 2 + 5), (B, 3)]
    pipeline = PayloadPipeline(maker, sizes, ahead_bytes=1)
    for table, rows in sizes:
        for chunk in chunk_ranges(rows):
            assert pipeline.next(table.name, chunk) == maker.payload(table, chunk)
    assert [len(chunk) for chunk in chunk_ranges(BLOCK_ROWS * 2 + 5)] == [BLOCK_ROWS] * 2 + [5]


def test_a_generator_error_reaches_the_caller_and_the_thread_ends() -> None:
    pipeline = PayloadPipeline(Maker(fail_at=("b", 0)), [(A, 10), (B, 10)])
    pipeline.next("a", range(10))
    with pytest.raises(ValueError, match="broken chunk b@0"):
        pipeline.next("b", range(10))
    assert generating_threads() == []


def test_cancel_stops_a_generator_waiting_for_room() -> None:
    maker = Maker()
    pipeline = PayloadPipeline(maker, [(A, BLOCK_ROWS * 50)], ahead_bytes=1)
    pipeline.next("a", range(BLOCK_ROWS))
    pipeline.cancel()
    assert generating_threads() == []
    assert maker.made < 50
