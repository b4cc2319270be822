"""The simulator's repo layer and API headers as the official `huggingface_hub` client sees them.

Each test runs a script with the official client (2.4) in a subprocess, against `hub.serve()` on 127.0.0.1,
and asserts what the real Hub does: the exception class the client raises, the message it matches, the state
after. The client reads its configuration from the environment at import time, hence the subprocess.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from aiospaces.hubsim import SimulatedHub

pytest.importorskip("huggingface_hub")
pytest.importorskip("uvicorn")


def run_client(url: str, home: Path, script: str, token: str | None = "hf_alice") -> dict[str, Any]:
    """Run `script` with the official client pointed at `url` (anonymous when `token` is None); its last
    output line is a JSON object."""
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING"))},
        "HF_ENDPOINT": url,
        "HF_HUB_DISABLE_XET": "1",
        "HF_HUB_DISABLE_TELEMETRY": "1",
        "HF_HOME": str(home),
    }
    if token is not None:
        env["HF_TOKEN"] = token
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)], env=env, capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr[-4000:]
    result: dict[str, Any] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


# ------------------------------------------------------------------------------------ rate-limit headers
HEADERS_SCRIPT = """
    import json, os
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.utils import get_session, hf_raise_for_status, parse_ratelimit_headers

    api, url, out = HfApi(), os.environ["HF_ENDPOINT"], {}
    out["whoami"] = api.whoami()["name"]
    out["sdk"] = api.space_info("alice/demo").sdk
    out["readme"] = open(hf_hub_download("alice/demo", "README.md", repo_type="space")).read()[:3]
    paths = {"api": "/api/spaces/alice/demo", "resolvers": "/spaces/alice/demo/resolve/main/README.md"}
    for bucket, path in paths.items():
        response = get_session().get(url + path)
        hf_raise_for_status(response)
        info = parse_ratelimit_headers(response.headers)
        out[bucket] = [info.resource_type, info.limit, info.window_seconds, info.remaining > 0]
    print(json.dumps(out))
"""

LIMITED_SCRIPT = """
    import json
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api, out = HfApi(), {"errors": []}
    for _ in range(3):
        try:
            api.space_info("alice/demo")
            out["errors"].append(None)
        except HfHubHTTPError as exc:
            out["errors"].append([type(exc).__name__, exc.response.status_code, str(exc)])
    print(json.dumps(out))
"""


def test_rate_limit_headers_on_every_answer_leave_the_client_unchanged(tmp_path: Path) -> None:
    """With no limit set, API and download answers carry RateLimit headers the client parses; all succeed."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", HEADERS_SCRIPT)
    assert out["whoami"] == "alice"
    assert out["sdk"] == "gradio"
    assert out["readme"] == "---"
    # huggingface_hub utils/_http.py `hf_raise_for_status`: "Headers are set on every response".
    assert out["api"] == ["api", 100_000, 300, True]
    assert out["resolvers"] == ["resolvers", 500_000, 300, True]
    assert hub.counters.rate_limited == 0


def test_client_names_the_bucket_only_when_the_quota_is_the_reason(tmp_path: Path) -> None:
    """A spent quota's 429 gets the client's rate-limit message; another 429 (headers still sent) does not."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")
    with hub.serve() as url:
        hub.add_fault("error", route="GET /api/spaces/{id}", status=429, count=1)
        other = run_client(url, tmp_path / "home", LIMITED_SCRIPT)
        hub.clear_faults()
        hub.set_rate_limit(2, 300)
        limited = run_client(url, tmp_path / "home", LIMITED_SCRIPT)
    # huggingface_hub utils/_http.py `hf_raise_for_status`, 429 branch: the RateLimit headers are used only
    # when `r=0`, i.e. when they are the reason for the 429.
    name, status, message = other["errors"][0]
    assert (name, status) == ("HfHubHTTPError", 429)
    assert "429 Too Many Requests for url" in message
    assert other["errors"][1:] == [None, None]
    assert limited["errors"][:2] == [None, None]
    name, status, message = limited["errors"][2]
    assert (name, status) == ("HfHubHTTPError", 429)
    assert "you have reached your 'api' rate limit" in message
    assert "(0/2 requests remaining in current 300s window)" in message


# ------------------------------------------------------------------------------------------------- names
NAMES_SCRIPT = """
    import json, os
    from huggingface_hub import HfApi
    from huggingface_hub.errors import BadRequestError
    from huggingface_hub.utils import build_hf_headers, get_session, hf_raise_for_status

    api, url, out = HfApi(), os.environ["HF_ENDPOINT"], {}
    me = api.whoami()
    out["whoami"] = [me["name"], [org["name"] for org in me["orgs"]]]
    out["repo"] = str(api.create_repo("__DUMMY_USER__/_repo_"))
    out["dataset"] = str(api.create_repo("_org_/__data__", repo_type="dataset"))
    api.upload_file(path_or_fileobj=b"x", path_in_repo="a.txt", repo_id="__DUMMY_USER__/_repo_")
    out["files"] = api.list_repo_files("__DUMMY_USER__/_repo_")
    out["refused"] = []
    for name in ("-repo", "repo.", ".repo"):
        # The client refuses these names itself; sent anyway, the Hub answers 400.
        body, headers = {"name": name}, build_hf_headers()
        response = get_session().post(url + "/api/repos/create", json=body, headers=headers)
        try:
            hf_raise_for_status(response)
        except BadRequestError as exc:
            out["refused"].append([name, exc.response.status_code])
    print(json.dumps(out))
