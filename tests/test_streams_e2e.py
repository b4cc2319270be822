"""End to end, real processes and real sockets: `aiospaces logs ... | head -1` against `aiospaces hubsim`
stops quietly with 141, and a command against a closed port gives up after two connection attempts."""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx2
import pytest

from aiospaces import CommitOperationAdd, SpacesClient
from aiospaces.cli import EXIT_CODES_HELP, ExitCode

pytest.importorskip("uvicorn")

TOKEN = "hf_alice_streams_e2e_abcdef"
RUNS = 20
PROCESS_TIMEOUT = 120  # real seconds: a hung CLI fails the test instead of hanging the suite
# A requirement line this long fails the build with three log lines of about this size each: far more than a
# pipe holds, so the CLI is still writing when `head` has gone (a log that fits in the pipe's buffer would be
# written whole before `head` exits, and the command would rightly exit 0).
LONG_REQUIREMENT = "x" * 100_000 + "==>1\n"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def cli_env(url: str, home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    env.update(HF_ENDPOINT=url, HF_TOKEN=TOKEN, HF_HOME=str(home))
    return env


@pytest.fixture(scope="module")
def hubsim_url() -> Iterator[str]:
    """`aiospaces hubsim` in its own process, on a free port, with user alice."""
    port = _free_port()
    command = [sys.executable, "-m", "aiospaces.cli", "hubsim", "--port", str(port), "--user", "alice"]
    process = subprocess.Popen(
        [*command, "--token", TOKEN, "--speed", "50"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):
            try:
                httpx2.get(f"{url}/api/whoami-v2", headers={"authorization": f"Bearer {TOKEN}"}, timeout=2)
                break
            except httpx2.TransportError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


async def _space_with_a_long_build_log(url: str, repo_id: str) -> None:
    async with SpacesClient(token=TOKEN, endpoint=url) as client:
        await client.create_repo(repo_id, repo_type="space", space_sdk="gradio")
        await client.create_commit(
            repo_id,
            [
                CommitOperationAdd(path_in_repo="app.py", path_or_fileobj=b"import gradio\n"),
                CommitOperationAdd(
                    path_in_repo="requirements.txt", path_or_fileobj=LONG_REQUIREMENT.encode()
                ),
            ],
            commit_message="a requirement pip rejects",
            repo_type="space",
        )
        # Polled briskly: the build fails within a second or two of real time at this speed.
        for _ in range(600):
            if (await client.get_space_runtime(repo_id)).stage == "BUILD_ERROR":
                return
            await anyio.sleep(0.1)
        raise AssertionError(f"{repo_id} never reached BUILD_ERROR")


def test_logs_into_head_exits_141_quietly_every_time(hubsim_url: str, tmp_path: Path) -> None:
    """`aiospaces logs ID --build | head -1` prints the first line and exits 141 with an empty stderr, in
    every one of RUNS runs."""
    anyio.run(_space_with_a_long_build_log, hubsim_url, "alice/long-log")
    outcomes = []
    for _ in range(RUNS):
        cli = subprocess.Popen(
            [sys.executable, "-m", "aiospaces.cli", "logs", "alice/long-log", "--build"],
            env=cli_env(hubsim_url, tmp_path),
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert cli.stdout is not None
        assert cli.stderr is not None
        head = subprocess.Popen(["head", "-1"], stdin=cli.stdout, stdout=subprocess.PIPE)
        cli.stdout.close()  # only `head` reads it now: when `head` exits, the pipe has no reader
        first, _ = head.communicate(timeout=PROCESS_TIMEOUT)
        stderr = cli.stderr.read()
        cli.stderr.close()
        outcomes.append((cli.wait(timeout=PROCESS_TIMEOUT), stderr.decode(), first.decode()))
    for code, stderr, first in outcomes:
        assert first.startswith("===== Build Queued")
        assert (code, stderr) == (ExitCode.BROKEN_PIPE, "")


def _documented_code(phrase: str) -> int:
    """The exit code whose `--help` entry mentions `phrase`."""
    entries = re.split(r"\n  (?=\d+ )", "\n" + EXIT_CODES_HELP)
    for entry in entries:
        if phrase in " ".join(entry.split()):
            return int(entry.split()[0])
    raise AssertionError(f"no exit code documents {phrase!r}")


def test_closed_port_gives_up_after_two_connection_attempts(tmp_path: Path) -> None:
    """Against a port where nothing listens, `aiospaces runtime` retries once (the `-v` retry log shows one
    retry, for a refused connection) and exits with the code documented for an unreachable endpoint."""
    url = f"http://127.0.0.1:{_free_port()}"  # bound then closed: nothing listens there
    process = subprocess.run(
        [sys.executable, "-m", "aiospaces.cli", "-v", "runtime", "alice/app"],
        env=cli_env(url, tmp_path),
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    retries = [line for line in process.stderr.splitlines() if "retrying in" in line]
    attempts = len(retries) + 1  # each failed attempt but the last logs its retry
    assert attempts == 2, process.stderr
    assert "connection refused" in retries[0]
    assert process.returncode == _documented_code("unreachable endpoint") == ExitCode.USAGE
    assert "cannot connect" in process.stderr
    assert "Traceback" not in process.stderr
