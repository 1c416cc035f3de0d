"""The seed engine: generate every table chunk by chunk and load it with binary COPY.

Everything happens in ONE transaction: ``replace`` empties the plan's tables (TRUNCATE, no
CASCADE: a table outside the plan that references one is an error, not collateral damage)
and drops their keys, foreign keys and indexes; each table is streamed with
``COPY ... (FORMAT BINARY, FREEZE)`` and its keys and indexes rebuilt right after, its foreign
keys as soon as both tables are loaded (checking every row), while a thread generates the next
table's chunks (:mod:`opsctl.seed.pipeline`); sequences are moved past the seeded keys; then
COMMIT. A failure or a killed process leaves the database as it was. ``ANALYZE`` runs after
the commit. The fingerprint is SHA-256 over each table's name, columns and COPY stream, in
load order: the same seed, scale and anchor date give the same fingerprint.
"""

from __future__ import annotations

import enum
import hashlib
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Protocol

import psycopg
from psycopg import sql

from opsctl.seed.encode import HEADER, TRAILER, UnsupportedTypeError, encode_rows, encoder_for
from opsctl.seed.pipeline import PayloadPipeline, chunk_ranges
from opsctl.seed.plan import Chunk, PlanError, Scale, SeedPlan, Table
from opsctl.seed.schema import ColumnInfo, SchemaInfo, read_schema
from opsctl.seed.structures import Restore, drop_secondary_structures
from opsctl.seed.values import Serial

if TYPE_CHECKING:
    from rich.console import RenderableType

SAMPLE_ROWS = 1_000


class Mode(enum.StrEnum):
    """``replace`` empties the plan's tables first; ``append`` adds after existing keys."""

    REPLACE = "replace"
    APPEND = "append"


@dataclass(frozen=True)
class SeedOptions:
    """One run's parameters. The CLI defaults ``anchor`` to today (UTC); this library default
    is a fixed date so that code calling the engine directly is reproducible."""

    scale: Scale | int = Scale.SMALL
    seed: int = 1
    mode: Mode = Mode.REPLACE
    anchor: date = field(default_factory=lambda: date(2026, 1, 1))
    # write nothing if any plan table holds rows (what `opsctl up` does on a re-run)
    only_if_empty: bool = False


class ProgressSink(Protocol):
    """Where the engine reports progress (the CLI shows it with Rich; tests pass nothing)."""

    def start_table(self, table: str, rows: int) -> None: ...

    def advance(self, rows: int) -> None: ...


@dataclass(frozen=True)
class TableLoad:
    name: str
    rows: int
    bytes: int
    removed: int


@dataclass(frozen=True)
class SeedResult:
    """What a run wrote."""

    tables: Sequence[TableLoad]
    fingerprint: str
    load_seconds: float  # BEGIN to COMMIT, rebuild included
    analyze_seconds: float
    options: SeedOptions
    rebuild_seconds: float = 0.0  # keys, indexes and foreign keys rebuilt after the COPYs

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)

    @property
    def rows_per_second(self) -> float:
        return self.rows / self.load_seconds if self.load_seconds > 0 else 0.0

    def render(self) -> RenderableType:
        from opsctl.seed.report import render_result

        return render_result(self)


@dataclass(frozen=True)
class TablePlan:
    name: str
    rows: int
    estimated_bytes: int
    existing_rows: int


@dataclass(frozen=True)
class DryRun:
    """What a run would do; nothing was written."""

    tables: Sequence[TablePlan]
    options: SeedOptions
    referencing_outside: dict[str, list[str]]

    @property
    def rows(self) -> int:
        return sum(table.rows for table in self.tables)

    @property
    def estimated_bytes(self) -> int:
        return sum(table.estimated_bytes for table in self.tables)

    def render(self) -> RenderableType:
        from opsctl.seed.report import render_dry_run

        return render_dry_run(self)


@dataclass(frozen=True)
class AlreadySeeded:
    """``only_if_empty`` found rows in the plan's tables: nothing was written."""

    existing: dict[str, int]
    options: SeedOptions

    @property
    def rows(self) -> int:
        return sum(self.existing.values())

    def render(self) -> RenderableType:
        from opsctl.seed.report import render_already_seeded

        return render_already_seeded(self)


Connection = psycopg.Connection[tuple[object, ...]]