"""


def test_names_may_start_and_end_with_an_underscore(tmp_path: Path) -> None:
    """Users, orgs and repos may start or end with `_`; a name starting or ending with `-` or `.` is a 400."""
    hub = SimulatedHub(clock="manual")
    # huggingface_hub 2.4 `utils/_validators.py` (`REPO_ID_REGEX`): only `-` and `.` may not start or end a
    # name; the client's own tests run as `__DUMMY_TRANSFORMERS_USER__`.
    hub.add_user("__DUMMY_USER__", token="hf_dummy", orgs=["_org_"])
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", NAMES_SCRIPT, token="hf_dummy")
    assert out["whoami"] == ["__DUMMY_USER__", ["_org_"]]
    assert out["repo"] == f"{url}/__DUMMY_USER__/_repo_"
    assert out["dataset"] == f"{url}/datasets/_org_/__data__"
    assert out["files"] == [".gitattributes", "a.txt"]
    assert out["refused"] == [["-repo", 400], ["repo.", 400], [".repo", 400]]


def test_cli_accepts_an_underscore_user(capsys: pytest.CaptureFixture[str]) -> None:
    """`hubsim --user __DUMMY_USER__` creates the user (a `--host` that cannot be bound stops it there)."""
    from aiospaces.hubsim import main

    assert main(["--user", "__DUMMY_USER__", "--token", "hf_dummy", "--host", "nonexistent.invalid"]) == 2
    assert "user __DUMMY_USER__: token (given)" in capsys.readouterr().err


# ------------------------------------------------------------------------------------ canonical repo ids
CANONICAL_SCRIPT = """
    import json
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import RepositoryNotFoundError

    api, out = HfApi(), {}
    out["repo_exists"] = api.repo_exists("gpt2")
    out["dataset_exists"] = api.repo_exists("squad", repo_type="dataset")
    out["revision_exists"] = api.revision_exists("gpt2", "main")
    out["file_exists"] = api.file_exists("gpt2", "config.json")
    for name, call in (
        ("commits", lambda: api.list_repo_commits("gpt2")),
        ("tree", lambda: list(api.list_repo_tree("gpt2"))),
        ("download", lambda: hf_hub_download("gpt2", "config.json")),
    ):
        try:
            call()
            out[name] = None
        except RepositoryNotFoundError as exc:
            code = exc.response.headers.get("x-error-code")
            out[name] = [type(exc).__name__, exc.response.status_code, code]
    print(json.dumps(out))
"""


@pytest.mark.parametrize("token", ["hf_alice", None], ids=["authenticated", "anonymous"])
def test_canonical_repo_ids_are_routed_and_not_found(tmp_path: Path, token: str | None) -> None:
    """Unknown ids without a namespace (`gpt2`) answer RepoNotFound: exists checks say False, reads raise."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", CANONICAL_SCRIPT, token=token)
    # huggingface_hub 2.4 `hf_api.py` (`repo_exists`, `revision_exists`, `file_exists`) turns
    # RepositoryNotFoundError into False; `utils/_http.py` maps `X-Error-Code: RepoNotFound` to it (an
    # anonymous caller gets 401, as the Hub answers for a repo it will not show).
    assert [out["repo_exists"], out["dataset_exists"], out["revision_exists"], out["file_exists"]] == [
        False
    ] * 4
    status = 404 if token else 401
    expected = ["RepositoryNotFoundError", status, "RepoNotFound"]
    assert out["commits"] == out["tree"] == expected
    assert out["download"][0] == "RepositoryNotFoundError"
    assert hub.counters.unknown_routes == []


