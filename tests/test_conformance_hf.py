"""Conformance: the official `huggingface_hub` client runs the seed guide, unchanged, against the simulator.

The client runs in a subprocess (it is synchronous and reads its configuration from the environment at import
time) against `hub.serve()` on 127.0.0.1, with `HF_ENDPOINT`, `HF_HUB_DISABLE_XET=1`, telemetry off and a
temporary `HF_HOME`. Calls the newest client removed (`duplicate_space`, `request_space_storage`,
`delete_space_storage`) are exercised at the wire level with httpx, as hub-api.md §5.5 and §8.2 describe.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import httpx2
import pytest

from aiospaces.hubsim import SimulatedHub

pytest.importorskip("huggingface_hub")
pytest.importorskip("uvicorn")

# The seed guide's workflow, written the way its users write it (HfApi, blocking calls, wait_for_space).
SEED_GUIDE = textwrap.dedent(
    """
    import json, os, sys, time
    from huggingface_hub import HfApi, hf_hub_download

    api = HfApi()
    out = {}
    repo_id = "alice/my-cool-space"

    # Create a Space (Gradio SDK) and push its code from a local src/ folder.
    out["create"] = str(api.create_repo(repo_id=repo_id, repo_type="space", space_sdk="gradio"))
    out["upload_folder"] = str(api.upload_folder(repo_id=repo_id, repo_type="space", folder_path="src/"))
    out["files"] = sorted(api.list_repo_files(repo_id, repo_type="space"))

    # Duplicate an existing Space.
    copy = api.duplicate_repo(from_id="alice/template", to_id="alice/my-copy", repo_type="space")
    out["duplicate"] = str(copy)

    # Secrets and variables.
    api.add_space_secret(repo_id=repo_id, key="HF_TOKEN", value="hf_api_secret_value")
    api.add_space_variable(repo_id=repo_id, key="MODEL_REPO_ID", value="alice/model")
    out["secrets_after_add"] = sorted(api.get_space_secrets(repo_id))
    out["variables_after_add"] = {k: v.value for k, v in api.get_space_variables(repo_id).items()}
    api.delete_space_secret(repo_id=repo_id, key="HF_TOKEN")
    api.delete_space_variable(repo_id=repo_id, key="MODEL_REPO_ID")
    out["secrets_after_delete"] = sorted(api.get_space_secrets(repo_id))
    out["variables_after_delete"] = sorted(api.get_space_variables(repo_id))

    # Create a Space with secrets, variables, hardware and sleep time in one call.
    api.create_repo(
        repo_id="alice/gpu-space",
        repo_type="space",
        space_sdk="gradio",
        space_hardware="t4-small",
        space_sleep_time=7200,
        space_secrets=[{"key": "HF_TOKEN", "value": "hf_api_other", "description": "token"}],
        space_variables=[{"key": "MODEL_REPO_ID", "value": "alice/model"}],
    )
    gpu = api.get_space_runtime("alice/gpu-space")
    out["gpu_space"] = [gpu.requested_hardware, gpu.sleep_time]
    out["gpu_space_secrets"] = {k: v.description for k, v in api.get_space_secrets("alice/gpu-space").items()}
    out["gpu_space_variables"] = {k: v.value for k, v in api.get_space_variables("alice/gpu-space").items()}

    # Wait for the first build, then upgrade the hardware.
    out["first_wait"] = str(api.wait_for_space(repo_id, timeout=60).stage)
    runtime = api.request_space_hardware(repo_id=repo_id, hardware="t4-medium")
    out["hardware_requested"] = [runtime.hardware, runtime.requested_hardware, str(runtime.stage)]
    deadline = time.monotonic() + 60
    while api.get_space_runtime(repo_id).hardware != "t4-medium":
        assert time.monotonic() < deadline, "hardware never switched"
        time.sleep(0.2)
    runtime = api.get_space_runtime(repo_id)
    out["hardware_switched"] = [runtime.hardware, runtime.requested_hardware, str(runtime.stage)]

    # Sleep time, pause and restart, wait until running again, read the logs.
    out["sleep_time"] = api.set_space_sleep_time(repo_id=repo_id, sleep_time=3600).sleep_time
    out["paused"] = str(api.pause_space(repo_id).stage)
    out["restarted"] = str(api.restart_space(repo_id).stage)
    out["wait"] = str(api.wait_for_space(repo_id, timeout=60).stage)
    out["build_logs"] = list(api.fetch_space_logs(repo_id, build=True))

    # Download tasks.csv from a dataset and upload it back.
    path = hf_hub_download(repo_id="alice/tasks", filename="tasks.csv", repo_type="dataset")
    out["downloaded"] = open(path).read()
    with open(path, "a") as f:
        f.write("3,done\\n")
    commit = api.upload_file(
        path_or_fileobj=path, path_in_repo="tasks.csv", repo_id="alice/tasks", repo_type="dataset"
    )
    out["upload_file"] = str(commit)

    # Beyond the guide: listing (paginated by the server), info, existence checks, errors the client maps.
    out["listed"] = sorted(s.id for s in api.list_spaces(author="alice", expand=["runtime"]))
    out["listed_stage"] = next(s.runtime.stage for s in api.list_spaces(search="my-cool", expand=["runtime"]))
    out["info_sdk"] = api.space_info(repo_id).sdk
    out["exists"] = [api.repo_exists(rid, repo_type="space") for rid in (repo_id, "alice/nope")]
    out["exist_ok"] = str(api.create_repo(repo_id, repo_type="space", space_sdk="gradio", exist_ok=True))
    try:
        api.get_space_runtime("bob/private")
        out["private_error"] = None
    except Exception as exc:
        out["private_error"] = type(exc).__name__

    # DO NOT FORGET: set back CPU hardware, then clean up.
    out["downgrade"] = api.request_space_hardware(repo_id=repo_id, hardware="cpu-basic").requested_hardware
    api.delete_repo(repo_id=repo_id, repo_type="space")
    api.delete_repo(repo_id="alice/gpu-space", repo_type="space")
    api.delete_repo(repo_id="alice/my-copy", repo_type="space")
    print(json.dumps(out))
    """
)


def _run_official_client(url: str, workdir: Path, home: Path) -> dict[str, object]:
    src = workdir / "src"
    src.mkdir()
    (src / "app.py").write_text("import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n")
    (src / "requirements.txt").write_text("numpy>=1.26\n")
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))},
        "HF_ENDPOINT": url,
        "HF_TOKEN": "hf_alice",
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(home),
    }
    proc = subprocess.run(
        [sys.executable, "-c", SEED_GUIDE], cwd=workdir, env=env, capture_output=True, text=True, timeout=240
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_official_client_runs_the_seed_guide(tmp_path: Path) -> None:
    """The official client's whole seed-guide workflow succeeds against the simulator over a real socket."""
    hub = SimulatedHub(speed=60)  # 40 s builds take 0.7 s; the 1 h sleep time is a minute away
    # The guide waits with `wait_for_space` right after its upload, which cannot tell the previous state from
    # the new build (the failure `SpacesClient.deploy` exists for). This run checks the wire format, so here a
    # commit's build starts in the commit's instant.
    hub.set_durations(commit_to_build=0)
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/template")
    hub.create_repo("alice/tasks", repo_type="dataset", files={"tasks.csv": "id,status\n1,todo\n2,todo\n"})
    hub.add_user("bob", token="hf_bob")
    hub.create_space("bob/private", private=True)
    hub.list_page_size = 2  # the client must follow `Link` pages
    (tmp_path / "work").mkdir()
    with hub.serve() as url:
        out = _run_official_client(url, tmp_path / "work", tmp_path / "hf_home")
    assert out["create"] == f"{url}/spaces/alice/my-cool-space"
    assert "/spaces/alice/my-cool-space/commit/" in str(out["upload_folder"])
    assert out["files"] == [".gitattributes", "README.md", "app.py", "requirements.txt"]
    assert out["duplicate"] == f"{url}/spaces/alice/my-copy"
    assert out["secrets_after_add"] == ["HF_TOKEN"]
    assert out["variables_after_add"] == {"MODEL_REPO_ID": "alice/model"}
    assert out["secrets_after_delete"] == []
    assert out["variables_after_delete"] == []
    assert out["gpu_space"] == ["t4-small", 7200]
    assert out["gpu_space_secrets"] == {"HF_TOKEN": "token"}
    assert out["gpu_space_variables"] == {"MODEL_REPO_ID": "alice/model"}
    assert out["first_wait"] == "RUNNING"
    # hub-api.md §8.2: requested first, the old hardware keeps running meanwhile.
    assert out["hardware_requested"] == ["cpu-basic", "t4-medium", "RUNNING_BUILDING"]
    assert out["hardware_switched"] == ["t4-medium", "t4-medium", "RUNNING"]
    assert out["sleep_time"] == 3600
    assert out["paused"] == "PAUSED"
    assert out["restarted"] == "BUILDING"
    assert out["wait"] == "RUNNING"
    logs = out["build_logs"]
    assert isinstance(logs, list)
    assert any("requirements.txt" in line for line in logs)
    assert out["downloaded"] == "id,status\n1,todo\n2,todo\n"
    assert "/datasets/alice/tasks/commit/" in str(out["upload_file"])
    assert (
        hub.git.read_file(("dataset", "alice/tasks"), "tasks.csv") == b"id,status\n1,todo\n2,todo\n3,done\n"
    )
    assert out["downgrade"] == "cpu-basic"
    assert out["listed"] == ["alice/gpu-space", "alice/my-cool-space", "alice/my-copy", "alice/template"]
    assert out["listed_stage"] == "RUNNING"
    assert out["info_sdk"] == "gradio"
    assert out["exists"] == [True, False]
    assert out["exist_ok"] == f"{url}/spaces/alice/my-cool-space"
    assert out["private_error"] == "RepositoryNotFoundError"
    assert hub.counters.requests["GET /api/spaces"] >= 3
    assert sorted(hub.list_repo_ids(repo_type="space")) == ["alice/template", "bob/private"]
    assert hub.counters.unknown_routes == []
    assert hub.counters.server_errors == []


