"""The migrations gate against pytest-alembic's ``test_up_down_consistency``, same 50 revisions.

Generates an Alembic project with a 50-revision chain (tables with foreign keys, added
columns, enum types, concurrent indexes) and models matching its head, then times, in one
process and on the same PostgreSQL server:

- pytest-alembic's ``test_up_down_consistency`` (upgrade each revision, downgrade each, upgrade
  again; it only checks that nothing raises), on a fresh throwaway database;
- ``opsctl verify migrations`` (the gate: history, lint, per-revision round trip compared by
  catalog snapshot, and drift against the models), which checks more.

Run: .venv/bin/python benchmarks/migrations_gate.py [--revisions 50] [--repeat 3] [--server URL]
"""

from __future__ import annotations

import argparse
import tempfile
import textwrap
import time
from pathlib import Path

import sqlalchemy as sa
from alembic.config import Config as AlembicConfig

from opsctl.config.project import get_environment, load_project
from opsctl.database.throwaway import throwaway_database
from opsctl.database.urls import to_sqlalchemy
from opsctl.definition_of_done import load_definition_of_done
from opsctl.gates.interface import GateContext
from opsctl.gates.migrations.gate import MigrationsGate

FIXTURES = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "gates" / "migrations"
DEFAULT_SERVER = "postgresql://postgres@127.0.0.1:5432/postgres"


def _revision(number: int, upgrade: list[str], downgrade: list[str]) -> str:
    parent = f'"{number - 1:04d}"' if number > 1 else "None"
    return (
        f'"""Generated revision {number}."""\n\n'
        "import sqlalchemy as sa\nfrom alembic import op\n\n"
        f'revision = "{number:04d}"\ndown_revision = {parent}\n\n\n'
        "def upgrade():\n" + textwrap.indent("\n".join(upgrade), "    ") + "\n\n\n"
        "def downgrade():\n" + textwrap.indent("\n".join(downgrade), "    ") + "\n"
    )


def generate(root: Path, revisions: int) -> None:
    """Write the project: opsctl.yaml, alembic.ini, env.py, the chain and matching models."""
    versions = root / "migrations" / "versions"
    versions.mkdir(parents=True)
    (root / "app").mkdir()
    (root / "app" / "__init__.py").write_text("")
    env_py = (FIXTURES / "_common" / "migrations" / "env.py").read_text()
    (root / "migrations" / "env.py").write_text(env_py)
    (root / "alembic.ini").write_text(
        "[alembic]\nscript_location = %(here)s/migrations\nprepend_sys_path = .\n"
        "path_separator = os\n"
    )
    (root / "opsctl.yaml").write_text(
        "service:\n  name: bench\n  migrations: alembic.ini\n  metadata: app.models:metadata\n"
        "definition_of_done: dod.yaml\n"
        "environments:\n  local:\n    url: http://127.0.0.1:9\n    database_url: ${BENCH_DB}\n"
    )
    (root / "dod.yaml").write_text("migrations:\n  drift: true\n")
    models = ["import sqlalchemy as sa", "", "metadata = sa.MetaData()", ""]
    tables: dict[str, list[str]] = {}
    last_table = ""
    for number in range(1, revisions + 1):
        kind = number % 3
        if kind == 1 or not last_table:
            table = f"t{number:04d}"
            columns = [
                'sa.Column("id", sa.Integer, primary_key=True)',
                'sa.Column("name", sa.Text, nullable=False)',
            ]
            if last_table:
                columns.append(
                    f'sa.Column("parent_id", sa.Integer, sa.ForeignKey("{last_table}.id", '
                    f'name="fk_{table}_parent", ondelete="CASCADE"))'
                )
            body = ",\n    ".join(columns)
            upgrade = [f'op.create_table(\n    "{table}",\n    {body},\n)']
            downgrade = [f'op.drop_table("{table}")']
            tables[table] = list(columns)
            last_table = table
        elif kind == 2:
            column = f'sa.Column("note{number}", sa.Text)'
            upgrade = [f'op.add_column("{last_table}", {column})']
            downgrade = [f'op.drop_column("{last_table}", "note{number}")']
            tables[last_table].append(column)
        else:
            enum = f'sa.Enum("a", "b", "c", name="state{number}")'
            index = f"ix_{last_table}_state{number}"
            upgrade = [
                f"{enum}.create(op.get_bind())",
                f'op.add_column("{last_table}", sa.Column("state{number}", {enum}))',
                "with op.get_context().autocommit_block():",
                f'    op.create_index("{index}", "{last_table}", ["state{number}"], '
                "postgresql_concurrently=True)",
            ]
            downgrade = [
                "with op.get_context().autocommit_block():",
                f'    op.drop_index("{index}", table_name="{last_table}", '
                "postgresql_concurrently=True)",
                f'op.drop_column("{last_table}", "state{number}")',
                f"{enum}.drop(op.get_bind())",
            ]
            tables[last_table].append(f'sa.Column("state{number}", {enum})')
            tables[last_table].append(f'sa.Index("{index}", "state{number}")')
        path = versions / f"{number:04d}_step.py"
        path.write_text(_revision(number, upgrade, downgrade))
    for table, columns in tables.items():
        body = ",\n    ".join(columns)
        models.append(f'{table} = sa.Table(\n    "{table}",\n    metadata,\n    {body},\n)')
    (root / "app" / "models.py").write_text("\n".join(models) + "\n")


def time_pytest_alembic(root: Path, server: str) -> float:
    from pytest_alembic import Config, runner
    from pytest_alembic.tests import test_up_down_consistency

    config = AlembicConfig(str(root / "alembic.ini"))
    started = time.perf_counter()
    with throwaway_database(server) as url:
        engine = sa.create_engine(to_sqlalchemy(url), poolclass=sa.NullPool)
        try:
            with runner(config=Config(alembic_config=config), engine=engine) as alembic_runner:
                test_up_down_consistency(alembic_runner)
        finally:
            engine.dispose()
    return time.perf_counter() - started


def time_gate(root: Path, server: str) -> tuple[float, str]:
    environ = {"BENCH_DB": server}
    project = load_project(root / "opsctl.yaml", environ=environ)
    context = GateContext(
        project=project,
        definition_of_done=load_definition_of_done(project, environ=environ),
        environment_name="local",
        environment=get_environment(project, "local"),
    )
    started = time.perf_counter()
    result = MigrationsGate().run(context)
    elapsed = time.perf_counter() - started
    problems = [f.message for f in result.findings if f.severity.value == "error"]
    return elapsed, f"{result.status.value} ({result.summary}){problems[:3] or ''}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--revisions", type=int, default=50)
    parser.add_argument("--server", default=DEFAULT_SERVER, help="PostgreSQL admin URL")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each; the best counts")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder) / "bench"
        root.mkdir()
        generate(root, args.revisions)
        import sys

        sys.path.insert(0, str(root))  # pytest-alembic runs env.py in this process too
        baselines, gates = [], []
        for _ in range(args.repeat):  # interleaved, so load from elsewhere hits both alike
            baselines.append(time_pytest_alembic(root, args.server))
            elapsed, verdict = time_gate(root, args.server)
            gates.append(elapsed)
        baseline, opsctl = min(baselines), min(gates)
    print(f"revisions: {args.revisions}, best of {args.repeat} interleaved runs each")
    print(f"pytest-alembic test_up_down_consistency: {baseline:.2f} s")
    print(f"opsctl migrations gate:                  {opsctl:.2f} s  -> {verdict}")
    print(f"ratio opsctl / pytest-alembic: {opsctl / baseline:.2f}")


if __name__ == "__main__":
    main()
