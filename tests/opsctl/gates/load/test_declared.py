"""Operations a scenario declares, read from its source with their tags."""

from __future__ import annotations

from pathlib import Path

from opsctl.load.declared import declared_operations

REPOSITORY = Path(__file__).resolve().parents[4]


def test_graphql_helper_calls_and_request_names_are_declared_with_their_tags(
    tmp_path: Path,
) -> None:
    scenario = tmp_path / "scenario.py"
    scenario.write_text(
        "from locust import FastHttpUser, tag, task\n"
        "class U(FastHttpUser):\n"
        "    @tag('simple')\n"
        "    @task\n"
        "    def item(self):\n"
        "        if self.ids:\n"
        "            self.client.get(f'/items/{self.ids[0]}', name='GET /items/{id}')\n"
        "    @tag('complex', 'write')\n"
        "    @task\n"
        "    def write(self):\n"
        "        self.graphql('CreateItem', 'mutation { x }')\n",
        encoding="utf-8",
    )
    assert declared_operations(scenario) == {
        "GET /items/{id}": frozenset({"simple"}),
        "CreateItem": frozenset({"complex", "write"}),
    }


def test_the_reference_scenario_declares_every_operation_it_sends() -> None:
    declared = declared_operations(REPOSITORY / "loadtests" / "reference_api.py")
    assert {"LogIn", "Me", "TaskDetail", "CreateTask"} <= set(declared)
    assert declared["TaskDetail"] == frozenset({"simple"})


def test_an_unparsable_scenario_declares_nothing(tmp_path: Path) -> None:
    broken = tmp_path / "broken.py"
    broken.write_text("def (:\n", encoding="utf-8")
    assert declared_operations(broken) == {}