def test_removed_seed_calls_at_wire_level() -> None:
    """`duplicate_space`, `request_space_storage`, `delete_space_storage` work as their wire calls say."""
    hub = SimulatedHub(speed=120)
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/source", variables={"MODEL": "alice/m"})
    headers = {"authorization": "Bearer hf_alice"}
    with hub.serve() as url, httpx2.Client(base_url=url, headers=headers) as http:
        # hub-api.md §5.5, the test-confirmed duplicate_space request body.
        body = {
            "repository": "alice/new_repo_id",
            "visibility": "private",
            "hardware": "t4-medium",
            "storageTier": "large",
            "sleepTimeSeconds": 123,
            "secrets": [{"key": "S1", "value": "v1", "description": "d"}, {"key": "S2", "value": "v2"}],
            "variables": [{"key": "V1", "value": "x"}],
        }
        r = http.post("/api/spaces/alice/source/duplicate", json=body)
        assert r.status_code == 200
        assert r.json() == {"url": f"{url}/spaces/alice/new_repo_id"}
        runtime = http.get("/api/spaces/alice/new_repo_id/runtime").json()
        assert runtime["hardware"]["requested"] == "t4-medium"
        assert runtime["storage"] == "large"
        assert runtime["gcTimeout"] == 123
        assert sorted(http.get("/api/spaces/alice/new_repo_id/secrets").json()) == ["S1", "S2"]
        assert sorted(http.get("/api/spaces/alice/new_repo_id/variables").json()) == ["MODEL", "V1"]
        info = http.get("/api/spaces/alice/new_repo_id").json()
        assert info["private"] is True
        # A second duplicate onto the same id is a 409 that carries the url (exist_ok needs it).
        again = http.post("/api/spaces/alice/source/duplicate", json={"repository": "alice/new_repo_id"})
        assert again.status_code == 409
        assert again.json()["url"] == f"{url}/spaces/alice/new_repo_id"

        # hub-api.md §8.2/§8.4: request_space_storage / delete_space_storage.
        r = http.post("/api/spaces/alice/source/storage", json={"tier": "medium"})
        assert (r.status_code, r.json()["storage"]) == (200, "medium")
        r = http.post("/api/spaces/alice/source/storage", json={"tier": "small"})
        assert r.status_code == 400  # no downgrade without deleting
        r = http.post("/api/spaces/alice/source/storage", json={"tier": "large"})
        assert (r.status_code, r.json()["storage"]) == (200, "large")
        r = http.delete("/api/spaces/alice/source/storage")
        assert (r.status_code, r.json()["storage"]) == (200, None)
        r = http.delete("/api/spaces/alice/source/storage")
        assert r.status_code == 400
        assert "error" in r.json()


