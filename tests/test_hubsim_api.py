"""The simulated Hub's JSON API: auth, repos, info, listing, secrets, variables, and bad input."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import httpx2
import pytest

from aiospaces.hubsim import SimulatedHub

ALICE = {"authorization": "Bearer hf_alice"}
BOB = {"authorization": "Bearer hf_bob"}
ALICE_READ = {"authorization": "Bearer hf_alice_read"}


@pytest.fixture
def hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice", orgs=["acme"])
    hub.add_token("alice", "hf_alice_read", role="read")
    hub.add_user("bob", token="hf_bob")
    return hub


@pytest.fixture
async def client(hub: SimulatedHub) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="http://hub.test") as c:
        yield c


def create_body(name: str, **extra: Any) -> dict[str, Any]:
    return {"name": name, "organization": None, "type": "space", "sdk": "gradio", **extra}


# ----------------------------------------------------------------------------------------------- auth
@pytest.mark.anyio
async def test_whoami_reports_user_orgs_and_token_role(client: httpx2.AsyncClient) -> None:
    """whoami-v2 returns name, type, orgs and the token's displayName/role (hub-api.md §2.5)."""
    r = await client.get("/api/whoami-v2", headers=ALICE)
    body = r.json()
    assert r.status_code == 200
    assert (body["name"], body["type"]) == ("alice", "user")
    assert [org["name"] for org in body["orgs"]] == ["acme"]
    assert body["auth"]["accessToken"]["role"] == "write"
    r = await client.get("/api/whoami-v2", headers=ALICE_READ)
    assert r.json()["auth"]["accessToken"]["role"] == "read"


