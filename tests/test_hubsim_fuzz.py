"""Malformed requests on every route of the simulated Hub: no 5xx, and it keeps serving.

A seeded generator turns every route name of the hub's table into concrete requests with bad JSON, wrong
types, huge values, missing or foreign auth, invalid UTF-8 (in bodies, paths and queries) and mangled
revisions and paths. Thousands go through `hub.transport()` in-process; a shorter run goes over a real
socket. Any 5xx, or any handler exception the hub records, fails the test with the request that caused it.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from typing import Any

import attrs
import httpx2
import pytest

from aiospaces.hubsim import SimulatedHub

TOKENS = [None, "hf_alice", "hf_bob", "hf_carol_read", "hf_unknown", "", "hf_" + "x" * 300]
REPO_IDS = [
    "alice/demo",
    "alice/model",
    "alice/data",
    "alice/gated",
    "alice/secret",
    "ALICE/DEMO",
    "bob/nothing",
    "gpt2",
    "acme/shared",
    "-bad/name.",
    "a" * 300 + "/b",
    "%ff%fe/x",
    "alice/%00",
    "alice/..",
]
REVISIONS = [
    "main",
    "refs%2Fpr%2F1",
    "refs/pr/1",
    "refs/heads/main",
    "refs/tags/v1",
    "v1",
    "deadbeef",
    "0" * 40,
    "%ff",
    "..",
    "a" * 500,
    "",
    "refs%2Fpr%2F99999999999999999999",
]
PATHS = ["README.md", "app.py", "a/b/c.txt", "..%2F..%2Fetc", "%ff%fe", "x" * 2000, "", "dir/", "%00"]
PLURALS = ["models", "datasets", "spaces", "kernels"]
GOOD_REPOS = {"models": "alice/model", "datasets": "alice/data", "spaces": "alice/demo"}
PREFIXES = ["", "datasets/", "spaces/"]
QUERY_KEYS = [
    "limit",
    "p",
    "cursor",
    "expand",
    "expand[]",
    "recursive",
    "create_pr",
    "include_prs",
    "full",
    "search",
    "author",
    "sort",
    "direction",
    "follow",
    "size",
    "expires",
    "signature",
    "part",
]
QUERY_VALUES = ["1", "0", "-1", "true", "", "99999999999999999999999", "%ff", "x" * 1000, "null", "[]", "1e9"]
JSON_KEYS = [
    "name",
    "organization",
    "type",
    "private",
    "visibility",
    "sdk",
    "hardware",
    "sleepTimeSeconds",
    "seconds",
    "fromRepo",
    "toRepo",
    "repository",
    "key",
    "value",
    "description",
    "variables",
    "secrets",
    "volumes",
    "storage",
    "tier",
    "gated",
    "files",
    "gitIgnore",
    "operation",
    "objects",
    "transfers",
    "hash_algo",
    "ref",
    "oid",
    "size",
    "parts",
    "paths",
    "startingPoint",
    "tag",
    "message",
    "content",
    "repoType",
    "template",
    "enabled",
    "factory_reboot",
]


def _huge_int(rng: random.Random) -> int:
    return rng.choice([10**30, -(10**30), 2**63, -1, 0, 2**31])


def _scalar(rng: random.Random) -> Any:
    """A value of a random, usually wrong, JSON type."""
    kind = rng.randrange(10)
    if kind == 0:
        return _huge_int(rng)
    if kind == 1:
        return rng.choice([True, False, None])
    if kind == 2:
        return "x" * rng.choice([0, 1, 10_000, 200_000])
    if kind == 3:
        return rng.choice([1.5, -0.0, 1e308])
    if kind == 4:
        return [_scalar(rng) for _ in range(rng.randrange(3))]
    if kind == 5:
        return {rng.choice(JSON_KEYS): _scalar(rng)}
    if kind == 6:
        return rng.choice(REPO_IDS + REVISIONS + PATHS)
    if kind == 7:
        return "\ud800 lone surrogate" if rng.random() < 0.5 else "\u0000\n\r\t"
    if kind == 8:
        return rng.choice(["cpu-basic", "t4-small", "gradio", "static", "docker", "small", "auto", "upload"])
    return {"oid": "0" * 64, "size": _huge_int(rng), "path": rng.choice(PATHS)}


def _ndjson(rng: random.Random) -> bytes:
    lines: list[bytes] = []
    if rng.random() < 0.7:
        header = {"summary": _scalar(rng) if rng.random() < 0.3 else "s", "parentCommit": _scalar(rng)}
        lines.append(json.dumps({"key": "header", "value": header}).encode())
    for _ in range(rng.randrange(4)):
        kind = rng.choice(["file", "lfsFile", "deletedFile", "deletedFolder", "copy", None, 7])
        value = {k: _scalar(rng) for k in rng.sample(["path", "content", "encoding", "oid", "size"], 3)}
        if rng.random() < 0.5:
            value["path"] = rng.choice(PATHS)
        lines.append(json.dumps({"key": kind, "value": value}).encode())
    if rng.random() < 0.3:
        lines.append(rng.choice([b"{not json", b"\xff\xfe\xfd", b"[" * 5000, b"null", b'"x"']))
    return b"\n".join(lines)


def _body(rng: random.Random) -> tuple[bytes, str | None]:
    """A request body and its content type."""
    kind = rng.randrange(9)
    if kind == 0:
        return b"", None
    if kind == 1:
        return rng.choice([b"{", b"{'a': 1}", b"nul", b"]", b"\x00\x01"]), "application/json"
    if kind == 2:
        return b"\xff\xfe" + "é".encode("latin-1") + b"\xc3", "application/json"
    if kind == 3:
        return b"[" * 100_000 + b"]" * 100_000, "application/json"
    if kind == 4:
        return _ndjson(rng), "application/x-ndjson"
    if kind == 5:
        return b"paths=%ff&paths=" + rng.choice(
            PATHS
        ).encode() + b"&expand=1", "application/x-www-form-urlencoded"
    if kind == 6:
        return json.dumps(_scalar(rng)).encode(), "application/json"
    payload = {k: _scalar(rng) for k in rng.sample(JSON_KEYS, rng.randrange(1, 16))}
    return json.dumps(payload).encode(), rng.choice(["application/json", "text/plain", None])


def _fill(route: str, rng: random.Random) -> tuple[str, str]:
    """(method, raw path) for a route name, its placeholders filled with good and bad values."""
    method, _, template = route.partition(" ")
    template = template.split(" (")[0]
    if template.startswith("/__hubsim/lfs/"):
        kind = template.rsplit("/", 1)[1]
        repo = rng.choice(["space/alice/demo", "model/alice/model", "nope/a/b", "space/alice"])
        oid = rng.choice(["0" * 64, "f" * 64, "xyz"])
        # Pre-signed URLs are checked by their query: give it forged and non-ASCII signatures.
        signature = rng.choice(["%ff", "%C3%A9", "0" * 64, "", "x" * 5000])
        template = f"/__hubsim/lfs/{kind}/{repo}/{oid}?signature={signature}&size=1&expires=1e99&part=1"
    plural, prefix = rng.choice(PLURALS), rng.choice(PREFIXES)
    if rng.random() < 0.6:
        # Mostly the repo the route's type names, so that requests get past the repo lookup.
        kind = next((k for k in ("models", "datasets", "spaces") if k in template), plural)
        if "{prefix}" in template:
            kind = {"": "models", "datasets/": "datasets", "spaces/": "spaces"}[prefix]
        repo_id = GOOD_REPOS.get(kind, "alice/model")
    else:
        repo_id = rng.choice(REPO_IDS)
    revision = "main" if rng.random() < 0.5 else rng.choice(REVISIONS)
    file_path = "README.md" if rng.random() < 0.4 else rng.choice(PATHS)
    path = (
        template.replace("{type}s", plural)
        .replace("{prefix}", prefix)
        .replace("{id}", repo_id)
        .replace("{rev}", revision)
        .replace("{branch}", rng.choice(REVISIONS))
        .replace("{tag}", rng.choice(REVISIONS))
        .replace("{path}", file_path)
    )
    if rng.random() < 0.05:
        path += rng.choice(["/", "//x", "/%ff", "?"])
    return method, path


@attrs.frozen
class FuzzRequest:
    """One generated request."""

    method: str
    path: str
    query: str
    headers: dict[str, str]
    body: bytes

    def describe(self) -> str:
        """The request, short enough for an assertion message."""
        return f"{self.method} {self.path[:200]}?{self.query[:200]} body={self.body[:200]!r}"


def requests_for(routes: list[str], seed: int, count: int) -> Iterator[FuzzRequest]:
    """`count` seeded malformed requests, cycling over every route."""
    rng = random.Random(seed)
    for index in range(count):
        method, path = _fill(routes[index % len(routes)], rng)
        path, _, fixed = path.partition("?")
        query = "&".join(
            [fixed] * bool(fixed)
            + [f"{rng.choice(QUERY_KEYS)}={rng.choice(QUERY_VALUES)}" for _ in range(rng.randrange(4))]
        )
        body, content_type = (
            _body(rng) if method in ("POST", "PUT", "DELETE") or rng.random() < 0.1 else (b"", None)
        )
        headers: dict[str, str] = {}
        token = "hf_alice" if rng.random() < 0.5 else rng.choice(TOKENS)
        if token is not None:
            headers["authorization"] = (f"Bearer {token}" if rng.random() < 0.9 else token).strip()
        if content_type is not None:
            headers["content-type"] = content_type
        if rng.random() < 0.1:
            headers["range"] = rng.choice(["bytes=0-0", "bytes=-0", "bytes=99999999999999999999-", "bytes=x"])
        yield FuzzRequest(method, path, query, headers, body)


def seeded_hub() -> SimulatedHub:
    """A hub with every kind of repo and caller the generated requests name."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice", orgs=["acme"])
    hub.add_user("bob", token="hf_bob")
    hub.add_user("carol", token="hf_carol_read", role="read")
    reseed(hub)
    return hub