# Each error case the seed guide's users can hit, called through the official client; the script prints, per
# case, the exception class the client raised, the HTTP status and the X-Error-Code header (or "OK").
ERROR_CASES = textwrap.dedent(
    """
    import json
    import huggingface_hub as hf
    from huggingface_hub import HfApi

    alice, bob = HfApi(token="hf_alice"), HfApi(token="hf_bob")
    reader, anonymous, bad = HfApi(token="hf_alice_read"), HfApi(token=False), HfApi(token="hf_wrong")
    cases = {
        "anonymous_private_runtime": lambda: anonymous.get_space_runtime("alice/private"),
        "other_user_private_runtime": lambda: bob.get_space_runtime("alice/private"),
        "missing_space_info": lambda: alice.space_info("alice/nope"),
        "missing_revision": lambda: alice.space_info("alice/public", revision="nope"),
        "bad_token": lambda: bad.space_info("alice/public"),
        "other_user_pause": lambda: bob.pause_space("alice/public"),
        "read_token_restart": lambda: reader.restart_space("alice/public"),
        "read_token_create": lambda: reader.create_repo("alice/new", repo_type="space", space_sdk="gradio"),
        "static_pause": lambda: alice.pause_space("alice/static"),
        "static_restart": lambda: alice.restart_space("alice/static"),
        "unknown_hardware": lambda: alice.request_space_hardware("alice/public", "gpu-9000"),
        "bad_expand": lambda: alice.space_info("alice/public", expand=["nope"]),
        "create_existing": lambda: alice.create_repo("alice/public", repo_type="space", space_sdk="gradio"),
        "delete_missing": lambda: alice.delete_repo("alice/nope", repo_type="space"),
        "no_volumes_to_delete": lambda: alice.delete_space_volumes("alice/public"),
        "other_user_secrets": lambda: bob.get_space_secrets("alice/public"),
        "missing_file": lambda: hf.hf_hub_download(
            "alice/tasks", "nope.csv", repo_type="dataset", token="hf_alice"
        ),
        "missing_file_revision": lambda: hf.hf_hub_download(
            "alice/tasks", "tasks.csv", repo_type="dataset", revision="nope", token="hf_alice"
        ),
        "delete_missing_file": lambda: alice.delete_file("nope.csv", "alice/tasks", repo_type="dataset"),
        "stale_parent_commit": lambda: alice.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/tasks", repo_type="dataset",
            parent_commit="0" * 40,
        ),
        "gated_file": lambda: hf.hf_hub_download("alice/gated", "config.json", token="hf_bob"),
        "gated_file_anonymous": lambda: hf.hf_hub_download("alice/gated", "config.json", token=False),
        "commit_to_missing_repo": lambda: alice.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/nope", repo_type="dataset"
        ),
    }
    out = {}
    for name, call in cases.items():
        try:
            call()
            out[name] = ["OK", None, None]
        except Exception as exc:
            response = getattr(exc, "response", None)
            status = getattr(response, "status_code", None)
            code = response.headers.get("x-error-code") if response is not None else None
            out[name] = [type(exc).__name__, status, code]
    print(json.dumps(out))
    """
)

