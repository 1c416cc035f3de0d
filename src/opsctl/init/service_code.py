"""What the service's code says, read without running it: its app, API, settings and models.

`init` parses the code (``ast``) instead of importing it: importing a service runs its code, and a
service may connect to its database on import. Only the OpenAPI document needs the app itself
(:mod:`opsctl.init.openapi_document`, in a subprocess with no reachable database).
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from opsctl.config.service_wiring import DATABASE_SETTING
from opsctl.init import repository_files
from opsctl.init.inspection import Inspection

APP_CLASSES = {"FastAPI": "fastapi", "Starlette": "starlette", "Flask": "flask"}
GRAPHQL_LIBRARIES = ("ariadne", "strawberry", "graphene")
#: Settings that limit how often one client may call (the load generator is one client).
RATE_LIMIT_SETTING = re.compile(r"RATE_?LIMIT(?!ED)|THROTTL")
_ENVIRONMENT_NAME = re.compile(r"[A-Z][A-Z0-9_]{2,}")
_TEST_DIRS = {"tests", "test"}
_FACTORY_NAMES = ("create_app", "make_app", "get_app", "app_factory", "build_app")
_PART_TEMPLATES = (
    (re.compile(r"(URL|URI|DSN)$"), "{url}"),
    (re.compile(r"(SERVER|HOST|HOSTNAME|HOSTADDR)$"), "{host}"),
    (re.compile(r"PORT$"), "{port}"),
    (re.compile(r"(USER|USERNAME)$"), "{user}"),
    (re.compile(r"(PASSWORD|PASS)$"), "{password}"),
    (re.compile(r"(DB|DATABASE|DBNAME|NAME)$"), "{database}"),
)


@dataclass
class Module:
    path: Path
    name: str
    tree: ast.Module


def service_modules(root: Path) -> list[Module]:
    """The service's Python modules that parse, tests and Alembic revisions left out."""
    modules = []
    base = root / "src" if (root / "src").is_dir() else root
    for path in repository_files.walk(root):
        parts = set(path.relative_to(root).parts)
        if parts & _TEST_DIRS or "versions" in parts:
            continue
        if path.name.startswith("test_") or path.name == "conftest.py":
            continue
        try:
            tree = ast.parse(path.read_text(encoding="utf-8"))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
        relative = path.relative_to(base if path.is_relative_to(base) else root).with_suffix("")
        dotted = ".".join(relative.parts).removesuffix(".__init__")
        modules.append(Module(path, dotted, tree))
    return modules


def _called_name(node: ast.AST) -> str | None:
    if isinstance(node, ast.Call):
        func = node.func
        if isinstance(func, ast.Name):
            return func.id
        if isinstance(func, ast.Attribute):
            return func.attr
    return None


def find_app(inspection: Inspection, modules: list[Module]) -> None:
    """The app ``service.app`` serves: a module-level instance, else a factory."""
    candidates: list[tuple[int, str, str, Module, bool]] = []
    for module in modules:
        depth = module.name.count(".")
        for statement in module.tree.body:
            if isinstance(statement, ast.Assign | ast.AnnAssign) and statement.value is not None:
                framework = APP_CLASSES.get(_called_name(statement.value) or "")
                targets = (
                    statement.targets if isinstance(statement, ast.Assign) else [statement.target]
                )
                for target in targets:
                    if framework and isinstance(target, ast.Name):
                        rank = depth * 10 + (0 if target.id == "app" else 5)
                        candidates.append(
                            (rank, f"{module.name}:{target.id}", framework, module, False)
                        )
            elif isinstance(statement, ast.FunctionDef):
                calls = {_called_name(node) for node in ast.walk(statement)}
                framework = next((APP_CLASSES[c] for c in APP_CLASSES if c in calls), None)
                if framework and (statement.name in _FACTORY_NAMES or "app" in statement.name):
                    rank = depth * 10 + 2 + (0 if statement.name == "create_app" else 1)
                    candidates.append(
                        (rank, f"{module.name}:{statement.name}", framework, module, True)
                    )
    if not candidates:
        inspection.undecided.append(
            "no FastAPI, Starlette or Flask app found: set service.app ('module:attribute') "
            "or service.start for the load gate and `opsctl up`"
        )
        return
    candidates.sort(key=lambda item: (item[0], item[1]))
    _, chosen, framework, module, factory = candidates[0]
    inspection.app, inspection.app_framework = chosen, framework
    inspection.app_is_factory = factory
    inspection.source = [_top_folder(inspection.root, module.path)]
    others = [item[1] for item in candidates[1:4]]
    also = f" (also found: {', '.join(others)})" if others else ""
    inspection.note("app", f"{chosen} ({framework}){also}", module.path)