# ---------------------------------------------------------------------------------------- id casing
CASING_SCRIPT = """
    import json
    from huggingface_hub import HfApi, hf_hub_download

    api, out = HfApi(), {}
    out["created"] = str(api.create_repo("alice/MyRepo"))
    commit = api.upload_file(path_or_fileobj=b"hello", path_in_repo="data.txt", repo_id="alice/myrepo")
    out["commit_url"] = commit.commit_url
    out["files"] = api.list_repo_files("ALICE/MYREPO")
    out["id"] = api.model_info("alice/myrepo").id
    out["listed"] = [m.id for m in api.list_models(author="alice")]
    out["download"] = open(hf_hub_download("Alice/MyRePo", "data.txt")).read()
    out["exist_ok"] = str(api.create_repo("alice/myrepo", exist_ok=True))
    print(json.dumps(out))
"""


def test_repo_ids_match_regardless_of_case(tmp_path: Path) -> None:
    """A commit to `alice/MyRepo` sent as `alice/myrepo` lands there; answers keep the created casing."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", CASING_SCRIPT)
    assert out["created"] == f"{url}/alice/MyRepo"
    assert out["commit_url"].startswith(f"{url}/alice/MyRepo/commit/")
    assert out["files"] == [".gitattributes", "data.txt"]
    assert out["id"] == "alice/MyRepo"
    assert out["listed"] == ["alice/MyRepo"]
    assert out["download"] == "hello"
    assert out["exist_ok"] == f"{url}/alice/MyRepo"
    assert hub.list_repo_ids(repo_type="model") == ["alice/MyRepo"]
    assert hub.git.read_file(("model", "alice/MyRepo"), "data.txt") == b"hello"


# ------------------------------------------------------------------------------------- pull requests
PULL_REQUEST_SCRIPT = """
    import json
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError, RepositoryNotFoundError

    api, out = HfApi(), {}
    small = api.upload_file(
        path_or_fileobj=b"fix", path_in_repo="fix.txt", repo_id="alice/model", create_pr=True
    )
    big = api.upload_file(
        path_or_fileobj=b"\\x00weights" * 100, path_in_repo="w.bin", repo_id="alice/model", create_pr=True
    )
    out["prs"] = [[small.pr_revision, small.pr_num], [big.pr_revision, big.pr_num]]
    out["pr2_files"] = api.list_repo_files("alice/model", revision="refs/pr/2")
    out["main_files"] = api.list_repo_files("alice/model")
    refs = api.list_repo_refs("alice/model", include_pull_requests=True)
    out["pr_refs"] = [ref.ref for ref in refs.pull_requests]
    out["denied"] = []
    for call in (
        lambda: api.upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/model"),
        lambda: api.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/secret", create_pr=True
        ),
    ):
        try:
            call()
            out["denied"].append(None)
        except HfHubHTTPError as exc:
            out["denied"].append([type(exc).__name__, exc.response.status_code])
    print(json.dumps(out))
"""


def test_a_reader_opens_pull_requests_that_never_touch_the_branch(tmp_path: Path) -> None:
    """Bob, who may only read alice's public repo, opens PRs (regular and LFS files); main stays as it was."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.add_user("bob", token="hf_bob")
    hub.create_repo("alice/model", repo_type="model")
    hub.create_repo("alice/secret", repo_type="model", private=True)
    main_before = hub.git.head(("model", "alice/model"))
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", PULL_REQUEST_SCRIPT, token="hf_bob")
    # huggingface_hub 2.4 `hf_api.py` (`preupload_lfs_files`): with `create_pr`, the LFS batch carries no
    # `ref` so that readers can open PRs; `_commit_api.py` (`_send_commit`) reads `pullRequestUrl`.
    assert out["prs"] == [["refs/pr/1", 1], ["refs/pr/2", 2]]
    assert out["pr2_files"] == [".gitattributes", "w.bin"]
    assert out["main_files"] == [".gitattributes"]
    assert out["pr_refs"] == ["refs/pr/1", "refs/pr/2"]
    # Committing to the branch itself still needs write access; a private repo stays invisible.
    assert out["denied"] == [["HfHubHTTPError", 403], ["RepositoryNotFoundError", 404]]
    assert hub.git.head(("model", "alice/model")) == main_before
    assert hub.git.read_file(("model", "alice/model"), "w.bin", revision="refs/pr/2") == b"\x00weights" * 100


READ_TOKEN_PR_SCRIPT = """
    import json
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    try:
        HfApi().upload_file(path_or_fileobj=b"x", path_in_repo="x.txt", repo_id="alice/model", create_pr=True)
        print(json.dumps({"error": None}))
    except HfHubHTTPError as exc:
        print(json.dumps({"error": [type(exc).__name__, exc.response.status_code, str(exc)]}))
"""