def reseed(hub: SimulatedHub) -> None:
    """Recreate the repos that generated requests deleted or moved away, so later ones find them again."""
    if not hub.repo_exists("alice/demo", repo_type="space"):
        hub.create_space("alice/demo")
    for repo_id, kind, extra in (
        ("alice/model", "model", {}),
        ("alice/data", "dataset", {}),
        ("alice/gated", "model", {}),
        ("alice/secret", "model", {"private": True}),
        ("acme/shared", "model", {}),
    ):
        if not hub.repo_exists(repo_id, repo_type=kind):
            hub.create_repo(repo_id, repo_type=kind, files={"README.md": "---\nlicense: mit\n---\n"}, **extra)
    gated = hub.repo("model", "alice/gated")
    if gated is not None:
        gated.gated = "manual"


def _routes(hub: SimulatedHub) -> list[str]:
    return sorted(set(hub.route_names()))


def _check_serving(statuses: list[tuple[int, str]], hub: SimulatedHub) -> None:
    server_errors = [(status, what) for status, what in statuses if status >= 500]
    assert server_errors == [], server_errors[:5]
    assert hub.counters.server_errors == [], hub.counters.server_errors[:5]


@pytest.mark.anyio
async def test_thousands_of_malformed_requests_in_process_get_no_5xx() -> None:
    """4,000 seeded malformed requests on every route, in-process: all answer below 500; the hub serves on."""
    hub = seeded_hub()
    routes = _routes(hub)
    statuses: list[tuple[int, str]] = []
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="https://hub.local") as client:
        for index, request in enumerate(requests_for(routes, seed=12, count=4000)):
            if index % 200 == 0:
                reseed(hub)
            url = request.path + (f"?{request.query}" if request.query else "")
            async with client.stream(
                request.method, url, headers=request.headers, content=request.body
            ) as response:
                if "/logs/" not in request.path:
                    await response.aread()  # a log stream may follow forever: its status is enough
                statuses.append((response.status_code, request.describe()))
        # Still serving: a plain authenticated read works.
        who = await client.get("/api/whoami-v2", headers={"authorization": "Bearer hf_alice"})
    _check_serving(statuses, hub)
    assert who.status_code == 200
    assert who.json()["name"] == "alice"
    # Every route was hit, and the run was not all rejections at the door.
    assert set(hub.counters.requests) >= set(routes)
    assert {status for status, _ in statuses} >= {200, 400, 401, 404}


