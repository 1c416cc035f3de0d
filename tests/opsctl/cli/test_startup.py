"""``opsctl --help`` and ``--version`` import nothing heavy (see benchmarks/startup.py).

"Heavy" was decided by measurement (``python -X importtime -c 'import X'`` on the CI machine):
locust ~380 ms, alembic ~290 ms, ariadne ~190 ms, redis ~120 ms, psycopg ~115 ms,
httpx ~110 ms, uvicorn ~90 ms, jinja2 ~45 ms, pydantic ~40 ms, rich.console ~35 ms,
yaml ~20 ms, against ~70 ms for the whole of ``import typer``.
"""

from __future__ import annotations

import json
import subprocess
import sys

import pytest

HEAVY = (
    "sqlalchemy",
    "alembic",
    "locust",
    "ariadne",
    "starlette",
    "uvicorn",
    "psycopg",
    "httpx",
    "redis",
    "jinja2",
    "pydantic",
    "yaml",
    "rich",
)

PROGRAM = """
import json, sys
args, watched = json.loads(sys.argv[1]), set(json.loads(sys.argv[2]))
sys.argv = ["opsctl", *args]
from opsctl.cli import main
try:
    main()
except SystemExit:
    pass
heavy = sorted({name.split(".")[0] for name in sys.modules} & watched)
print("HEAVY=" + json.dumps(heavy), file=sys.stderr)
"""


@pytest.mark.parametrize(
    ("args", "allowed"),
    [
        (["--help"], ()),
        (["--version"], ()),
        (["-v", "--version"], ()),
        # Typer itself (0.29, typer._adapters) imports pydantic to coerce option types
        (["env", "check", "--help"], ("pydantic",)),
    ],
    ids=["--help", "--version", "-v --version", "env check --help"],
)
def test_help_and_version_import_nothing_heavy(args: list[str], allowed: tuple[str, ...]) -> None:
    watched = [name for name in HEAVY if name not in allowed]
    completed = subprocess.run(
        [sys.executable, "-c", PROGRAM, json.dumps(args), json.dumps(watched)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    marker = [line for line in completed.stderr.splitlines() if line.startswith("HEAVY=")]
    assert marker, completed.stderr
    assert json.loads(marker[0].removeprefix("HEAVY=")) == []
    assert "opsctl" in completed.stdout
