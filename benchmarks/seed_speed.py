"""`opsctl seed` against `pgbench -i`, same server, same run; and linearity at two scales.

In one process, on throwaway databases of one PostgreSQL server:

1. the reference API migrated to head, seeded at a quarter of ``--rows`` and at ``--rows``
   (default: the plan's ``large`` total), each timed from BEGIN to COMMIT (generation, binary
   COPY into the indexed tables, sequences) and separately ANALYZE;
2. ``pgbench -i -s N`` with N chosen for a similar row count (100,000 accounts per unit),
   its own "done in" total and its "client-side generate" step.

Prints rows/s of both, the ratio (target >= 0.5 of pgbench) and the cost-per-row ratio of the
two seed scales (1.0 = perfectly linear).

Run: .venv/bin/python benchmarks/seed_speed.py [--rows N] [--server URL] [--pgbench PATH]
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=sum(plan.row_counts(Scale.LARGE).values()))
    parser.add_argument("--server", default=DEFAULT_SERVER)
    parser.add_argument("--pgbench", default=None)
    args = parser.parse_args()
    pgbench = find_pgbench(args.pgbench)

    quarter = seed_once(args.server, args.rows // 4)
    full = seed_once(args.server, args.rows)
    scale = max(1, round(full.rows / 100_000))
    bench_rows, bench_total, bench_generate = pgbench_once(args.server, pgbench, scale)

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
    print(
        f"ratio seed/pgbench: {seed_rate / bench_rate:.2f} (target >= 0.5); "
        f"against pgbench's generate step: {seed_rate / bench_generate_rate:.2f}"
    )
    print(
        f"linearity: {quarter.rows:,} rows {quarter.load_seconds:.2f} s, {full.rows:,} rows "
        f"{full.load_seconds:.2f} s; cost per row ratio {per_row_full / per_row_quarter:.2f} "
        "(1.00 = linear)"
    )
    print(f"fingerprint ({full.rows:,} rows, seed 1, anchor {ANCHOR}): {full.fingerprint}")


if __name__ == "__main__":
    main()