def test_a_read_token_cannot_open_a_pull_request(tmp_path: Path) -> None:
    """A read-role token gets the client's 403 message on `create_pr`, and no PR ref is created."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.add_user("carol", token="hf_carol_read", role="read")
    hub.create_repo("alice/model", repo_type="model")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", READ_TOKEN_PR_SCRIPT, token="hf_carol_read")
    name, status, message = out["error"]
    assert (name, status) == ("HfHubHTTPError", 403)
    assert "403 Forbidden: You have read access but not the required permissions" in message
    assert list(hub.git.branches(("model", "alice/model"))) == ["main"]


# ---------------------------------------------------------------------------------------------- tags
TAGS_SCRIPT = """
    import json
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import BadRequestError, HfHubHTTPError, RevisionNotFoundError

    api, out = HfApi(), {}
    repo = "alice/release"
    first = api.upload_file(path_or_fileobj=b"v1", path_in_repo="app.py", repo_id=repo, repo_type="space")
    second = api.upload_file(path_or_fileobj=b"v2", path_in_repo="app.py", repo_id=repo, repo_type="space")
    pr = api.upload_file(
        path_or_fileobj=b"pr", path_in_repo="app.py", repo_id=repo, repo_type="space", create_pr=True
    )
    api.create_tag(repo, tag="v1.0", revision=first.oid, repo_type="space", tag_message="first release")
    api.create_tag(repo, tag="v2.0", revision=second.oid[:7], repo_type="space")
    api.create_tag(repo, tag="head", repo_type="space")
    api.create_tag(repo, tag="candidate", revision=pr.pr_revision, repo_type="space")
    out["shas"] = {
        tag: api.space_info(repo, revision=tag).sha for tag in ("v1.0", "v2.0", "head", "candidate")
    }
    out["expected"] = {"v1.0": first.oid, "v2.0": second.oid, "head": second.oid, "candidate": pr.oid}
    out["download"] = open(hf_hub_download(repo, "app.py", repo_type="space", revision="v1.0")).read()
    refs = api.list_repo_refs(repo, repo_type="space", include_pull_requests=True)
    out["tags"] = [[t.name, t.ref, t.target_commit] for t in refs.tags]
    out["branches"] = [b.ref for b in refs.branches]
    out["pulls"] = [p.ref for p in refs.pull_requests]
    api.create_branch(repo, branch="head", repo_type="space")  # a branch may share a tag's name
    api.create_tag(repo, tag="v1.0", repo_type="space", exist_ok=True)
    errors = {}
    for name, call in (
        ("twice", lambda: api.create_tag(repo, tag="v1.0", repo_type="space")),
        ("bad_name", lambda: api.create_tag(repo, tag="invalid tag", repo_type="space")),
        ("missing_rev", lambda: api.create_tag(repo, tag="bad tag", revision="foobar", repo_type="space")),
        ("delete_missing", lambda: api.delete_tag(repo, tag="v9", repo_type="space")),
        ("delete_branch_name", lambda: api.delete_tag(repo, tag="main", repo_type="space")),
    ):
        try:
            call()
            errors[name] = None
        except HfHubHTTPError as exc:
            errors[name] = [type(exc).__name__, exc.response.status_code]
    api.delete_tag(repo, tag="v1.0", repo_type="space")
    try:
        api.space_info(repo, revision="v1.0")
        errors["deleted"] = None
    except RevisionNotFoundError as exc:
        errors["deleted"] = [type(exc).__name__, exc.response.status_code]
    out["errors"] = errors
    out["after"] = [t.name for t in api.list_repo_refs(repo, repo_type="space").tags]
    print(json.dumps(out))
