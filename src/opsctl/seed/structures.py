"""Keys, foreign keys and indexes of the plan's tables: dropped before the load, rebuilt after.

Loading into bare tables and then building each index once (a sort) and checking each foreign
key with one join is much cheaper than maintaining them row by row, as pgbench and the
PostgreSQL manual's "Populating a Database" do. Measured here: COPY of 150k task rows ran at
79k rows/s into a table with its UUID primary key, 238k rows/s without (random B-tree inserts
and their WAL). It all happens inside the seed's transaction, so a failure restores everything;
they come back with their names and definitions, and a duplicate key or a dangling reference
fails the whole run as it would have during COPY.

A table's keys and indexes are rebuilt right after its own COPY, and a foreign key as soon as
both of its tables are loaded: the server builds them while the next table is generated.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import psycopg
from psycopg import sql

Connection = psycopg.Connection[tuple[object, ...]]
Statement = sql.SQL | sql.Composed

_SECONDARY_INDEXES_SQL = """
SELECT t.relname, format('%%I.%%I', n.nspname, ic.relname), pg_get_indexdef(i.indexrelid)
FROM pg_index i
JOIN pg_class ic ON ic.oid = i.indexrelid
JOIN pg_class t ON t.oid = i.indrelid
JOIN pg_namespace n ON n.oid = ic.relnamespace
WHERE i.indrelid = ANY(%s::regclass[])
  AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid)
ORDER BY t.relname, ic.relname
"""

_CONSTRAINTS_SQL = """
SELECT t.relname, k.conrelid::regclass::text, k.conname, pg_get_constraintdef(k.oid),
       coalesce(p.relname, '')
FROM pg_constraint k
JOIN pg_class t ON t.oid = k.conrelid
LEFT JOIN pg_class p ON p.oid = k.confrelid
WHERE k.contype = %s AND k.conrelid = ANY(%s::regclass[])
ORDER BY k.conrelid::regclass::text, k.conname
"""


@dataclass
class _ForeignKey:
    child: str
    parent: str
    statement: Statement


@dataclass
class Restore:
    """How to rebuild what was dropped, released table by table as the load goes."""

    own: dict[str, list[Statement]] = field(default_factory=dict)  # keys, then indexes
    foreign_keys: list[_ForeignKey] = field(default_factory=list)
    loaded: set[str] = field(default_factory=set)
    planned: set[str] = field(default_factory=set)

    def after(self, table: str) -> list[Statement]:
        """What can be rebuilt once ``table`` is loaded: its keys and indexes, then every
        foreign key whose two tables are both loaded now."""
        self.loaded.add(table)
        ready = self.own.pop(table, [])
        waiting: list[_ForeignKey] = []
        for key in self.foreign_keys:
            parent_ready = key.parent in self.loaded or key.parent not in self.planned
            if key.child in self.loaded and parent_ready:
                ready.append(key.statement)
            else:
                waiting.append(key)
        self.foreign_keys = waiting
        return ready

    def remaining(self) -> list[Statement]:
        """Anything not released yet (keys before foreign keys)."""
        rest = [statement for statements in self.own.values() for statement in statements]
        rest.extend(key.statement for key in self.foreign_keys)
        self.own, self.foreign_keys = {}, []
        return rest


def drop_secondary_structures(connection: Connection, tables: Sequence[str]) -> Restore:
    """Drop the tables' keys, foreign keys and indexes; return how to restore them."""
    names = list(tables)
    foreign_keys = connection.execute(_CONSTRAINTS_SQL, ("f", names)).fetchall()
    keys = [
        *connection.execute(_CONSTRAINTS_SQL, ("p", names)).fetchall(),
        *connection.execute(_CONSTRAINTS_SQL, ("u", names)).fetchall(),
    ]
    indexes = connection.execute(_SECONDARY_INDEXES_SQL, (names,)).fetchall()
    for _table, qualified, name, _definition, _parent in [*foreign_keys, *keys]:
        # foreign keys first: they depend on the keys
        connection.execute(
            sql.SQL("ALTER TABLE {} DROP CONSTRAINT {}").format(
                sql.SQL(str(qualified)), sql.Identifier(str(name))
            )
        )
    restore = Restore(planned=set(names))
    for table, qualified, name, definition, _parent in keys:
        restore.own.setdefault(str(table), []).append(
            _add_constraint(str(qualified), str(name), str(definition))
        )
    for table, qualified_index, definition in indexes:
        connection.execute(sql.SQL("DROP INDEX {}").format(sql.SQL(str(qualified_index))))
        restore.own.setdefault(str(table), []).append(sql.SQL(str(definition)))
    restore.foreign_keys = [
        _ForeignKey(
            str(table), str(parent), _add_constraint(str(qualified), str(name), str(definition))
        )
        for table, qualified, name, definition, parent in foreign_keys
    ]
    return restore


def _add_constraint(table: str, name: str, definition: str) -> sql.Composed:
    return sql.SQL("ALTER TABLE {} ADD CONSTRAINT {} {}").format(
        sql.SQL(table), sql.Identifier(name), sql.SQL(definition)
    )
