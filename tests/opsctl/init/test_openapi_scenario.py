"""The starting Locust scenario drafted from an OpenAPI document (``opsctl init``)."""

from __future__ import annotations

import ast
import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from opsctl.init.openapi_scenario import WRITES_REASON, scenario_from_openapi
from opsctl.load.declared import declared_operations

REPOSITORY = Path(__file__).resolve().parents[3]
REST_SERVICE = REPOSITORY / "tests" / "fixtures" / "load" / "rest_service"


def rest_app() -> ModuleType:
    spec = importlib.util.spec_from_file_location("rest_fixture_app_init", REST_SERVICE / "app.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def ruff(tmp_path: Path, source: str) -> None:
    """The source passes the repository's ruff lint rules and format."""
    path = tmp_path / "drafted_scenario.py"
    path.write_text(source, encoding="utf-8")
    config = str(REPOSITORY / "pyproject.toml")
    for command in (["check", "--no-cache"], ["format", "--check", "--no-cache"]):
        done = subprocess.run(
            [sys.executable, "-m", "ruff", *command, "--config", config, str(path)],
            capture_output=True,
            text=True,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr


def test_the_fastapi_fixture_gets_one_named_task_per_readable_get(tmp_path: Path) -> None:
    draft = scenario_from_openapi(rest_app().app.openapi(), service_name="rest-fixture")

    assert draft.operations == [
        "GET /items",
        "GET /items/{item_id}",
        "GET /colors/{color}",
        "GET /reports",
        "GET /me",
    ]
    assert draft.skipped == [
        ("GET /healthz", "a health or metrics probe, not a user operation"),
        ("POST /items", WRITES_REASON),
        ("DELETE /items/{item_id}", WRITES_REASON),
        (
            "GET /search",
            "the required query parameter q has no example, default or enum to fill it with",
        ),
    ]
    assert WRITES_REASON == "writes: add them by hand"
    source = draft.source
    assert source.startswith("# Written by `opsctl init` from the OpenAPI document")
    assert "yours to edit" in source.splitlines()[1] + source.splitlines()[0]
    compile(source, "drafted_scenario.py", "exec")
    ruff(tmp_path, source)
    # the values: a placeholder id, the enum's first value, the query parameter's example
    assert '"/items/1",' in source and '"/colors/red",' in source
    assert '"/reports?since=2024-01-01",' in source
    assert "FastHttpUser" in source and source.count('@tag("simple")') == 5
    for write in ("POST /items", "DELETE /items/{item_id}"):
        assert f'name="{write}"' not in source
    # the bearer scheme: read from OPSCTL_LOAD_TOKEN, sent as Authorization
    assert 'os.environ.get("OPSCTL_LOAD_TOKEN", "")' in source
    assert '{"Authorization": f"Bearer {token}"}' in source
    assert any("HTTP bearer" in note and "HTTPBearer" in note for note in draft.notes)
    assert any("item_id=1" in note for note in draft.notes)  # the placeholder is pointed out
    # what the load gate will expect from it: every operation, tagged simple
    (tmp_path / "s.py").write_text(source, encoding="utf-8")
    assert declared_operations(tmp_path / "s.py") == {
        name: frozenset({"simple"}) for name in draft.operations
    }


def test_the_drafted_user_class_is_a_locust_user_with_the_tasks(tmp_path: Path) -> None:
    draft = scenario_from_openapi(rest_app().app.openapi(), service_name="rest-fixture")
    tree = ast.parse(draft.source)
    (user,) = [node for node in tree.body if isinstance(node, ast.ClassDef)]
    assert user.name == "RestFixtureUser"
    assert [ast.unparse(base) for base in user.bases] == ["FastHttpUser"]
    tasks = [
        node.name
        for node in user.body
        if isinstance(node, ast.FunctionDef)
        and any(ast.unparse(d) == "task" for d in node.decorator_list)
    ]
    assert tasks == [
        "get_items",
        "get_items_item_id",
        "get_colors_color",
        "get_reports",
        "get_me",
    ]


def document(paths: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"openapi": "3.0.3", "info": {"title": "T", "version": "1"}, "paths": paths, **extra}


def get(*parameters: dict[str, Any], **extra: Any) -> dict[str, Any]:
    return {"get": {"parameters": list(parameters), "responses": {"200": {}}, **extra}}


def test_parameter_values_come_from_examples_defaults_and_enums_in_that_order(
    tmp_path: Path,
) -> None:
    paths = {
        "/a/{x}": get({"name": "x", "in": "path", "required": True, "example": "ex",
                       "schema": {"type": "string", "default": "d"}}),
        "/b/{x}": get({"name": "x", "in": "path", "required": True,
                       "examples": {"one": {"value": 42}}, "schema": {"type": "integer"}}),
        "/c/{x}": get({"name": "x", "in": "path", "required": True,
                       "schema": {"type": "string", "example": "schema-ex"}}),
        "/d/{x}": get({"name": "x", "in": "path", "required": True,
                       "schema": {"type": "string", "default": "dflt", "enum": ["e1"]}}),
        "/e/{x}": get({"$ref": "#/components/parameters/Kind"}),
        "/f/{x}": get({"name": "x", "in": "path", "required": True,
                       "schema": {"type": "string", "format": "uuid"}}),
        "/g/{x}": get({"name": "x", "in": "path", "required": True,
                       "schema": {"type": "object"}}),
        "/h": get({"name": "page", "in": "query", "required": True,
                   "schema": {"type": "integer", "default": 2}},
                  {"name": "opt", "in": "query", "schema": {"type": "integer"}}),
        "/i": get({"name": "X-Tenant", "in": "header", "required": True,
                   "schema": {"type": "string"}}),
    }  # fmt: skip
    components = {
        "parameters": {
            "Kind": {"name": "x", "in": "path", "required": True,
                     "schema": {"$ref": "#/components/schemas/Kind"}}
        },
        "schemas": {"Kind": {"type": "string", "enum": ["big", "small"]}},
    }  # fmt: skip
    draft = scenario_from_openapi(document(paths, components=components), service_name="t")

    assert '"/a/ex",' in draft.source
    assert '"/b/42",' in draft.source
    assert '"/c/schema-ex",' in draft.source
    assert '"/d/dflt",' in draft.source
    assert '"/e/big",' in draft.source
    assert '"/f/00000000-0000-0000-0000-000000000001",' in draft.source
    assert '"/h?page=2",' in draft.source  # the optional query parameter is left out
    assert dict(draft.skipped) == {
        "GET /g/{x}": "cannot fill the path parameter x (not a scalar)",
        "GET /i": "needs the header parameter X-Tenant: add it by hand",
    }
    assert "import os" not in draft.source  # no security scheme: no token
    ruff(tmp_path, draft.source)


def test_an_api_key_header_scheme_sends_the_token_in_its_header(tmp_path: Path) -> None:
    doc = document(
        {"/orders": get(security=[{"key": []}]), "/public": get(security=[])},
        components={"securitySchemes": {"key": {"type": "apiKey", "in": "header",
                                                "name": "X-API-Key"}}},
    )  # fmt: skip
    draft = scenario_from_openapi(doc, service_name="shop")

    assert draft.operations == ["GET /orders", "GET /public"]
    assert '{"X-API-Key": token}' in draft.source
    assert any("API key in header X-API-Key" in note for note in draft.notes)
    ruff(tmp_path, draft.source)


def test_a_token_only_writes_need_does_not_stop_the_read_only_user(tmp_path: Path) -> None:
    # FastAPI's usual OAuth2 layout: the scheme exists, but the GETs drafted need no token
    doc = document(
        {
            "/items": get(),
            "/items/new": {"post": {"security": [{"bearer": []}], "responses": {"200": {}}}},
        },
        components={"securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}}},
    )
    draft = scenario_from_openapi(doc, service_name="shop")

    assert draft.operations == ["GET /items"]
    assert "raise RuntimeError" not in draft.source  # the token is optional here
    assert "} if token else {}" in draft.source
    assert not any("refuses to start without it" in note for note in draft.notes)
    ruff(tmp_path, draft.source)


def test_operations_needing_a_scheme_it_cannot_send_are_skipped(tmp_path: Path) -> None:
    doc = document(
        {"/admin": get(), "/open": get(security=[{}])},
        security=[{"basic": []}],
        components={"securitySchemes": {"basic": {"type": "http", "scheme": "basic"}}},
    )
    draft = scenario_from_openapi(doc, service_name="legacy")

    assert draft.operations == ["GET /open"]  # {} among the requirements: optional auth
    assert draft.skipped == [
        ("GET /admin", "needs authentication the draft does not send (basic): add it by hand")
    ]
    assert "OPSCTL_LOAD_TOKEN" not in draft.source
    assert any("add authentication by hand" in note for note in draft.notes)
    ruff(tmp_path, draft.source)


def test_a_document_with_only_writes_gives_an_abstract_user_that_still_compiles(
    tmp_path: Path,
) -> None:
    doc = document({"/items": {"post": {"responses": {"201": {}}}, "put": {"responses": {}}}})
    draft = scenario_from_openapi(doc, service_name="writer")

    assert draft.operations == []
    assert draft.skipped == [("PUT /items", WRITES_REASON), ("POST /items", WRITES_REASON)]
    assert "abstract = True" in draft.source
    ruff(tmp_path, draft.source)


def test_long_paths_and_odd_names_stay_ruff_clean(tmp_path: Path) -> None:
    long = "/" + "/".join(["averyveryverylongsegment"] * 5) + "/{the_id}"
    doc = document(
        {long: get({"name": "the_id", "in": "path", "required": True,
                    "schema": {"type": "integer"}}),
         "/": get(), "/a-b/c.d": get()},
        servers=[{"url": "https://api.example.test/v2/"}],
    )  # fmt: skip
    draft = scenario_from_openapi(doc, service_name='9 "quoted" service')

    assert draft.operations[0] == f"GET /v2{long}"
    assert "class Service9QuotedServiceUser(FastHttpUser):" in draft.source
    assert "def get_root(self)" in draft.source and "def get_a_b_c_d(self)" in draft.source
    assert any("base path /v2" in note for note in draft.notes)
    ruff(tmp_path, draft.source)


def test_a_mapping_without_paths_is_not_an_openapi_document() -> None:
    with pytest.raises(ValueError, match="no 'paths'"):
        scenario_from_openapi({"openapi": "3.1.0"}, service_name="x")


def test_without_placeholders_an_id_the_document_does_not_give_is_left_out() -> None:
    draft = scenario_from_openapi(
        rest_app().app.openapi(), service_name="rest-fixture", placeholders=False
    )
    assert "GET /items/{item_id}" not in draft.operations
    assert "GET /colors/{color}" in draft.operations  # its enum gives a value
    reasons = dict(draft.skipped)
    assert reasons["GET /items/{item_id}"].startswith("needs an existing value of item_id")
    assert 'name="GET /items/{item_id}"' not in draft.source