def test_malformed_requests_over_a_real_socket_get_no_5xx() -> None:
    """Seeded malformed requests over a real socket: no 5xx, no dropped connection; the server serves on."""
    pytest.importorskip("uvicorn")
    hub = seeded_hub()
    routes = _routes(hub)
    statuses: list[tuple[int, str]] = []
    with hub.serve() as url, httpx2.Client(base_url=url, timeout=30) as client:
        for index, request in enumerate(requests_for(routes, seed=1212, count=600)):
            if index % 100 == 0:
                reseed(hub)
            if "/logs/" in request.path:
                continue  # log streams may follow forever; the in-process run covers their status
            target = request.path + (f"?{request.query}" if request.query else "")
            response = client.request(request.method, target, headers=request.headers, content=request.body)
            statuses.append((response.status_code, request.describe()))
        who = client.get("/api/whoami-v2", headers={"authorization": "Bearer hf_alice"})
    _check_serving(statuses, hub)
    assert who.status_code == 200
    assert len(statuses) > 500


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("method", "url", "body"),
    [
        # A lone surrogate in JSON is valid JSON, and the error message quoting it goes into a header.
        ("POST", "/api/datasets/alice/data/branch/new", b'{"startingPoint": "\\ud800"}'),
        ("POST", "/api/datasets/alice/data/tag/%ED%A0%80", b'{"tag": "\\udfff"}'),
        # A pre-signed URL's signature is any text the caller put in the query.
        ("PUT", "/__hubsim/lfs/upload/space/alice/demo/" + "0" * 64 + "?signature=%C3%A9&size=1", b"x"),
        ("POST", "/__hubsim/lfs/complete/space/alice/demo/" + "0" * 64 + "?signature=%ff", b"{}"),
    ],
)
async def test_text_without_a_utf8_or_ascii_form_is_answered_not_crashed(
    method: str, url: str, body: bytes
) -> None:
    """Lone surrogates echoed into headers and non-ASCII signatures get a 4xx answer, not an exception."""
    hub = seeded_hub()
    headers = {"authorization": "Bearer hf_alice", "content-type": "application/json"}
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="https://hub.local") as client:
        response = await client.request(method, url, headers=headers, content=body)
    assert 400 <= response.status_code < 500
    assert all(value.isascii() for value in response.headers.values())
    assert hub.counters.server_errors == []
