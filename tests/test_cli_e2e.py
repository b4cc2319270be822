"""End to end: the `aiospaces` command in a subprocess, over a real socket on 127.0.0.1.

The simulated Hub runs in this process (`hub.serve()`, real time sped up) or as `aiospaces hubsim` in its own
process; the CLI runs as `python -m aiospaces.cli`, configured only through HF_ENDPOINT and HF_TOKEN, exactly
as a user would run it against the real Hub.
"""

from __future__ import annotations

import json
import os
import pty
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from _serving import free_port, wait_listening

from aiospaces.hubsim import Durations, SimulatedHub

TOKEN = "hf_alice_e2e_token_abcdefabcdef"
APP = {
    "app.py": "import gradio as gr\n\ngr.Interface(fn=str.upper, inputs='text', outputs='text').launch()\n"
}
SPEED = 50.0  # simulated seconds per real second: a default 40 s build takes 0.8 s
PROCESS_TIMEOUT = 120  # real seconds; a hung CLI fails the test instead of hanging the suite


@pytest.fixture(scope="module")
def hub_url() -> Iterator[tuple[SimulatedHub, str]]:
    hub = SimulatedHub(speed=SPEED)
    hub.add_user("alice", token=TOKEN)
    with hub.serve(host="127.0.0.1", port=0) as url:
        yield hub, url


