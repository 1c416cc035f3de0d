"""``opsctl config``: show the resolved configuration, print JSON Schemas for editors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer

from opsctl.cli._context import handle_errors, state

app = typer.Typer(
    help="Check and show opsctl.yaml and the Definition of Done.\n\nExample: opsctl config check",
    no_args_is_help=True,
    rich_markup_mode=None,
)

OPSCTL_YAML = "opsctl.yaml"
DEFINITION_OF_DONE_YAML = "definition-of-done.yaml"


@app.command("show")
def show(
    ctx: typer.Context,
    definition_of_done: Annotated[
        bool,
        typer.Option("--definition-of-done", help="Print the resolved Definition of Done instead."),
    ] = False,
) -> None:
    """Print the resolved configuration as YAML: variables expanded, secrets masked.

    The Definition of Done is validated too (when its file exists): a broken one is an error.

    Example: opsctl config show
    """
    cli = state(ctx)
    with handle_errors(cli):
        import yaml

        from opsctl.definition_of_done import load_definition_of_done
        from opsctl.output.masking import mask_value, masked_config

        project = cli.project()
        dod_file = project.config.definition_of_done
        dod = None
        if definition_of_done or project.resolve(dod_file).is_file():
            dod = load_definition_of_done(project)
        if definition_of_done and dod is not None:
            data = masked_config(dod)
            cli.info(f"# {project.resolve(dod_file)}")
        else:
            data = masked_config(project.config)
            for name in project.secret_env & set(data["service"]["env"]):  # from ${VAR}
                data["service"]["env"][name] = mask_value(data["service"]["env"][name])
            cli.info(f"# {project.path}")
            if dod is not None:
                cli.info(f"# {dod_file}: valid, gates: {', '.join(dod.sections()) or 'none'}")
        cli.console.print(
            yaml.safe_dump(data, sort_keys=False, allow_unicode=True).rstrip(),
            markup=False,
            highlight=False,
            soft_wrap=True,  # machine-readable: never wrapped at the terminal width
        )


@app.command("check")
def check(ctx: typer.Context) -> None:
    """Validate opsctl.yaml and the Definition of Done together; exit 2 naming the first problem.

    Example: opsctl config check
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.definition_of_done import load_definition_of_done

        project = cli.project()
        dod = load_definition_of_done(project)
        environments = ", ".join(project.config.environments) or "none"
        cli.console.print(
            f"{project.path.name}: valid (service {project.config.service.name}, "
            f"environments: {environments})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )
        cli.console.print(
            f"{project.config.definition_of_done}: valid "
            f"(gates: {', '.join(dod.sections()) or 'none'})",
            markup=False,
            highlight=False,
            soft_wrap=True,
        )


def schemas() -> dict[str, dict[str, Any]]:
    """JSON Schemas by file name: opsctl.yaml, and the Definition of Done when its model exists."""
    from opsctl.config.models import ProjectConfig

    found: dict[str, dict[str, Any]] = {OPSCTL_YAML: _schema(ProjectConfig, OPSCTL_YAML)}
    try:
        from opsctl.definition_of_done import DefinitionOfDone
    except ImportError:
        return found
    found[DEFINITION_OF_DONE_YAML] = _schema(DefinitionOfDone, DEFINITION_OF_DONE_YAML)
    return found


def _schema(model: Any, file_name: str) -> dict[str, Any]:
    schema: dict[str, Any] = model.model_json_schema(mode="validation")
    return {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://opsctl.invalid/schemas/{file_name.replace('.yaml', '.schema.json')}",
        **schema,
    }


@app.command("schema")
def schema(
    ctx: typer.Context,
    file: Annotated[
        str | None,
        typer.Argument(
            help=f"Print only this file's schema: {OPSCTL_YAML} or {DEFINITION_OF_DONE_YAML}.",
            show_default=False,
        ),
    ] = None,
    output_dir: Annotated[
        Path | None,
        typer.Option(
            "--output-dir",
            "-o",
            help="Write <file>.schema.json files into this folder instead of printing.",
            file_okay=False,
        ),
    ] = None,
) -> None:
    """Print the JSON Schema of opsctl.yaml and checks/definition-of-done.yaml, for editors.

    Without FILE, prints one JSON object mapping each file name to its schema.

    Example: opsctl config schema opsctl.yaml > opsctl.schema.json
    """
    cli = state(ctx)
    with handle_errors(cli):
        from opsctl.errors import UsageError

        found = schemas()
        if DEFINITION_OF_DONE_YAML not in found:
            cli.info(
                "note: the Definition of Done model (opsctl.definition_of_done) is not "
                "available; printing the schema of opsctl.yaml only"
            )
        if file is not None:
            name = Path(file).name
            if name not in found:
                raise UsageError(
                    f"no schema for {file!r}", hint="choose one of: " + ", ".join(sorted(found))
                )
            found = {name: found[name]}
        if output_dir is not None:
            output_dir.mkdir(parents=True, exist_ok=True)
            for name, content in found.items():
                target = output_dir / name.replace(".yaml", ".schema.json")
                target.write_text(json.dumps(content, indent=2) + "\n", encoding="utf-8")
                cli.info(f"wrote {target}")
            return
        document = next(iter(found.values())) if file is not None else found
        cli.console.print(
            json.dumps(document, indent=2), markup=False, highlight=False, soft_wrap=True
        )
