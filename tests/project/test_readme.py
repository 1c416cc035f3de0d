"""The README's commands are the ones CI runs, and its tour only shows examples the docs test.

CI (`.ci/run`) executes the README's two set-up commands and its lint command verbatim, so a
README that drifts from what works turns CI red. The tour's `$ opsctl …` examples must each be an
example of a document under docs/, whose own tests run it and compare its output.
"""

from __future__ import annotations

import re
from pathlib import Path

REPOSITORY_ROOT = Path(__file__).resolve().parents[2]
README = (REPOSITORY_ROOT / "README.md").read_text(encoding="utf-8")
CI_SCRIPT = (REPOSITORY_ROOT / ".ci" / "run").read_text(encoding="utf-8")


def _bash_blocks(markdown: str) -> list[str]:
    return [block.strip() for block in re.findall(r"```bash\n(.*?)```", markdown, flags=re.DOTALL)]


def _console_commands(markdown: str) -> list[str]:
    commands: list[str] = []
    for block in re.findall(r"```(?:console|text)\n(.*?)```", markdown, flags=re.DOTALL):
        for line in block.splitlines():
            if line.startswith("$ opsctl"):
                # drop trailing "# comments" the docs use to name the test that runs an example
                commands.append(" ".join(line.split("#", 1)[0].split()))
    return commands


def test_the_readme_has_exactly_two_setup_commands_and_ci_runs_both_verbatim() -> None:
    setup = [block for block in _bash_blocks(README) if "pip install" in block]
    assert len(setup) == 2, setup
    verify, tests = setup
    assert verify.endswith(".venv/bin/opsctl verify")
    assert tests.endswith(".venv/bin/python -m pytest -q")
    # .ci/run ends each &&-list with "|| exit 1" (set -e alone ignores failures inside one)
    ci_lines = {line.strip().removesuffix(" || exit 1") for line in CI_SCRIPT.splitlines()}
    for command in setup:
        assert command in ci_lines, f".ci/run does not run the README command: {command}"


def test_the_readme_lint_and_lock_commands_are_the_ones_ci_runs() -> None:
    inline = re.findall(r"`(\.venv/bin/[^`]+)`", README)
    lint = [command for command in inline if "ruff check" in command]
    lock = [command for command in inline if "uv pip compile" in command]
    assert lint and lock
    ci_text = CI_SCRIPT
    for command in [*lint, *lock]:
        assert command in ci_text, f".ci/run does not run the README command: {command}"


def test_every_tour_example_is_a_documented_example_that_the_docs_tests_run() -> None:
    documented: set[str] = set()
    for document in (REPOSITORY_ROOT / "docs").glob("*.md"):
        documented.update(_console_commands(document.read_text(encoding="utf-8")))
    tour = _console_commands(README)
    assert len(tour) >= 10
    missing = [command for command in tour if command not in documented]
    assert not missing, f"README examples that no document shows (and so no test runs): {missing}"


def test_the_documents_the_readme_links_exist() -> None:
    for target in re.findall(r"\]\((docs/[^)#]+)", README):
        assert (REPOSITORY_ROOT / target).is_file(), target
