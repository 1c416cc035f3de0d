"""Values derive from (seed, table, column, row), whatever the chunking or the other columns."""

from __future__ import annotations

from datetime import date

import pytest

from opsctl.seed.plan import Chunk, PlanError, Rows, Scale, SeedPlan, Table
from opsctl.seed.schema import topological_order
from opsctl.seed.streams import BLOCK_ROWS, stream_key, values_for_rows
from opsctl.seed.values import Choice, IntRange, Serial, Timestamps, Uuid, uuid_bytes

ANCHOR = date(2026, 1, 15)


def chunk(column: str, rows: range, plan: SeedPlan | None = None, seed: int = 1) -> Chunk:
    counts = {"t": 100_000, "parent": 10}
    return Chunk(seed, "t", column, rows, counts, ANCHOR, plan=plan)


def test_a_row_reads_the_same_value_whatever_the_chunking() -> None:
    key = stream_key(1, "t", "c")
    whole = values_for_rows(key, range(BLOCK_ROWS * 2 + 10))
    pieces = values_for_rows(key, range(0, 5)) + values_for_rows(key, range(5, BLOCK_ROWS * 2 + 10))
    assert pieces == whole
    assert (
        values_for_rows(key, range(BLOCK_ROWS - 1, BLOCK_ROWS + 1))
        == whole[BLOCK_ROWS - 1 : BLOCK_ROWS + 1]
    )


def test_streams_are_fixed_bytes_on_every_machine() -> None:
    # golden values: SHAKE-256 and BLAKE2b are standards, so any platform and Python agree;
    # a change here changes every fingerprint (bump the stream key's version instead)
    assert values_for_rows(stream_key(1, "users", "email"), range(2)) == [
        9102884221454466408,
        8636067654914883072,
    ]
    assert uuid_bytes(1, "users", 1)[0].hex() == "dee647553d9341c5a32212fdbeb7093d"
    assert uuid_bytes(1, "users", 3)[0] == uuid_bytes(1, "users", 1)[0]
    assert len(set(uuid_bytes(1, "users", 1000))) == 1000


def test_adding_a_column_or_table_changes_no_other_value() -> None:
    status = Choice(["a", "b", "c"])
    narrow = SeedPlan(tables=[Table("t", Rows(1, 1, 1), {"id": Serial(), "status": status})])
    wide = SeedPlan(
        tables=[
            Table("extra", Rows(1, 1, 1), {"id": Serial()}),
            Table("t", Rows(1, 1, 1), {"id": Serial(), "score": IntRange(0, 9), "status": status}),
        ]
    )
    rows = range(100, 400)
    assert status.generate(chunk("status", rows, narrow)) == status.generate(
        chunk("status", rows, wide)
    )


def test_seeds_differ_and_every_option_appears() -> None:
    status = Choice(["TODO", "IN_PROGRESS", "DONE"], [5, 2, 3])
    one = status.generate(chunk("status", range(1000), seed=1))
    two = status.generate(chunk("status", range(1000), seed=2))
    assert one != two
    assert set(one) == {"TODO", "IN_PROGRESS", "DONE"}
    assert 0.4 < one.count("TODO") / 1000 < 0.6


def test_timestamps_stay_in_their_window_around_the_anchor() -> None:
    values = Timestamps(30, 10).generate(chunk("at", range(2000)))
    anchor = (ANCHOR - date(1970, 1, 1)).days * 86_400_000_000
    assert all(anchor - 30 * 86_400_000_000 <= v <= anchor + 10 * 86_400_000_000 for v in values)  # type: ignore[operator]


def test_uuid_keys_are_version_4_and_referencable() -> None:
    plan = SeedPlan(tables=[Table("t", Rows(1, 1, 1), {"id": Uuid()})])
    made = Uuid().generate(chunk("id", range(5), plan))
    assert chunk("x", range(1), plan).ids("t", [3]) == [made[3]]
    import uuid

    assert {uuid.UUID(bytes=bytes(v)).version for v in made} == {4}  # type: ignore[call-overload]


def test_row_counts_per_scale_and_explicit_total() -> None:
    plan = SeedPlan(
        tables=[Table("a", Rows(10, 100, 1000), {}), Table("b", Rows(20, 200, 3000), {})]
    )
    assert plan.row_counts(Scale.SMALL) == {"a": 10, "b": 20}
    assert plan.row_counts(400) == {"a": 100, "b": 300}
    with pytest.raises(PlanError):
        plan.row_counts(1)
    with pytest.raises(PlanError, match="twice"):
        SeedPlan(tables=[Table("a", Rows(1, 1, 1), {}), Table("a", Rows(1, 1, 1), {})])


def test_topological_order_keeps_plan_order_and_detects_cycles() -> None:
    deps = {"c": {"b"}, "b": {"a"}, "a": set[str](), "d": set[str]()}
    assert topological_order(["c", "d", "b", "a"], deps) == ["d", "a", "b", "c"]
    with pytest.raises(PlanError, match="cycle"):
        topological_order(["x", "y"], {"x": {"y"}, "y": {"x"}})


def test_serial_keys_are_the_same_for_a_range_and_a_list_of_rows() -> None:
    plan = SeedPlan(tables=[Table("t", Rows(1, 1, 1), {"id": Serial()})])
    made = chunk("id", range(5, 20, 3), plan)
    made.id_offsets = {"t": 100}
    assert Serial().ids_for(made, "t", range(5, 20, 3)) == [106, 109, 112, 115, 118]
    assert Serial().ids_for(made, "t", [5, 8, 11, 14, 17]) == [106, 109, 112, 115, 118]
