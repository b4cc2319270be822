"""End to end: the guide's commands (`create`, `duplicate`, `upload`, `list`, `info`, `storage`, `sleep`,
`delete`) through the real `aiospaces` executable (`python -m aiospaces.cli`) in a subprocess, against a
simulated Hub served on a real socket on 127.0.0.1, configured only through HF_ENDPOINT and HF_TOKEN; each
test checks the exit code and the simulator's resulting state."""

from __future__ import annotations

import json
import os
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from _serving import free_port, wait_listening

from aiospaces.hubsim import SimulatedHub

pytest.importorskip("uvicorn")

TOKEN = "hf_alice_manage_token_0123456789"
SECRET = "s3cr3t-value-never-printed"
PROCESS_TIMEOUT = 120


@pytest.fixture(scope="module")
def served() -> Iterator[tuple[SimulatedHub, str]]:
    hub = SimulatedHub(speed=50.0)
    hub.add_user("alice", token=TOKEN)
    hub.add_user("bob", token="hf_bob_manage_token_0123456789")
    hub.create_space("bob/public-app", sdk="gradio", variables={"MODE": "demo"})
    with hub.serve(host="127.0.0.1", port=0) as url:
        yield hub, url


def aiospaces(
    url: str, home: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    environ = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    environ.update({"HF_ENDPOINT": url, "HF_TOKEN": TOKEN, "HF_HOME": str(home), **(env or {})})
    process = subprocess.run(
        [sys.executable, "-m", "aiospaces.cli", *args],
        env=environ,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    output = process.stdout + process.stderr
    assert TOKEN not in output
    assert SECRET not in output
    assert "Traceback" not in process.stderr
    return process


def events(process: subprocess.CompletedProcess[str]) -> list[dict[str, object]]:
    return [json.loads(line) for line in process.stdout.splitlines() if line.startswith("{")]


def test_create_with_every_setting(served: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`create` makes two Spaces with hardware, storage, sleep time, a secret from --from-env and a variable;
    exit 0; a second `create` without --exist-ok exits 1 naming the existing Space."""
    hub, url = served
    args = ["create", "alice/one", "alice/two", "--sdk", "docker", "--hardware", "t4-small"]
    args += ["--storage", "small", "--sleep-time", "3600", "--secret", "API_KEY", "--from-env", "MY_SECRET"]
    args += ["--variable", "MODEL=alice/model"]
    done = aiospaces(url, tmp_path, *args, env={"MY_SECRET": SECRET})
    assert done.returncode == 0, done.stderr
    for repo_id in ("alice/one", "alice/two"):
        space = hub.space_state(repo_id)
        runtime = hub.space_runtime(repo_id)
        assert space.sdk == "docker"
        assert runtime["hardware"]["requested"] == "t4-small"
        assert (runtime["storage"], runtime["gcTimeout"]) == ("small", 3600)
        assert space.secrets["API_KEY"].value == SECRET
        assert space.variables["MODEL"].value == "alice/model"
    again = aiospaces(url, tmp_path, "create", "alice/one")
    assert again.returncode == 1
    assert "alice/one" in again.stderr
    assert aiospaces(url, tmp_path, "create", "alice/one", "--exist-ok").returncode == 0


def test_create_refuses_a_bad_sleep_time(served: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`--sleep-time 1.5` exits 2 naming the option, and creates nothing."""
    hub, url = served
    done = aiospaces(url, tmp_path, "create", "alice/bad-sleep", "--sleep-time", "1.5")
    assert done.returncode == 2
    assert "--sleep-time" in done.stderr
    assert not hub.repo_exists("alice/bad-sleep")


def test_upload_sends_only_changed_files(served: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`upload ID FOLDER` commits the folder (exit 0); the same upload again makes no new commit."""
    hub, url = served
    hub.create_space("alice/upload-me", sdk="gradio")
    folder = tmp_path / "src"
    folder.mkdir()
    (folder / "app.py").write_text("print('v2')\n")
    first = aiospaces(url, tmp_path, "upload", "alice/upload-me", str(folder), "--json")
    assert first.returncode == 0, first.stderr
    second = aiospaces(url, tmp_path, "upload", "alice/upload-me", str(folder), "--json")
    assert second.returncode == 0, second.stderr
    commits = [[e["commit"] for e in events(p) if e["event"] == "uploaded"] for p in (first, second)]
    assert commits[0] == commits[1]  # the second upload found everything up to date
    assert hub.space_state("alice/upload-me").sdk == "gradio"


def test_list_and_info(served: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`list --author --runtime` shows the author's Spaces with stages; `info ID` shows one (exit 0 each)."""
    hub, url = served
    hub.create_space("alice/listed", sdk="streamlit")
    listed = aiospaces(
        url, tmp_path, "list", "--author", "alice", "--search", "listed", "--runtime", "--json"
    )
    assert listed.returncode == 0, listed.stderr
    spaces = [e for e in events(listed) if e["event"] == "space"]
    assert [(e["repo_id"], e["sdk"], e["stage"]) for e in spaces] == [
        ("alice/listed", "streamlit", "RUNNING")
    ]
    info = aiospaces(url, tmp_path, "info", "alice/listed", "--json")
    assert info.returncode == 0, info.stderr
    [shown] = [e for e in events(info) if e["event"] == "info"]
    assert (shown["repo_id"], shown["sdk"], shown["stage"]) == ("alice/listed", "streamlit", "RUNNING")


def test_duplicate_another_users_public_space(served: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`duplicate bob/public-app` copies it into alice's namespace with the given hardware and sleep time."""
    hub, url = served
    done = aiospaces(
        url, tmp_path, "duplicate", "bob/public-app", "--hardware", "cpu-upgrade", "--sleep-time", "600"
    )
    assert done.returncode == 0, done.stderr
    assert "alice/public-app" in done.stdout
    runtime = hub.space_runtime("alice/public-app")
    assert (runtime["hardware"]["requested"], runtime["gcTimeout"]) == ("cpu-upgrade", 600)


def test_storage_up_down_and_delete(served: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`storage ID large` grants it; `storage ID small` exits 2 saying to delete first (the Hub refuses the
    request: tiers only go up); `storage delete ID` removes it; then `small` is granted."""
    hub, url = served
    hub.create_space("alice/store", sdk="gradio")
    assert aiospaces(url, tmp_path, "storage", "alice/store", "large").returncode == 0
    assert hub.space_runtime("alice/store")["storage"] == "large"
    down = aiospaces(url, tmp_path, "storage", "alice/store", "small")
    assert down.returncode == 2
    assert "delete it first" in down.stderr
    assert hub.space_runtime("alice/store")["storage"] == "large"
    assert aiospaces(url, tmp_path, "storage", "delete", "alice/store").returncode == 0
    assert hub.space_runtime("alice/store")["storage"] is None
    assert aiospaces(url, tmp_path, "storage", "alice/store", "small").returncode == 0
    assert hub.space_runtime("alice/store")["storage"] == "small"
    assert aiospaces(url, tmp_path, "storage", "alice/store", "huge").returncode == 2


def test_sleep(served: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`sleep ID... SECONDS` sets the sleep time of every Space given (exit 0)."""
    hub, url = served
    hub.create_space("alice/nap-a", hardware="cpu-upgrade")
    hub.create_space("alice/nap-b", hardware="cpu-upgrade")
    done = aiospaces(url, tmp_path, "sleep", "alice/nap-a", "alice/nap-b", "7200")
    assert done.returncode == 0, done.stderr
    assert [hub.space_runtime(r)["gcTimeout"] for r in ("alice/nap-a", "alice/nap-b")] == [7200, 7200]


def test_delete_needs_yes_without_a_terminal(served: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """Without a terminal `delete` refuses (exit 2, nothing deleted) unless --yes, which deletes (exit 0)."""
    hub, url = served
    hub.create_space("alice/doomed")
    refused = aiospaces(url, tmp_path, "delete", "alice/doomed", stdin="y\n")
    assert refused.returncode == 2
    assert "--yes" in refused.stderr
    assert hub.repo_exists("alice/doomed")
    done = aiospaces(url, tmp_path, "delete", "alice/doomed", "--yes")
    assert done.returncode == 0, done.stderr
    assert not hub.repo_exists("alice/doomed")


def test_hubsim_space_option_serves_running_spaces(tmp_path: Path) -> None:
    """`aiospaces hubsim --space alice/app --space alice/site:static` starts with both Spaces running on their
    SDKs, so `aiospaces list` against it shows them at once; a bad SDK is refused with exit 2."""
    port = free_port()
    command = [sys.executable, "-m", "aiospaces.cli", "hubsim", "--port", str(port), "--speed", "50"]
    command += ["--user", "alice", "--token", TOKEN, "--space", "alice/app", "--space", "alice/site:static"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
    try:
        wait_listening(server, port)
        listed = aiospaces(
            f"http://127.0.0.1:{port}", tmp_path, "list", "--author", "alice", "--runtime", "--json"
        )
        assert listed.returncode == 0, listed.stderr
        spaces = {e["repo_id"]: (e["sdk"], e["stage"]) for e in events(listed) if e["event"] == "space"}
        assert spaces == {"alice/app": ("gradio", "RUNNING"), "alice/site": ("static", "RUNNING")}
    finally:
        server.terminate()
        server.wait(timeout=30)
    bad = subprocess.run(
        [*command[:4], "--port", "0", "--space", "alice/x:rails"], capture_output=True, text=True, timeout=60
    )
    assert bad.returncode == 2
    assert "sdk" in bad.stderr


README = Path(__file__).resolve().parent.parent / "README.md"


def _walkthrough() -> list[str]:
    """The README's guide walkthrough: its `sh` block, one command per line (continuations joined)."""
    text = README.read_text(encoding="utf-8")
    start = text.index('### The "Manage your Space" guide from the command line')
    opening = text.index("```sh\n", start) + len("```sh\n")
    block = text[opening : text.index("```", opening)]
    return [line.strip() for line in block.replace("\\\n", " ").splitlines() if line.strip()]


def _runtime(url: str, home: Path, env: dict[str, str], repo_id: str) -> dict[str, object] | None:
    """The Space's runtime as `aiospaces runtime --json` shows it, or None when the Hub has no such Space."""
    shown = aiospaces(url, home, "runtime", repo_id, "--json", env=env)
    if shown.returncode == 2:
        return None
    assert shown.returncode == 0, shown.stderr
    [result] = events(shown)
    return result


def test_readme_walkthrough_runs_verbatim(tmp_path: Path) -> None:
    """Every line of the README's guide walkthrough runs as written against `aiospaces hubsim` (on a free port
    instead of 8123) and exits 0, and the simulator's state after each step is the one the step promises."""
    lines = _walkthrough()
    server_line, *steps = lines
    assert server_line.startswith("aiospaces hubsim ")
    port = free_port()
    server_args = shlex.split(server_line.split("#")[0].rstrip(" &"))[1:]
    server = subprocess.Popen(
        [sys.executable, "-m", "aiospaces.cli", *server_args, "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    env: dict[str, str] = {}
    try:
        wait_listening(server, port)
        for step in steps:
            if step.startswith("export "):
                for assignment in shlex.split(step)[1:]:
                    name, _, value = assignment.partition("=")
                    env[name] = value
                env["HF_ENDPOINT"] = url  # the free port, not the README's 8123
                continue
            if not step.startswith("aiospaces "):
                shell = subprocess.run(
                    ["bash", "-c", step], cwd=tmp_path, capture_output=True, text=True, timeout=60
                )
                assert shell.returncode == 0, shell.stderr
                continue
            done = subprocess.run(
                [sys.executable, "-m", "aiospaces.cli", *shlex.split(step)[1:]],
                cwd=tmp_path,
                env={
                    **{k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))},
                    "HF_HOME": str(tmp_path / "home"),
                    **env,
                },
                capture_output=True,
                text=True,
                timeout=PROCESS_TIMEOUT,
                check=False,
            )
            assert done.returncode == 0, f"{step}: {done.stderr}"
            assert env["HF_TOKEN"] not in done.stdout + done.stderr
            assert env["API_KEY"] not in done.stdout + done.stderr
            command = shlex.split(step)[1]
            runtime = _runtime(url, tmp_path, env, "alice/my-space")
            if command == "create":
                assert runtime is not None
                assert (runtime["requested_hardware"], runtime["storage"], runtime["sleep_time"]) == (
                    "t4-small",
                    "small",
                    3600,
                )
            elif command == "wait":
                assert runtime is not None
                assert (runtime["stage"], runtime["hardware"]) == ("RUNNING", "t4-small")
            elif command == "duplicate":
                assert _runtime(url, tmp_path, env, "alice/my-copy") is not None
            elif command == "pause":
                assert runtime is not None
                assert runtime["stage"] == "PAUSED"
            elif command == "restart":
                assert runtime is not None
                assert runtime["stage"] != "PAUSED"
            elif command == "storage":
                assert runtime is not None
                assert runtime["storage"] is None
            elif command == "delete":
                assert runtime is None
                assert _runtime(url, tmp_path, env, "alice/my-copy") is None
        assert [shlex.split(s)[1] for s in steps if s.startswith("aiospaces ")] == [
            "create",
            "upload",
            "wait",
            "duplicate",
            "pause",
            "restart",
            "storage",
            "delete",
        ]
    finally:
        server.terminate()
        server.wait(timeout=30)
