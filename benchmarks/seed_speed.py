"""`opsctl seed` against `pgbench -i`, same server, same run; and linearity at two scales.

In one process, on throwaway databases of one PostgreSQL server:

1. the reference API migrated to head, seeded at a quarter of ``--rows`` and at ``--rows``
   (default: the plan's ``large`` total), each timed from BEGIN to COMMIT: TRUNCATE, dropping
   the 7 tables' 20 keys/indexes and 5 foreign keys, generating the values and the binary
   COPY streams, COPY FREEZE, rebuilding every key, index and foreign key (checking each row),
   moving the sequences, COMMIT. ANALYZE (after the commit) is reported separately;
2. the same ``--rows`` once more with the COPY streams made in advance (not timed): the
   server's share alone, i.e. the best this schema can do here if generating cost nothing;
3. ``pgbench -i -s N`` with N chosen for a similar row count (100,000 accounts per unit): its
   own "done in" total = drop and create 4 tables, client-side generate (text COPY FREEZE),
   VACUUM ANALYZE, 3 primary keys; and its "client-side generate" step alone; at a quarter of
   N too, for pgbench's own linearity;
4. like for like: the engine loading pgbench's OWN schema and rows
   (:mod:`opsctl.seed.pgbench_plan`: the 4 tables, columns, types, primary keys and row counts
   of ``pgbench -i -s N``, its filler values) at the same N and at a quarter of it, into a
   throwaway database whose tables ``pgbench -i -I dtp`` created (not timed). Timed from BEGIN
   to COMMIT (TRUNCATE, dropping the 3 primary keys, generating, binary COPY FREEZE, rebuilding
   the 3 primary keys, COMMIT) plus the ANALYZE after it, since pgbench's "vacuum" step is a
   VACUUM ANALYZE; not timed: creating the tables (pgbench's drop/create steps take < 0.01 s).

Prints rows/s of each, the ratios against pgbench (target >= 0.5) and the cost-per-row ratio of
the two scales of each plan (1.0 = perfectly linear).

Run: .venv/bin/python benchmarks/seed_speed.py [--rows N] [--repeat N] [--server URL]
[--pgbench PATH]
"""

from __future__ import annotations

import argparse
import re
import shutil
import subprocess
import time
from datetime import date
from pathlib import Path

import sqlalchemy as sa
from alembic import command
from alembic.config import Config

from opsctl.database.throwaway import throwaway_database
from opsctl.database.urls import to_sqlalchemy
from opsctl.seed.engine import SeedOptions, SeedResult
from opsctl.seed.pgbench_plan import pgbench_plan
from opsctl.seed.plan import Scale
from opsctl.seed.runner import seed_database
from reference_api.seed import plan

REPOSITORY = Path(__file__).resolve().parents[1]
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"
PGBENCH_CANDIDATES = ("/usr/lib/postgresql/15/bin/pgbench", "pgbench")
ANCHOR = date(2026, 1, 1)


def migrate(url: str) -> None:
    config = Config(str(REPOSITORY / "alembic.ini"))
    engine = sa.create_engine(to_sqlalchemy(url))
    try:
        with engine.begin() as connection:
            config.attributes["connection"] = connection
            command.upgrade(config, "head")
    finally:
        engine.dispose()


def seed_once(server: str, rows: int) -> SeedResult:
    with throwaway_database(server) as url:
        migrate(url)
        result = seed_database(
            url,
            plan,
            SeedOptions(scale=rows, anchor=ANCHOR),
            alembic_ini=REPOSITORY / "alembic.ini",
        )
        assert isinstance(result, SeedResult)
        return result


def server_floor(server: str, rows: int) -> SeedResult:
    """Seed with every COPY stream made before the clock starts: the server's work alone."""
    import psycopg

    from opsctl.seed import engine
    from opsctl.seed.pipeline import chunk_ranges
    from opsctl.seed.schema import read_schema

    options = SeedOptions(scale=rows, anchor=ANCHOR)
    with throwaway_database(server) as url:
        migrate(url)
        with psycopg.connect(url) as connection:
            schema = read_schema(connection, plan)
        counts = plan.row_counts(options.scale)
        maker = engine._Generator(plan, schema, options, counts, {})
        made = {
            (name, chunk.start): maker.payload(plan.table(name), chunk)
            for name in schema.load_order
            for chunk in chunk_ranges(counts[name])
        }
        original = engine._Generator.payload
        replay = lambda _self, table, chunk: made[(table.name, chunk.start)]  # noqa: E731
        setattr(engine._Generator, "payload", replay)  # noqa: B010 - a benchmark-only stand-in
        try:
            result = seed_database(url, plan, options)
        finally:
            setattr(engine._Generator, "payload", original)  # noqa: B010
        assert isinstance(result, SeedResult)
        return result


