"""The GraphQL contract: names clients rely on, and a description on everything."""

from __future__ import annotations

from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    print_ast,
)

from reference_api.graphql_api.schema import build_schema

CONTRACT_QUERY = {
    "me": "User!",
    "workspace": "Workspace",
    "workspaces": "WorkspaceConnection!",
    "project": "Project",
    "task": "Task",
}
CONTRACT_MUTATION = {
    "signUp": ("AuthPayload!", {"input": "SignUpInput!"}),
    "logIn": ("AuthPayload!", {"input": "LogInInput!"}),
    "refreshToken": ("AuthPayload!", {"refreshToken": "String!"}),
    "logOut": ("Boolean!", {"refreshToken": "String!"}),
    "createWorkspace": ("Workspace!", {"input": "CreateWorkspaceInput!"}),
    "addMember": ("Membership!", {"input": "AddMemberInput!"}),
    "createProject": ("Project!", {"input": "CreateProjectInput!"}),
    "createTask": ("Task!", {"input": "CreateTaskInput!"}),
    "updateTask": ("Task!", {"input": "UpdateTaskInput!"}),
    "deleteTask": ("Boolean!", {"id": "ID!"}),
    "addComment": ("Comment!", {"input": "AddCommentInput!"}),
}
CONTRACT_ENUMS = {
    "Role": ["OWNER", "ADMIN", "MEMBER", "VIEWER"],
    "TaskStatus": ["TODO", "IN_PROGRESS", "DONE"],
    "TaskPriority": ["LOW", "MEDIUM", "HIGH", "URGENT"],
}


def _schema() -> GraphQLSchema:
    return build_schema()


def test_query_fields_match_the_contract() -> None:
    query = _schema().query_type
    assert query is not None
    assert {name: str(field.type) for name, field in query.fields.items()} == CONTRACT_QUERY
    workspaces = query.fields["workspaces"]
    assert str(workspaces.args["first"].type) == "Int"
    first = workspaces.args["first"].ast_node
    assert first is not None
    assert first.default_value is not None
    assert print_ast(first.default_value) == "20"
    assert str(workspaces.args["after"].type) == "String"


def test_mutation_fields_match_the_contract() -> None:
    mutation = _schema().mutation_type
    assert mutation is not None
    actual = {
        name: (str(field.type), {arg: str(a.type) for arg, a in field.args.items()})
        for name, field in mutation.fields.items()
    }
    assert actual == CONTRACT_MUTATION


def test_auth_payload_and_enums_match_the_contract() -> None:
    schema = _schema()
    payload = schema.get_type("AuthPayload")
    assert isinstance(payload, GraphQLObjectType)
    assert {name: str(field.type) for name, field in payload.fields.items()} == {
        "accessToken": "String!",
        "refreshToken": "String!",
        "expiresIn": "Int!",
        "user": "User!",
    }
    for name, values in CONTRACT_ENUMS.items():
        enum = schema.get_type(name)
        assert isinstance(enum, GraphQLEnumType)
        assert list(enum.values) == values


def test_connections_have_edges_page_info_and_total_count() -> None:
    schema = _schema()
    for name in ("Workspace", "Membership", "Project", "Task", "Comment"):
        connection = schema.get_type(f"{name}Connection")
        assert isinstance(connection, GraphQLObjectType)
        assert str(connection.fields["edges"].type) == f"[{name}Edge!]!"
        assert str(connection.fields["pageInfo"].type) == "PageInfo!"
        assert str(connection.fields["totalCount"].type) == "Int!"
        edge = schema.get_type(f"{name}Edge")
        assert isinstance(edge, GraphQLObjectType)
        assert set(edge.fields) == {"cursor", "node"}


def test_everything_has_a_description() -> None:
    missing: list[str] = []
    for type_name, named_type in _schema().type_map.items():
        if type_name.startswith("__") or type_name in {"String", "Int", "Boolean", "ID", "Float"}:
            continue
        if not named_type.description:
            missing.append(type_name)
        if isinstance(named_type, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in named_type.fields.items():
                if not field.description:
                    missing.append(f"{type_name}.{field_name}")
                missing.extend(
                    f"{type_name}.{field_name}({arg_name})"
                    for arg_name, arg in field.args.items()
                    if not arg.description
                )
        elif isinstance(named_type, GraphQLInputObjectType):
            missing.extend(
                f"{type_name}.{field_name}"
                for field_name, field in named_type.fields.items()
                if not field.description
            )
        elif isinstance(named_type, GraphQLEnumType):
            missing.extend(
                f"{type_name}.{value_name}"
                for value_name, value in named_type.values.items()
                if not value.description
            )
    assert missing == []