@pytest.mark.anyio
async def test_bad_token_is_401_on_every_route(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """An unknown token gets 401 with the Hub's special X-Error-Message, whatever the route."""
    hub.create_space("alice/demo")
    for method, path in [
        ("GET", "/api/whoami-v2"),
        ("GET", "/api/spaces/alice/demo/runtime"),
        ("GET", "/api/spaces"),
    ]:
        r = await client.request(method, path, headers={"authorization": "Bearer hf_nope"})
        assert r.status_code == 401
        assert r.headers["x-error-message"] == "Invalid credentials in Authorization header"
        assert "error" in r.json()
    assert "hf_nope" not in json.dumps(r.json())


@pytest.mark.anyio
async def test_private_space_is_invisible_to_others(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Someone else's private Space is a 404 RepoNotFound (401 + RepoNotFound when anonymous), never a 403."""
    hub.create_space("alice/secret", private=True)
    r = await client.get("/api/spaces/alice/secret/runtime", headers=BOB)
    assert (r.status_code, r.headers["x-error-code"]) == (404, "RepoNotFound")
    r = await client.get("/api/spaces/alice/secret/runtime")
    assert (r.status_code, r.headers["x-error-code"]) == (401, "RepoNotFound")
    r = await client.get("/api/spaces/alice/missing/runtime", headers=ALICE)
    assert (r.status_code, r.headers["x-error-code"]) == (404, "RepoNotFound")
    r = await client.get("/api/spaces/alice/secret/runtime", headers=ALICE)
    assert r.status_code == 200


@pytest.mark.anyio
async def test_writes_need_ownership_and_a_write_token(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Non-owners and read tokens get 403 on lifecycle calls to a visible Space; org members may write."""
    hub.create_space("alice/public")
    hub.create_space("acme/shared")
    assert (await client.post("/api/spaces/alice/public/pause", headers=BOB)).status_code == 403
    assert (await client.post("/api/spaces/alice/public/pause", headers=ALICE_READ)).status_code == 403
    assert (await client.post("/api/spaces/alice/public/pause")).status_code == 401
    assert (await client.get("/api/spaces/alice/public/secrets", headers=BOB)).status_code == 403
    assert (await client.get("/api/spaces/alice/public/runtime", headers=BOB)).status_code == 200
    r = await client.post("/api/spaces/acme/shared/pause", headers=ALICE)
    assert (r.status_code, r.json()["stage"]) == (200, "PAUSED")
    assert hub.space_stage("alice/public") == "RUNNING"


# ---------------------------------------------------------------------------------------------- repos
@pytest.mark.anyio
async def test_create_space_then_conflict_with_url(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Creating a Space answers url/name/id; creating it again is a 409 whose body has the url (§5.1)."""
    r = await client.post("/api/repos/create", json=create_body("demo"), headers=ALICE)
    assert r.status_code == 200
    assert r.json()["url"] == "http://hub.test/spaces/alice/demo"
    assert r.json()["name"] == "alice/demo"
    assert len(r.json()["id"]) == 24
    r = await client.post("/api/repos/create", json=create_body("demo", private=True), headers=ALICE)
    assert r.status_code == 409
    assert r.json() == {
        "error": "You already created this space repo",
        "url": "http://hub.test/spaces/alice/demo",
    }
    # A fresh gradio Space holds only README.md and .gitattributes: nothing to run yet.
    assert hub.space_stage("alice/demo") == "NO_APP_FILE"


@pytest.mark.anyio
async def test_create_space_with_all_settings(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """hardware, sleepTimeSeconds, storageTier, secrets, variables and volumes given at creation all apply."""
    body = create_body(
        "gpu",
        organization="acme",
        visibility="private",
        hardware="t4-small",
        sleepTimeSeconds=3600,
        storageTier="small",
        secrets=[{"key": "TOKEN", "value": "s3cr3t", "description": "d"}],
        variables=[{"key": "MODEL", "value": "acme/m"}],
        volumes=[{"type": "dataset", "source": "acme/data", "mountPath": "/data"}],
    )
    r = await client.post("/api/repos/create", json=body, headers=ALICE)
    assert r.status_code == 200
    runtime = (await client.get("/api/spaces/acme/gpu/runtime", headers=ALICE)).json()
    assert runtime["hardware"] == {"current": None, "requested": "t4-small"}
    assert (runtime["gcTimeout"], runtime["storage"]) == (3600, "small")
    assert runtime["volumes"] == [
        {"type": "dataset", "source": "acme/data", "mountPath": "/data", "readOnly": True}
    ]
    secrets = (await client.get("/api/spaces/acme/gpu/secrets", headers=ALICE)).json()
    assert list(secrets) == ["TOKEN"]
    assert secrets["TOKEN"]["description"] == "d"
    assert "value" not in secrets["TOKEN"]
    variables = (await client.get("/api/spaces/acme/gpu/variables", headers=ALICE)).json()
    assert variables["MODEL"]["value"] == "acme/m"
    assert (await client.get("/api/spaces/acme/gpu", headers=BOB)).status_code == 404


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("body", "status"),
    [
        ({"name": "x", "type": "space"}, 400),  # Spaces need an sdk
        ({"name": "x", "type": "space", "sdk": "flask"}, 400),
        ({"name": "x", "type": "space", "sdk": "gradio", "hardware": "quantum-1"}, 400),
        ({"name": "bad--name", "type": "model"}, 400),
        ({"name": "x" * 97, "type": "model"}, 400),
        ({"name": 5, "type": "model"}, 400),
        ({"name": "x", "type": "kernelz"}, 400),
        ({"name": "x", "type": "model", "visibility": "protected"}, 400),
        ({"name": "x", "type": "space", "sdk": "gradio", "sleepTimeSeconds": "1h"}, 400),
        ({"name": "x", "type": "space", "sdk": "gradio", "secrets": [{"key": "1BAD", "value": "v"}]}, 400),
        (
            {
                "name": "x",
                "type": "space",
                "sdk": "gradio",
                "volumes": [{"source": "a/b", "mountPath": "rel"}],
            },
            400,
        ),
        ({"name": "x", "organization": "bob", "type": "model"}, 403),
    ],
)
async def test_create_rejects_bad_input(
    client: httpx2.AsyncClient, hub: SimulatedHub, body: dict[str, Any], status: int
) -> None:
    """Invalid create bodies get the Hub's 4xx with a JSON error and create nothing."""
    r = await client.post("/api/repos/create", json=body, headers=ALICE)
    assert r.status_code == status
    assert isinstance(r.json()["error"], str)
    assert hub.list_repo_ids(repo_type="space") == []
    assert hub.list_repo_ids(repo_type="model") == []


@pytest.mark.anyio
async def test_delete_repo_answers_text_ok(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """DELETE /api/repos/delete answers text `OK`; deleting again is 404 RepoNotFound (§5.2)."""
    hub.create_space("alice/demo")
    body = {"name": "demo", "organization": "alice", "type": "space"}
    r = await client.request("DELETE", "/api/repos/delete", json=body, headers=ALICE)
    assert (r.status_code, r.text, r.headers["content-type"].split(";")[0]) == (200, "OK", "text/plain")
    r = await client.request("DELETE", "/api/repos/delete", json=body, headers=ALICE)
    assert (r.status_code, r.headers["x-error-code"]) == (404, "RepoNotFound")
    assert not hub.repo_exists("alice/demo")


@pytest.mark.anyio
async def test_settings_change_visibility(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """PUT settings makes a Space private (then invisible to others); a bad value is a 400."""
    hub.create_space("alice/demo")
    r = await client.put("/api/spaces/alice/demo/settings", json={"visibility": "private"}, headers=ALICE)
    assert r.status_code == 200
    assert (await client.get("/api/spaces/alice/demo", headers=BOB)).status_code == 404
    r = await client.put("/api/spaces/alice/demo/settings", json={"visibility": "secret"}, headers=ALICE)
    assert r.status_code == 400
    r = await client.put("/api/spaces/alice/demo/settings", json={"gated": "auto"}, headers=BOB)
    assert r.status_code == 404


@pytest.mark.anyio
async def test_duplicate_copies_files_and_variables_not_secrets(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A duplicated Space gets the source's files and variables, the request's settings, and no secrets."""
    hub.create_space("bob/source", secrets={"KEY": "v"}, variables={"MODEL": "m"})
    body = {"repository": "alice/copy", "hardware": "cpu-upgrade", "secrets": [{"key": "MINE", "value": "x"}]}
    r = await client.post("/api/spaces/bob/source/duplicate", json=body, headers=ALICE)
    assert r.json() == {"url": "http://hub.test/spaces/alice/copy"}
    assert (
        hub.git.list_files(("space", "alice/copy")).keys()
        == hub.git.list_files(("space", "bob/source")).keys()
    )
    state = hub.space_state("alice/copy")
    assert (list(state.secrets), list(state.variables), state.requested) == (
        ["MINE"],
        ["MODEL"],
        "cpu-upgrade",
    )
    assert state.stage == "BUILDING"
    r = await client.post("/api/spaces/bob/source/duplicate", json={"repository": "bob/copy"}, headers=ALICE)
    assert r.status_code == 403
    r = await client.post("/api/spaces/bob/missing/duplicate", json={"repository": "alice/x"}, headers=ALICE)
    assert (r.status_code, r.headers["x-error-code"]) == (404, "RepoNotFound")


# ------------------------------------------------------------------------------------ info and lists
@pytest.mark.anyio
async def test_space_info_full_and_expanded(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """space_info has the documented keys; `expand` returns only those plus id/_id; a bad expand is 400."""
    hub.create_space("alice/demo", hardware="t4-small")
    info = (await client.get("/api/spaces/alice/demo", headers=ALICE)).json()
    for key in (
        "_id",
        "id",
        "author",
        "sha",
        "lastModified",
        "createdAt",
        "private",
        "sdk",
        "siblings",
        "runtime",
    ):
        assert key in info
    assert info["sha"] == hub.git.head(("space", "alice/demo"))
    assert {s["rfilename"] for s in info["siblings"]} == {".gitattributes", "README.md", "app.py"}
    assert info["cardData"]["sdk"] == "gradio"
    assert info["cardData"]["pinned"] is False
    assert info["runtime"]["hardware"]["current"] == "t4-small"
    r = await client.get("/api/spaces/alice/demo", params={"expand": ["runtime", "sdk"]}, headers=ALICE)
    assert set(r.json()) == {"_id", "id", "runtime", "sdk"}
    r = await client.get(
        "/api/spaces/alice/demo/revision/main", params={"expand": "xetEnabled"}, headers=ALICE
    )
    assert r.json() == {"_id": info["_id"], "id": "alice/demo", "xetEnabled": False}
    r = await client.get("/api/spaces/alice/demo", params={"expand": "bogus"}, headers=ALICE)
    assert r.status_code == 400
    assert r.json()["error"].startswith('"expand" must be one of [author, cardData')
    r = await client.get("/api/spaces/alice/demo/revision/nope", headers=ALICE)
    assert (r.status_code, r.headers["x-error-code"]) == (404, "RevisionNotFound")
    r = await client.get("/api/spaces/alice/demo", params={"blobs": "true"}, headers=ALICE)
    assert all("size" in s and "blobId" in s for s in r.json()["siblings"])


@pytest.mark.anyio
async def test_list_spaces_paginates_with_absolute_link(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """list_spaces filters by author/search, honours limit with an absolute `Link: rel="next"` (§6.2)."""
    for i in range(7):
        hub.create_space(f"alice/app-{i}")
    hub.create_space("bob/other")
    hub.create_space("bob/hidden", private=True)
    hub.list_page_size = 3
    seen: list[str] = []
    url: str | None = "/api/spaces?author=alice&expand=runtime"
    pages = 0
    while url:
        r = await client.get(url, headers=ALICE)
        assert r.status_code == 200
        seen += [item["id"] for item in r.json()]
        assert all(item["runtime"]["stage"] == "RUNNING" for item in r.json())
        url = r.links.get("next", {}).get("url")
        if url:
            assert url.startswith("http://hub.test/api/spaces?")
        pages += 1
    assert (sorted(seen), pages) == ([f"alice/app-{i}" for i in range(7)], 3)
    r = await client.get("/api/spaces", params={"search": "OTHER"}, headers=ALICE)
    assert [item["id"] for item in r.json()] == ["bob/other"]
    r = await client.get("/api/spaces", params={"author": "bob"}, headers=ALICE)
    assert [item["id"] for item in r.json()] == ["bob/other"]  # private Spaces of others are not listed
    r = await client.get("/api/spaces", params={"limit": 2, "author": "alice"}, headers=ALICE)
    assert len(r.json()) == 2
    assert "next" in r.links
    for bad in ({"limit": "0"}, {"limit": "x"}, {"expand": "nope"}, {"cursor": "garbage!"}):
        assert (await client.get("/api/spaces", params=bad, headers=ALICE)).status_code == 400


@pytest.mark.anyio
async def test_hardware_list_shape(client: httpx2.AsyncClient) -> None:
    """GET /api/spaces/hardware lists flavors with the §8.6 keys; cpu-basic is free."""
    flavors = (await client.get("/api/spaces/hardware")).json()
    names = [f["name"] for f in flavors]
    assert "cpu-basic" in names
    assert "t4-medium" in names
    for flavor in flavors:
        assert {
            "name",
            "prettyName",
            "cpu",
            "ram",
            "accelerator",
            "unitCostMicroUSD",
            "unitCostUSD",
            "unitLabel",
        } <= set(flavor)
    assert flavors[names.index("cpu-basic")]["unitCostUSD"] == 0


# ------------------------------------------------------------------------------- secrets / variables
@pytest.mark.anyio
async def test_secrets_are_write_only_and_deletes_are_idempotent(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """Secret POST/DELETE answer {}; listing never shows values; deleting a missing key is a 200 (§7)."""
    hub.create_space("alice/demo")
    url = "/api/spaces/alice/demo/secrets"
    assert (await client.post(url, json={"key": "A", "value": "topsecret"}, headers=ALICE)).json() == {}
    assert (
        await client.post(url, json={"key": "A", "value": "v2", "description": "d"}, headers=ALICE)
    ).json() == {}
    listing = (await client.get(url, headers=ALICE)).text
    assert "topsecret" not in listing
    assert "v2" not in listing
    assert json.loads(listing)["A"]["description"] == "d"
    r = await client.request("DELETE", url, json={"key": "missing"}, headers=ALICE)
    assert (r.status_code, r.json()) == (200, {})
    assert hub.space_state("alice/demo").secrets["A"].value == "v2"


@pytest.mark.anyio
async def test_variables_answer_the_whole_map(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Variable POST/DELETE return the full map in insertion order; descriptions are kept on update (§7)."""
    hub.create_space("alice/demo")
    url = "/api/spaces/alice/demo/variables"
    assert (await client.get(url, headers=ALICE)).json() == {}
    await client.post(url, json={"key": "foo", "value": "1", "description": "first"}, headers=ALICE)
    r = await client.post(url, json={"key": "bar", "value": "2"}, headers=ALICE)
    assert list(r.json()) == ["foo", "bar"]
    r = await client.post(url, json={"key": "foo", "value": "3"}, headers=ALICE)
    assert r.json()["foo"]["value"] == "3"
    assert r.json()["foo"]["description"] == "first"
    assert "description" not in r.json()["bar"]
    assert r.json()["bar"]["updatedAt"].endswith("Z")
    r = await client.request("DELETE", url, json={"key": "foo"}, headers=ALICE)
    assert list(r.json()) == ["bar"]
    r = await client.request("DELETE", url, json={"key": "nope"}, headers=ALICE)
    assert (r.status_code, list(r.json())) == (200, ["bar"])


# ------------------------------------------------------------------------------------------ bad input
@pytest.mark.anyio
async def test_bad_input_never_breaks_the_server(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Malformed JSON, wrong types, oversized bodies, unknown routes: 4xx JSON errors; the hub keeps going."""
    hub.create_space("alice/demo")
    cases = [
        ("POST", "/api/spaces/alice/demo/hardware", b"{not json"),
        ("POST", "/api/spaces/alice/demo/hardware", b"[1, 2]"),
        ("POST", "/api/spaces/alice/demo/hardware", json.dumps({"flavor": 7}).encode()),
        ("POST", "/api/spaces/alice/demo/hardware", json.dumps({"flavor": "gpu-9000"}).encode()),
        ("POST", "/api/spaces/alice/demo/sleeptime", json.dumps({"seconds": True}).encode()),
        ("POST", "/api/spaces/alice/demo/sleeptime", json.dumps({"seconds": -5}).encode()),
        ("POST", "/api/spaces/alice/demo/dev-mode", json.dumps({"enabled": "yes"}).encode()),
        ("POST", "/api/spaces/alice/demo/storage", json.dumps({"tier": "huge"}).encode()),
        ("PUT", "/api/spaces/alice/demo/volumes", json.dumps({"volumes": "all"}).encode()),
        ("POST", "/api/spaces/alice/demo/variables", json.dumps({"key": "k"}).encode()),
        ("POST", "/api/spaces/alice/demo/secrets", b"\xff\xfe"),
        ("POST", "/api/repos/create", b'{"name": "' + b"a" * 1_100_000 + b'"}'),
        ("GET", "/api/not/a/route/at/all", b""),
        ("PATCH", "/api/spaces/alice/demo/runtime", b""),
    ]
    for method, path, body in cases:
        r = await client.request(
            method, path, content=body, headers={**ALICE, "content-type": "application/json"}
        )
        assert 400 <= r.status_code < 500, (method, path, r.status_code)
        assert isinstance(r.json()["error"], str)
    assert hub.counters.server_errors == []
    assert hub.counters.unknown_routes == [
        "GET /api/not/a/route/at/all",
        "PATCH /api/spaces/alice/demo/runtime",
    ]
    assert hub.counters.requests["UNKNOWN"] == 2
    r = await client.get("/api/spaces/alice/demo/runtime", headers=ALICE)
    assert (r.status_code, r.json()["stage"]) == (200, "RUNNING")


@pytest.mark.anyio
async def test_validate_yaml(client: httpx2.AsyncClient) -> None:
    """validate-yaml answers JSON warnings/errors, 400 for unparseable front matter (§11.2)."""
    ok = await client.post(
        "/api/validate-yaml", json={"content": "---\nsdk: gradio\n---\n", "repoType": "space"}
    )
    assert (ok.status_code, ok.json()) == (200, {"errors": [], "warnings": []})
    bad = await client.post("/api/validate-yaml", json={"content": "---\nsdk gradio\n", "repoType": "space"})
    assert bad.status_code == 400
    assert bad.json()["errors"][0]["message"]