def cli_env(url: str, token: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    env.update(HF_ENDPOINT=url, HF_TOKEN=token, HF_HOME=str(home))
    return env


def aiospaces(
    url: str, home: Path, *args: str, token: str = TOKEN, stdin: str | None = None
) -> subprocess.CompletedProcess[str]:
    process = subprocess.run(
        [sys.executable, "-m", "aiospaces.cli", *args],
        env=cli_env(url, token, home),
        input=stdin,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    assert token not in process.stdout + process.stderr
    assert "Traceback" not in process.stderr
    return process


@contextmanager
def started_aiospaces(url: str, home: Path, *args: str) -> Iterator[subprocess.Popen[str]]:
    """`aiospaces ARGS` running as TOKEN's user, its output piped as text, for tests that read it as it runs;
    killed on exit if still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aiospaces.cli", *args],
        env=cli_env(url, TOKEN, home),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_wait_exits_0_when_running(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`aiospaces wait` on a building Space exits 0 once it runs and prints its runtime as JSON."""
    hub, url = hub_url
    hub.create_space("alice/e2e-ok", stage=None, files=APP)
    process = aiospaces(url, tmp_path, "wait", "alice/e2e-ok", "--json")
    assert process.returncode == 0, process.stderr
    ready = json.loads(process.stdout.splitlines()[-1])
    assert (ready["event"], ready["stage"]) == ("ready", "RUNNING")


def test_wait_exits_1_with_log_tail_on_build_error(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """A build that fails on an invalid requirement makes `wait` exit 1 with the build log tail on stderr."""
    hub, url = hub_url
    hub.create_space("alice/e2e-broken", stage=None, files={**APP, "requirements.txt": "torch==>1\n"})
    process = aiospaces(url, tmp_path, "wait", "alice/e2e-broken")
    assert process.returncode == 1
    assert "alice/e2e-broken reached BUILD_ERROR" in process.stderr
    assert "log lines of alice/e2e-broken" in process.stderr
    assert "torch==>1" in process.stderr


def test_wait_exits_3_on_timeout(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """A Space still building at the deadline makes `wait --timeout` exit 3."""
    hub, url = hub_url
    hub.create_space("alice/e2e-slow", stage=None, files=APP, durations=Durations(build=1_000_000.0))
    process = aiospaces(url, tmp_path, "wait", "alice/e2e-slow", "--timeout", "0.5")
    assert process.returncode == 3
    assert "alice/e2e-slow not ready after 0.5s (last stage BUILDING)" in process.stderr


def test_wait_exits_4_on_bad_token(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """An invalid HF_TOKEN makes `wait` exit 4 with one actionable line, never echoing the token."""
    hub, url = hub_url
    hub.create_space("alice/e2e-auth", files=APP)
    bad = "hf_wrong_token_000000000000"
    process = aiospaces(url, tmp_path, "wait", "alice/e2e-auth", token=bad)
    assert process.returncode == 4
    assert process.stderr.count("\n") == 1
    assert "authentication failed" in process.stderr
    assert bad not in process.stdout + process.stderr


def test_wait_many_exits_1_naming_the_failed_build(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`aiospaces wait a b c` where b's build fails on an invalid requirement waits for a and c to run, prints
    one line per transition in a pipe, and exits 1 naming b (only) with its build log tail on stderr."""
    hub, url = hub_url
    # 400 simulated seconds of build = 8 real seconds: a slow CLI start-up still finds the Spaces building.
    slow = Durations(build=400.0)
    a, b, c = "alice/e2e-many-a", "alice/e2e-many-b", "alice/e2e-many-c"
    hub.create_space(a, stage=None, files=APP, durations=slow)
    hub.create_space(b, stage=None, files={**APP, "requirements.txt": "torch==>1\n"}, durations=slow)
    hub.create_space(c, stage=None, files=APP, durations=slow)
    process = aiospaces(url, tmp_path, "wait", a, b, c, "--timeout", "600")
    assert process.returncode == 1, process.stderr
    assert f"aiospaces: error: {b} reached BUILD_ERROR" in process.stderr
    assert f"log lines of {b}" in process.stderr
    assert "torch==>1" in process.stderr
    assert a not in process.stderr
    assert c not in process.stderr
    lines = process.stdout.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Space"))
    transitions, rows = lines[:header], lines[header + 1 :]
    for repo_id in (a, c):
        # The app start is short in real time: a poll may see BUILDING, then RUNNING already.
        assert any(line.startswith(repo_id) and " -> RUNNING  " in line for line in transitions)
    assert f"{b}  BUILDING -> BUILD_ERROR  hardware -" in " ".join(transitions)
    assert [row.split()[:3] for row in rows] == [
        [a, "ok", "RUNNING"],
        [b, "FAILED", "BUILD_ERROR"],
        [c, "ok", "RUNNING"],
    ]
    assert [hub.space_stage(r) for r in (a, b, c)] == ["RUNNING", "BUILD_ERROR", "RUNNING"]


def test_wait_exits_2_on_usage_error(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """A malformed command line exits 2 with one line on stderr."""
    _, url = hub_url
    process = aiospaces(url, tmp_path, "wait", "alice/x", "--timeout", "soon")
    assert process.returncode == 2
    assert process.stderr.count("\n") == 1


def test_logs_follow_streams_until_the_build_ends(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`logs --build --follow` prints lines while the Space is still building, and ends with the build."""
    hub, url = hub_url
    # 300 simulated seconds of build = 6 real seconds, with the log lines spread over it: long enough that a
    # slow CLI start-up on a loaded machine still finds the Space building.
    hub.create_space("alice/e2e-logs", stage=None, files=APP, durations=Durations(build=300.0))
    with started_aiospaces(url, tmp_path, "logs", "alice/e2e-logs", "--build", "--follow") as process:
        assert process.stdout is not None
        first = process.stdout.readline()
        stage_at_first_line = hub.space_stage("alice/e2e-logs")
        rest = process.stdout.read()
        code = process.wait(timeout=PROCESS_TIMEOUT)
    assert first.startswith("===== Build Queued")
    assert stage_at_first_line == "BUILDING"  # streamed live, not printed after the fact
    assert code == 0
    assert "--> Exporting cache" in rest
    assert hub.space_stage("alice/e2e-logs") != "BUILDING"


def test_demo_runs_to_exit_0(tmp_path: Path) -> None:
    """`aiospaces demo --json` runs the whole fleet workflow against its embedded Hub and exits 0."""
    process = subprocess.run(
        [sys.executable, "-m", "aiospaces.cli", "demo", "--json", "--spaces", "4", "--speed", "100"],
        env=cli_env("http://unused.invalid", "unused", tmp_path),
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    assert process.returncode == 0, process.stderr
    events = [json.loads(line) for line in process.stdout.splitlines()]
    assert [e["name"] for e in events if e["event"] == "step"] == [
        "create",
        "upload",
        "settings",
        "hardware",
        "temporary",
        "pause",
    ]
    summaries = [e for e in events if e["event"] == "summary"]
    assert len(summaries) == 4
    assert all(s["stage"] == "PAUSED" and s["requested_hardware"] == "t4-medium" for s in summaries)
    assert all(s["requests"] > 0 and s["seconds_to_running"] > 0 for s in summaries)
    stages = {e["stage"] for e in events if e["event"] == "change"}
    assert {"BUILDING", "RUNNING", "RUNNING_BUILDING", "PAUSED"} <= stages
    hardware = {e["hardware"] for e in events if e["event"] == "change"}
    assert "a10g-large" in hardware  # the temporary-hardware block ran on it
    assert events[-1] == {"event": "done", "ok": True, "simulated_seconds": events[-1]["simulated_seconds"]}


def test_hubsim_command_serves_a_hub(tmp_path: Path) -> None:
    """`aiospaces hubsim` serves a simulated Hub that the other commands can use."""
    port = free_port()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "aiospaces.cli",
            "hubsim",
            "--port",
            str(port),
            "--user",
            "bob",
            "--token",
            TOKEN,
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_listening(server, port)
        process = aiospaces(url, tmp_path, "runtime", "bob/nothing-here", "--json")
        assert process.returncode == 2  # the server answers: an unknown Space is a 404
        assert json.loads(process.stdout)["exit_code"] == 2
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_logs_follow_interrupted_exits_130(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """Ctrl-C on `logs --follow` of a running Space (a never-ending stream) exits 130 without a traceback."""
    hub, url = hub_url
    hub.create_space("alice/e2e-follow", files=APP)  # RUNNING: its run log stream stays open
    with started_aiospaces(url, tmp_path, "logs", "alice/e2e-follow", "--follow") as process:
        assert process.stdout is not None
        first = process.stdout.readline()  # the stream is live once a line arrived
        process.send_signal(signal.SIGINT)
        _, err = process.communicate(timeout=PROCESS_TIMEOUT)
    assert first != ""  # a line arrived (EOF would be "")
    assert process.returncode == 130
    assert "interrupted" in err
    assert "Traceback" not in err


def test_ctrl_c_at_the_fleet_apply_prompt_exits_130(
    hub_url: tuple[SimulatedHub, str], tmp_path: Path
) -> None:
    """Ctrl-C while `fleet apply` asks for confirmation on a terminal exits 130 at once, applying nothing."""
    hub, url = hub_url
    hub.create_space("alice/e2e-prompt", stage="PAUSED", files=APP)
    fleet = tmp_path / "fleet.toml"
    fleet.write_text('[spaces."alice/e2e-prompt"]\npaused = false\n')
    controller, terminal = pty.openpty()
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "aiospaces.cli", "fleet", "apply", str(fleet)],
            env=cli_env(url, TOKEN, tmp_path),
            stdin=terminal,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            assert process.stderr is not None
            prompt = b""
            while b"[y/N]" not in prompt:  # the question is asked: the command now reads the terminal
                chunk = os.read(process.stderr.fileno(), 1024)
                assert chunk, prompt
                prompt += chunk
            process.send_signal(signal.SIGINT)
            process.wait(timeout=PROCESS_TIMEOUT)
        finally:
            if process.poll() is None:
                process.kill()
                process.wait()
    finally:
        os.close(controller)
        os.close(terminal)
    assert process.returncode == 130
    assert hub.space_stage("alice/e2e-prompt") == "PAUSED"


def test_wait_prints_transitions_to_a_pipe(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """In a pipe (a CI log), `wait` prints one line per transition before the final runtime table."""
    hub, url = hub_url
    # A build long enough (4 s of real time at SPEED) that the CLI's start-up, slow on a loaded machine,
    # cannot miss the BUILDING stage.
    hub.create_space("alice/e2e-lines", stage=None, files=APP, durations=Durations(build=200.0))
    process = aiospaces(url, tmp_path, "wait", "alice/e2e-lines")
    assert process.returncode == 0, process.stderr
    lines = process.stdout.splitlines()
    assert lines[0].startswith("alice/e2e-lines  BUILDING")
    # Real time: a poll may land after APP_STARTING is over, so the stage RUNNING came from may vary.
    assert any(line.startswith("alice/e2e-lines  ") and " -> RUNNING  " in line for line in lines)
    assert lines[-1].split()[:2] == ["alice/e2e-lines", "RUNNING"]


def test_fleet_apply_then_plan_is_empty(
    hub_url: tuple[SimulatedHub, str], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`fleet apply --yes --wait` over a socket reaches the file's state; `fleet plan` then has no change."""
    hub, url = hub_url
    hub.create_space("alice/e2e-fleet-1", files=APP)
    hub.create_space("alice/e2e-fleet-2", files=APP)
    secret = "e2e-fleet-secret-value-never-printed"
    monkeypatch.setenv("E2E_FLEET_SECRET", secret)
    fleet = tmp_path / "fleet.toml"
    fleet.write_text(
        '[defaults.variables]\nMODE = "prod"\n'
        '[spaces."alice/e2e-fleet-1"]\nhardware = "t4-small"\n'
        'secrets = { API_KEY = { env = "E2E_FLEET_SECRET" } }\n'
        '[spaces."alice/e2e-fleet-2"]\npaused = true\n'
    )
    applied = aiospaces(url, tmp_path, "fleet", "apply", str(fleet), "--yes", "--wait", "--timeout", "600")
    assert applied.returncode == 0, applied.stderr
    assert secret not in applied.stdout + applied.stderr
    assert hub.space_runtime("alice/e2e-fleet-1")["hardware"]["current"] == "t4-small"
    assert hub.space_stage("alice/e2e-fleet-2") == "PAUSED"
    planned = aiospaces(url, tmp_path, "fleet", "plan", str(fleet), "--json")
    assert planned.returncode == 0, planned.stderr
    summary = json.loads(planned.stdout.splitlines()[-1])
    assert (summary["event"], summary["changes"], summary["secrets_set_again"]) == ("summary", 0, 1)