class _Generator:
    """Makes one table's COPY payload for a range of rows."""

    def __init__(
        self,
        plan: SeedPlan,
        schema: SchemaInfo,
        options: SeedOptions,
        counts: dict[str, int],
        id_offsets: dict[str, int],
    ) -> None:
        self.plan, self.schema, self.options = plan, schema, options
        self.counts, self.id_offsets = counts, id_offsets
        self.memo: dict[str, object] = {}

    def columns(self, table: Table) -> list[ColumnInfo]:
        return [info for info in self.schema.columns[table.name] if info.name in table.columns]

    def payload(self, table: Table, rows: range) -> bytes:
        encoded: list[list[bytes]] = []
        for info in self.columns(table):
            chunk = Chunk(
                seed=self.options.seed,
                table=table.name,
                column=info.name,
                rows=rows,
                counts=self.counts,
                anchor=self.options.anchor,
                id_offsets=self.id_offsets,
                plan=self.plan,
                memo=self.memo,
                append=self.options.mode is Mode.APPEND,
            )
            values = table.columns[info.name].generate(chunk)
            if len(values) != len(rows):
                raise PlanError(
                    f"{table.name}.{info.name}: made {len(values)} values for {len(rows)} rows"
                )
            try:
                encoded.append(encoder_for(info.type_name, is_enum=info.is_enum)(values))
            except (UnsupportedTypeError, TypeError, ValueError, OverflowError) as error:
                raise PlanError(f"{table.name}.{info.name} ({info.type_name}): {error}") from None
        return encode_rows(encoded)


def _count(connection: Connection, table: str) -> int:
    row = connection.execute(sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)))
    found = row.fetchone()
    return int(found[0]) if found else 0  # type: ignore[call-overload]


def _id_offsets(connection: Connection, plan: SeedPlan, mode: Mode) -> dict[str, int]:
    if mode is Mode.REPLACE:
        return {}
    offsets: dict[str, int] = {}
    for table in plan.tables:
        maker = table.columns.get(table.key)
        if isinstance(maker, Serial):
            found = connection.execute(
                sql.SQL("SELECT coalesce(max({}), 0) FROM {}").format(
                    sql.Identifier(table.key), sql.Identifier(table.name)
                )
            ).fetchone()
            offsets[table.name] = int(found[0]) if found else 0  # type: ignore[call-overload]
    return offsets


def _refuse_outside_references(schema: SchemaInfo, mode: Mode) -> None:
    if mode is Mode.REPLACE and schema.referenced_by_others:
        pairs = "; ".join(
            f"{parent} ← {', '.join(children)}"
            for parent, children in sorted(schema.referenced_by_others.items())
        )
        raise PlanError(
            "replace would have to empty tables outside the plan that reference it "
            f"({pairs}); add them to the plan or use --mode append"
        )


def dry_run(connection: Connection, plan: SeedPlan, options: SeedOptions) -> DryRun:
    """Tables, row counts, estimated size and what ``replace`` would remove; writes nothing."""
    schema = read_schema(connection, plan)
    counts = plan.row_counts(options.scale)
    generator = _Generator(
        plan, schema, options, counts, _id_offsets(connection, plan, options.mode)
    )
    tables: list[TablePlan] = []
    for name in schema.load_order:
        table = plan.table(name)
        sample = min(counts[name], SAMPLE_ROWS)
        size = len(generator.payload(table, range(sample))) if sample else 0
        estimate = size * counts[name] // sample if sample else 0
        existing = _count(connection, name)
        tables.append(TablePlan(name, counts[name], estimate, existing))
    connection.rollback()
    return DryRun(tables, options, {k: list(v) for k, v in schema.referenced_by_others.items()})


