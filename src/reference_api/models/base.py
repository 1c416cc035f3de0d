"""The one ``MetaData`` every table is defined on, with the project's naming convention.

The convention gives every index and constraint a deterministic name, so that migrations can
refer to them by name and a migrated database is identical to ``metadata.create_all()``.
"""

from __future__ import annotations

import sqlalchemy as sa

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = sa.MetaData(naming_convention=NAMING_CONVENTION)


def id_column() -> sa.Column[object]:
    """A random UUID primary key: ids are not guessable and do not leak row counts."""
    return sa.Column("id", sa.Uuid(), primary_key=True, server_default=sa.text("gen_random_uuid()"))


def created_at_column() -> sa.Column[object]:
    """When the row was inserted, set by the database clock."""
    return sa.Column(
        "created_at", sa.DateTime(timezone=True), nullable=False, server_default=sa.func.now()
    )
