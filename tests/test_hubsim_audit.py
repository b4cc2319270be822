"""Audit of the simulated Hub against hub-api.md, the recordings and the official client.

Covers what the audit found: header values always encodable, bad input (deep JSON, huge numbers, NUL paths,
endless bodies) answered with 4xx instead of 500s, Hub headers (weak ETag, X-Error-Message on 403), auth and
gating answers, static Spaces, HEAD on streams, pre-signed URLs outside the rate limits, seeded random call
sequences, and the simulator's independence from the client's code (design.md §4).
"""

from __future__ import annotations

import ast
import base64
import json
import subprocess
import sys
from collections.abc import AsyncIterator, MutableMapping
from pathlib import Path
from typing import Any

import httpx2
import pytest

from aiospaces.hubsim import SimulatedHub, plan_build

ALICE = {"authorization": "Bearer hf_alice"}
HUBSIM_DIR = Path(__file__).parent.parent / "aiospaces" / "hubsim"


@pytest.fixture
def hub() -> SimulatedHub:
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    return hub


@pytest.fixture
async def client(hub: SimulatedHub) -> AsyncIterator[httpx2.AsyncClient]:
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="http://hub.test") as c:
        yield c


# ------------------------------------------------------------------------------------- header values
@pytest.mark.anyio
async def test_non_ascii_file_name_downloads(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """A file whose name is not ASCII (or holds a quote) downloads with an ASCII-only Content-Disposition."""
    hub.create_repo("alice/data", repo_type="dataset", files={"données é.csv": "a,b\n", 'q"uote.txt': "q"})
    r = await client.get("/datasets/alice/data/resolve/main/donn%C3%A9es%20%C3%A9.csv", headers=ALICE)
    assert (r.status_code, r.content) == (200, b"a,b\n")
    disposition = r.headers["content-disposition"]
    assert disposition.isascii()
    assert "filename*=UTF-8''donn%C3%A9es%20%C3%A9.csv" in disposition
    r = await client.head("/datasets/alice/data/resolve/main/q%22uote.txt", headers=ALICE)
    assert r.status_code == 200
    assert r.headers["content-disposition"].count('"') == 2  # the quoted fallback name stays one token
    assert hub.counters.server_errors == []


@pytest.mark.anyio
async def test_error_headers_stay_ascii_and_single_line(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A revision or path with non-ASCII or newline characters gets its 404 with a one-line ASCII header."""
    hub.create_space("alice/demo")
    cases = [
        ("/api/spaces/alice/demo/revision/%C3%A9t%C3%A9", "RevisionNotFound"),
        ("/api/spaces/alice/demo/revision/x%0D%0AX-Evil:%201", "RevisionNotFound"),
        ("/spaces/alice/demo/resolve/%E2%9C%93/app.py", "RevisionNotFound"),
        ("/api/spaces/alice/demo/tree/main/%E6%97%A5%E6%9C%AC", "EntryNotFound"),
    ]
    for path, code in cases:
        r = await client.get(path, headers=ALICE)
        assert (r.status_code, r.headers["x-error-code"]) == (404, code), path
        message = r.headers["x-error-message"]
        assert message.isascii()
        assert "\n" not in message
        assert "\r" not in message
        assert "x-evil" not in r.headers
        assert isinstance(r.json()["error"], str)
    assert hub.counters.server_errors == []


def test_error_headers_over_a_socket() -> None:
    """Over a real socket a non-ASCII revision gets the Hub's 404 JSON, and the server keeps serving."""
    pytest.importorskip("uvicorn")
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")
    with hub.serve() as url, httpx2.Client(base_url=url, headers=ALICE, timeout=10) as http:
        r = http.get("/api/spaces/alice/demo/revision/%E6%97%A5%E6%9C%AC")
        assert (r.status_code, r.headers["x-error-code"]) == (404, "RevisionNotFound")
        assert "error" in r.json()
        assert http.get("/api/spaces/alice/demo/runtime").status_code == 200
    assert hub.counters.server_errors == []


# ------------------------------------------------------------------------------------- build planning
@pytest.mark.parametrize(
    "source",
    [b"x = " + b"1 + " * 200_000 + b"1\n", b"x = " + b"-" * 300_000 + b"1\n"],
    ids=["deep-expression", "huge-unary-chain"],
)
def test_app_too_deep_to_compile_is_a_runtime_error(source: bytes) -> None:
    """An app.py the compiler gives up on (recursion/memory) is a RUNTIME_ERROR, not a simulator crash."""
    plan = plan_build({"README.md": b"---\nsdk: gradio\n---\n", "app.py": source}, "gradio")
    assert plan.outcome == "RUNTIME_ERROR"
    assert plan.error_message is not None
    assert plan.error_message.startswith("Exit code: 1. Reason: ")
    assert plan.run_log[-1].strip()


@pytest.mark.anyio
async def test_commit_of_uncompilable_app_answers_200(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Committing an app.py too deep to compile answers 200; the Space then ends in RUNTIME_ERROR."""
    hub.create_space("alice/demo")
    hub.set_durations("alice/demo", build=10, start=5)
    content = b"x = " + b"1 + " * 200_000 + b"1\n"
    r = await _commit(client, "/api/spaces/alice/demo", {"app.py": content}, summary="deep")
    assert r.status_code == 200, r.text
    assert hub.counters.server_errors == []
    hub.advance(20)
    assert hub.space_stage("alice/demo") == "RUNTIME_ERROR"


# ---------------------------------------------------------------------------------------- independence
def test_hubsim_sources_import_only_hubsim() -> None:
    """No module of aiospaces.hubsim imports any aiospaces module outside aiospaces.hubsim (design.md §4)."""
    offenders = []
    for path in sorted(HUBSIM_DIR.glob("*.py")):
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names]
            elif isinstance(node, ast.ImportFrom):
                if node.level > 1:
                    offenders.append(f"{path.name}: relative import of level {node.level}")
                    continue
                names = [node.module or ""] if node.level == 0 else []
            else:
                continue
            for name in names:
                if (name == "aiospaces" or name.startswith("aiospaces.")) and not (
                    name == "aiospaces.hubsim" or name.startswith("aiospaces.hubsim.")
                ):
                    offenders.append(f"{path.name}: imports {name}")
    assert offenders == []


def _hubsim_import_graph() -> dict[str, set[str]]:
    """Module → the hubsim modules it imports (relative imports, TYPE_CHECKING ones included)."""
    graph: dict[str, set[str]] = {}
    for path in sorted(HUBSIM_DIR.glob("*.py")):
        deps = graph.setdefault(path.stem, set())
        for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.ImportFrom) and node.level == 1:
                if node.module:
                    deps.add(node.module.split(".")[0])
                else:
                    deps.update(alias.name for alias in node.names)
    return graph


def test_hubsim_has_no_import_cycles() -> None:
    """No chain of imports inside aiospaces.hubsim leads back to its start; the server sits on the hub."""
    graph = _hubsim_import_graph()
    cycles = []
    for start in graph:
        stack = [(start, [start])]
        seen: set[str] = set()
        while stack:
            module, chain = stack.pop()
            for dep in graph.get(module, set()):
                if dep == start:
                    cycles.append(" -> ".join([*chain, dep]))
                elif dep not in seen:
                    seen.add(dep)
                    stack.append((dep, [*chain, dep]))
    assert cycles == []
    assert "_hub" in graph["_serve"]
    assert "_serve" not in graph["_hub"]


def test_route_handlers_are_synchronous() -> None:
    """Every route handler is a plain function, so none can wait while the hub lock is held."""
    import inspect

    hub = SimulatedHub(clock="manual")
    assert hub.router.routes
    for route in hub.router.routes:
        handler = getattr(route.handler, "func", route.handler)  # the table's function, bound to the hub
        assert not inspect.iscoroutinefunction(handler), route.name


def test_hubsim_runs_without_the_client_package() -> None:
    """aiospaces.hubsim imports and serves a request with the rest of aiospaces absent from sys.modules."""
    script = f"""
import sys, types
# An empty `aiospaces` package: the client's modules (its __init__ included) are never executed.
pkg = types.ModuleType("aiospaces")
pkg.__path__ = [{str(HUBSIM_DIR.parent)!r}]
sys.modules["aiospaces"] = pkg
import anyio, httpx2
from aiospaces.hubsim import SimulatedHub

async def main():
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="http://hub") as c:
        r = await c.get("/api/spaces/alice/demo/runtime", headers={{"authorization": "Bearer hf_alice"}})
        assert r.json()["stage"] == "RUNNING", r.text

anyio.run(main)
loaded = sorted(m for m in sys.modules if m.startswith("aiospaces.") and not m.startswith("aiospaces.hubsim"))
print(",".join(loaded))
"""
    proc = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert proc.stdout.strip() == ""


# ------------------------------------------------------------------------------------------ auth
@pytest.mark.anyio
async def test_owner_only_reads_need_authentication(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Anonymous reads of a public Space's secrets, variables or logs are 401 (authenticate), not 403."""
    hub.add_user("bob", token="hf_bob")
    hub.create_space("alice/demo")
    for suffix in ("secrets", "variables", "logs/run", "logs/build"):
        r = await client.get(f"/api/spaces/alice/demo/{suffix}")
        assert r.status_code == 401, suffix
        assert "x-error-code" not in r.headers
        assert isinstance(r.json()["error"], str)
        r = await client.get(f"/api/spaces/alice/demo/{suffix}", headers={"authorization": "Bearer hf_bob"})
        assert r.status_code == 403, suffix


# ------------------------------------------------------------------------------------- rate limits
@pytest.mark.anyio
async def test_presigned_storage_urls_are_not_rate_limited(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """Pre-signed LFS upload URLs stand for object storage: no Hub quota, no RateLimit headers, never 429."""
    import hashlib

    hub.create_space("alice/demo")
    data = bytes(range(256)) * 8
    oid = hashlib.sha256(data).hexdigest()
    hub.set_rate_limit(2, 300)
    batch = await client.post(
        "/spaces/alice/demo.git/info/lfs/objects/batch",
        content=json.dumps(
            {
                "operation": "upload",
                "transfers": ["basic"],
                "objects": [{"oid": oid, "size": len(data)}],
                "hash_algo": "sha256",
                "ref": {"name": "main"},
            }
        ).encode(),
        headers={**ALICE, "content-type": "application/vnd.git-lfs+json"},
    )
    assert batch.status_code == 200
    assert batch.headers["ratelimit"] == '"api";r=1;t=300'
    href = batch.json()["objects"][0]["actions"]["upload"]["href"]
    assert (await client.get("/api/whoami-v2", headers=ALICE)).status_code == 200
    assert (await client.get("/api/whoami-v2", headers=ALICE)).status_code == 429
    for _ in range(3):  # more than the quota, all anonymous as the official client sends them
        put = await client.put(href, content=data)
        assert put.status_code == 200
        assert "ratelimit" not in put.headers
    assert hub.counters.rate_limited == 1


@pytest.mark.anyio
async def test_api_bodies_carry_the_hubs_weak_etag(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """`{}` and `OK` answers carry exactly the weak ETags recorded from huggingface.co (manage_secrets)."""
    hub.create_space("alice/demo")
    r = await client.post("/api/spaces/alice/demo/secrets", json={"key": "A", "value": "1"}, headers=ALICE)
    assert (r.text, r.headers["etag"]) == ("{}", 'W/"2-vyGp6PvFo4RvsFtPoIWeCReyIC8"')
    body = {"name": "demo", "organization": "alice", "type": "space"}
    r = await client.request("DELETE", "/api/repos/delete", json=body, headers=ALICE)
    assert (r.text, r.headers["etag"]) == ("OK", 'W/"2-nOO9QiTIwXgNtWtBJezz8kv3SLc"')


# -------------------------------------------------------------------------------------------- bad input
@pytest.mark.anyio
async def test_deeply_nested_json_is_a_400(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """JSON nested deeper than Python's parser recursion (JSON, NDJSON, LFS bodies) is a 400, never a 500."""
    hub.create_space("alice/demo")
    deep = b"[" * 100_000 + b"]" * 100_000
    cases = [
        ("/api/spaces/alice/demo/hardware", deep, "application/json"),
        ("/api/spaces/alice/demo/preupload/main", b'{"files":' + deep + b"}", "application/json"),
        ("/api/spaces/alice/demo/commit/main", deep + b"\n", "application/x-ndjson"),
        ("/spaces/alice/demo.git/info/lfs/objects/batch", deep, "application/vnd.git-lfs+json"),
    ]
    for path, body, content_type in cases:
        r = await client.post(path, content=body, headers={**ALICE, "content-type": content_type})
        assert r.status_code == 400, path
        assert isinstance(r.json()["error"], str)
    assert hub.counters.server_errors == []


@pytest.mark.anyio
async def test_out_of_range_sleep_times_are_refused(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Sleep times beyond any clock (10**400 s) are a 400 everywhere; the Space still answers its runtime."""
    hub.create_space("alice/demo", hardware="t4-small")
    huge = "1" + "0" * 400  # a valid JSON number, far past what the Hub can store
    cases = [
        ("/api/spaces/alice/demo/sleeptime", '{"seconds": HUGE}'),
        ("/api/spaces/alice/demo/hardware", '{"flavor": "t4-medium", "sleepTimeSeconds": HUGE}'),
        ("/api/repos/create", '{"name": "big", "type": "space", "sdk": "gradio", "sleepTimeSeconds": HUGE}'),
    ]
    for path, body in cases:
        r = await client.post(
            path, content=body.replace("HUGE", huge), headers={**ALICE, "content-type": "application/json"}
        )
        assert r.status_code == 400, path
        assert "error" in r.json()
    r = await client.get("/api/spaces/alice/demo/runtime", headers=ALICE)
    assert (r.status_code, r.json()["hardware"]["requested"]) == (200, "t4-small")
    assert not hub.repo_exists("alice/big")
    assert hub.counters.server_errors == []


# -------------------------------------------------------------------------------------------- lifecycle
@pytest.mark.anyio
async def test_static_space_turned_gradio_runs_on_cpu_basic(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A README commit turning a static Space into a Gradio one builds it onto cpu-basic (not no hardware)."""
    hub.create_space("alice/site", sdk="static")
    hub.set_durations("alice/site", build=10, start=5, commit_to_build=5)
    readme = b"---\nsdk: gradio\napp_file: app.py\n---\n"
    files = {"README.md": readme, "app.py": b"print('hi')\n"}
    r = await _commit(client, "/api/spaces/alice/site", files, summary="to gradio")
    assert r.status_code == 200
    hub.advance(5)  # the build starts `commit_to_build` after the commit
    runtime = (await client.get("/api/spaces/alice/site/runtime", headers=ALICE)).json()
    assert (runtime["stage"], runtime["hardware"]) == (
        "BUILDING",
        {"current": None, "requested": "cpu-basic"},
    )
    assert runtime["gcTimeout"] == 172800
    hub.advance(20)
    runtime = (await client.get("/api/spaces/alice/site/runtime", headers=ALICE)).json()
    assert (runtime["stage"], runtime["hardware"]) == (
        "RUNNING",
        {"current": "cpu-basic", "requested": "cpu-basic"},
    )


STAGES = {
    "NO_APP_FILE",
    "CONFIG_ERROR",
    "BUILDING",
    "BUILD_ERROR",
    "APP_STARTING",
    "RUNNING",
    "RUNNING_BUILDING",
    "RUNNING_APP_STARTING",
    "RUNTIME_ERROR",
    "DELETING",
    "STOPPED",
    "PAUSED",
    "SLEEPING",
}
TRANSITIONAL = {"BUILDING", "APP_STARTING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"}
NOT_SERVING = {"BUILDING", "PAUSED", "STOPPED", "BUILD_ERROR", "RUNTIME_ERROR", "NO_APP_FILE", "CONFIG_ERROR"}


def _ndjson_commit(files: dict[str, bytes | None], *, summary: str = "change") -> bytes:
    lines: list[dict[str, object]] = [{"key": "header", "value": {"summary": summary, "description": ""}}]
    for path, content in files.items():
        if content is None:
            lines.append({"key": "deletedFile", "value": {"path": path}})
        else:
            value = {"path": path, "content": base64.b64encode(content).decode(), "encoding": "base64"}
            lines.append({"key": "file", "value": value})
    return "".join(json.dumps(line) + "\n" for line in lines).encode()


async def _commit(
    client: httpx2.AsyncClient, api_repo: str, files: dict[str, bytes | None], *, summary: str = "change"
) -> httpx2.Response:
    """Commit `files` (None deletes) to main of `api_repo` (e.g. `/api/spaces/alice/demo`) as alice."""
    return await client.post(
        f"{api_repo}/commit/main",
        content=_ndjson_commit(files, summary=summary),
        headers={**ALICE, "content-type": "application/x-ndjson"},
    )


def _runtime_problems(space: str, runtime: dict[str, object]) -> list[str]:
    hardware = runtime.get("hardware")
    if runtime.get("stage") not in STAGES or not isinstance(hardware, dict):
        return [f"{space}: unparseable runtime {runtime}"]
    problems = []
    stage, current, requested = runtime["stage"], hardware.get("current"), hardware.get("requested")
    if space == "alice/site" and (stage, current, requested) != ("RUNNING", None, None):
        problems.append(f"static Space not running without hardware: {runtime}")
    if space != "alice/site":
        if stage == "RUNNING" and current != requested:
            problems.append(f"RUNNING on {current} while {requested} is requested")
        if stage in NOT_SERVING and current is not None:
            problems.append(f"{stage} still shows hardware {current}")
        if requested == "cpu-basic" and runtime.get("gcTimeout") != 172800:
            problems.append(f"cpu-basic with gcTimeout {runtime.get('gcTimeout')}")
    return problems


@pytest.mark.anyio
@pytest.mark.parametrize("seed", range(6))
async def test_random_call_sequences_keep_every_runtime_valid(
    client: httpx2.AsyncClient, hub: SimulatedHub, seed: int
) -> None:
    """Random lifecycle calls and clock jumps never give a 5xx or a runtime contradicting hub-api.md §8."""
    import random

    rng = random.Random(seed)
    hub.create_space("alice/app", hardware=rng.choice(["cpu-basic", "t4-small"]))
    hub.create_space("alice/site", sdk="static")
    commits: list[dict[str, bytes | None]] = [
        {"app.py": b"print(1)\n"},
        {"app.py": b"def broken(:\n"},
        {"requirements.txt": b"torch==>1\n"},
        {"requirements.txt": b"numpy\n"},
        {"app.py": None},
        {"README.md": b"---\nsdk: nope\n---\n"},
        {"README.md": b"---\nsdk: gradio\napp_file: app.py\n---\n"},
    ]
    problems: list[str] = []
    for _ in range(150):
        space = rng.choice(["alice/app", "alice/app", "alice/site"])
        base = f"/api/spaces/{space}"
        action = rng.randrange(12)
        if action == 0:
            body: dict[str, object] = {"flavor": rng.choice(["cpu-basic", "t4-small", "t4-medium"])}
            if rng.random() < 0.3:
                body["sleepTimeSeconds"] = rng.choice([-1, 60, 3600])
            r = await client.post(base + "/hardware", json=body, headers=ALICE)
        elif action == 1:
            r = await client.post(
                base + "/sleeptime", json={"seconds": rng.choice([-1, 60, 3600])}, headers=ALICE
            )
        elif action == 2:
            r = await client.post(base + "/pause", headers=ALICE)
        elif action == 3:
            r = await client.post(
                base + ("/restart?factory=true" if rng.random() < 0.5 else "/restart"), headers=ALICE
            )
        elif action == 4 and space == "alice/app":
            r = await _commit(client, base, rng.choice(commits))
        elif action == 5:
            r = await client.post(base + "/dev-mode", json={"enabled": rng.random() < 0.5}, headers=ALICE)
        elif action == 6:
            r = await client.post(
                base + "/storage", json={"tier": rng.choice(["small", "large"])}, headers=ALICE
            )
        elif action == 7:
            hub.visit(space)
            continue
        elif action == 8 and space == "alice/app":
            hub.crash(space) if rng.random() < 0.5 else hub.fail_next_build(space)
            continue
        elif action == 9:
            r = await client.get("/api/spaces?author=alice&expand=runtime", headers=ALICE)
            for item in r.json():
                problems += _runtime_problems(item["id"], item["runtime"])
        else:
            hub.advance(rng.choice([1, 30, 600, 200_000]))
            continue
        if r.status_code >= 500 or (r.status_code >= 400 and not isinstance(r.json().get("error"), str)):
            problems.append(f"{r.request.method} {r.request.url.path}: {r.status_code} {r.text[:200]}")
        runtime = (await client.get(base + "/runtime", headers=ALICE)).json()
        problems += _runtime_problems(space, runtime)
    hub.advance(10_000)  # far past every build, start and hardware switch: nothing stays in between
    runtime = (await client.get("/api/spaces/alice/app/runtime", headers=ALICE)).json()
    assert runtime["stage"] not in TRANSITIONAL
    assert problems == []
    assert hub.counters.server_errors == []


@pytest.mark.anyio
async def test_commit_path_with_nul_byte_is_refused(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """A commit adding a path that holds a NUL byte (git cannot store it) is a 400 and changes nothing."""
    hub.create_repo("alice/data", repo_type="dataset")
    head = hub.git.head(("dataset", "alice/data"))
    r = await _commit(client, "/api/datasets/alice/data", {"a\x00b.txt": b"x"})
    assert r.status_code == 400
    assert "error" in r.json()
    assert hub.git.head(("dataset", "alice/data")) == head


@pytest.mark.anyio
async def test_asgi_app_stops_reading_an_oversized_json_body(hub: SimulatedHub) -> None:
    """The ASGI app answers 413 after reading just past the 1 MB JSON limit, not the whole (endless) body."""
    chunk = b"x" * 256 * 1024
    received = 0
    sent: list[MutableMapping[str, Any]] = []

    async def receive() -> dict[str, object]:
        nonlocal received
        received += 1
        if received > 1000:  # an endless upload, as far as the app can tell
            return {"type": "http.disconnect"}
        return {"type": "http.request", "body": chunk, "more_body": True}

    async def send(message: MutableMapping[str, Any]) -> None:
        sent.append(message)

    scope = {
        "type": "http",
        "method": "POST",
        "path": "/api/repos/create",
        "raw_path": b"/api/repos/create",
        "query_string": b"",
        "headers": [(b"host", b"hub.test"), (b"authorization", b"Bearer hf_alice")],
        "scheme": "http",
        "server": ("127.0.0.1", 80),
    }
    await hub.asgi_app(scope, receive, send)
    assert received <= 6  # 1 MB / 256 KB, plus the chunk that crossed the limit
    assert sent[0]["status"] == 413
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    assert "error" in json.loads(body)


@pytest.mark.anyio
async def test_forbidden_answers_carry_x_error_message(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """403s send their message in X-Error-Message, which the official client quotes ("403 Forbidden: ...")."""
    hub.add_user("bob", token="hf_bob")
    hub.add_token("alice", "hf_alice_read", role="read")
    hub.create_space("alice/demo")
    for path, token in [
        ("/api/spaces/alice/demo/pause", "hf_bob"),
        ("/api/spaces/alice/demo/restart", "hf_alice_read"),
    ]:
        r = await client.post(path, headers={"authorization": f"Bearer {token}"})
        assert r.status_code == 403
        assert r.headers["x-error-message"] == r.json()["error"]
        assert "x-error-code" not in r.headers


@pytest.mark.anyio
async def test_gated_repo_files_need_access(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """Files of a gated repo: the owner downloads; others get 403 and anonymous 401, both `GatedRepo`."""
    hub.add_user("bob", token="hf_bob")
    hub.create_repo("alice/weights", files={"config.json": "{}"})
    r = await client.put("/api/models/alice/weights/settings", json={"gated": "manual"}, headers=ALICE)
    assert r.status_code == 200
    url = "/alice/weights/resolve/main/config.json"
    assert (await client.get(url, headers=ALICE)).content == b"{}"
    for headers, status in [({"authorization": "Bearer hf_bob"}, 403), ({}, 401)]:
        for method in ("GET", "HEAD"):
            r = await client.request(method, url, headers=headers)
            assert (r.status_code, r.headers["x-error-code"]) == (status, "GatedRepo")
    # The repo itself stays visible (info and listings); only its files are gated.
    r = await client.get("/api/models/alice/weights", headers={"authorization": "Bearer hf_bob"})
    assert (r.status_code, r.json()["gated"]) == (200, "manual")


@pytest.mark.anyio
async def test_static_space_with_a_broken_readme_shows_config_error(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """A static Space runs without hardware, but an invalid README makes it CONFIG_ERROR like any Space."""
    hub.create_space("alice/site", sdk="static")
    hub.set_durations("alice/site", commit_to_build=5)
    r = await _commit(client, "/api/spaces/alice/site", {"README.md": b"---\nsdk static\n---\n"})
    assert r.status_code == 200
    hub.advance(5)  # the commit's build starts 5 s later, and stops at the configuration
    runtime = (await client.get("/api/spaces/alice/site/runtime", headers=ALICE)).json()
    assert runtime["stage"] == "CONFIG_ERROR"
    assert runtime["hardware"] == {"current": None, "requested": None}
    assert "README.md" in runtime["errorMessage"]
    r = await _commit(client, "/api/spaces/alice/site", {"README.md": b"---\nsdk: static\n---\n"})
    hub.advance(5)
    runtime = (await client.get("/api/spaces/alice/site/runtime", headers=ALICE)).json()
    assert runtime == {
        "stage": "RUNNING",
        "hardware": {"current": None, "requested": None},
        "storage": None,
        "replicas": {"requested": 1, "current": 1},
    }


@pytest.mark.anyio
async def test_head_on_a_live_log_stream_answers_headers_only(hub: SimulatedHub) -> None:
    """HEAD on a following SSE log answers its headers and closes the stream (no body, nothing left open)."""
    hub.create_space("alice/demo")  # RUNNING: its run log stays open for followers
    async with httpx2.AsyncClient(transport=hub.transport(), base_url="http://hub.test") as client:
        r = await client.head("/api/spaces/alice/demo/logs/run", headers=ALICE)
    assert (r.status_code, r.content) == (200, b"")
    assert r.headers["content-type"] == "text/event-stream"
    assert hub.counters.in_flight == 0


def test_head_on_a_live_log_stream_over_a_socket() -> None:
    """Over a socket too, HEAD on a live log returns at once and the connection serves the next request."""
    pytest.importorskip("uvicorn")
    hub = SimulatedHub(speed=1)
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")
    with hub.serve() as url, httpx2.Client(base_url=url, headers=ALICE, timeout=10) as http:
        r = http.head("/api/spaces/alice/demo/logs/run")
        assert (r.status_code, r.content) == (200, b"")
        assert http.get("/api/spaces/alice/demo/runtime").json()["stage"] == "RUNNING"
    assert hub.counters.in_flight == 0


# ------------------------------------------------------------------------------------------ repos
@pytest.mark.anyio
async def test_move_repo_keeps_history_and_space_settings(
    client: httpx2.AsyncClient, hub: SimulatedHub
) -> None:
    """POST /api/repos/move renames a Space (same commits, secrets, hardware); the old id is then 404."""
    hub.add_user("bob", token="hf_bob")
    hub.create_space("alice/old", hardware="t4-small", secrets={"TOKEN": "s3cret"})
    sha = (await client.get("/api/spaces/alice/old", headers=ALICE)).json()["sha"]
    body = {"fromRepo": "alice/old", "toRepo": "alice/new", "type": "space"}
    r = await client.post("/api/repos/move", json=body, headers=ALICE)
    assert r.status_code == 200
    info = (await client.get("/api/spaces/alice/new", headers=ALICE)).json()
    assert (info["sha"], info["subdomain"]) == (sha, "alice-new")
    runtime = (await client.get("/api/spaces/alice/new/runtime", headers=ALICE)).json()
    assert runtime["hardware"]["requested"] == "t4-small"
    assert runtime["domains"] == [{"domain": "alice-new.hf.space", "stage": "READY"}]
    assert list((await client.get("/api/spaces/alice/new/secrets", headers=ALICE)).json()) == ["TOKEN"]
    r = await client.get("/api/spaces/alice/old/runtime", headers=ALICE)
    assert (r.status_code, r.headers["x-error-code"]) == (404, "RepoNotFound")
    # Errors: missing source, taken target, someone else's namespace, bad ids.
    cases = [
        ({"fromRepo": "alice/nope", "toRepo": "alice/x", "type": "space"}, ALICE, 404),
        ({"fromRepo": "alice/new", "toRepo": "alice/new", "type": "space"}, ALICE, 409),
        ({"fromRepo": "alice/new", "toRepo": "bob/stolen", "type": "space"}, ALICE, 403),
        (
            {"fromRepo": "alice/new", "toRepo": "bob/x", "type": "space"},
            {"authorization": "Bearer hf_bob"},
            403,
        ),
        ({"fromRepo": "alice/new", "toRepo": "no-namespace", "type": "space"}, ALICE, 400),
        ({"fromRepo": "alice/new", "toRepo": 7, "type": "space"}, ALICE, 400),
        ({"fromRepo": "alice/new", "toRepo": "alice/x", "type": "bucket"}, ALICE, 400),
    ]
    for payload, headers, status in cases:
        r = await client.post("/api/repos/move", json=payload, headers=headers)
        assert r.status_code == status, payload
        assert isinstance(r.json()["error"], str)
    assert hub.repo_exists("alice/new")
    assert hub.counters.unknown_routes == []


@pytest.mark.anyio
async def test_semantic_search_finds_running_spaces(client: httpx2.AsyncClient, hub: SimulatedHub) -> None:
    """GET /api/spaces/semantic-search answers a plain array in §6.3's shape, running Spaces unless asked."""
    hub.create_space("alice/image-gen", files={"app.py": "print(1)\n"})
    hub.create_space("alice/image-old", stage="PAUSED")
    hub.create_space("alice/chat", sdk="streamlit")
    r = await client.get("/api/spaces/semantic-search", params={"q": "image generator"}, headers=ALICE)
    assert r.status_code == 200
    assert "link" not in r.headers
    (item,) = r.json()
    assert item["id"] == "alice/image-gen"
    assert set(item) == {
        "id",
        "author",
        "title",
        "emoji",
        "sdk",
        "likes",
        "private",
        "tags",
        "runtime",
        "ai_short_description",
        "ai_category",
        "semanticRelevancyScore",
        "trendingScore",
    }
    assert item["runtime"]["stage"] == "RUNNING"
    assert isinstance(item["semanticRelevancyScore"], float)
    params = {"q": "image", "includeNonRunning": "true"}
    r = await client.get("/api/spaces/semantic-search", params=params, headers=ALICE)
    assert sorted(i["id"] for i in r.json()) == ["alice/image-gen", "alice/image-old"]
    r = await client.get("/api/spaces/semantic-search", params={"q": "chat", "sdk": "gradio"}, headers=ALICE)
    assert r.json() == []
    r = await client.get("/api/spaces/semantic-search", headers=ALICE)
    assert r.status_code == 400
    assert hub.counters.unknown_routes == []
