"""The ``migrations`` section of the Definition of Done: mistakes name file, line and key."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest

from opsctl.config.project import load_project
from opsctl.definition_of_done import load_definition_of_done
from opsctl.errors import ConfigError


@pytest.mark.parametrize(
    ("section", "expected"),
    [
        ("migrations:\n  lint: {warn: [MIG3]}\n", "definition-of-done.yaml:2"),
        ("migrations:\n  data: {tasks: 0}\n", "definition-of-done.yaml:2"),
        ("migrations:\n  drfit: true\n", "definition-of-done.yaml:2"),
    ],
)
def test_bad_section_is_a_config_error(
    make_project: Callable[..., Path], section: str, expected: str
) -> None:
    root = make_project("_common_only", definition_of_done_yaml=section)
    project = load_project(root / "opsctl.yaml", environ={"FIXTURE_DATABASE_URL": "embedded"})

    with pytest.raises(ConfigError) as caught:
        load_definition_of_done(project)

    assert str(caught.value).startswith(expected), str(caught.value)
