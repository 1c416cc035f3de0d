"""What `init` reads from a repository, without running the service's code."""

from __future__ import annotations

from pathlib import Path

from tests.opsctl.init.services import SERVICES

from opsctl.init.inspect_repository import inspect_repository
from opsctl.init.rendering import load_duration_s
from opsctl.init.service_code import database_env, url_example


def test_fastapi_template_layout() -> None:
    found = inspect_repository(SERVICES / "fastapi_sqlmodel")
    assert (found.app, found.app_framework, found.app_is_factory) == (
        "app.main:app",
        "fastapi",
        False,
    )
    assert found.api == "openapi"
    assert found.source == ["app"]
    assert found.migrations == "alembic.ini" and len(found.revisions) == 2
    assert found.migration_scripts == "app/alembic"  # under the source: coverage omits it
    assert found.metadata == "app.models:SQLModel.metadata"
    assert found.lock == "requirements.txt"
    assert found.database_env == {
        "POSTGRES_DB": "{database}",
        "POSTGRES_PASSWORD": "{password}",
        "POSTGRES_PORT": "{port}",
        "POSTGRES_SERVER": "{host}",
        "POSTGRES_USER": "{user}",
    }
    assert found.env_files == [".env"]
    assert found.required_settings == []  # SECRET_KEY comes from the .env
    assert found.undecided == []


def test_flask_factory_layout() -> None:
    found = inspect_repository(SERVICES / "flask_sqlalchemy")
    assert (found.app, found.app_framework, found.app_is_factory) == (
        "notes:create_app",
        "flask",
        True,
    )
    assert found.metadata == "notes.models:Base.metadata"
    assert found.lock == "poetry.lock"
    # the scheme of the service's own example URL (a driver SQLAlchemy needs) is kept
    assert found.database_env == {
        "DATABASE_URL": "postgresql+psycopg://{user}:{password}@{host}:{port}/{database}"
    }


def test_settings_with_a_prefix_getenv_calls_and_required_fields(tmp_path: Path) -> None:
    package = tmp_path / "svc"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(
        "import os\n"
        "from pydantic_settings import BaseSettings, SettingsConfigDict\n"
        "class Settings(BaseSettings):\n"
        "    model_config = SettingsConfigDict(env_prefix='app_', env_file='.env')\n"
        "    db_host: str = 'localhost'\n"
        "    db_name: str = 'svc'\n"
        "    api_token: str\n"
        "REPLICA = os.getenv('REPLICA_DATABASE_URL')\n"
    )
    (package / "main.py").write_text(
        "from starlette.applications import Starlette\napp = Starlette()\n"
    )
    found = inspect_repository(tmp_path)
    assert found.app == "svc.main:app" and found.app_framework == "starlette"
    assert found.database_env == {
        "APP_DB_HOST": "{host}",
        "APP_DB_NAME": "{database}",
        "REPLICA_DATABASE_URL": "{url}",
    }
    assert found.required_settings == ["APP_API_TOKEN"]


def test_rate_limit_settings_of_the_service_are_named_for_the_load_run(tmp_path: Path) -> None:
    package = tmp_path / "svc"
    package.mkdir()
    (package / "__init__.py").write_text("")
    (package / "settings.py").write_text(
        "from pydantic_settings import BaseSettings\n"
        "class Settings(BaseSettings):\n"
        "    throttle_per_minute: int = 60\n"
        "RATE_LIMITED = 'RATE_LIMITED'  # an error code, not a setting\n"
    )
    (package / "main.py").write_text(
        "import os\nfrom fastapi import FastAPI\napp = FastAPI()\n"
        "LOGIN_LIMIT = int(os.environ.get('LOGIN_RATE_LIMIT', '5'))\n"
    )
    (tmp_path / "bench.py").write_text("ENV = {'RATE_LIMIT_BENCH': '1'}\n")  # not the service
    found = inspect_repository(tmp_path)
    [note] = [line for line in found.undecided if line.startswith("rate limits")]
    assert note.startswith(
        "rate limits LOGIN_RATE_LIMIT, THROTTLE_PER_MINUTE (svc/main.py, svc/settings.py): "
        "the load run is one client on 127.0.0.1"
    )
    assert "load.service_environment" in note


def test_url_templates_and_the_load_window() -> None:
    assert url_example(["X=1\nDATABASE_URL=postgresql+asyncpg://u@h/db\n"]) == (
        "postgresql+asyncpg://u@h/db"
    )
    names = {"DATABASE_URL": "a.py", "POSTGRES_SCHEMA": "a.py"}
    assert database_env(names, None) == ({"DATABASE_URL": "{url}"}, ["POSTGRES_SCHEMA"])
    assert database_env(names, "postgres://u@h/db")[0] == {"DATABASE_URL": "{url}"}
    # each operation expects twice min_samples (100) at 20/s, and never under 30 s
    assert [load_duration_s(n) for n in (1, 3, 10)] == [30, 30, 100]


def test_a_virtualenv_of_any_name_is_not_read_as_the_service(tmp_path: Path) -> None:
    (tmp_path / "svc").mkdir()
    (tmp_path / "svc" / "__init__.py").write_text("")
    (tmp_path / "svc" / "main.py").write_text("from flask import Flask\napp = Flask(__name__)\n")
    site = tmp_path / "env" / "lib" / "python3.11" / "site-packages"
    (site / "other" / "tests").mkdir(parents=True)
    (tmp_path / "env" / "pyvenv.cfg").write_text("home = /usr/bin\n")
    (site / "other" / "api.py").write_text("from fastapi import FastAPI\napp = FastAPI()\n")
    (site / "other" / "tests" / "test_db.py").write_text("metadata.create_all(engine)\n")
    found = inspect_repository(tmp_path)
    assert (found.app, found.app_framework) == ("svc.main:app", "flask")
    assert found.source == ["svc"]
    assert not found.has_tests  # the installed package's tests are not the service's
