"""README.md says only what works: its set-up commands, its snippets and its CLI reference are checked here.

The quickstart runs unchanged in a subprocess against `aiospaces hubsim` on 127.0.0.1, configured through
HF_ENDPOINT/HF_TOKEN exactly as the README tells users to; the testing snippet runs under pytest.
"""

from __future__ import annotations

import io
import json
import os
import re
import shlex
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from _serving import free_port, wait_listening

from aiospaces.cli import EXIT_CODES_HELP, run

README = Path(__file__).resolve().parent.parent / "README.md"
TOKEN = "hf_test_readme_token_0123456789"
PROCESS_TIMEOUT = 180  # real seconds; only a hung snippet gets near it


def readme() -> str:
    return README.read_text(encoding="utf-8")


def section(title: str) -> str:
    """The text of the `## title` section."""
    text = readme()
    start = text.index(f"\n## {title}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end != -1 else len(text)]


def code_blocks(text: str, language: str) -> list[str]:
    return re.findall(rf"```{language}\n(.*?)```", text, flags=re.DOTALL)


@pytest.fixture(scope="module")
def hubsim() -> Iterator[str]:
    """`aiospaces hubsim` as the README shows it (user alice), sped up, on a free port."""
    port = free_port()
    command = [sys.executable, "-m", "aiospaces.cli", "hubsim", "--port", str(port)]
    command += ["--user", "alice", "--token", TOKEN, "--speed", "100"]
    server = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        wait_listening(server, port)
        yield f"http://127.0.0.1:{port}"
    finally:
        server.terminate()
        server.wait(timeout=30)


def user_env(url: str, home: Path, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    env.update(HF_ENDPOINT=url, HF_TOKEN=TOKEN, HF_HOME=str(home), **extra)
    return env


def run_process(args: list[str], **options: Any) -> subprocess.CompletedProcess[str]:
    """Run a user's command to completion (bounded by PROCESS_TIMEOUT), capturing its text output."""
    return subprocess.run(
        args, capture_output=True, text=True, timeout=PROCESS_TIMEOUT, check=False, **options
    )


def test_setup_commands_are_the_two_single_lines() -> None:
    """The set-up section holds exactly the demo command and the test command, each one line."""
    blocks = code_blocks(section("Set up"), "bash")
    assert blocks == [
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[server,cli]' && aiospaces demo\n",
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[dev]' && python -m pytest\n",
    ]


def test_quickstart_runs_against_hubsim(hubsim: str, tmp_path: Path) -> None:
    """The quickstart, run unchanged against `aiospaces hubsim` twice in a row, succeeds both times and ends
    with five paused Spaces on t4-medium."""
    [snippet] = code_blocks(section("Quickstart"), "python")
    script = tmp_path / "quickstart.py"
    script.write_text(snippet, encoding="utf-8")
    env = user_env(hubsim, tmp_path, MY_API_KEY="not-a-real-key")
    for attempt in ("first", "second"):
        process = run_process([sys.executable, str(script)], env=env)
        assert process.returncode == 0, (attempt, process.stderr)
        lines = process.stdout.splitlines()
        assert sorted(lines[:5]) == [f"alice/quickstart-{i} RUNNING t4-medium" for i in range(5)], attempt
        assert lines[5] == "training on a10g-large", attempt
    # Read the end state back with the CLI, as a user would.
    ids = [f"alice/quickstart-{i}" for i in range(5)]
    check = run_process([sys.executable, "-m", "aiospaces.cli", "runtime", *ids, "--json"], env=env)
    assert check.returncode == 0, check.stderr
    states = [json.loads(line) for line in check.stdout.splitlines()]
    assert [(s["stage"], s["requested_hardware"]) for s in states] == [("PAUSED", "t4-medium")] * 5


def test_ci_example_runs_against_hubsim(hubsim: str, tmp_path: Path) -> None:
    """The README's CI one-liner (hardware, then wait for it) exits 0 against a running Space."""
    [line] = [b for b in code_blocks(section("The `aiospaces` command"), "bash") if "wait" in b]
    env = user_env(hubsim, tmp_path)
    cli = f"{shlex.quote(sys.executable)} -m aiospaces.cli"
    create = run_process([sys.executable, "-c", _CREATE_APP], env=env)
    assert create.returncode == 0, create.stderr
    process = run_process(["bash", "-c", line.replace("aiospaces ", f"{cli} ")], env=env)
    assert process.returncode == 0, process.stderr
    assert "t4-medium" in process.stdout


def test_ci_deploy_step_runs_against_hubsim(hubsim: str, tmp_path: Path) -> None:
    """The README's GitHub Actions deploy step, its `aiospaces` lines run as written (the workflow's
    expressions filled in), deploys ./app to a running Space over a real socket and exits 0 once it runs."""
    [workflow] = code_blocks(section("Deploying: wait for *your* code, not the previous build"), "yaml")
    run_block = workflow.split("run: |\n", 1)[1]
    lines = [line.strip() for line in run_block.splitlines() if line.strip().startswith("aiospaces ")]
    assert len(lines) == 1
    env = user_env(hubsim, tmp_path)
    create = run_process([sys.executable, "-c", _CREATE_APP], env=env)
    assert create.returncode == 0, create.stderr
    app = tmp_path / "app"
    app.mkdir()
    (app / "app.py").write_text("import gradio as gr\n\ngr.Interface(str.upper, 'text', 'text').launch()\n")
    (app / "requirements.txt").write_text("numpy\n")
    command = (
        lines[0]
        .replace("${{ github.sha }}", "0123abc")
        .replace("aiospaces ", f"{shlex.quote(sys.executable)} -m aiospaces.cli ", 1)
    )
    process = run_process(["bash", "-c", command], env=env, cwd=tmp_path)
    assert process.returncode == 0, process.stdout + process.stderr
    out = process.stdout
    assert "alice/app: uploaded 2 files" in out
    assert "alice/app: build started" in out
    assert "alice/app: running on t4-small" in out


_CREATE_APP = """
import anyio
from aiospaces import SpacesClient

async def main():
    async with SpacesClient() as client:
        await client.create_repo("alice/app", repo_type="space", space_sdk="gradio", exist_ok=True)
        await client.upload_file(path_or_fileobj=b"print(1)\\n", path_in_repo="app.py", repo_id="alice/app",
                                 repo_type="space")

anyio.run(main)
"""


def test_testing_snippet_passes_under_pytest(tmp_path: Path) -> None:
    """The README's example test for users' own code passes when run by pytest."""
    [snippet] = code_blocks(section("A simulated Hub for your own tests"), "python")
    (tmp_path / "test_users_code.py").write_text(snippet, encoding="utf-8")
    process = run_process(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-p",
            "no:cacheprovider",
            str(tmp_path / "test_users_code.py"),
        ],
        cwd=tmp_path,
    )
    assert process.returncode == 0, process.stdout + process.stderr
    assert re.search(r"\b\d+ passed", process.stdout)
    assert "failed" not in process.stdout


def test_exit_code_table_matches_help() -> None:
    """Every exit code in `--help` has a row in the README's table, with the same first words."""
    table = section("The `aiospaces` command")
    codes = re.findall(r"^  (\d+)  (\S+ \S+)", EXIT_CODES_HELP, flags=re.MULTILINE)
    assert [code for code, _ in codes] == ["1", "2", "3", "4", "5", "130", "141"]  # 0 is one word: "success"
    for code, first_words in codes:
        assert f"| {code} | {first_words}" in table


@pytest.mark.anyio
async def test_every_documented_command_exists() -> None:
    """Each `aiospaces X` the README documents is a command whose --help works."""
    reference = code_blocks(section("The `aiospaces` command"), "")[0]
    commands = sorted(set(re.findall(r"^aiospaces (\w+)", reference, flags=re.MULTILINE)))
    assert len(commands) == 19
    for command in commands:
        if command == "hubsim":
            continue  # its own parser: exercised by the quickstart test's server
        out = io.StringIO()
        assert await run([command, "--help"], stdout=out, stderr=io.StringIO()) == 0
        assert f"usage: aiospaces {command}" in out.getvalue()