"""


def test_tags_are_created_listed_resolved_and_deleted(tmp_path: Path) -> None:
    """Tags on a commit id (full or short), a branch or a PR resolve as revisions, list as refs and delete."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/release")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", TAGS_SCRIPT)
    # huggingface_hub 2.4 `hf_api.py` (`create_tag`, `delete_tag`, `list_repo_refs`) and its tests
    # (`TestHfApiTagEndpoint`, `TestHfApiBranchEndpoint`) as run against the real Hub.
    assert out["shas"] == out["expected"]
    assert out["download"] == "v1"
    expected = out["expected"]
    assert out["tags"] == [
        ["candidate", "refs/tags/candidate", expected["candidate"]],
        ["head", "refs/tags/head", expected["head"]],
        ["v1.0", "refs/tags/v1.0", expected["v1.0"]],
        ["v2.0", "refs/tags/v2.0", expected["v2.0"]],
    ]
    assert out["branches"] == ["refs/heads/main"]
    assert out["pulls"] == ["refs/pr/1"]
    assert out["errors"] == {
        "twice": ["HfHubHTTPError", 409],
        "bad_name": ["BadRequestError", 400],
        "missing_rev": ["RevisionNotFoundError", 404],
        "delete_missing": ["RevisionNotFoundError", 404],
        "delete_branch_name": ["RevisionNotFoundError", 404],
        "deleted": ["RevisionNotFoundError", 404],
    }
    assert out["after"] == ["candidate", "head", "v2.0"]
    assert sorted(hub.git.branches(("space", "alice/release"))) == ["head", "main", "refs/pr/1"]


# --------------------------------------------------------------------------------- matched messages
MESSAGES_SCRIPT = """
    import json
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api, out = HfApi(), {}
    for repo_type in ("model", "dataset", "space"):
        try:
            api.move_repo(from_id="alice/one", to_id="alice/two", repo_type=repo_type)
            out[repo_type] = None
        except HfHubHTTPError as exc:
            out[repo_type] = [type(exc).__name__, exc.response.status_code, str(exc)]
    api.create_branch("alice/one", branch="dev")
    api.create_tag("alice/one", tag="cool-tag")
    calls = {
        "branch_twice": lambda: api.create_branch("alice/one", branch="dev"),
        "branch_main": lambda: api.create_branch("alice/one", branch="main"),
        "branch_pr_ref": lambda: api.create_branch("alice/one", branch="refs/pr/5"),
        "branch_other_ref": lambda: api.create_branch("alice/one", branch="refs/something/random"),
        "delete_main": lambda: api.delete_branch("alice/one", branch="main"),
        "delete_missing": lambda: api.delete_branch("alice/one", branch="cool-branch"),
        "delete_tag_name": lambda: api.delete_branch("alice/one", branch="cool-tag"),
    }
    for name, call in calls.items():
        try:
            call()
            out[name] = None
        except HfHubHTTPError as exc:
            out[name] = [type(exc).__name__, exc.response.status_code, str(exc)]
    api.create_branch("alice/one", branch="dev", exist_ok=True)
    api.create_branch("alice/one", branch="main", exist_ok=True)
    api.delete_branch("alice/one", branch="dev")
    out["branches"] = [b.name for b in api.list_repo_refs("alice/one").branches]
    print(json.dumps(out))
"""


def test_repo_and_branch_errors_carry_the_messages_the_client_matches(tmp_path: Path) -> None:
    """Moving onto an existing repo, re-creating a branch, bad branch refs, deleting main: the Hub's text."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    for repo_type in ("model", "dataset"):
        hub.create_repo("alice/one", repo_type=repo_type)
        hub.create_repo("alice/two", repo_type=repo_type)
    hub.create_space("alice/one")
    hub.create_space("alice/two")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", MESSAGES_SCRIPT)
    # huggingface_hub tests (`tests/test_hf_api.py`): `test_move_repo_target_already_exists`,
    # `TestHfApiBranchEndpoint` match these texts on the real Hub's answers.
    for repo_type in ("model", "dataset", "space"):
        name, status, message = out[repo_type]
        assert (name, status) == ("HfHubHTTPError", 409)
        assert f"A {repo_type} repository called alice/two already exists" in message
    for name, branch in (("branch_twice", "dev"), ("branch_main", "main")):
        assert out[name][:2] == ["HfHubHTTPError", 409]
        assert f"Reference refs/heads/{branch} already exists" in out[name][2]
    for name in ("branch_pr_ref", "branch_other_ref"):
        assert out[name][:2] == ["BadRequestError", 400]
        assert "Invalid reference for a branch" in out[name][2]
    assert out["delete_main"][0] == "HfHubHTTPError"
    assert "Cannot delete refs/heads/main" in out["delete_main"][2]
    for name in ("delete_missing", "delete_tag_name"):
        assert out[name][:2] == ["RevisionNotFoundError", 404]
        assert "Invalid rev id" in out[name][2]
    assert out["branches"] == ["main"]
    assert hub.list_repo_ids(repo_type="model") == ["alice/one", "alice/two"]


# -------------------------------------------------------------------------------------------- gating
GATED_SCRIPT = """
    import json
    from huggingface_hub import HfApi, auth_check, hf_hub_download
    from huggingface_hub.errors import GatedRepoError, HfHubHTTPError

    api, out = HfApi(), {}
    out["info"] = api.model_info("alice/gated").id
    for name, call in (
        ("auth_check", lambda: auth_check("alice/gated")),
        ("download", lambda: hf_hub_download("alice/gated", "config.json")),
        ("open_auth_check", lambda: auth_check("alice/open")),
    ):
        try:
            call()
            out[name] = None
        except HfHubHTTPError as exc:
            code = exc.response.headers.get("x-error-code")
            out[name] = [type(exc).__name__, exc.response.status_code, code]
    print(json.dumps(out))
