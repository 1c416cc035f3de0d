"""Seeded rows that must survive each upgrade and the downgrade that follows.

Before a revision is upgraded, each table named in the Definition of Done's ``data`` section
that exists is topped up to the configured number of rows. Values are generated from the column
types; text columns with a CHECK of their own (``status IN ('TODO', ...)``) take its first
literal; foreign keys cycle through the rows of the referenced table (so the composite unique
keys of link tables stay unique); identity, serial, generated and defaulted columns are left to
their defaults. Every column is filled if the constraints allow it, else the required ones. The
rows are read back as JSON after the upgrade and after the downgrade: every value in a column
that still exists must be unchanged.
"""

# Statements are built from quoted identifiers and type names read from the catalog:
# ruff: noqa: S608

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa

from opsctl.gates.migrations.bounds import is_bound_hit

# name, type, type category, type oid, foreign key expression, check literal, not null
_COLUMNS = r"""
SELECT a.attname, format_type(a.atttypid, a.atttypmod), t.typcategory, a.atttypid,
       (SELECT format('(SELECT %%I FROM %%I.%%I ORDER BY 1 OFFSET (g.i - 1) %%%% '
                      'GREATEST((SELECT count(*) FROM %%I.%%I), 1) LIMIT 1)',
                      ra.attname, rn.nspname, rc.relname, rn.nspname, rc.relname)
        FROM pg_constraint co JOIN pg_class rc ON rc.oid = co.confrelid
        JOIN pg_namespace rn ON rn.oid = rc.relnamespace
        JOIN pg_attribute ra ON ra.attrelid = co.confrelid AND ra.attnum = co.confkey[1]
        WHERE co.conrelid = a.attrelid AND co.contype = 'f' AND co.conkey = ARRAY[a.attnum]),
       (SELECT substring(pg_get_constraintdef(k.oid) FROM '''([^'']*)''')
        FROM pg_constraint k WHERE k.conrelid = a.attrelid AND k.contype = 'c'
        AND k.conkey = ARRAY[a.attnum] ORDER BY k.conname LIMIT 1),
       a.attnotnull
FROM pg_attribute a JOIN pg_type t ON t.oid = a.atttypid
WHERE a.attrelid = to_regclass(%(table)s) AND a.attnum > 0 AND NOT a.attisdropped
  AND a.attidentity = '' AND a.attgenerated = ''
  AND NOT EXISTS (SELECT 1 FROM pg_attrdef d WHERE d.adrelid = a.attrelid AND d.adnum = a.attnum)
ORDER BY a.attnum
"""


def _value(
    type_name: str, category: str, type_oid: int, foreign: str | None, literal: str | None
) -> str:
    """A SQL expression of row number ``g.i`` giving a distinct value of the column's type."""
    if foreign is not None:
        return foreign
    if literal is not None and category == "S":
        return "'" + literal.replace("'", "''") + f"'::{type_name}"
    if category == "E":
        return (
            f"(SELECT enumlabel FROM pg_enum WHERE enumtypid = {int(type_oid)} "
            f"ORDER BY enumsortorder LIMIT 1)::{type_name}"
        )
    by_category = {
        "N": "g.i",
        "B": "g.i % 2 = 0",
        "D": "now() + g.i * interval '1 minute'",
        "T": "g.i * interval '1 minute'",
        "A": "ARRAY[]::text[]",
    }
    if type_name == "uuid":
        expression = "md5(random()::text || g.i)::uuid"
    elif type_name in ("json", "jsonb"):
        expression = "json_build_object('opsctl', g.i)"
    else:
        expression = by_category.get(category, "'opsctl-' || g.i")
    return f"({expression})::{type_name}"


@dataclass(frozen=True)
class Rows:
    """The rows of one table, each as a column -> value mapping (JSON text values)."""

    columns: frozenset[str]
    rows: tuple[dict[str, str], ...]


def _quoted(connection: sa.Connection, table: str) -> str:
    quote = connection.dialect.identifier_preparer.quote
    return ".".join(quote(part) for part in table.split("."))


def _exists(connection: sa.Connection, table: str) -> bool:
    found = connection.exec_driver_sql("SELECT to_regclass(%(t)s)", {"t": table}).scalar()
    return found is not None


def _error(table: str, error: sa.exc.DBAPIError) -> str:
    if is_bound_hit(error):  # a timeout or a cancel stops the walk; it says nothing of the table
        raise error
    return f"cannot seed {table}: {str(error.orig).strip().splitlines()[0]}"


def seed(connection: sa.Connection, table: str, count: int) -> str | None:
    """Top ``table`` up to ``count`` rows; an error message when that is not possible."""
    try:
        if not _exists(connection, table):
            return None
        quoted = _quoted(connection, table)
        present = connection.exec_driver_sql(f"SELECT count(*) FROM {quoted}").scalar() or 0
        columns: list[Any] = list(connection.exec_driver_sql(_COLUMNS, {"table": table}))
    except sa.exc.DBAPIError as error:
        return _error(table, error)
    finally:
        connection.rollback()
    missing = count - int(present)
    if missing <= 0:
        return None
    problem = None
    quote = connection.dialect.identifier_preparer.quote
    for chosen in (columns, [c for c in columns if c[6]]):
        names = ", ".join(quote(c[0]) for c in chosen)
        values = ", ".join(_value(c[1], c[2], c[3], c[4], c[5]) for c in chosen)
        statement = (
            f"INSERT INTO {quoted} ({names}) "
            f"SELECT {values} FROM generate_series(1, {missing}) g(i)"
            if chosen
            else f"INSERT INTO {quoted} SELECT FROM generate_series(1, {missing})"
        )
        try:
            connection.exec_driver_sql(statement.replace("%", "%%"))
            connection.commit()
        except sa.exc.DBAPIError as error:
            connection.rollback()
            problem = problem or _error(table, error)
            continue
        return None
    return problem


def read_rows(connection: sa.Connection, table: str) -> Rows | None:
    """The rows of ``table`` (None when it does not exist)."""
    try:
        if not _exists(connection, table):
            return None
        quoted = _quoted(connection, table)
        texts = connection.exec_driver_sql(f"SELECT row_to_json(t)::text FROM {quoted} t")
        rows = tuple(
            {key: json.dumps(value, sort_keys=True) for key, value in json.loads(text).items()}
            for (text,) in texts
        )
        columns_query = connection.exec_driver_sql(
            "SELECT attname FROM pg_attribute WHERE attrelid = to_regclass(%(t)s) "
            "AND attnum > 0 AND NOT attisdropped",
            {"t": table},
        )
        return Rows(frozenset(str(c[0]) for c in columns_query), rows)
    finally:
        connection.rollback()


def lost(before: Rows, after: Rows | None) -> str | None:
    """What of ``before`` is not in ``after``, in words (None: everything survived)."""
    if not before.rows:
        return None
    if after is None:
        return f"the table and its {len(before.rows)} seeded rows are gone"
    dropped = sorted(before.columns - after.columns)
    common = sorted(before.columns & after.columns)

    def project(rows: tuple[dict[str, str], ...]) -> Counter[tuple[str, ...]]:
        return Counter(tuple(row.get(c, "null") for c in common) for row in rows)

    missing = project(before.rows) - project(after.rows)
    parts = []
    if dropped:
        parts.append("column(s) " + ", ".join(dropped) + " and their values are gone")
    if missing:
        parts.append(
            f"{sum(missing.values())} of {len(before.rows)} seeded rows are gone or changed"
        )
    return "; ".join(parts) or None
