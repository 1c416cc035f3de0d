"""The safety lint on single revision files: each rule fires on its fixture and nowhere else."""

from __future__ import annotations

from pathlib import Path

import pytest

from opsctl.gates.interface import Severity
from opsctl.gates.migrations.lint import RULES, lint_file, lint_revision
from opsctl.gates.migrations.sql import split_statements

LINT_FIXTURES = Path(__file__).resolve().parents[3] / "fixtures" / "gates" / "migrations" / "lint"
RULE_FILES = sorted(LINT_FIXTURES.glob("MIG*.py"))


def test_every_rule_has_fixtures() -> None:
    assert {path.name[:6] for path in RULE_FILES} == set(RULES)


@pytest.mark.parametrize("path", RULE_FILES, ids=lambda path: path.stem)
def test_rule_fires_on_its_fixture(path: Path) -> None:
    findings = lint_file(path, "r1", f"versions/{path.name}", set(), set())

    rule = path.name[:6]
    assert {f.rule for f in findings} == {f"migrations/{rule}"}
    first = findings[0]
    assert first.severity is Severity.ERROR
    assert first.file == f"versions/{path.name}"
    assert first.line is not None and first.line > 6  # the call, not the module header
    assert first.message.startswith("revision r1 ")
    assert first.help is not None and RULES[rule].hint in first.help


def test_safe_revision_has_no_findings() -> None:
    assert lint_file(LINT_FIXTURES / "safe_new_table.py", "r1", "x.py", set(), set()) == []


def test_downgrade_dropping_what_upgrade_created_is_not_flagged() -> None:
    source = (LINT_FIXTURES / "MIG003_drop_column.py").read_text()
    findings = lint_revision(source, "r1", "x.py", set(), set())

    # the upgrade drops an existing column; the downgrade re-adds it, which is not a drop
    assert [(f.rule, f.message.split(":")[0]) for f in findings] == [
        ("migrations/MIG003", "revision r1 upgrade()")
    ]


def test_suppression_with_reason_accepts_the_finding() -> None:
    source = (LINT_FIXTURES / "MIG001_create_index.py").read_text()
    source += "# opsctl: allow MIG001 -- tasks has 40 rows in production\n"

    [finding] = lint_revision(source, "r1", "x.py", set(), set())

    assert finding.accepted and finding.severity is Severity.NOTE
    assert "tasks has 40 rows in production" in finding.message


def test_suppression_without_reason_does_not_silence_and_is_reported() -> None:
    source = (LINT_FIXTURES / "MIG001_create_index.py").read_text()
    source += "# opsctl: allow MIG001\n"

    findings = lint_revision(source, "r1", "x.py", set(), set())

    assert sorted(f.rule for f in findings) == ["migrations/MIG000", "migrations/MIG001"]
    assert all(f.severity is Severity.ERROR for f in findings)


def test_lint_settings_ignore_and_warn() -> None:
    source = (LINT_FIXTURES / "MIG003_drop_column.py").read_text()

    assert lint_revision(source, "r1", "x.py", {"MIG003"}, set()) == []
    [warned] = lint_revision(source, "r1", "x.py", set(), {"MIG003"})
    assert warned.severity is Severity.WARNING


def test_sql_statements_are_split_outside_quotes_comments_and_dollar_quotes() -> None:
    text = """
        CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql;
        -- DROP TABLE a;
        COMMENT ON TABLE t IS 'x; y'; /* ; */ SELECT "a;b"
    """
    assert split_statements(text) == [
        "CREATE FUNCTION f() RETURNS int AS $body$ SELECT 1; $body$ LANGUAGE sql",
        "COMMENT ON TABLE t IS 'x; y'",
        'SELECT "a;b"',
    ]


def test_sql_from_module_constants_and_sa_text_is_linted() -> None:
    source = """
import sqlalchemy as sa
from alembic import op

ADD_VALUE = "ALTER TYPE task_status ADD VALUE 'blocked'"


def upgrade():
    op.execute(ADD_VALUE)
    op.execute(sa.text("DROP TABLE old_reports"))


def downgrade():
    pass
"""
    findings = lint_revision(source, "r1", "x.py", set(), set())

    assert [(f.rule, f.line) for f in findings] == [
        ("migrations/MIG008", 9),
        ("migrations/MIG003", 10),
    ]