"""


@pytest.mark.parametrize(
    ("token", "expected"),
    [
        ("hf_bob", ["GatedRepoError", 403, "GatedRepo"]),
        (None, ["GatedRepoError", 401, "GatedRepo"]),
        ("hf_alice", None),
    ],
    ids=["outsider", "anonymous", "owner"],
)
def test_auth_check_answers_gated_repo_like_the_download(
    tmp_path: Path, token: str | None, expected: list[Any] | None
) -> None:
    """`auth_check` on a gated repo raises GatedRepoError for a caller without access, as a download does."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.add_user("bob", token="hf_bob")
    hub.create_repo("alice/gated", files={"config.json": "{}"})
    hub.create_repo("alice/open")
    gated = hub.repo("model", "alice/gated")
    assert gated is not None
    gated.gated = "manual"
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", GATED_SCRIPT, token=token)
    # huggingface_hub 2.4 `hf_api.py` (`auth_check` docstring) and `utils/_http.py` (`X-Error-Code: GatedRepo`
    # → GatedRepoError): gating hides the files, not the repo, whose info stays readable.
    assert out["info"] == "alice/gated"
    assert out["auth_check"] == expected
    assert out["download"] == expected
    assert out["open_auth_check"] is None


# ------------------------------------------------------------------------------------- file deletions
DELETE_FOLDER_SCRIPT = """
    import json
    from huggingface_hub import CommitOperationAdd, CommitOperationDelete, HfApi
    from huggingface_hub.errors import EntryNotFoundError

    api, out = HfApi(), {}
    api.create_commit(
        "alice/model",
        [
            CommitOperationAdd(path_or_fileobj=b"a", path_in_repo="keep.txt"),
            CommitOperationAdd(path_or_fileobj=b"b", path_in_repo="nested/file.txt"),
            CommitOperationAdd(path_or_fileobj=b"c", path_in_repo="nested/sub/lfs.bin"),
            CommitOperationAdd(path_or_fileobj=b"d", path_in_repo="other/file.txt"),
        ],
        commit_message="init",
    )
    api.delete_file("nested", repo_id="alice/model")  # no trailing "/": sent as `deletedFile`
    out["after_file_op"] = api.list_repo_files("alice/model")
    api.create_commit(
        "alice/model", [CommitOperationDelete(path_in_repo="other", is_folder=False)], commit_message="rm"
    )
    out["after_commit_op"] = api.list_repo_files("alice/model")
    try:
        api.delete_file("missing", repo_id="alice/model")
        out["missing"] = None
    except EntryNotFoundError as exc:
        out["missing"] = [type(exc).__name__, exc.response.status_code, "A file with this name" in str(exc)]
    print(json.dumps(out))
"""


def test_a_file_deletion_naming_a_folder_deletes_the_folder(tmp_path: Path) -> None:
    """`deletedFile` naming a folder deletes every file under it; a path that is neither is EntryNotFound."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_repo("alice/model")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", DELETE_FOLDER_SCRIPT)
    # huggingface_hub 2.4 `_commit_api.py` (`CommitOperationDelete`: `is_folder` is "auto", from a trailing
    # "/", so `delete_file("nested")` sends `deletedFile`); its test
    # `test_create_commit_implicit_delete_folder_is_ok` commits such a deletion on the real Hub;
    # `hf_api.py` (`create_commit`) matches "A file with this name doesn't exist" on a deletion's
    # EntryNotFound.
    assert out["after_file_op"] == [".gitattributes", "keep.txt", "other/file.txt"]
    assert out["after_commit_op"] == [".gitattributes", "keep.txt"]
    assert out["missing"] == ["RemoteEntryNotFoundError", 404, True]


ESCAPING_PATH_SCRIPT = """
    import json
    from huggingface_hub import HfApi
    from huggingface_hub.errors import HfHubHTTPError

    api, out = HfApi(), {}
    try:
        api.upload_file(path_or_fileobj=b"x", path_in_repo="..\\\\ddd", repo_id="alice/model")
        out["backslash"] = None
    except HfHubHTTPError as exc:
        out["backslash"] = [type(exc).__name__, exc.response.status_code]
    # A backslash inside a name is no separator: this one is stored as it is.
    api.upload_file(path_or_fileobj=b"y", path_in_repo="folder/..\\\\..\\\\file", repo_id="alice/model")
    out["files"] = api.list_repo_files("alice/model")
    print(json.dumps(out))
