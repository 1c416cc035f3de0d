"""createWorkspace, workspace(s), addMember and members, through HTTP."""

from __future__ import annotations

from tests.reference_api.helpers import Api, error_codes

WORKSPACE = """query($id: ID!) {
  workspace(id: $id) {
    id name viewerRole createdAt
    members { totalCount edges { node { role user { email } workspace { id } } } }
    projects { totalCount edges { node { name } } }
  }
}"""
ADD_MEMBER = """mutation($input: AddMemberInput!) {
  addMember(input: $input) { id role user { email } workspace { name } createdAt }
}"""


async def test_creator_becomes_owner(api: Api) -> None:
    owner = await api.sign_up("Olivia")
    workspace_id = await api.create_workspace(owner, "Acme")
    await api.create_project(owner, workspace_id, "Apollo")
    data = await api.data(WORKSPACE, {"id": workspace_id}, token=owner.access_token)
    workspace = data["workspace"]
    assert workspace["name"] == "Acme"
    assert workspace["viewerRole"] == "OWNER"
    assert workspace["members"]["totalCount"] == 1
    member = workspace["members"]["edges"][0]["node"]
    assert member == {
        "role": "OWNER",
        "user": {"email": owner.email},
        "workspace": {"id": workspace_id},
    }
    assert workspace["projects"]["edges"][0]["node"]["name"] == "Apollo"


async def test_workspaces_pages_with_cursors(api: Api) -> None:
    owner = await api.sign_up()
    created = [await api.create_workspace(owner, f"W{i}") for i in range(5)]
    query = """query($after: String) {
      workspaces(first: 2, after: $after) {
        totalCount pageInfo { hasNextPage endCursor } edges { cursor node { id } }
      }
    }"""
    seen: list[str] = []
    after = None
    pages = 0
    while True:
        page = (await api.data(query, {"after": after}, token=owner.access_token))["workspaces"]
        assert page["totalCount"] == 5
        seen += [edge["node"]["id"] for edge in page["edges"]]
        pages += 1
        if not page["pageInfo"]["hasNextPage"]:
            break
        after = page["pageInfo"]["endCursor"]
    assert seen == created
    assert pages == 3


async def test_page_size_is_capped_and_bad_arguments_are_refused(api: Api) -> None:
    owner = await api.sign_up()
    await api.create_workspace(owner)
    data = await api.data("{ workspaces(first: 100000) { totalCount } }", token=owner.access_token)
    assert data["workspaces"]["totalCount"] == 1
    negative = await api.gql("{ workspaces(first: -1) { totalCount } }", token=owner.access_token)
    assert error_codes(negative) == ["BAD_USER_INPUT"]
    assert negative["errors"][0]["extensions"]["field"] == "first"
    cursor = await api.gql(
        '{ workspaces(after: "garbage") { totalCount } }', token=owner.access_token
    )
    assert error_codes(cursor) == ["BAD_USER_INPUT"]
    assert cursor["errors"][0]["extensions"]["field"] == "after"


async def test_owner_and_admin_add_members_with_rules(api: Api) -> None:
    owner, admin, member, viewer, stranger = [
        await api.sign_up(name) for name in ("Olivia", "Adam", "Mia", "Vic", "Sam")
    ]
    workspace_id = await api.create_workspace(owner)
    data = await api.data(
        ADD_MEMBER,
        {"input": {"workspaceId": workspace_id, "email": admin.email, "role": "ADMIN"}},
        token=owner.access_token,
    )
    assert data["addMember"]["role"] == "ADMIN"
    assert data["addMember"]["user"]["email"] == admin.email
    await api.add_member(admin, workspace_id, member, "MEMBER")
    await api.add_member(admin, workspace_id, viewer, "VIEWER")

    def add(email: str, role: str) -> dict[str, object]:
        return {"input": {"workspaceId": workspace_id, "email": email, "role": role}}

    # Only an OWNER adds OWNERs.
    payload = await api.gql(ADD_MEMBER, add(stranger.email, "OWNER"), token=admin.access_token)
    assert error_codes(payload) == ["FORBIDDEN"]
    # MEMBERs and VIEWERs add nobody.
    for session in (member, viewer):
        payload = await api.gql(
            ADD_MEMBER, add(stranger.email, "VIEWER"), token=session.access_token
        )
        assert error_codes(payload) == ["FORBIDDEN"]
    # Unknown emails and existing members are input errors on "email".
    for email in ("nobody@example.test", member.email):
        payload = await api.gql(ADD_MEMBER, add(email, "VIEWER"), token=owner.access_token)
        assert error_codes(payload) == ["BAD_USER_INPUT"]
        assert payload["errors"][0]["extensions"]["field"] == "email"
    members = await api.data(WORKSPACE, {"id": workspace_id}, token=viewer.access_token)
    assert members["workspace"]["members"]["totalCount"] == 4
    assert members["workspace"]["viewerRole"] == "VIEWER"


async def test_create_workspace_validates_and_requires_a_user(api: Api) -> None:
    query = "mutation($name: String!) { createWorkspace(input: {name: $name}) { id } }"
    assert error_codes(await api.gql(query, {"name": "W"})) == ["UNAUTHENTICATED"]
    owner = await api.sign_up()
    payload = await api.gql(query, {"name": " "}, token=owner.access_token)
    assert error_codes(payload) == ["BAD_USER_INPUT"]
    assert payload["errors"][0]["extensions"]["field"] == "name"