def like_for_like_once(server: str, pgbench: str, scale: int) -> SeedResult:
    """The engine loading the rows of ``pgbench -i -s scale`` into pgbench's own tables."""
    with throwaway_database(server) as url:
        # pgbench's DDL and (empty) primary keys, made by pgbench itself; not timed
        subprocess.run(
            [pgbench, "-i", "-q", "-I", "dtp", url],
            capture_output=True,
            text=True,
            check=True,
            timeout=120,
        )
        result = seed_database(
            url, pgbench_plan(scale), SeedOptions(scale=Scale.LARGE, anchor=ANCHOR)
        )
        assert isinstance(result, SeedResult)
        return result


def find_pgbench(explicit: str | None) -> str:
    for candidate in (explicit, *PGBENCH_CANDIDATES):
        if candidate and (Path(candidate).is_file() or shutil.which(candidate)):
            return candidate
    raise SystemExit("pgbench not found: pass --pgbench PATH")


def pgbench_once(server: str, pgbench: str, scale: int) -> tuple[int, float, float]:
    """(rows, total seconds, client-side generate seconds) of ``pgbench -i -s scale``."""
    with throwaway_database(server) as url:
        started = time.perf_counter()
        done = subprocess.run(
            [pgbench, "-i", "-q", "-s", str(scale), url],
            capture_output=True,
            text=True,
            check=True,
            timeout=600,
        )
        wall = time.perf_counter() - started
    found = re.search(r"done in ([\d.]+) s \(.*?generate ([\d.]+) s", done.stderr)
    total, generate = (float(found.group(1)), float(found.group(2))) if found else (wall, wall)
    rows = scale * (100_000 + 10 + 1)  # accounts, tellers, branches
    return rows, total, generate