"""


def test_a_path_starting_with_a_backslash_dotdot_is_refused(tmp_path: Path) -> None:
    """`..\\ddd` (the client lets it through) is a 422 and lands nothing; `folder/..\\..\\file` is a name."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_repo("alice/model")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", ESCAPING_PATH_SCRIPT)
    # huggingface_hub 2.4 `_commit_api.py` (`_validate_path_in_repo`) splits on "/" only; its
    # `tests/test_file_download.py` (`TestHfHubDownloadRelativePaths`) uploads `folder/..\..\..\file`.
    assert out["backslash"] == ["HfHubHTTPError", 422]
    assert out["files"] == [".gitattributes", "folder/..\\..\\file"]


# ---------------------------------------------------------------------------------- card metadata
CARD_SCRIPT = """
    import json, warnings
    from huggingface_hub import HfApi, RepoCard

    api, out = HfApi(), {}

    def upload(name, content, repo_id="alice/model", repo_type="model"):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            try:
                api.upload_file(
                    path_or_fileobj=content.encode(), path_in_repo="README.md", repo_id=repo_id,
                    repo_type=repo_type,
                )
                out[name] = [None]
            except ValueError as exc:
                out[name] = [str(exc)]
        out[name].append([str(w.message) for w in caught if "metadata" in str(w.message)])

    upload("model_index", "---\\nmodel-index: foo\\n---\\n# Card\\n")
    upload("no_front_matter", "# Just a title\\n")
    upload("good_model_index", "---\\nmodel-index:\\n- name: m\\n  results: []\\n---\\n")
    bad_space_card = "---\\nsdk: docker\\napp_port: http\\napp_file: [a, b]\\n---\\n"
    upload("bad_space_keys", bad_space_card, "alice/demo", "space")
    upload("space_keys_on_a_model", bad_space_card)
    space_card = "---\\nsdk: docker\\napp_port: 7860\\ncolorFrom: blue\\n---\\n"
    upload("good_space", space_card, "alice/demo", "space")
    try:
        RepoCard("---\\nsdk: gradio\\ncolorTo: mauve\\n---\\n").validate(repo_type="space")
        out["card_validate"] = None
    except ValueError as exc:
        out["card_validate"] = str(exc)
    out["model_readme"] = open(api.hf_hub_download("alice/model", "README.md")).read()
    print(json.dumps(out))
"""


def test_card_metadata_is_validated_per_repo_type(tmp_path: Path) -> None:
    """Bad front matter fails an upload before anything lands; none only warns; Space keys are per type."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_repo("alice/model")
    hub.create_space("alice/demo", sdk="gradio")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", CARD_SCRIPT)
    # huggingface_hub 2.4 `hf_api.py` (`_validate_yaml`): a 400's `errors[].message` becomes a ValueError
    # before the upload starts; `warnings[].message` is shown as a warning; `repocard.py` (`validate`).
    error, warned = out["model_index"]
    assert error.startswith("Invalid metadata in README.md.")
    assert '- "model-index" must be an array' in error
    assert warned == []
    assert out["no_front_matter"] == [
        None,
        ["Warnings while validating metadata in README.md:\n- empty or missing yaml metadata in repo card"],
    ]
    assert out["good_model_index"] == [None, []]
    error, _ = out["bad_space_keys"]
    assert '- "app_file" must be a string' in error
    assert '- "app_port" must be a number' in error
    assert out["space_keys_on_a_model"] == [None, []]
    assert out["good_space"] == [None, []]
    # `RepoCard.validate` raises the 400's text as it is: the JSON answer.
    assert json.loads(out["card_validate"])["errors"][0]["message"].startswith('"colorTo" must be one of')
    # The refused uploads left nothing behind: the model's README is the last accepted one.
    assert out["model_readme"] == "---\nsdk: docker\napp_port: http\napp_file: [a, b]\n---\n"
    assert hub.git.read_file(("space", "alice/demo"), "README.md") == (
        b"---\nsdk: docker\napp_port: 7860\ncolorFrom: blue\n---\n"
    )


# --------------------------------------------------------------------------------------------- accounts
ACCOUNTS_SCRIPT = """
    import json
    from huggingface_hub import HfApi

    api, out = HfApi(), {}
    me = api.whoami()
    out["me"] = [me["name"], me["fullname"]]
    out["orgs"] = sorted([org["name"], org["fullname"]] for org in me["orgs"])
    api.create_repo("enterprise/by-default")
    api.create_repo("enterprise/told-public", private=False)
    api.create_repo("open-org/by-default")
    api.create_repo("alice/own")
    out["private"] = {
        repo: api.model_info(repo).private
        for repo in ("enterprise/by-default", "enterprise/told-public", "open-org/by-default", "alice/own")
    }
    print(json.dumps(out))
