"""What the database says about the plan's tables: column types, foreign keys, sequences.

The plan names tables and columns; the catalog decides the exact type each column is encoded
as (binary COPY casts nothing) and which table must be loaded before which.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import psycopg

from opsctl.seed.plan import PlanError, SeedPlan

_COLUMNS_SQL = """
SELECT a.attname,
       coalesce(bt.typname, t.typname),
       coalesce(bt.typtype, t.typtype) = 'e',
       a.attnotnull,
       a.atthasdef OR a.attidentity <> '' OR a.attgenerated <> '',
       pg_get_serial_sequence(format('%%I.%%I', n.nspname, c.relname), a.attname)
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace n ON n.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
LEFT JOIN pg_type bt ON t.typtype = 'd' AND bt.oid = t.typbasetype
WHERE c.oid = to_regclass(%s) AND a.attnum > 0 AND NOT a.attisdropped
ORDER BY a.attnum
"""

_FOREIGN_KEYS_SQL = """
SELECT DISTINCT child.relname, parent.relname
FROM pg_constraint k
JOIN pg_class child ON child.oid = k.conrelid
JOIN pg_class parent ON parent.oid = k.confrelid
WHERE k.contype = 'f' AND k.conrelid = ANY(%s::regclass[]) AND k.confrelid <> k.conrelid
"""

_REFERENCING_SQL = """
SELECT DISTINCT child.relname, parent.relname
FROM pg_constraint k
JOIN pg_class child ON child.oid = k.conrelid
JOIN pg_class parent ON parent.oid = k.confrelid
WHERE k.contype = 'f' AND k.confrelid = ANY(%s::regclass[])
"""


@dataclass(frozen=True)
class ColumnInfo:
    name: str
    type_name: str
    is_enum: bool
    not_null: bool
    has_default: bool
    sequence: str | None


@dataclass(frozen=True)
class SchemaInfo:
    """The catalog facts about the plan's tables, in load order."""

    columns: Mapping[str, Sequence[ColumnInfo]]
    load_order: Sequence[str]
    referenced_by_others: Mapping[str, Sequence[str]]


def read_schema(connection: psycopg.Connection[tuple[object, ...]], plan: SeedPlan) -> SchemaInfo:
    """Read and check the plan's tables; raise :class:`PlanError` on any mismatch."""
    names = [table.name for table in plan.tables]
    columns: dict[str, list[ColumnInfo]] = {}
    for table in plan.tables:
        rows = connection.execute(_COLUMNS_SQL, (table.name,)).fetchall()
        if not rows:
            raise PlanError(f"the plan's table '{table.name}' does not exist in the database")
        infos = [
            ColumnInfo(
                str(r[0]),
                str(r[1]),
                bool(r[2]),
                bool(r[3]),
                bool(r[4]),
                None if r[5] is None else str(r[5]),
            )
            for r in rows
        ]
        _check_columns(table.name, table.columns, infos)
        columns[table.name] = infos
    edges = connection.execute(_FOREIGN_KEYS_SQL, (names,)).fetchall()
    dependencies = {name: set[str]() for name in names}
    for child, parent in edges:
        if str(parent) in dependencies:
            dependencies[str(child)].add(str(parent))
    referencing: dict[str, list[str]] = {}
    for child, parent in connection.execute(_REFERENCING_SQL, (names,)).fetchall():
        if str(child) not in dependencies:
            referencing.setdefault(str(parent), []).append(str(child))
    return SchemaInfo(columns, topological_order(names, dependencies), referencing)


def _check_columns(table: str, planned: Mapping[str, object], infos: Sequence[ColumnInfo]) -> None:
    known = {info.name for info in infos}
    unknown = sorted(set(planned) - known)
    if unknown:
        raise PlanError(f"the plan makes columns that {table} does not have: {', '.join(unknown)}")
    missing = [i.name for i in infos if i.not_null and not i.has_default and i.name not in planned]
    if missing:
        raise PlanError(
            f"{table}: NOT NULL columns without a default are missing from the plan: "
            + ", ".join(missing)
        )


def topological_order(names: Sequence[str], dependencies: Mapping[str, set[str]]) -> list[str]:
    """Parents before children; ties keep the plan's order; a cycle is a :class:`PlanError`."""
    order: list[str] = []
    placed: set[str] = set()
    remaining = list(names)
    while remaining:
        ready = [name for name in remaining if dependencies[name] <= placed]
        if not ready:
            raise PlanError("foreign keys form a cycle between: " + ", ".join(sorted(remaining)))
        order.append(ready[0])
        placed.add(ready[0])
        remaining.remove(ready[0])
    return order
