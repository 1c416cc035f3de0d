"""The plan interface: what a service declares, and what its value makers receive.

A service's seed plan (``service.seed: module:attribute`` in ``opsctl.yaml``) is a
:class:`SeedPlan`: tables, how many rows each gets per :class:`Scale`, and per column a
:class:`Values` that makes that column's values for a chunk of rows. The engine orders the
tables by their foreign keys, generates chunk by chunk, loads with binary COPY and reports.

A value maker sees only a :class:`Chunk`: the rows it makes values for and randomness keyed by
(seed, table, column, row), so its output never depends on which other columns exist.
"""

from __future__ import annotations

import enum
from abc import ABC, abstractmethod
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date
from typing import TypeVar

from opsctl.seed.streams import stream_key, values_for_rows

T = TypeVar("T")

_TWO_TO_64 = float(2**64)


class Scale(enum.StrEnum):
    """Named sizes: ``small`` (hundreds of rows), ``medium`` (a dev box), ``large`` (≥ 1 M)."""

    SMALL = "small"
    MEDIUM = "medium"
    LARGE = "large"


class PlanError(Exception):
    """A seed plan is inconsistent with itself or with the database schema."""


@dataclass(frozen=True)
class Rows:
    """How many rows a table gets at each named scale."""

    small: int
    medium: int
    large: int

    def at(self, scale: Scale) -> int:
        return {Scale.SMALL: self.small, Scale.MEDIUM: self.medium, Scale.LARGE: self.large}[scale]


class Values(ABC):
    """How one column's values are made, a chunk of rows at a time."""

    @abstractmethod
    def generate(self, chunk: Chunk) -> Sequence[object]:
        """One value per row of ``chunk.rows``, in order. ``None`` is SQL NULL."""


class Identity(Values):
    """A primary key whose value for any row can be computed (so children can reference it)."""

    @abstractmethod
    def ids_for(self, chunk: Chunk, table: str, rows: Sequence[int]) -> list[object]:
        """The key values of ``rows`` of ``table`` (row indices start at 0)."""

    def generate(self, chunk: Chunk) -> Sequence[object]:
        return self.ids_for(chunk, chunk.table, chunk.rows)


@dataclass(frozen=True)
class Table:
    """One table the plan owns: its rows per scale and how each listed column is made.

    Columns not listed get their database default. ``key`` names the primary-key column when
    other tables reference this one through :meth:`Chunk.ids`.
    """

    name: str
    rows: Rows
    columns: Mapping[str, Values]
    key: str = "id"


@dataclass(frozen=True)
class SeedPlan:
    """Everything a service seeds. Table order is a tie-breaker; foreign keys decide first."""

    tables: Sequence[Table]
    description: str = ""

    def __post_init__(self) -> None:
        names = [table.name for table in self.tables]
        duplicates = sorted({name for name in names if names.count(name) > 1})
        if duplicates:
            raise PlanError(f"tables declared twice in the plan: {', '.join(duplicates)}")

    def table(self, name: str) -> Table:
        for table in self.tables:
            if table.name == name:
                return table
        raise PlanError(f"the plan has no table '{name}'")

    def row_counts(self, scale: Scale | int) -> dict[str, int]:
        """Rows per table: a named scale, or an explicit total spread like ``large``."""
        if isinstance(scale, Scale):
            return {table.name: table.rows.at(scale) for table in self.tables}
        if scale < len(self.tables):
            raise PlanError(f"--scale {scale}: at least one row per table ({len(self.tables)})")
        large_total = sum(table.rows.large for table in self.tables) or 1
        return {
            table.name: max(1, round(table.rows.large * scale / large_total))
            for table in self.tables
        }


@dataclass
class Chunk:
    """The rows a value maker works on, and everything it may derive values from."""

    seed: int
    table: str
    column: str
    rows: range
    counts: Mapping[str, int]
    anchor: date
    id_offsets: Mapping[str, int] = field(default_factory=dict)
    plan: SeedPlan | None = None
    memo: dict[str, object] = field(default_factory=dict)
    append: bool = False  # rows go next to existing ones: skip fixed rows such as personas

    def random(self, sub: str = "") -> list[int]:
        """Uniform unsigned 64-bit integers, one per row, keyed by (seed, table, column, sub)."""
        return values_for_rows(stream_key(self.seed, self.table, self.column, sub), self.rows)

    def random_of(self, column: str, sub: str = "") -> list[int]:
        """Another column's stream of this table (for values that depend on a sibling)."""
        return values_for_rows(stream_key(self.seed, self.table, column, sub), self.rows)

    def uniform(self, sub: str = "") -> list[float]:
        """Uniform floats in [0, 1), one per row."""
        return [value / _TWO_TO_64 for value in self.random(sub)]

    def remember(self, key: str, make: Callable[[], T]) -> T:
        """A value computed once per run and shared by every chunk (layouts, pools)."""
        if key not in self.memo:
            self.memo[key] = make()
        return self.memo[key]  # type: ignore[return-value]

    def ids(self, table: str, rows: Sequence[int]) -> list[object]:
        """The primary keys of ``rows`` of another plan table, for foreign-key columns."""
        if self.plan is None:
            raise PlanError("no plan in this context")
        parent = self.plan.table(table)
        maker = parent.columns.get(parent.key)
        if not isinstance(maker, Identity):
            raise PlanError(
                f"{table}.{parent.key} is referenced, so it must be made by an Identity "
                "value maker (Serial or Uuid)"
            )
        return maker.ids_for(self, table, rows)