def _with_analyze(result: SeedResult) -> float:
    """BEGIN..COMMIT plus ANALYZE: what pgbench's total holds (its vacuum step analyzes)."""
    return result.load_seconds + result.analyze_seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=sum(plan.row_counts(Scale.LARGE).values()))
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--pgbench", default=None)
    parser.add_argument(
        "--repeat",
        type=int,
        default=1,
        help="run each measurement N times, interleaved, and keep each one's fastest run "
        "(on a shared machine, other jobs only ever make a run slower)",
    )
    args = parser.parse_args()
    pgbench = find_pgbench(args.pgbench)

    quarters: list[SeedResult] = []
    fulls: list[SeedResult] = []
    floors: list[SeedResult] = []
    benches: list[tuple[int, float, float]] = []
    alikes: list[SeedResult] = []
    alike_quarters: list[SeedResult] = []
    bench_quarters: list[tuple[int, float, float]] = []
    for _ in range(max(1, args.repeat)):
        quarters.append(seed_once(args.server, args.rows // 4))
        fulls.append(seed_once(args.server, args.rows))
        floors.append(server_floor(args.server, args.rows))
        scale = max(1, round(fulls[-1].rows / 100_000))
        benches.append(pgbench_once(args.server, pgbench, scale))
        alikes.append(like_for_like_once(args.server, pgbench, scale))
        alike_quarters.append(like_for_like_once(args.server, pgbench, max(1, scale // 4)))
        bench_quarters.append(pgbench_once(args.server, pgbench, max(1, scale // 4)))
    quarter = min(quarters, key=lambda result: result.load_seconds)
    full = min(fulls, key=lambda result: result.load_seconds)
    floor = min(floors, key=lambda result: result.load_seconds)
    bench_rows, bench_total, _ = min(benches, key=lambda bench: bench[1])
    alike = min(alikes, key=_with_analyze)
    quarter_rows, quarter_total, _ = min(bench_quarters, key=lambda bench: bench[1])
    alike_quarter = min(alike_quarters, key=_with_analyze)
    assert alike.rows == bench_rows, "like for like: the rows of pgbench -i at the same scale"
    bench_generate = min(bench[2] for bench in benches)
    if args.repeat > 1:
        print(
            f"fastest of {args.repeat} runs each; opsctl seed loads: "
            + ", ".join(f"{result.load_seconds:.2f} s" for result in fulls)
            + "; pgbench totals: "
            + ", ".join(f"{bench[1]:.2f} s" for bench in benches)
            + "; like-for-like loads + ANALYZE: "
            + ", ".join(f"{_with_analyze(result):.2f} s" for result in alikes)
        )

    seed_rate = full.rows / full.load_seconds
    seed_total_rate = full.rows / (full.load_seconds + full.analyze_seconds)
    bench_rate = bench_rows / bench_total
    bench_generate_rate = bench_rows / bench_generate
    per_row_quarter = quarter.load_seconds / quarter.rows
    per_row_full = full.load_seconds / full.rows

    print(
        f"opsctl seed   {full.rows:>10,} rows  load {full.load_seconds:6.2f} s  "
        f"{seed_rate:>12,.0f} rows/s  (with ANALYZE {seed_total_rate:,.0f} rows/s; "
        f"{full.rebuild_seconds:.2f} s of the load rebuilt keys and indexes)"
    )
    print(
        f"pgbench -i    {bench_rows:>10,} rows  total {bench_total:5.2f} s  "
        f"{bench_rate:>12,.0f} rows/s  (generate step only {bench_generate_rate:,.0f} rows/s)"
    )
    floor_rate = floor.rows / floor.load_seconds
    print(
        f"server only   {floor.rows:>10,} rows  load {floor.load_seconds:6.2f} s  "
        f"{floor_rate:>12,.0f} rows/s  (streams made in advance; "
        f"{floor.rebuild_seconds:.2f} s rebuilding): ratio {floor_rate / bench_rate:.2f} "
        "is the ceiling here"
    )
    print(
        f"ratio seed/pgbench: {seed_rate / bench_rate:.2f} (target >= 0.5); "
        f"against pgbench's generate step: {seed_rate / bench_generate_rate:.2f}"
    )
    print(
        f"linearity: {quarter.rows:,} rows {quarter.load_seconds:.2f} s, {full.rows:,} rows "
        f"{full.load_seconds:.2f} s; cost per row ratio {per_row_full / per_row_quarter:.2f} "
        "(1.00 = linear)"
    )
    alike_rate = alike.rows / _with_analyze(alike)
    print(
        f"like for like {alike.rows:>10,} rows  load {_with_analyze(alike):6.2f} s  "
        f"{alike_rate:>12,.0f} rows/s  (pgbench's schema and rows, scale {scale}: "
        f"{alike.load_seconds:.2f} s BEGIN..COMMIT incl. {alike.rebuild_seconds:.2f} s for "
        f"3 primary keys, + {alike.analyze_seconds:.2f} s ANALYZE): "
        f"ratio {alike_rate / bench_rate:.2f} (target >= 0.5)"
    )
    per_row_alike = _with_analyze(alike) / alike.rows
    per_row_alike_quarter = _with_analyze(alike_quarter) / alike_quarter.rows
    print(
        f"like-for-like linearity: {alike_quarter.rows:,} rows "
        f"{_with_analyze(alike_quarter):.2f} s, {alike.rows:,} rows {_with_analyze(alike):.2f} s; "
        f"cost per row ratio {per_row_alike / per_row_alike_quarter:.2f} (1.00 = linear); "
        f"pgbench -i itself: {quarter_rows:,} rows {quarter_total:.2f} s, {bench_rows:,} rows "
        f"{bench_total:.2f} s, {(bench_total / bench_rows) / (quarter_total / quarter_rows):.2f}"
    )
    assert floor.fingerprint == full.fingerprint, "the same streams, whoever made them"
    print(f"fingerprint ({full.rows:,} rows, seed 1, anchor {ANCHOR}): {full.fingerprint}")


if __name__ == "__main__":
    main()