"""


def test_full_names_and_an_orgs_private_default(tmp_path: Path) -> None:
    """`whoami` shows user and org full names; an org set to private by default makes new repos private."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice", orgs=["enterprise", "open-org"], fullname="Alice Liddell")
    hub.add_org("enterprise", fullname="Enterprise Inc.", private_repos_by_default=True)
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", ACCOUNTS_SCRIPT)
    # huggingface_hub 2.4 `hf_api.py` (`create_repo`, `private`): "If `None` (default), the repo will be
    # public unless the organization's default is private"; `whoami` returns the account's `fullname`.
    assert out["me"] == ["alice", "Alice Liddell"]
    assert out["orgs"] == [["enterprise", "Enterprise Inc."], ["open-org", "open-org"]]
    assert out["private"] == {
        "enterprise/by-default": True,
        "enterprise/told-public": False,
        "open-org/by-default": False,
        "alice/own": False,
    }


def test_account_settings_refuse_bad_values() -> None:
    """`add_user(fullname=...)` and `add_org(...)` refuse bad values naming the argument."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice", orgs=["acme"])
    with pytest.raises(ValueError, match="fullname"):
        hub.add_user("bob", fullname=" ")
    with pytest.raises(ValueError, match="fullname"):
        hub.add_org("acme", fullname="")
    with pytest.raises(TypeError, match="private_repos_by_default"):
        hub.add_org("acme", private_repos_by_default="yes")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="is a user"):
        hub.add_org("alice")
    with pytest.raises(ValueError, match="name"):
        hub.add_org("-bad")


# ------------------------------------------------------------------------------------- disabled repos
DISABLED_SCRIPT = """
    import json
    from huggingface_hub import HfApi, hf_hub_download
    from huggingface_hub.errors import HfHubHTTPError, LocalEntryNotFoundError

    api, out = HfApi(), {}
    for name, call in (
        ("info", lambda: api.dataset_info("alice/laion")),
        ("files", lambda: api.list_repo_files("alice/laion", repo_type="dataset")),
        ("commit", lambda: api.upload_file(
            path_or_fileobj=b"x", path_in_repo="x.csv", repo_id="alice/laion", repo_type="dataset"
        )),
    ):
        try:
            call()
            out[name] = None
        except HfHubHTTPError as exc:
            disabled = "Access to this resource is disabled." in str(exc)
            out[name] = [type(exc).__name__, exc.response.status_code, disabled]
    try:
        hf_hub_download("alice/laion", "data.csv", repo_type="dataset")
        out["download"] = None
    except LocalEntryNotFoundError as exc:
        out["download"] = type(exc).__name__  # the client's own answer to a 403 on its metadata request
    out["listed"] = [[d.id, d.disabled] for d in api.list_datasets(author="alice", full=True)]
    print(json.dumps(out))
"""


def test_a_disabled_repo_answers_disabled_repo_error(tmp_path: Path) -> None:
    """A disabled repo's info, files and commits raise DisabledRepoError (403); it is listed as disabled."""
    hub = SimulatedHub(clock="manual")
    hub.add_user("alice", token="hf_alice")
    hub.create_repo("alice/laion", repo_type="dataset", files={"data.csv": "a,b\n"})
    hub.set_disabled("alice/laion", repo_type="dataset")
    with hub.serve() as url:
        out = run_client(url, tmp_path / "home", DISABLED_SCRIPT)
    # huggingface_hub 2.4 `errors.py` (`DisabledRepoError` docstring: a 403 for `dataset_info`), matched by
    # `utils/_http.py` on `X-Error-Message: Access to this resource is disabled.`.
    expected = ["DisabledRepoError", 403, True]
    assert [out["info"], out["files"], out["commit"]] == [expected] * 3
    assert out["download"] == "LocalEntryNotFoundError"  # hf_hub_download's own answer to a 403 HEAD
    assert out["listed"] == [["alice/laion", True]]
    assert hub.git.list_files(("dataset", "alice/laion")).keys() == {".gitattributes", "data.csv"}