# hub-api.md §3.2-§3.4, §14 item 2: the status the Hub answers and the class the official client maps it to.
EXPECTED_ERRORS = {
    "anonymous_private_runtime": ["RepositoryNotFoundError", 401, "RepoNotFound"],
    "other_user_private_runtime": ["RepositoryNotFoundError", 404, "RepoNotFound"],
    "missing_space_info": ["RepositoryNotFoundError", 404, "RepoNotFound"],
    "missing_revision": ["RevisionNotFoundError", 404, "RevisionNotFound"],
    "bad_token": ["HfHubHTTPError", 401, None],
    "other_user_pause": ["HfHubHTTPError", 403, None],
    "read_token_restart": ["HfHubHTTPError", 403, None],
    "read_token_create": ["HfHubHTTPError", 403, None],
    "static_pause": ["BadRequestError", 400, None],
    "static_restart": ["BadRequestError", 400, None],
    "unknown_hardware": ["BadRequestError", 400, None],
    "bad_expand": ["BadRequestError", 400, None],
    "create_existing": ["HfHubHTTPError", 409, None],
    "delete_missing": ["RepositoryNotFoundError", 404, "RepoNotFound"],
    "no_volumes_to_delete": ["BadRequestError", 400, None],
    "other_user_secrets": ["HfHubHTTPError", 403, None],
    "missing_file": ["RemoteEntryNotFoundError", 404, "EntryNotFound"],
    "missing_file_revision": ["RevisionNotFoundError", 404, "RevisionNotFound"],
    "delete_missing_file": ["RemoteEntryNotFoundError", 404, "EntryNotFound"],
    "stale_parent_commit": ["HfHubHTTPError", 412, None],
    "commit_to_missing_repo": ["RepositoryNotFoundError", 404, "RepoNotFound"],
    "gated_file": ["GatedRepoError", 403, "GatedRepo"],
    "gated_file_anonymous": ["GatedRepoError", 401, "GatedRepo"],
}


