"""Seeding with the public default password is refused on a database other machines reach."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
from tests.opsctl.seed.helpers import FIXTURE, REPOSITORY
from typer.testing import CliRunner

from opsctl.errors import ConfigError, ExitCode, RefusedError
from opsctl.seed.guards import non_local_hosts, refuse_public_default_password

LOCAL_URLS = [
    "postgresql://postgres@127.0.0.1:5432/app",
    "postgresql://postgres@127.8.9.10/app",
    "postgresql://postgres@localhost/app",
    "postgresql+psycopg://postgres@[::1]:5432/app",
    "postgresql://postgres@/app?host=/var/run/postgresql",  # Unix socket
    "postgresql://%2Ftmp%2Fpgsock/app",  # Unix socket, percent-encoded
    "postgresql:///app",  # no host: libpq's default Unix socket
    "postgresql://app@db.example.test/app?hostaddr=127.0.0.1",  # connects to the address
    "host=localhost,127.0.0.1 dbname=app",
]
REMOTE_URLS = [
    ("postgresql://app:s3cret@db.example.test:5432/app", ["db.example.test"]),
    ("postgresql://app@10.1.2.3/app", ["10.1.2.3"]),
    ("postgresql://app@127.0.0.1:5432,replica.example.test:5433/app", ["replica.example.test"]),
    ("postgresql://app@127.0.0.1/app?hostaddr=192.0.2.10", ["192.0.2.10"]),
    ("postgresql://app@[2001:db8::5]/app", ["2001:db8::5"]),
    ("host=db.example.test dbname=app", ["db.example.test"]),
]


@pytest.mark.parametrize("url", LOCAL_URLS)
def test_loopback_sockets_and_embedded_may_use_the_local_default(url: str) -> None:
    assert non_local_hosts(url, {}) == []
    refuse_public_default_password("local", url, {})  # no error
    refuse_public_default_password("local", "embedded", {})


@pytest.mark.parametrize(("url", "remote"), REMOTE_URLS)
def test_other_hosts_without_seed_password_are_refused_with_the_fix(
    url: str, remote: list[str]
) -> None:
    assert non_local_hosts(url, {}) == remote
    with pytest.raises(RefusedError) as refused:
        refuse_public_default_password("staging", url, {})
    assert refused.value.exit_code is ExitCode.USAGE
    text = str(refused.value)
    assert "SEED_PASSWORD is not set" in text and remote[0] in text
    assert "s3cret" not in text  # the URL's own password is never echoed
    assert "set SEED_PASSWORD" in (refused.value.hint or "")
    # an empty variable is the default too (the reference API reads it with `or`)
    with pytest.raises(RefusedError):
        refuse_public_default_password("staging", url, {"SEED_PASSWORD": ""})
    refuse_public_default_password("staging", url, {"SEED_PASSWORD": "a-secret-of-staging"})


def test_no_host_in_the_url_takes_libpqs_pghost() -> None:
    assert non_local_hosts("postgresql:///app", {"PGHOST": "db.example.test"}) == [
        "db.example.test"
    ]
    assert non_local_hosts("postgresql:///app", {"PGHOST": "/run/postgresql"}) == []


def test_a_url_libpq_cannot_read_is_a_config_error_naming_the_key() -> None:
    with pytest.raises(ConfigError) as error:
        refuse_public_default_password(
            "staging", "postgresql://app@db/app?nosuchoption=1", {}, config_file="opsctl.yaml"
        )
    assert "opsctl.yaml: environments.staging.database_url:" in str(error.value)


def test_cli_refuses_staging_with_exit_2_before_connecting(tmp_path: Path) -> None:
    from opsctl.cli import app

    project = tmp_path / "service"
    shutil.copytree(FIXTURE, project)
    config = project / "opsctl.yaml"
    # db.example.test never resolves (.test is reserved): a connection attempt would end in
    # exit 3 "cannot connect"; the refusal must come first, with exit 2 and the fix
    config.write_text(
        config.read_text(encoding="utf-8") + "  staging:\n    url: https://staging.example.test\n"
        "    database_url: postgresql://app:s3cret@db.example.test:5432/app\n",
        encoding="utf-8",
    )
    result = CliRunner().invoke(
        app,
        ["--config", str(config), "seed", "--env", "staging"],
        env={"SEED_TEST_DATABASE_URL": "", "SEED_PASSWORD": "", "NO_COLOR": "1"},
    )
    assert result.exit_code == 2, result.output
    assert "SEED_PASSWORD is not set" in result.stderr
    assert "db.example.test" in result.stderr
    assert "set SEED_PASSWORD" in result.stderr
    assert "cannot connect" not in result.output
    assert "s3cret" not in result.output
    assert "Traceback" not in result.output
    # docs/seed.md shows this very message
    docs = (REPOSITORY / "docs" / "seed.md").read_text(encoding="utf-8")
    shown = docs.split("```text\nerror: environment 'staging'", 1)[1].split("```", 1)[0]
    assert " ".join(("error: environment 'staging'" + shown).split()) in " ".join(
        result.stderr.split()
    )
