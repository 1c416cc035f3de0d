"""A seed plan for pgbench's own schema: the engine measured like-for-like against ``pgbench -i``.

``benchmarks/seed_speed.py`` loads this plan into the four tables ``pgbench -i -I dtp`` creates
and compares the engine's rate with ``pgbench -i -s N`` on the same server. The rows are
those of ``pgbench -i -s N`` (PostgreSQL 15's client-side generation), value for value:

- ``pgbench_branches``: ``N`` rows, ``bid`` 1..N, ``bbalance`` 0, ``filler`` NULL;
- ``pgbench_tellers``: ``10 N`` rows, ``tid`` 1..10N, ``bid`` ``(tid - 1) / 10 + 1``,
  ``tbalance`` 0, ``filler`` NULL;
- ``pgbench_accounts``: ``100,000 N`` rows, ``aid`` 1..100000N, ``bid``
  ``(aid - 1) / 100000 + 1``, ``abalance`` 0, ``filler`` ``''`` (which ``char(84)`` pads to
  84 blanks, on the server, as it does for pgbench's text COPY);
- ``pgbench_history``: empty.

The plan has the same rows at every named scale: pgbench's scale factor is the argument.
"""

from __future__ import annotations

import operator
from collections.abc import Sequence
from itertools import repeat

from opsctl.seed.plan import Chunk, Rows, SeedPlan, Table
from opsctl.seed.values import Computed, Constant, IntRange, Ref, Serial, Timestamps

BRANCHES_PER_SCALE = 1
TELLERS_PER_SCALE = 10
ACCOUNTS_PER_SCALE = 100_000

# pgbench -i's DDL (PostgreSQL 15, scale below 20,000: integer keys; fillfactor 100), with the
# primary keys its "p" step adds. ``pgbench -i -I dtp`` makes exactly these tables.
DDL = """
DROP TABLE IF EXISTS pgbench_accounts, pgbench_branches, pgbench_history, pgbench_tellers;
CREATE TABLE pgbench_history (tid int, bid int, aid int, delta int, mtime timestamp,
                              filler char(22));
CREATE TABLE pgbench_tellers (tid int NOT NULL, bid int, tbalance int, filler char(84))
    WITH (fillfactor = 100);
CREATE TABLE pgbench_accounts (aid int NOT NULL, bid int, abalance int, filler char(84))
    WITH (fillfactor = 100);
CREATE TABLE pgbench_branches (bid int NOT NULL, bbalance int, filler char(88))
    WITH (fillfactor = 100);
ALTER TABLE pgbench_branches ADD PRIMARY KEY (bid);
ALTER TABLE pgbench_tellers ADD PRIMARY KEY (tid);
ALTER TABLE pgbench_accounts ADD PRIMARY KEY (aid);
"""


def _parent_of(per_parent: int) -> Computed:
    """``row // per_parent + 1``: the branch a teller or an account belongs to (as pgbench)."""

    def make(chunk: Chunk) -> Sequence[object]:
        rows = chunk.rows
        return list(map(operator.add, map(operator.floordiv, rows, repeat(per_parent)), repeat(1)))

    return Computed(make)


def pgbench_plan(scale: int) -> SeedPlan:
    """The rows of ``pgbench -i -s scale``, for the tables of :data:`DDL`."""
    if scale < 1:
        raise ValueError("pgbench's scale factor is at least 1")

    def rows(per_scale: int) -> Rows:
        count = per_scale * scale
        return Rows(small=count, medium=count, large=count)

    return SeedPlan(
        description=f"pgbench -i -s {scale}",
        tables=[
            Table(
                "pgbench_branches",
                rows(BRANCHES_PER_SCALE),
                {"bid": Serial(), "bbalance": Constant(0)},
                key="bid",
            ),
            Table(
                "pgbench_tellers",
                rows(TELLERS_PER_SCALE),
                {
                    "tid": Serial(),
                    "bid": _parent_of(TELLERS_PER_SCALE),
                    "tbalance": Constant(0),
                },
                key="tid",
            ),
            Table(
                "pgbench_accounts",
                rows(ACCOUNTS_PER_SCALE),
                {
                    "aid": Serial(),
                    "bid": _parent_of(ACCOUNTS_PER_SCALE),
                    "abalance": Constant(0),
                    "filler": Constant(""),
                },
                key="aid",
            ),
            # empty after pgbench -i; listed so that the plan owns (and empties) all four
            Table(
                "pgbench_history",
                Rows(0, 0, 0),
                {
                    "tid": Ref("pgbench_tellers"),
                    "bid": Ref("pgbench_branches"),
                    "aid": Ref("pgbench_accounts"),
                    "delta": IntRange(-5000, 5000),
                    "mtime": Timestamps(1),
                },
            ),
        ],
    )