def test_official_client_maps_every_simulated_error(tmp_path: Path) -> None:
    """Each 4xx of the simulator reaches the official client with the Hub's status, X-Error-Code and class."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.add_token("alice", "hf_alice_read", role="read")
    hub.add_user("bob", token="hf_bob")
    hub.create_space("alice/public")
    hub.create_space("alice/private", private=True)
    hub.create_space("alice/static", sdk="static")
    hub.create_repo("alice/tasks", repo_type="dataset", files={"tasks.csv": "id\n1\n"})
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))},
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(tmp_path / "hf_home"),
    }
    hub.create_repo("alice/gated", files={"config.json": "{}"})
    with hub.serve() as url:
        gate = httpx2.put(
            f"{url}/api/models/alice/gated/settings",
            json={"gated": "auto"},
            headers={"authorization": "Bearer hf_alice"},
        )
        assert gate.status_code == 200
        proc = subprocess.run(
            [sys.executable, "-c", ERROR_CASES],
            env={**env, "HF_ENDPOINT": url},
            capture_output=True,
            text=True,
            timeout=240,
        )
    assert proc.returncode == 0, proc.stderr[-4000:]
    out = json.loads(proc.stdout.strip().splitlines()[-1])
    assert out == EXPECTED_ERRORS
    assert hub.counters.server_errors == []
    assert hub.counters.unknown_routes == []
