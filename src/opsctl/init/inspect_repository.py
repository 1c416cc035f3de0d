"""Read a service's repository into an :class:`~opsctl.init.inspection.Inspection`."""

from __future__ import annotations

import os
import re
from pathlib import Path

from opsctl.config.service_wiring import DATABASE_SETTING, dotenv_files, dotenv_keys
from opsctl.init import project_files, repository_files, service_code
from opsctl.init.inspection import Inspection

_EXAMPLE_FILES = (".env", ".env.example", ".env.sample", "env.example", "alembic.ini")


def inspect_repository(root: Path) -> Inspection:
    """Everything `init` can tell about the service in ``root``, without running its code."""
    root = root.resolve()
    inspection = Inspection(root=root, name=project_files.project_name(root))
    project_files.find_python(inspection)
    project_files.find_locks(inspection)
    project_files.find_tests(inspection)
    env_py = project_files.find_alembic(inspection)
    modules = service_code.service_modules(root)
    service_code.find_app(inspection, modules)
    service_code.find_api(inspection, modules)
    service_code.find_seed_plan(inspection, modules)
    service_code.find_metadata(inspection, env_py, modules)
    _find_settings(inspection, modules, env_py)
    inspection.tests_expect_schema = bool(inspection.migrations) and not _tests_build_schema(root)
    return inspection


def _tests_build_schema(root: Path) -> bool:
    """Whether the tests create their tables themselves (``create_all``, Alembic commands)."""
    pattern = re.compile(r"create_all|alembic|upgrade\(|pytest_alembic")
    for path in repository_files.walk(root):
        parts = set(path.relative_to(root).parts)
        in_tests = bool(parts & {"tests", "test"}) or path.name.startswith(("test", "conftest"))
        if in_tests and pattern.search(path.read_text(encoding="utf-8", errors="replace")):
            return True
    return False


def _find_settings(
    inspection: Inspection, modules: list[service_code.Module], env_py: Path | None
) -> None:
    root = inspection.root
    settings = service_code.read_settings(modules, [env_py] if env_py else [], root)
    names = dict(settings.names)
    _note_rate_limits(inspection, settings.rate_limits)
    dotenv = dotenv_files(root)
    dotenv_names: set[str] = set()
    for path in dotenv:
        inspection.env_files.append(os.path.relpath(path, root))
        for key in dotenv_keys(path):
            dotenv_names.add(key)
            if DATABASE_SETTING.match(key):
                names.setdefault(key, path.name)
    texts = [
        (root / name).read_text(encoding="utf-8", errors="replace")
        for name in _EXAMPLE_FILES
        if (root / name).is_file()
    ]
    example = service_code.url_example(texts)
    if names:
        inspection.uses_database = True
    if not names:
        if inspection.uses_database:
            inspection.undecided.append(
                "the service has migrations but opsctl found no database setting it reads: "
                "DATABASE_URL is assumed; set service.database_env if it reads another"
            )
        return
    template, unplaced = service_code.database_env(names, example)
    if list(template) != ["DATABASE_URL"] or template["DATABASE_URL"] != "{url}":
        inspection.database_env = template
    where = sorted(set(names.values()))
    inspection.note("database settings", ", ".join(sorted(template)), ", ".join(where))
    for name in unplaced:
        inspection.undecided.append(
            f"{name} ({names[name]}) looks like a database setting opsctl cannot fill: add it "
            "to service.database_env"
        )
    inspection.required_settings = [name for name in settings.required if name not in dotenv_names]


def _note_rate_limits(inspection: Inspection, found: set[tuple[str, str]]) -> None:
    """Rate-limit settings of the service: the load run, one client, would measure them."""
    limits = {  # in the service's own code, not in benchmarks or scripts beside it
        (name, where)
        for name, where in found
        if any(where == part or where.startswith(part + "/") for part in inspection.source)
    }
    if not limits or not inspection.app:
        return
    names = ", ".join(sorted({name for name, _ in limits}))
    where = ", ".join(sorted({where for _, where in limits}))
    inspection.undecided.append(
        f"rate limits {names} ({where}): the load run is one client on 127.0.0.1, so "
        "per-client limits answer it with errors; to measure the service rather than its "
        "limiter, lift them in load.service_environment"
    )
