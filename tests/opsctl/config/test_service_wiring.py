"""The service's environment: database variables from templates, opsctl's values winning."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from opsctl.config.models import ServiceConfig
from opsctl.config.service_wiring import (
    database_variables,
    overridden_dotenv_keys,
    service_environment,
    url_parts,
)

URL = "postgresql://app:s%40cret@db.internal:6543/opsctl_tmp_x"


def test_url_parts_are_decoded() -> None:
    parts = url_parts(URL)
    assert parts["host"] == "db.internal"
    assert parts["port"] == "6543"
    assert parts["user"] == "app"
    assert parts["password"] == "s@cret"
    assert parts["database"] == "opsctl_tmp_x"
    assert parts["sqlalchemy_url"].startswith("postgresql+psycopg://")


def test_postgres_parts_template() -> None:
    template = {
        "POSTGRES_SERVER": "{host}",
        "POSTGRES_PORT": "{port}",
        "POSTGRES_DB": "{database}",
        "DSN": "host={host} dbname={database}",
    }
    assert database_variables(template, URL) == {
        "POSTGRES_SERVER": "db.internal",
        "POSTGRES_PORT": "6543",
        "POSTGRES_DB": "opsctl_tmp_x",
        "DSN": "host=db.internal dbname=opsctl_tmp_x",
    }


def test_database_variables_win_over_caller_and_extra() -> None:
    environment = service_environment(
        base={"DATABASE_URL": "postgresql://prod/data", "HOME": "/root"},
        database_env=None,
        extra={"DATABASE_URL": "postgresql://other/db", "SECRET_KEY": "k"},
        database_url=URL,
    )
    assert environment["DATABASE_URL"] == URL
    assert environment["SECRET_KEY"] == "k"
    assert environment["HOME"] == "/root"


def test_no_database_leaves_variables_alone() -> None:
    environment = service_environment(
        base={"A": "1"}, database_env={"X": "{url}"}, extra={}, database_url=None
    )
    assert environment == {"A": "1"}


def test_unknown_placeholder_is_a_configuration_error() -> None:
    with pytest.raises(ValidationError, match=r"POSTGRES_HOST: unknown placeholder \{hostname\}"):
        ServiceConfig(name="s", database_env={"POSTGRES_HOST": "{hostname}"})


def test_empty_database_env_is_an_error() -> None:
    with pytest.raises(ValidationError, match="at least one variable"):
        ServiceConfig(name="s", database_env={})


def test_overridden_dotenv_keys_are_named(tmp_path: Path) -> None:
    service = tmp_path / "backend"
    service.mkdir()
    (tmp_path / ".env").write_text("# comment\nPOSTGRES_SERVER=localhost\nexport OTHER=1\n")
    (service / ".env").write_text("DATABASE_URL=postgresql://localhost/app\n")
    found = overridden_dotenv_keys(service, {"POSTGRES_SERVER": "h", "DATABASE_URL": "u"})
    assert found == {
        str(service / ".env"): ["DATABASE_URL"],
        str(tmp_path / ".env"): ["POSTGRES_SERVER"],
    }
