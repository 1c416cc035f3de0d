"""Find and load ``opsctl.yaml``: from ``--config``, or the current directory and its parents."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

from opsctl.config.loader import load_yaml_model
from opsctl.config.models import EnvironmentConfig, LoadedProject, ProjectConfig
from opsctl.errors import ConfigError, UsageError

CONFIG_FILE_NAME = "opsctl.yaml"


def find_config_file(start: Path) -> Path | None:
    """The nearest ``opsctl.yaml`` in ``start`` or its parents, like git finds ``.git``."""
    for folder in (start, *start.parents):
        candidate = folder / CONFIG_FILE_NAME
        if candidate.is_file():
            return candidate
    return None


def load_project(
    explicit: Path | None = None,
    *,
    cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> LoadedProject:
    """Load the project configuration, or raise :class:`ConfigError` saying what to do."""
    if explicit is not None:
        # --config may name the repository folder as well as the file
        path = explicit / CONFIG_FILE_NAME if explicit.is_dir() else explicit
        if not path.is_file():
            raise ConfigError("file not found", file=str(path))
    else:
        start = (cwd or Path.cwd()).resolve()
        found = find_config_file(start)
        if found is None:
            raise ConfigError(
                f"no {CONFIG_FILE_NAME} in {start} or any parent folder",
                file=CONFIG_FILE_NAME,
                hint="run opsctl from the service's repository, or pass --config PATH",
            )
        path = found
    config = load_yaml_model(path, ProjectConfig, environ=environ)
    return LoadedProject(config=config, path=path.resolve(), secret_env=_from_environment(path))


def _from_environment(path: Path) -> frozenset[str]:
    """Names of ``service.env`` whose value is written with ``${VAR}`` (read before expansion)."""
    import yaml

    try:
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError):  # the loader above reported it already
        return frozenset()
    service = raw.get("service") if isinstance(raw, dict) else None
    env = service.get("env") if isinstance(service, dict) else None
    if not isinstance(env, dict):
        return frozenset()
    return frozenset(str(name) for name, value in env.items() if "${" in str(value))


def get_environment(project: LoadedProject, name: str) -> EnvironmentConfig:
    """The named environment, or a :class:`UsageError` listing the ones that exist."""
    try:
        return project.config.environments[name]
    except KeyError:
        known = ", ".join(sorted(project.config.environments)) or "none"
        raise UsageError(
            f"unknown environment '{name}' (defined in {project.path.name}: {known})"
        ) from None