def _top_folder(root: Path, path: Path) -> str:
    relative = path.relative_to(root)
    if relative.parts[0] == "src" and len(relative.parts) > 2:
        return "/".join(relative.parts[:2])
    return relative.parts[0] if len(relative.parts) > 1 else "."


def find_seed_plan(inspection: Inspection, modules: list[Module]) -> None:
    """An opsctl seed plan (``plan = SeedPlan(...)`` at module level) for ``service.seed``."""
    for module in modules:
        for statement in module.tree.body:
            if (
                isinstance(statement, ast.Assign)
                and _called_name(statement.value) == "SeedPlan"
                and isinstance(statement.targets[0], ast.Name)
            ):
                inspection.seed = f"{module.name}:{statement.targets[0].id}"
                inspection.note("seed plan", inspection.seed, module.path)
                return


def find_api(inspection: Inspection, modules: list[Module]) -> None:
    """GraphQL if a GraphQL library is imported; OpenAPI for FastAPI."""
    imported = {name.split(".")[0] for module in modules for name in _imports(module.tree)}
    graphql = [library for library in GRAPHQL_LIBRARIES if library in imported]
    if graphql:
        inspection.api = "graphql"
        inspection.note("API", f"GraphQL ({graphql[0]})", "imports")
    elif inspection.app_framework == "fastapi":
        inspection.api = "openapi"