def seed(
    connection: Connection,
    plan: SeedPlan,
    options: SeedOptions,
    progress: ProgressSink | None = None,
) -> SeedResult | AlreadySeeded:
    """Seed in one transaction; on any error roll back and re-raise."""
    started = time.perf_counter()
    rebuild_seconds = 0.0
    payloads: PayloadPipeline | None = None
    try:
        schema = read_schema(connection, plan)
        _refuse_outside_references(schema, options.mode)
        counts = plan.row_counts(options.scale)
        names = [sql.Identifier(name) for name in schema.load_order]
        removed = dict.fromkeys(schema.load_order, 0)
        if options.mode is Mode.REPLACE or options.only_if_empty:
            removed = {name: _count(connection, name) for name in schema.load_order}
            if options.only_if_empty and any(removed.values()):
                connection.rollback()
                return AlreadySeeded({k: v for k, v in removed.items() if v}, options)
        restore = Restore()
        if options.mode is Mode.REPLACE:
            connection.execute(sql.SQL("TRUNCATE {}").format(sql.SQL(", ").join(names)))
            restore = drop_secondary_structures(connection, schema.load_order)
            # index builds sort in memory instead of spilling to disk (this transaction only)
            connection.execute("SET LOCAL maintenance_work_mem = '256MB'")
        else:
            connection.execute(
                sql.SQL("LOCK TABLE {} IN SHARE ROW EXCLUSIVE MODE").format(
                    sql.SQL(", ").join(names)
                )
            )
        offsets = _id_offsets(connection, plan, options.mode)
        generator = _Generator(plan, schema, options, counts, offsets)
        # The next chunks are generated in a thread while this one waits on the server
        # (COPY, index builds): the server and Python work at the same time.
        tables = [(plan.table(name), counts[name]) for name in schema.load_order]
        payloads = PayloadPipeline(generator, tables)
        digest = hashlib.sha256()
        loads: list[TableLoad] = []
        for name in schema.load_order:
            loads.append(
                _load_table(
                    connection,
                    payloads,
                    generator.columns(plan.table(name)),
                    name,
                    counts[name],
                    options.mode,
                    removed[name],
                    digest,
                    progress,
                )
            )
            # this table's keys and indexes now (one sort each), while the next table is
            # generated; its foreign keys too, its parents being complete already
            rebuild_started = time.perf_counter()
            for statement in restore.after(name):
                connection.execute(statement)
            rebuild_seconds += time.perf_counter() - rebuild_started
        rebuild_started = time.perf_counter()
        for statement in restore.remaining():
            connection.execute(statement)
        rebuild_seconds += time.perf_counter() - rebuild_started
        _move_sequences(connection, schema)
        connection.commit()
    except BaseException:
        if payloads is not None:
            payloads.cancel()
        connection.rollback()
        raise
    load_seconds = time.perf_counter() - started
    analyze_started = time.perf_counter()
    connection.autocommit = True
    try:
        for name in schema.load_order:
            connection.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(name)))
    finally:
        connection.autocommit = False
    return SeedResult(
        loads,
        digest.hexdigest(),
        load_seconds,
        time.perf_counter() - analyze_started,
        options,
        rebuild_seconds,
    )


def _load_table(
    connection: Connection,
    payloads: PayloadPipeline,
    columns: Sequence[ColumnInfo],
    table: str,
    rows: int,
    mode: Mode,
    removed: int,
    digest: hashlib._Hash,
    progress: ProgressSink | None,
) -> TableLoad:
    column_list = sql.SQL(", ").join(sql.Identifier(info.name) for info in columns)
    # FREEZE is allowed because TRUNCATE ran in this transaction: no later VACUUM is needed.
    options = sql.SQL("(FORMAT BINARY, FREEZE)" if mode is Mode.REPLACE else "(FORMAT BINARY)")
    statement = sql.SQL("COPY {} ({}) FROM STDIN {}").format(
        sql.Identifier(table), column_list, options
    )
    digest.update(f"{table}({','.join(i.name for i in columns)})\n".encode())
    if progress is not None:
        progress.start_table(table, rows)
    written = 0
    with connection.cursor() as cursor, cursor.copy(statement) as copy:
        copy.write(HEADER)
        digest.update(HEADER)
        written += len(HEADER)
        for chunk_rows in chunk_ranges(rows):
            payload = payloads.next(table, chunk_rows)
            copy.write(payload)
            digest.update(payload)
            written += len(payload)
            if progress is not None:
                progress.advance(len(chunk_rows))
        copy.write(TRAILER)
        digest.update(TRAILER)
        written += len(TRAILER)
    return TableLoad(table, rows, written, removed)


def _move_sequences(connection: Connection, schema: SchemaInfo) -> None:
    """Sequences and identity columns continue after the largest seeded key."""
    for table, infos in schema.columns.items():
        for info in infos:
            if info.sequence is None:
                continue
            connection.execute(
                sql.SQL(
                    "SELECT setval({seq}, coalesce(max({col}), 1), max({col}) IS NOT NULL) "
                    "FROM {table}"
                ).format(
                    seq=sql.Literal(info.sequence),
                    col=sql.Identifier(info.name),
                    table=sql.Identifier(table),
                )
            )
