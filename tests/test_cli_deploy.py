"""`aiospaces deploy`, in-process against the simulated Hub (virtual time): one line per phase, exit 0 only
when the new code runs, exit 1 with the failure class and the failing phase's log tail, 3 on timeout, and
`--json` events."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from _cli_support import Result, run_cli

from aiospaces.cli import ExitCode
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import VirtualClock

pytestmark = pytest.mark.anyio

TOKEN = "hf_alice_cli_deploy_token_0123456789"
APP = "import gradio as gr\n\ngr.Interface(lambda x: x, 'text', 'text').launch()\n"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def hub(clock: VirtualClock) -> SimulatedHub:
    hub = SimulatedHub(clock=clock)
    hub.add_user("alice", token=TOKEN)
    hub.set_durations(build=40, start=10, commit_to_build=20)
    hub.create_space("alice/app", files={"app.py": APP + "# v1\n"})
    return hub


def folder(tmp_path: Path, files: dict[str, str] | None = None) -> str:
    path = tmp_path / "app"
    path.mkdir(exist_ok=True)
    for name, content in {"app.py": APP + "# v2\n", "requirements.txt": "numpy\n", **(files or {})}.items():
        (path / name).write_text(content)
    return str(path)


async def cli(hub: SimulatedHub, clock: VirtualClock, *argv: str) -> Result:
    # A failed deploy prints the failing phase's log tail, which may quote the app's own traceback.
    return await run_cli(hub, clock, TOKEN, *argv, log_tail_marker="--- last")


async def test_deploy_prints_each_phase_and_exits_0_when_the_new_code_runs(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path
) -> None:
    """uploaded → build started → app starting → running on HW, with durations; exit 0; the new code runs."""
    result = await cli(hub, clock, "deploy", "alice/app", folder(tmp_path), "--hardware", "t4-small")
    assert result.code == ExitCode.OK, result.err
    head = hub.git.head(("space", "alice/app"))
    assert head is not None
    lines = result.out.splitlines()
    assert lines[0] == f"alice/app: uploaded 2 files (commit {head[:7]})"
    assert lines[1] == "alice/app: requested t4-small"
    assert lines[2].startswith("alice/app: build started (")
    assert lines[3].startswith("alice/app: app starting (build ")
    assert lines[4].startswith("alice/app: running on t4-small (start ")
    assert lines[5].split() == ["Space", "result", "class", "commit", "hardware", "build", "start", "detail"]
    assert lines[6].split()[:5] == ["alice/app", "running", "-", head[:7], "t4-small"]
    assert hub.space_runtime("alice/app")["hardware"]["current"] == "t4-small"
    assert head[:7] in hub.space_state("alice/app").build_log[0][1]


async def test_deploy_of_an_unchanged_folder_says_so(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path
) -> None:
    """A second deploy of the same folder prints that there was nothing to upload and exits 0 at once."""
    path = folder(tmp_path)
    assert (await cli(hub, clock, "deploy", "alice/app", path)).code == ExitCode.OK
    now = clock.now()
    again = await cli(hub, clock, "deploy", "alice/app", path)
    assert again.code == ExitCode.OK
    assert "alice/app: nothing to upload: the Space already has these files" in again.out
    assert "unchanged" in again.out.splitlines()[-1]
    assert clock.now() == now


@pytest.mark.parametrize(
    ("files", "fail_phase", "stage", "failure_class", "tail_line", "log_kind"),
    [
        ({"requirements.txt": "numpy\ntorch==>1\n"}, None, "BUILD_ERROR", "build", "torch==>1", "build"),
        ({"app.py": "def broken(:\n    pass\n"}, None, "RUNTIME_ERROR", "app", "SyntaxError", "run"),
        ({"README.md": "---\napp_file: main.py\n---\n"}, None, "NO_APP_FILE", "config", None, None),
        ({}, "config", "CONFIG_ERROR", "config", None, None),
        ({}, "schedule", "RUNTIME_ERROR", "platform", None, None),
    ],
)
async def test_each_failure_class_exits_1_with_its_class_and_log_tail(
    hub: SimulatedHub,
    clock: VirtualClock,
    tmp_path: Path,
    files: dict[str, str],
    fail_phase: str | None,
    stage: str,
    failure_class: str,
    tail_line: str | None,
    log_kind: str | None,
) -> None:
    """A failed deploy exits 1; stderr names the stage and the failure class and prints the failing phase's
    log tail; the table's class column says the same."""
    if fail_phase is not None:
        hub.fail_next_build("alice/app", phase=fail_phase)
    result = await cli(hub, clock, "deploy", "alice/app", folder(tmp_path, files))
    assert result.code == ExitCode.SPACE_FAILED
    first_error = result.err.splitlines()[0]
    assert first_error.startswith(f"aiospaces: error: alice/app: {stage} ({failure_class} failure)")
    row = result.out.splitlines()[-1].split()
    assert row[:3] == ["alice/app", "FAILED", failure_class]
    if tail_line is not None:
        assert "--- last " in result.err
        assert f"{log_kind} log lines of alice/app ---" in result.err
        assert tail_line in result.err.split("---\n", 1)[1]
    if failure_class == "platform":
        assert "Scheduling failure: not enough hardware capacity" in first_error


