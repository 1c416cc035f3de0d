"""Everything checked and resolved before a run (or a resume) touches the environment.

The environment is allowed → secrets resolved (the run's masker learns them) → the typed
confirmation of a protected environment. Also the question before re-running a mutating step
that may have half-run, and :func:`masked_errors`, which masks the errors a run raises.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from rich.console import Console

from opsctl.config.models import EMBEDDED, EnvironmentConfig, LoadedProject
from opsctl.config.project import get_environment
from opsctl.errors import OpsctlError, RefusedError
from opsctl.runbook.display import Display, StdinPrompter
from opsctl.runbook.load import LoadedRunbook
from opsctl.runbook.secrets import Masker, current_environ, resolve_secrets
from opsctl.runbook.steps.interface import NoAnswerError, Prompter


@dataclass
class Prepared:
    loaded: LoadedRunbook
    env: EnvironmentConfig
    secrets: dict[str, str]
    masker: Masker
    display: Display
    prompter: Prompter
    database_url: Callable[[], str]
    env_extra: dict[str, Any]

    @property
    def shared_database(self) -> bool:
        """A database other machines reach too (``embedded`` lives in one checkout)."""
        url = self.env.database_url.get_secret_value() if self.env.database_url else ""
        return bool(url) and url != EMBEDDED


def prepare(
    project: LoadedProject,
    loaded: LoadedRunbook,
    env_name: str,
    console: Console,
    prompter: Prompter | None,
    environ: Mapping[str, str] | None,
) -> Prepared:
    runbook = loaded.runbook
    if runbook.environments and env_name not in runbook.environments:
        raise RefusedError(
            f"runbook {runbook.name} may not run in {env_name!r} "
            f"(its environments: {', '.join(runbook.environments)})"
        )
    env = get_environment(project, env_name)
    values = resolve_secrets(
        runbook.secrets,
        root=project.root,
        environ=current_environ() if environ is None else environ,
        file=loaded.display,
    )
    masker = Masker(list(values.values()))
    for url in (env.database_url, env.redis_url):
        if url is not None and url.get_secret_value() != EMBEDDED:
            masker.add_url(url.get_secret_value())
    display = Display(console, masker)

    @functools.cache
    def database_url() -> str:
        from opsctl.database.servers import environment_database_url

        url = environment_database_url(project, env)
        masker.add_url(url)
        return url

    extra: dict[str, Any] = {
        "has_redis": bool(env.redis_url and env.redis_url.get_secret_value()),
        "has_database": bool(env.database_url and env.database_url.get_secret_value()),
    }
    if env.redis_url is not None:
        extra["redis_url"] = env.redis_url.get_secret_value()
    if "env.database_url" in loaded.text:
        # resolved now, so a missing or unreachable database stops the run before any step
        extra["database_url"] = database_url()
    return Prepared(
        loaded,
        env,
        values,
        masker,
        display,
        prompter or StdinPrompter(console, masker),
        database_url,
        extra,
    )


def confirm_protected(prep: Prepared, env_name: str, who: dict[str, Any]) -> dict[str, Any] | None:
    """A protected environment needs its name typed; ``--yes`` never answers this."""
    if not prep.env.protected:
        return None
    question = f"{env_name} is a protected environment. Type its name to continue:"
    try:
        answer = prep.prompter.ask(question)
    except NoAnswerError:
        raise RefusedError(
            f"{env_name} is protected: a typed confirmation is needed and input is closed"
        ) from None
    if answer != env_name:
        raise RefusedError(f"confirmation did not match {env_name!r}: nothing was done")
    return {"typed": env_name, "by": who.get("user")}


def confirm_rerun(
    prep: Prepared, step_id: str, kind: str, status: str, who: dict[str, Any]
) -> dict[str, Any]:
    note = " (its transaction was rolled back)" if kind == "sql" else ""
    question = (
        f"step {step_id} is mutating and may have half-run before the run stopped "
        f"(last status: {status}){note}. Check its effect. Re-run it? [y/N]"
    )
    try:
        answer = prep.prompter.ask(question)
    except NoAnswerError:
        answer = ""
    return {"question": question, "answer": answer or "no answer", "by": who.get("user")}


@contextmanager
def masked_errors(masker: Masker) -> Iterator[None]:
    """Mask the message of any error leaving the block: the CLI prints it as is."""
    try:
        yield
    except OpsctlError as error:
        error.message = masker.text(error.message)
        error.hint = masker.text(error.hint) if error.hint is not None else None
        error.args = (error.message,)
        raise
    except Exception as error:
        error.args = tuple(masker.text(a) if isinstance(a, str) else a for a in error.args)
        raise


def display_path(name: str) -> str:
    return str(Path("runbooks") / f"{name}.yaml")
