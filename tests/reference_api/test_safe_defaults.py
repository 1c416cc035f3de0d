"""Production-safe defaults, a secret check by entropy, and the layering that runs one way.

Before: ``APP_ENV`` defaulted to development, ``JWT_SECRET="k" * 48`` passed in production,
and loaders imported services while services imported the request context (audit S9, S10).
"""

from __future__ import annotations

import ast
import secrets
from pathlib import Path

import pytest

from reference_api.config import AppEnv, Settings, SettingsError, secret_entropy_bits

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "reference_api"
BASE = {"DATABASE_URL": "postgresql://x/y"}


def test_app_env_defaults_to_production_which_needs_a_secret() -> None:
    with pytest.raises(SettingsError, match="JWT_SECRET"):
        Settings.from_environ(BASE)
    settings = Settings.from_environ({**BASE, "JWT_SECRET": secrets.token_urlsafe(32)})
    assert settings.app_env is AppEnv.PRODUCTION and settings.is_production
    development = Settings.from_environ({**BASE, "APP_ENV": "development"})
    assert not development.is_production


@pytest.mark.parametrize(
    "secret",
    [
        "k" * 48,
        "abc" * 20,
        "password" * 6,
        "0123456789" * 5,
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaabbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb",
    ],
)
def test_low_entropy_secrets_are_refused_whatever_their_length(secret: str) -> None:
    with pytest.raises(SettingsError, match="entropy"):
        Settings.from_environ({**BASE, "JWT_SECRET": secret})


def test_random_secrets_pass_for_every_algorithm() -> None:
    for algorithm, size in (("HS256", 32), ("HS384", 48), ("HS512", 64)):
        for make in (secrets.token_urlsafe, secrets.token_hex):
            secret = make(size)
            environment = {**BASE, "JWT_ALGORITHM": algorithm, "JWT_SECRET": secret}
            assert Settings.from_environ(environment).jwt_algorithm == algorithm


def test_entropy_estimate() -> None:
    assert secret_entropy_bits("") == 0
    assert secret_entropy_bits("k" * 100) == 0
    assert secret_entropy_bits("ab" * 50) == secret_entropy_bits("ab")
    assert min(secret_entropy_bits(secrets.token_urlsafe(32)) for _ in range(200)) > 150


def test_cors_wildcard_is_refused_in_production() -> None:
    environment = {**BASE, "JWT_SECRET": secrets.token_urlsafe(32), "CORS_ORIGINS": "*"}
    with pytest.raises(SettingsError, match="CORS_ORIGINS"):
        Settings.from_environ(environment)


def _imports(path: Path) -> set[str]:
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module:
            names.add(node.module)
            names.update(f"{node.module}.{alias.name}" for alias in node.names)
        elif isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
    return {name for name in names if name.startswith("reference_api")}


def _modules(*parts: str) -> list[Path]:
    root = PACKAGE.joinpath(*parts)
    return sorted(root.rglob("*.py")) if root.is_dir() else [root.with_suffix(".py")]


FORBIDDEN = {
    # services are called with a Caller (a protocol), never with the request layer
    ("services",): (
        "reference_api.context",
        "reference_api.middleware",
        "reference_api.resolvers",
        "reference_api.graphql_api",
    ),
    ("loaders",): ("reference_api.services", "reference_api.context", "reference_api.resolvers"),
    ("dataloader",): ("reference_api.services", "reference_api.context"),
    ("domain",): (
        "reference_api.services",
        "reference_api.loaders",
        "reference_api.context",
        "reference_api.middleware",
    ),
    ("models",): ("reference_api.services", "reference_api.loaders", "reference_api.context"),
    ("security",): ("reference_api.services", "reference_api.context"),
}


@pytest.mark.parametrize("layer", list(FORBIDDEN), ids=lambda parts: "/".join(parts))
def test_the_layering_runs_one_way(layer: tuple[str, ...]) -> None:
    offending = {
        f"{path.relative_to(PACKAGE)} imports {name}"
        for path in _modules(*layer)
        for name in _imports(path)
        if name.startswith(FORBIDDEN[layer])
    }
    assert not offending