async def test_an_unknown_sdk_in_the_readme_exits_2_before_any_upload(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path
) -> None:
    """A folder README naming an unknown sdk: exit 2 with the Hub's card validation message naming `sdk`,
    and the Space keeps its commit."""
    head = hub.git.head(("space", "alice/app"))
    result = await cli(
        hub, clock, "deploy", "alice/app", folder(tmp_path, {"README.md": "---\nsdk: cobol\n---\n"})
    )
    assert result.code == ExitCode.USAGE
    assert '"sdk" must be one of [gradio, streamlit, docker, static]' in result.err
    assert hub.git.head(("space", "alice/app")) == head


async def test_json_events_name_the_phases_and_the_failure(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path
) -> None:
    """--json prints `phase` events as they happen, then a `result` event with the failure class, the stage,
    the Hub's message, the log tail and the commit."""
    result = await cli(
        hub, clock, "deploy", "alice/app", folder(tmp_path, {"app.py": "x = (\n"}), "--json", "-m", "ship it"
    )
    assert result.code == ExitCode.SPACE_FAILED
    events = result.events()
    assert [e["phase"] for e in events if e["event"] == "phase"] == [
        "uploaded",
        "building",
        "starting",
        "failed",
    ]
    final = events[-1]
    head = hub.git.head(("space", "alice/app"))
    assert final["event"] == "result"
    assert (final["ok"], final["failure_class"], final["stage"], final["commit"]) == (
        False,
        "app",
        "RUNTIME_ERROR",
        head,
    )
    assert any("SyntaxError" in line for line in final["log_tail"])
    assert hub.git.resolve(("space", "alice/app"), "main").title == "ship it"


async def test_a_deadline_exits_3(hub: SimulatedHub, clock: VirtualClock, tmp_path: Path) -> None:
    """A --timeout shorter than the build exits 3 and says the Space is not ready."""
    result = await cli(hub, clock, "deploy", "alice/app", folder(tmp_path), "--timeout", "30")
    assert result.code == ExitCode.TIMEOUT
    assert "alice/app: alice/app not ready after" in result.err


async def test_several_spaces_one_failing_exits_1_with_a_row_each(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path
) -> None:
    """Two Spaces, one of which cannot be scheduled: exit 1, a row per Space in input order."""
    hub.create_space("alice/other", files={"app.py": APP})
    hub.fail_next_build("alice/other", phase="schedule")
    result = await cli(hub, clock, "deploy", "alice/other", "alice/app", folder(tmp_path))
    assert result.code == ExitCode.SPACE_FAILED
    rows = [
        line.split()[:3] for line in result.out.splitlines() if line.startswith("alice/") and "  " in line
    ]
    assert rows[-2:] == [["alice/other", "FAILED", "platform"], ["alice/app", "running", "-"]]


async def test_a_folder_that_does_not_exist_is_a_usage_error(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path
) -> None:
    """A FOLDER that is not a directory exits 2 before any request."""
    before = sum(hub.counters.requests.values())
    result = await cli(hub, clock, "deploy", "alice/app", str(tmp_path / "nope"))
    assert result.code == ExitCode.USAGE
    assert "folder_path" in result.err
    assert sum(hub.counters.requests.values()) == before


async def test_a_paused_space_is_reported_with_what_to_do(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path
) -> None:
    """A commit does not rebuild a paused Space: exit 1, saying it is PAUSED and to restart it."""
    hub.create_space("alice/paused", stage="PAUSED")
    result = await cli(hub, clock, "deploy", "alice/paused", folder(tmp_path))
    assert result.code == ExitCode.SPACE_FAILED
    assert "alice/paused: the Space is PAUSED: restart it (`aiospaces restart alice/paused`)" in result.err
    assert "--wake" not in result.err


def test_deploy_in_a_subprocess_over_a_socket_reports_a_build_failure(tmp_path: Path) -> None:
    """`aiospaces deploy` run as a user runs it (HF_ENDPOINT, HF_TOKEN, a real socket): a bad requirement
    exits 1 with the class and the build log tail (the previous build, RUNNING at first, is not taken)."""
    pytest.importorskip("uvicorn")
    hub = SimulatedHub(speed=50)  # a 40 s build takes 0.8 s
    hub.add_user("alice", token=TOKEN)
    hub.create_space("alice/app", files={"app.py": APP + "# v1\n"})
    path = folder(tmp_path, {"requirements.txt": "numpy\ntorch==>1\n"})
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    with hub.serve() as url:
        env.update(HF_ENDPOINT=url, HF_TOKEN=TOKEN, HF_HOME=str(tmp_path / "home"))
        process = subprocess.run(
            [sys.executable, "-m", "aiospaces.cli", "deploy", "alice/app", path, "--timeout", "600"],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
    assert process.returncode == ExitCode.SPACE_FAILED, process.stderr
    assert TOKEN not in process.stdout + process.stderr
    assert process.stdout.startswith("alice/app: uploaded 2 files (commit ")
    assert "aiospaces: error: alice/app: BUILD_ERROR (build failure)" in process.stderr
    assert "build log lines of alice/app ---" in process.stderr
    assert "torch==>1" in process.stderr