def _imports(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module


@dataclass
class Settings:
    """The database settings the service reads, and where."""

    names: dict[str, str]  # name -> where it was read
    env_files: list[str]
    required: list[str]  # settings fields without a default
    rate_limits: set[tuple[str, str]] = field(default_factory=set)  # (name, where it was read)


def read_settings(modules: list[Module], extra: list[Path], root: Path) -> Settings:
    """Setting names from pydantic-settings classes and ``os.environ`` / ``os.getenv`` calls."""
    found = Settings({}, [], [])
    trees = [(module.path, module.tree) for module in modules]
    for path in extra:
        try:
            trees.append((path, ast.parse(path.read_text(encoding="utf-8"))))
        except (SyntaxError, UnicodeDecodeError, ValueError):
            continue
    for path, tree in trees:
        shown = path.relative_to(root).as_posix()
        for node in ast.walk(tree):
            if isinstance(node, ast.ClassDef) and _is_settings_class(node):
                _settings_class(node, shown, found)
            elif isinstance(node, ast.Call):
                name = _environ_lookup(node)
                if name and DATABASE_SETTING.match(name):
                    found.names.setdefault(name, shown)
                elif name and RATE_LIMIT_SETTING.search(name):
                    found.rate_limits.add((name, shown))
            elif (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and _ENVIRONMENT_NAME.fullmatch(node.value)
                and RATE_LIMIT_SETTING.search(node.value)
            ):  # an alias or a lookup by name: Field(alias="RATE_LIMIT_LOGIN"), env["..."]
                found.rate_limits.add((node.value, shown))
            elif isinstance(node, ast.Subscript):
                value = node.value
                if (
                    isinstance(value, ast.Attribute)
                    and value.attr == "environ"
                    and isinstance(node.slice, ast.Constant)
                    and isinstance(node.slice.value, str)
                    and DATABASE_SETTING.match(node.slice.value)
                ):
                    found.names.setdefault(node.slice.value, shown)
    return found


def _is_settings_class(node: ast.ClassDef) -> bool:
    return any(
        (isinstance(base, ast.Name) and base.id == "BaseSettings")
        or (isinstance(base, ast.Attribute) and base.attr == "BaseSettings")
        for base in node.bases
    )


def _settings_class(node: ast.ClassDef, shown: str, found: Settings) -> None:
    prefix = ""
    for statement in ast.walk(node):
        if isinstance(statement, ast.keyword) and statement.arg == "env_file":
            found.env_files.extend(_strings(statement.value))
        if isinstance(statement, ast.keyword) and statement.arg == "env_prefix":
            prefix = next(iter(_strings(statement.value)), "")
    for statement in node.body:
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            name = (prefix + statement.target.id).upper()
            if DATABASE_SETTING.match(name):
                found.names.setdefault(name, shown)
            elif RATE_LIMIT_SETTING.search(name):
                found.rate_limits.add((name, shown))
            elif statement.value is None:
                found.required.append(name)


def _strings(node: ast.AST) -> list[str]:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return [node.value]
    if isinstance(node, ast.Tuple | ast.List):
        return [item for element in node.elts for item in _strings(element)]
    return []


def _environ_lookup(node: ast.Call) -> str | None:
    func = node.func
    getter = (isinstance(func, ast.Attribute) and func.attr in ("getenv", "get")) and (
        func.attr == "getenv"
        or (isinstance(func.value, ast.Attribute) and func.value.attr == "environ")
    )
    if getter and node.args and isinstance(node.args[0], ast.Constant):
        value = node.args[0].value
        return value if isinstance(value, str) else None
    return None


def database_env(
    names: dict[str, str], url_example: str | None
) -> tuple[dict[str, str], list[str]]:
    """``service.database_env`` for these setting names, and the names it could not place."""
    template: dict[str, str] = {}
    unplaced: list[str] = []
    for name in sorted(names):
        placeholder = next(
            (value for pattern, value in _PART_TEMPLATES if pattern.search(name)), None
        )
        if placeholder is None:
            unplaced.append(name)
        elif placeholder == "{url}" and url_example and "+" in url_example.partition("://")[0]:
            # a driver in the scheme (postgresql+psycopg): the service's SQLAlchemy needs it
            scheme = url_example.partition("://")[0]
            template[name] = f"{scheme}://{{user}}:{{password}}@{{host}}:{{port}}/{{database}}"
        else:
            template[name] = placeholder
    return template, unplaced


def url_example(texts: list[str]) -> str | None:
    """A database URL the service's own files give as an example (its scheme is reused)."""
    for text in texts:
        match = re.search(r"\b(postgres(?:ql)?(?:\+\w+)?://\S+)", text)
        if match:
            return match[1]
    return None


def find_metadata(inspection: Inspection, env_py: Path | None, modules: list[Module]) -> None:
    """The models' MetaData: what ``env.py`` gives Alembic as ``target_metadata``."""
    if env_py is None:
        return
    try:
        tree = ast.parse(env_py.read_text(encoding="utf-8"))
    except (SyntaxError, UnicodeDecodeError, ValueError):
        return
    imported: dict[str, str] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            for alias in node.names:
                imported[alias.asname or alias.name] = node.module
    for value in _target_metadata_values(tree):
        if (
            isinstance(value, ast.Attribute)
            and isinstance(value.value, ast.Name)
            and value.value.id in imported
        ):
            reference = f"{imported[value.value.id]}:{value.value.id}.{value.attr}"
        elif isinstance(value, ast.Name) and value.id in imported:
            reference = f"{imported[value.id]}:{value.id}"
        else:
            continue
        if owner_is_sqlmodel(reference):
            reference = _sqlmodel_tables_module(modules, reference)
        inspection.metadata = reference
        inspection.note("models", reference, env_py)
        return
    inspection.undecided.append(
        f"{env_py.relative_to(inspection.root)} sets no target_metadata opsctl can follow: set "
        "service.metadata for the drift check"
    )


def _target_metadata_values(tree: ast.Module) -> Iterator[ast.expr]:
    """``target_metadata = X`` assignments and ``configure(target_metadata=X)`` arguments."""
    for node in ast.walk(tree):
        if (
            isinstance(node, ast.Assign)
            and any(
                isinstance(target, ast.Name) and target.id == "target_metadata"
                for target in node.targets
            )
        ) or (isinstance(node, ast.keyword) and node.arg == "target_metadata"):
            yield node.value


def owner_is_sqlmodel(reference: str) -> bool:
    return reference.split(":")[1].startswith("SQLModel")


def _sqlmodel_tables_module(modules: list[Module], reference: str) -> str:
    """SQLModel's metadata holds only the tables of modules imported: name the models module."""
    module_name = reference.split(":")[0]
    if module_name != "sqlmodel":
        return reference
    for module in modules:
        for node in ast.walk(module.tree):
            if isinstance(node, ast.ClassDef) and any(
                k.arg == "table" and isinstance(k.value, ast.Constant) and k.value.value is True
                for k in node.keywords
            ):
                return f"{module.name}:SQLModel.metadata"
    return reference
