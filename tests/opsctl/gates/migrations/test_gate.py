"""The migrations gate on fixture projects, one per failure mode, on a real PostgreSQL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import psycopg
import pytest

from opsctl.config.project import get_environment, load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.errors import ConfigError
from opsctl.gates.interface import (
    Finding,
    GateContext,
    GateResult,
    Measurement,
    Severity,
    Status,
)
from opsctl.gates.migrations.alembic_env import AlembicProject
from opsctl.gates.migrations.gate import MigrationsGate, _Run
from opsctl.gates.migrations.settings import MigrationsSettings

MakeProject = Callable[..., Path]  # the make_project fixture (conftest.py)
RunGate = Callable[..., GateResult]  # the run_gate fixture (conftest.py)
UNREACHABLE_URL = "postgresql://postgres@127.0.0.1:9/postgres"  # nothing listens on port 9


def errors(result: GateResult) -> list[Finding]:
    return [f for f in result.findings if f.severity is Severity.ERROR and not f.accepted]


def messages(result: GateResult) -> list[str]:
    return [f.message for f in errors(result)]


def test_passing_project_passes_with_drift_data_and_irreversible_marker(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    result = run_gate(make_project("passing"))

    assert errors(result) == []
    assert result.reasons == []
    assert result.status is Status.PASSED
    assert result.details["round_tripped"] == 3
    assert result.details["irreversible"] == ["0004"]
    assert result.details["seeded_rows"] == {"projects": 3, "tasks": 20}
    assert result.details["objects_compared"] > 20  # the drift check compared real objects
    notes = {f.rule: f for f in result.findings if f.severity is Severity.NOTE}
    assert "archived rows are exported" in notes["migrations/irreversible"].message
    assert notes["migrations/MIG006"].accepted
    assert "tasks has a few hundred rows" in notes["migrations/MIG006"].message


def test_common_base_passes(make_project: MakeProject, run_gate: RunGate) -> None:
    result = run_gate(make_project("_common_only"))

    assert result.status is Status.PASSED, result.findings
    assert result.details["round_tripped"] == 1


def test_merged_branches_pass_each_branch_round_tripped_alone(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    result = run_gate(make_project("merged_branches"))

    assert result.status is Status.PASSED, result.findings
    assert result.details["round_tripped"] == 4


def test_no_revisions_is_incomplete(make_project: MakeProject, run_gate: RunGate) -> None:
    root = make_project("_common_only")
    (root / "migrations/versions/0001_base.py").unlink()

    result = run_gate(root)

    assert result.status is Status.INCOMPLETE
    assert result.reasons == ["no revisions in migrations/versions: nothing to check"]


@pytest.mark.parametrize(
    ("case", "expected"),
    [
        (
            "noop_not_null",
            "after downgrading 0002, column title on tasks is `text not null` "
            "but was `text null` before the upgrade",
        ),
        ("index_if_not_exists", "after downgrading 0002, index ix_tasks_due on tasks still exists"),
        ("function_left", "after downgrading 0002, function set_updated_at() still exists"),
        ("enum_left", "after downgrading 0002, enum type label_color still exists"),
        (
            "fk_on_delete",
            "after downgrading 0002, constraint fk_tasks_project_id on tasks is "
            "`FOREIGN KEY (project_id) REFERENCES projects(id)` but was "
            "`FOREIGN KEY (project_id) REFERENCES projects(id) ON DELETE CASCADE` "
            "before the upgrade",
        ),
    ],
)
def test_reversibility_by_state_catches(
    case: str, expected: str, make_project: MakeProject, run_gate: RunGate
) -> None:
    result = run_gate(make_project(case))

    assert result.status is Status.FAILED
    assert expected in messages(result)
    finding = next(f for f in errors(result) if f.message == expected)
    assert finding.rule == "migrations/reversibility"
    assert finding.file is not None and finding.file.startswith("migrations/versions/0002")
    assert finding.line is not None
    # what else each case shows, besides the difference of state
    also = {
        "noop_not_null": ["downgrade() of 0002 is empty"],
        "enum_left": [
            'upgrading 0002 again after its downgrade fails: DuplicateObject: type "label_color" '
            "already exists"
        ],
    }
    assert sorted(messages(result)) == sorted([expected, *also.get(case, [])])


def test_second_upgrade_must_rebuild_the_first_upgrade_state(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    result = run_gate(make_project("reupgrade_differs"))

    assert sorted(messages(result)) == [
        "after downgrading 0002, column score on tasks still exists",
        "after upgrading 0002 again, column score on tasks is defined differently than after "
        "the first upgrade",
    ]


def test_raising_downgrade_fails_without_irreversible_marker(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    result = run_gate(make_project("downgrade_raises"))

    assert result.status is Status.FAILED
    [finding] = errors(result)
    assert finding.message == "downgrading 0002 fails: NotImplementedError: no way back"
    assert finding.file == "migrations/versions/0002_one_way.py"
    assert finding.line == 15  # the raise in downgrade()
    assert "opsctl_irreversible" in (finding.help or "")


def test_drift_between_models_and_migrations(make_project: MakeProject, run_gate: RunGate) -> None:
    result = run_gate(make_project("drift"))

    assert result.status is Status.FAILED
    assert sorted(messages(result)) == [
        "constraint ck_tasks_title_not_empty on tasks is in the models but the migrations "
        "do not create it",
        "index ix_tasks_due on tasks is in the models but the migrations do not create it",
    ]
    assert {f.rule for f in errors(result)} == {"migrations/drift"}
    # each points at the line of the models that spells the object
    assert sorted((f.file, f.line) for f in errors(result)) == [
        ("app/models/__init__.py", 24),
        ("app/models/__init__.py", 25),
    ]


def test_extension_created_by_a_revision_is_a_note_not_drift(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    # models cannot declare extensions, so one the migrations create is not a difference to fix
    result = run_gate(make_project("extension_only"))

    assert result.status is Status.PASSED, [f.message for f in result.findings]
    [note] = [f for f in result.findings if f.rule == "migrations/drift"]
    assert note.severity is Severity.NOTE
    assert "extension pg_trgm" in note.message
    assert "models cannot declare extensions" in note.message


def test_drift_allowances_accept_matching_differences(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    root = make_project(
        "drift",
        definition_of_done_yaml="migrations:\n  allow: ['index ix_tasks_* on tasks']\n",
    )
    result = run_gate(root)

    assert messages(result) == [
        "constraint ck_tasks_title_not_empty on tasks is in the models but the migrations "
        "do not create it"
    ]
    assert any(f.accepted and "ix_tasks_due" in f.message for f in result.findings)


def test_models_module_not_imported_by_the_metadata(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    result = run_gate(make_project("models_not_imported"))

    assert messages(result) == [
        "models module app.models.audit is not imported by app.models: "
        "its tables audit_log are missing from the metadata"
    ]


@pytest.mark.parametrize(
    ("case", "expected", "file", "line"),
    [
        (
            "history_heads",
            "the history has 2 heads: 0002a (migrations/versions/0002a.py), "
            "0002b (migrations/versions/0002b.py)",
            "migrations/versions/0002b.py",
            None,
        ),
        (
            "history_dangling",
            "revision 0003 points at 0002, which does not exist",
            "migrations/versions/0003_orphan.py",
            7,
        ),
        (
            "history_duplicate",
            "revision id 0002 is used by 2 files: migrations/versions/0002_first.py, "
            "migrations/versions/0002_second.py",
            "migrations/versions/0002_second.py",
            6,
        ),
        (
            "unloadable",
            "revision file migrations/versions/0002_broken.py does not load: "
            "ModuleNotFoundError: No module named 'app.helpers_that_do_not_exist'",
            "migrations/versions/0002_broken.py",
            5,
        ),
    ],
)
def test_broken_history(
    case: str,
    expected: str,
    file: str,
    line: int | None,
    make_project: MakeProject,
    run_gate: RunGate,
) -> None:
    # The database is unreachable on purpose: a broken history fails without touching it.
    result = run_gate(make_project(case), database_url=UNREACHABLE_URL)

    assert result.status is Status.FAILED
    [finding] = errors(result)
    assert (finding.rule, finding.message, finding.file, finding.line) == (
        "migrations/history",
        expected,
        file,
        line,
    )
    assert result.reasons == ["the history is broken, so no database check ran"]


def test_seeded_rows_must_survive(make_project: MakeProject, run_gate: RunGate) -> None:
    result = run_gate(make_project("data_loss"))

    assert messages(result) == [
        "after upgrading 0002, seeded rows of tasks did not survive: "
        "10 of 20 seeded rows are gone or changed"
    ]
    assert errors(result)[0].rule == "migrations/data"


def test_upgrade_failing_on_seeded_rows(make_project: MakeProject, run_gate: RunGate) -> None:
    result = run_gate(make_project("upgrade_fails_on_data"))

    assert result.status is Status.FAILED
    failure = next(f for f in errors(result) if f.rule == "migrations/upgrade")
    assert failure.message == (
        'upgrading to 0002 fails: NotNullViolation: column "owner" of relation "tasks" '
        "contains null values"
    )
    assert (failure.file, failure.line) == ("migrations/versions/0002_owner.py", 11)  # the call
    assert "migrations/MIG002" in {f.rule for f in errors(result)}  # the lint saw it coming
    assert result.reasons == [
        "stopped at 0002: its upgrade fails",
        "drift not checked: the history could not be migrated to head",
    ]


def test_data_table_that_never_exists_is_incomplete(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    root = make_project("_common_only", definition_of_done_yaml="migrations: {data: {taks: 5}}\n")

    result = run_gate(root)

    assert result.status is Status.INCOMPLETE
    assert result.reasons == ["data not checked for taks: no such table at head (migrations.data)"]


def test_unreachable_database_is_incomplete_never_passed(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    result = run_gate(make_project("_common_only"), database_url=UNREACHABLE_URL)

    assert result.status is Status.INCOMPLETE
    assert result.findings == []
    assert result.reasons[0].startswith("database checks did not run: cannot connect")


def test_lint_findings_fail_the_gate_unless_configured_as_warnings(
    make_project: MakeProject, run_gate: RunGate, tmp_path: Path
) -> None:
    revision = (
        Path(__file__).resolve().parents[3] / "fixtures/gates/migrations/lint/MIG003_drop_column.py"
    ).read_text()
    revision = revision.replace("down_revision = None", 'down_revision = "0001"')
    revision = revision.replace('"legacy_code"', '"title"')
    root = make_project("_common_only")
    (root / "migrations/versions/0002_drop_title.py").write_text(revision)

    failed = run_gate(root)
    (root / "definition-of-done.yaml").write_text(
        "migrations: {drift: false, lint: {warn: [MIG003]}}\n"
    )
    warned = run_gate(root)

    [finding] = errors(failed)
    assert finding.rule == "migrations/MIG003"
    assert (finding.file, finding.line) == ("migrations/versions/0002_drop_title.py", 9)
    assert finding.message == (
        "revision a005 upgrade(): column or table dropped: column tasks.title dropped"
    )
    assert warned.status is Status.PASSED
    assert [f.rule for f in warned.findings if f.severity is Severity.WARNING] == [
        "migrations/MIG003"
    ]


def test_env_py_that_only_reads_sqlalchemy_url_works(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    result = run_gate(make_project("env_uses_url"))

    assert result.status is Status.PASSED, result.findings
    assert result.details["round_tripped"] == 1


def test_env_py_that_migrates_another_database_is_incomplete(
    make_project: MakeProject,
    run_gate: RunGate,
    database_url: str,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # database_url is a throwaway database standing in for "the environment's data database";
    # under a name no database setting has (those are not passed on to env.py at all)
    monkeypatch.setenv("FIXTURE_ELSEWHERE", database_url.replace("://", "+psycopg://"))

    result = run_gate(make_project("env_ignores_connection"))

    assert result.status is Status.INCOMPLETE
    assert result.reasons == [
        "env.py did not migrate the database opsctl gave it: it must use "
        "config.attributes['connection'] when set (or sqlalchemy.url)"
    ]
    with psycopg.connect(database_url) as other:  # caught before any revision ran there
        assert other.execute("SELECT to_regclass('tasks')").fetchone() == (None,)


@pytest.mark.parametrize(
    ("models", "expected"),
    [
        (
            "raise RuntimeError('models are broken')\n",
            "cannot load service.metadata 'app.models:metadata': RuntimeError: models are broken",
        ),
        (
            "import sqlalchemy as sa\nmetadata = sa.MetaData()\n"
            "sa.event.listen(metadata, 'after_create', sa.DDL('CREATE NONSENSE'))\n",
            "metadata.create_all() of the models fails on an empty database: "
            'syntax error at or near "NONSENSE"',
        ),
    ],
)
def test_broken_models_are_findings(
    models: str, expected: str, make_project: MakeProject, run_gate: RunGate
) -> None:
    root = make_project("drift")
    (root / "app/models/__init__.py").write_text(models)

    result = run_gate(root)

    assert result.status is Status.FAILED
    assert messages(result) == [expected]


def test_service_without_migrations_is_skipped(make_project: MakeProject) -> None:
    root = make_project("_common_only")
    config = (root / "opsctl.yaml").read_text().replace("  migrations: alembic.ini\n", "")
    (root / "opsctl.yaml").write_text(config)
    project = load_project(root / "opsctl.yaml", environ={"FIXTURE_DATABASE_URL": "embedded"})
    context = GateContext(
        project=project,
        definition_of_done=None,
        environment_name="local",
        environment=get_environment(project, "local"),
    )

    assert MigrationsGate().skip_reason(context) == (
        "the service has no migrations (service.migrations in opsctl.yaml)"
    )


def _context(root: Path) -> GateContext:
    environ = {"FIXTURE_DATABASE_URL": "embedded"}
    project = load_project(root / "opsctl.yaml", environ=environ)
    return GateContext(
        project=project,
        definition_of_done=load_definition_of_done(project, environ=environ),
        environment_name="local",
        environment=get_environment(project, "local"),
    )


def test_definition_of_done_asking_for_migrations_the_service_lacks_is_a_config_error(
    make_project: MakeProject,
) -> None:
    # deleting one key must not turn the gate off while the Definition of Done asks for it
    root = make_project("_common_only")
    config = (root / "opsctl.yaml").read_text().replace("  migrations: alembic.ini\n", "")
    (root / "opsctl.yaml").write_text(config)
    context = _context(root)

    for call in (MigrationsGate().skip_reason, MigrationsGate().run):
        with pytest.raises(ConfigError) as caught:
            call(context)
        assert caught.value.key == "service.migrations"
        assert (caught.value.file, caught.value.line) == ("opsctl.yaml", 1)
        assert str(caught.value).startswith(
            "opsctl.yaml:1: service.migrations: not set, but definition-of-done.yaml:1 has a "
            "`migrations` section that asks for the migrations gate"
        )
        assert "remove the `migrations` key from definition-of-done.yaml" in str(caught.value)


def test_missing_alembic_ini_is_a_config_error(make_project: MakeProject) -> None:
    root = make_project("_common_only")
    (root / "alembic.ini").unlink()
    context = _context(root)

    for call in (MigrationsGate().skip_reason, MigrationsGate().run):
        with pytest.raises(ConfigError) as caught:
            call(context)
        assert str(caught.value).startswith(
            "opsctl.yaml:3: service.migrations: the Alembic config file alembic.ini does not exist"
        )


def test_verdict_never_passes_a_measurement_that_did_not_pass(make_project: MakeProject) -> None:
    context = _context(make_project("_common_only"))
    alembic = AlembicProject(context.project.resolve("alembic.ini"))

    def verdict(measurement: Measurement) -> GateResult:
        run = _Run(context, MigrationsSettings(), alembic)  # no finding, no reason
        run.details["revisions"] = 3
        run.measurements.append(measurement)
        return run.result(0.0)

    short = verdict(
        Measurement("revisions round-tripped", 2, threshold=3, unit="revisions", passed=False)
    )
    unmeasured = verdict(Measurement("revisions round-tripped", None, threshold=3))

    assert short.status is Status.FAILED
    assert short.summary == "revisions round-tripped: 2 revisions, needs >= 3"
    assert unmeasured.status is Status.INCOMPLETE
    assert unmeasured.reasons == ["revisions round-tripped could not be measured"]


def test_data_tables_the_last_revision_creates_are_reported_as_not_yet_checked(
    make_project: MakeProject, run_gate: RunGate
) -> None:
    root = make_project(
        "_common_only", definition_of_done_yaml="migrations: {data: {projects: 3, tasks: 5}}\n"
    )

    result = run_gate(root)

    # 0001 creates both tables: no upgrade ran over seeded rows, and the report says so
    assert result.status is Status.PASSED
    assert result.details["seeded_rows"] == {}
    assert result.details["data_not_yet_checked"] == ["projects", "tasks"]
    [note] = [f for f in result.findings if f.rule == "migrations/data"]
    assert note.severity is Severity.NOTE
    assert note.message.startswith("seeded rows of projects, tasks were not checked")


def test_a_protected_environment_gets_the_static_checks_and_no_database_on_its_server(
    make_project: MakeProject, run_gate: RunGate, postgres_server_url: str
) -> None:
    root = make_project("_common_only")
    config = root / "opsctl.yaml"
    config.write_text(
        config.read_text().replace(
            "    url: http://127.0.0.1:9\n", "    url: http://127.0.0.1:9\n    protected: true\n"
        )
    )
    before = _throwaway_databases(postgres_server_url)
    result = run_gate(root)

    assert result.status is Status.INCOMPLETE
    assert result.reasons == [
        "database checks did not run: refusing to create throwaway databases on a protected "
        "environment's server\n  hint: checks that need a database run on local or a staging "
        "environment"
    ]
    assert result.details["revisions"] == 1  # the history was still read and judged
    assert _throwaway_databases(postgres_server_url) == before  # nothing made on that server


def _throwaway_databases(server_url: str) -> set[str]:
    with psycopg.connect(server_url, autocommit=True) as connection:
        rows = connection.execute(
            "SELECT datname FROM pg_database WHERE datname LIKE 'opsctl_tmp_%'"
        ).fetchall()
    return {str(row[0]) for row in rows}
