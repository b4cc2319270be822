"""The command line a newcomer meets, end to end: `aiospaces` in a subprocess over a real socket on 127.0.0.1.

Every test runs the real executable (`python -m aiospaces.cli`) and asserts the exact exit code and message a
user sees.
"""

from __future__ import annotations

import fcntl
import importlib
import inspect
import json
import os
import pkgutil
import pty
import re
import signal
import struct
import subprocess
import sys
import termios
from collections.abc import AsyncIterator, Iterator
from contextlib import contextmanager
from pathlib import Path

import anyio
import httpx2
import pytest

from aiospaces import SpacesClient
from aiospaces.hubsim import SimulatedHub

PROCESS_TIMEOUT = 120  # real seconds; a hung CLI fails the test instead of hanging the suite
HUBSIM_USAGE = "aiospaces hubsim: error: "
PORT_RANGE = "argument --port: expected a port from 0 to 65535 (0 picks a free one)"


def run_cli(
    *args: str, env: dict[str, str] | None = None, stdin_text: str | None = None
) -> subprocess.CompletedProcess[str]:
    """`aiospaces ARGS` to completion, output captured as text; never a traceback."""
    process = subprocess.run(
        [sys.executable, "-m", "aiospaces.cli", *args],
        input=stdin_text,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
        env=env,
    )
    assert "Traceback" not in process.stderr
    return process


@contextmanager
def hubsim(*args: str) -> Iterator[tuple[subprocess.Popen[str], str, list[str]]]:
    """`aiospaces hubsim --port 0 ARGS` running; yields the process, the URL it printed and its stderr lines
    up to that one. Killed on exit if still running."""
    process = subprocess.Popen(
        [sys.executable, "-m", "aiospaces.cli", "hubsim", "--port", "0", *args],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        lines: list[str] = []
        while not lines or "serving on" not in lines[-1]:
            line = process.stderr.readline()
            assert line, f"hubsim ended before serving: {lines}"
            lines.append(line)
        found = re.search(r"serving on (http://127\.0\.0\.1:(\d+)) ", lines[-1])
        assert found is not None, lines[-1]
        yield process, found.group(1), lines
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def test_hubsim_port_0_prints_the_port_that_listens() -> None:
    """`aiospaces hubsim --port 0` prints the port the system picked, and that port already answers."""
    with hubsim("--user", "alice", "--token", "hf_alice_newcomer") as (_, url, lines):
        assert not url.endswith(":0")
        answer = httpx2.get(f"{url}/api/whoami-v2", headers={"authorization": "Bearer hf_alice_newcomer"})
    assert (answer.status_code, answer.json()["name"]) == (200, "alice")
    assert lines == ["user alice: token (given)\n", f"hubsim: serving on {url} (speed x1)\n"]


def test_hubsim_without_user_says_why_tokens_are_refused() -> None:
    """Without `--user`, hubsim says that every token will get 401, and a token does get 401."""
    with hubsim() as (_, url, lines):
        answer = httpx2.get(f"{url}/api/whoami-v2", headers={"authorization": "Bearer hf_anyone"})
    assert answer.status_code == 401
    assert lines[0] == (
        "hubsim: note: no --user given, so the Hub knows no token and answers 401 to any request that sends "
        "one; add --user NAME [--token TOKEN]\n"
    )


def test_hubsim_ctrl_c_stops_with_one_line() -> None:
    """Ctrl-C on `aiospaces hubsim`, even with a log stream open, stops it with exit 0 and one line."""
    with hubsim("--user", "alice", "--token", "hf_alice_newcomer", "--speed", "50") as (process, url, _):
        auth = {"authorization": "Bearer hf_alice_newcomer"}
        created = httpx2.post(
            f"{url}/api/repos/create", json={"type": "space", "name": "app", "sdk": "gradio"}, headers=auth
        )
        assert created.status_code == 200, created.text
        with httpx2.stream("GET", f"{url}/api/spaces/alice/app/logs/build", headers=auth) as stream:
            assert stream.status_code == 200
            process.send_signal(signal.SIGINT)
            assert process.wait(timeout=PROCESS_TIMEOUT) == 0
        assert process.stderr is not None
        rest = process.stderr.read()
    assert rest == "hubsim: stopped\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--port", "99999"], f"{PORT_RANGE}, got 99999"),
        (["--port", "-5"], f"{PORT_RANGE}, got -5"),
        (["--port", "eighty"], "argument --port: expected a port number, got 'eighty'"),
        (
            ["--rate-limit", "abc"],
            "argument --rate-limit: expected REQUESTS or REQUESTS/WINDOW_SECONDS, e.g. 1000/300, got 'abc'",
        ),
    ],
)
def test_hubsim_bad_options_are_one_usage_line(args: list[str], message: str) -> None:
    """A port out of range or a malformed rate limit is one usage line and exit 2 (no traceback)."""
    process = run_cli("hubsim", *args)
    assert process.returncode == 2
    assert process.stderr == f"{HUBSIM_USAGE}{message} (see `aiospaces hubsim --help`)\n"


def test_hubsim_unknown_host_names_the_host() -> None:
    """`--host` that does not resolve exits 2 naming the host, not suggesting another port."""
    process = run_cli("hubsim", "--host", "nonexistent.invalid", "--user", "alice")
    assert process.returncode == 2
    assert process.stderr.splitlines()[-1] == (
        f"{HUBSIM_USAGE}cannot resolve --host 'nonexistent.invalid'; use an address such as 127.0.0.1"
    )
    assert "serving" not in process.stderr


# --- commands against a Hub served by this process --------------------------------------------------------

TOKEN = "hf_alice_newcomer_token_abcdef"
APP = {
    "app.py": "import gradio as gr\n\ngr.Interface(fn=str.upper, inputs='text', outputs='text').launch()\n"
}
SPEED = 50.0  # simulated seconds per real second


@pytest.fixture(scope="module")
def hub_url() -> Iterator[tuple[SimulatedHub, str]]:
    hub = SimulatedHub(speed=SPEED)
    hub.add_user("alice", token=TOKEN)
    with hub.serve(host="127.0.0.1", port=0) as url:
        yield hub, url


def aiospaces(
    url: str, home: Path, *args: str, token: str = TOKEN, stdin_text: str | None = None, **env: str
) -> subprocess.CompletedProcess[str]:
    """`aiospaces ARGS` against the Hub at `url` with `token`, configured only by the environment."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    environment.update(HF_ENDPOINT=url, HF_TOKEN=token, HF_HOME=str(home), **env)
    process = run_cli(*args, env=environment, stdin_text=stdin_text)
    assert token not in process.stdout + process.stderr
    return process


def test_every_space_failing_for_one_reason_exits_with_its_code(
    hub_url: tuple[SimulatedHub, str], tmp_path: Path
) -> None:
    """A bad token on a command over several Spaces exits 4 (its reason's code) with one line, not 5."""
    hub, url = hub_url
    for name in ("same-1", "same-2"):
        hub.create_space(f"alice/{name}", files=APP)
    process = aiospaces(
        url, tmp_path, "runtime", "alice/same-1", "alice/same-2", token="hf_wrong_000000000000"
    )
    assert process.returncode == 4
    [line] = process.stderr.splitlines()
    assert line.startswith("aiospaces: error: all 2 Spaces failed: authentication failed (401 ")
    assert line.endswith("; set HF_TOKEN or pass --token with a valid token")
    fleet = tmp_path / "fleet.toml"
    fleet.write_text('[spaces."alice/same-1"]\npaused = true\n[spaces."alice/same-2"]\npaused = true\n')
    plan = aiospaces(url, tmp_path, "fleet", "plan", str(fleet), token="hf_wrong_000000000000")
    assert plan.returncode == 4


def test_spaces_failing_for_different_reasons_exit_5(
    hub_url: tuple[SimulatedHub, str], tmp_path: Path
) -> None:
    """One Space read and one missing is partial: exit 5, naming the Space that failed."""
    hub, url = hub_url
    hub.create_space("alice/mixed-ok", files=APP)
    process = aiospaces(url, tmp_path, "runtime", "alice/mixed-ok", "alice/mixed-absent")
    assert process.returncode == 5
    assert process.stderr == "aiospaces: error: 1 of 2 Spaces failed: alice/mixed-absent\n"


# --- help, and the small things a newcomer trips on ------------------------------------------------------

_SUBCOMMAND = re.compile(r"^    ([a-z][a-z-]*)\s{2,}\S", flags=re.MULTILINE)


def _help_pages(path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], str]]:
    """`aiospaces PATH --help` for the top level and every subcommand the help pages list, depth first."""
    process = run_cli(*path, "--help")
    assert process.returncode == 0, (path, process.stderr)
    yield path, process.stdout
    listed = process.stdout.split("\noptions:")[0]
    for name in _SUBCOMMAND.findall(listed.split("positional arguments:")[-1]):
        yield from _help_pages((*path, name))


def test_every_subcommand_help_has_a_description_and_an_example() -> None:
    """Every command's --help, found by walking the help pages themselves, has a description and an example
    of that very command."""
    pages = dict(_help_pages())
    commands = {" ".join(path) for path in pages}
    assert {"runtime", "wait", "hubsim", "secrets set", "secrets list", "fleet apply", "demo"} <= commands
    for path, page in pages.items():
        command = " ".join(("aiospaces", *path))
        body = page.split("\n\n", 1)[1]  # after the usage block
        description = body.split("\n\n", 1)[0]
        assert not description.startswith(("positional arguments:", "options:")), command
        assert len(description.split()) >= 4, command
        examples = page.split("\nexamples:\n", 1)[1].split("\n\n", 1)[0].splitlines()
        assert examples, command
        assert all(line.startswith("  ") for line in examples), command
        assert any(line.strip().split(" |")[-1].strip().startswith(command) for line in examples), command


def test_no_arguments_prints_the_help() -> None:
    """`aiospaces` alone prints the help (commands and examples) on stdout and exits 2."""
    process = run_cli()
    assert process.returncode == 2
    assert process.stdout.startswith("usage: aiospaces ")
    assert "\nexamples:\n  aiospaces demo\n" in process.stdout
    assert process.stderr == ""


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (["runtim", "alice/app"], "aiospaces: error: unknown command 'runtim'; did you mean `runtime`? "),
        (
            ["secrets", "lsit", "alice/app"],
            "aiospaces secrets: error: unknown action 'lsit'; did you mean `list`? ",
        ),
        (
            ["create", "alice/app", "--storage", "smal"],
            "aiospaces create: error: unknown --storage value 'smal'; did you mean `small`? ",
        ),
    ],
)
def test_misspelt_command_says_did_you_mean(args: list[str], line: str) -> None:
    """A misspelt command, action or storage tier is one usage line with the closest name; exit 2."""
    process = run_cli(*args)
    assert process.returncode == 2
    prog = line.split(": error:")[0]
    assert process.stderr == f"{line}(see `{prog} --help`)\n"


def test_python_dash_m_aiospaces_runs_the_cli() -> None:
    """`python -m aiospaces` is the `aiospaces` command."""
    process = subprocess.run(
        [sys.executable, "-m", "aiospaces", "--version"],
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT,
        check=False,
    )
    assert process.returncode == 0
    assert process.stdout.startswith("aiospaces ")


def test_demo_help_and_speed_say_what_they_mean() -> None:
    """`demo --help` offers no Hub options (demo ignores them), `--speed 0` is refused as a factor, and
    `secrets set --help` says stdin is read whole."""
    demo = run_cli("demo", "--help")
    assert "--endpoint" not in demo.stdout
    assert "--token" not in demo.stdout
    speed = run_cli("demo", "--speed", "0")
    assert speed.returncode == 2
    assert speed.stderr == (
        "aiospaces demo: error: argument --speed: expected a positive speed-up factor such as 50, got '0' "
        "(see `aiospaces demo --help`)\n"
    )
    secrets = " ".join(run_cli("secrets", "set", "--help").stdout.split())
    assert "from stdin (all of it, one trailing newline removed;" in secrets
    assert "one line" not in secrets


def test_concurrency_before_the_command(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`--concurrency` is accepted before the command, as `--json` is."""
    hub, url = hub_url
    hub.create_space("alice/conc-1", files=APP)
    process = aiospaces(url, tmp_path, "--concurrency", "2", "--json", "runtime", "alice/conc-1")
    assert process.returncode == 0, process.stderr
    assert json.loads(process.stdout)["repo_id"] == "alice/conc-1"


def test_sleep_times_read_as_durations(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """Sleep times show as durations (`48h`, `never`), so `-` only means "not applicable"."""
    hub, url = hub_url
    hub.create_space("alice/sleepy", files=APP)
    hub.create_space("alice/awake", files=APP, hardware="t4-small")
    never = aiospaces(url, tmp_path, "hardware", "alice/awake", "t4-small", "--sleep-time", "-1")
    assert never.returncode == 0, never.stderr
    process = aiospaces(url, tmp_path, "runtime", "alice/sleepy", "alice/awake", "alice/sleep-absent")
    rows = {line.split()[0]: line.split() for line in process.stdout.splitlines()[1:]}
    assert rows["alice/sleepy"][-1] == "48h"
    assert rows["alice/awake"][-1] == "never"
    assert rows["alice/sleep-absent"][2:6] == ["-", "-", "-", "-"]


def test_json_timestamps_are_iso_8601(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`secrets list --json` writes update times in ISO 8601 (with the `T` and the offset)."""
    hub, url = hub_url
    hub.create_space("alice/stamped", files=APP)
    added = aiospaces(
        url, tmp_path, "secrets", "set", "alice/stamped", "API_KEY", stdin_text="s3cr3t-value\n"
    )
    assert added.returncode == 0, added.stderr
    process = aiospaces(url, tmp_path, "secrets", "list", "alice/stamped", "--json")
    [secret] = [json.loads(line) for line in process.stdout.splitlines()]
    stamp = secret["updated_at"]
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00", stamp), stamp
    assert "s3cr3t-value" not in process.stdout


def test_counts_are_plural_only_when_more_than_one(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """`fleet plan` over one Space says `1 change on 1 of 1 Space`, never `Spaces` or `change(s)`."""
    hub, url = hub_url
    hub.create_space("alice/one-change", files=APP)
    fleet = tmp_path / "one.toml"
    fleet.write_text('[spaces."alice/one-change"]\npaused = true\n')
    process = aiospaces(url, tmp_path, "fleet", "plan", str(fleet))
    assert process.returncode == 0, process.stderr
    assert process.stdout.splitlines()[-1] == "1 change on 1 of 1 Space"


# --- hardware flavors, checked against the Hub's list ----------------------------------------------------


def test_wait_for_a_misspelt_flavor_is_a_usage_error(
    hub_url: tuple[SimulatedHub, str], tmp_path: Path
) -> None:
    """`wait --hardware t4-meduim` exits 2 at once with the closest flavor the Hub offers."""
    hub, url = hub_url
    hub.create_space("alice/typo-wait", files=APP, hardware="t4-small")
    process = aiospaces(url, tmp_path, "wait", "alice/typo-wait", "--hardware", "t4-meduim")
    assert process.returncode == 2
    assert process.stderr == "aiospaces: error: unknown flavor t4-meduim; did you mean t4-medium?\n"


def test_wait_for_a_flavor_nobody_requested_says_how_to_request_it(
    hub_url: tuple[SimulatedHub, str], tmp_path: Path
) -> None:
    """`wait --hardware t4-medium` on a Space with t4-small requested exits 2 with the command that
    requests it, instead of blaming someone else."""
    hub, url = hub_url
    hub.create_space("alice/other-hw", files=APP, hardware="t4-small")
    process = aiospaces(url, tmp_path, "wait", "alice/other-hw", "--hardware", "t4-medium")
    assert process.returncode == 2
    assert process.stderr == (
        "aiospaces: error: alice/other-hw: t4-medium was not requested (t4-small is); request it first with "
        "`aiospaces hardware alice/other-hw t4-medium`\n"
    )


def test_fleet_file_with_a_misspelt_flavor_changes_nothing(
    hub_url: tuple[SimulatedHub, str], tmp_path: Path
) -> None:
    """A misspelt flavor in a fleet file fails `plan` and `apply` with exit 2 and "did you mean", before the
    Space's other changes are applied."""
    hub, url = hub_url
    hub.create_space("alice/fleet-typo", files=APP)
    fleet = tmp_path / "typo.toml"
    fleet.write_text('[spaces."alice/fleet-typo"]\nhardware = "t4-meduim"\npaused = true\n')
    expected = (
        f"aiospaces: error: {fleet}: alice/fleet-typo: unknown flavor t4-meduim; did you mean t4-medium?\n"
    )
    plan = aiospaces(url, tmp_path, "fleet", "plan", str(fleet))
    assert (plan.returncode, plan.stderr, plan.stdout) == (2, expected, "")
    apply = aiospaces(url, tmp_path, "fleet", "apply", str(fleet), "--yes")
    assert (apply.returncode, apply.stderr) == (2, expected)
    runtime = aiospaces(url, tmp_path, "runtime", "alice/fleet-typo", "--json")
    assert json.loads(runtime.stdout)["stage"] == "RUNNING"  # not paused


def test_hardware_help_lists_the_flavors() -> None:
    """`aiospaces hardware --help` names the flavors."""
    page = " ".join(run_cli("hardware", "--help").stdout.split())
    assert "cpu-basic, cpu-upgrade," in page
    assert "t4-small, t4-medium," in page


# --- tables at 80 columns -----------------------------------------------------------------------------------


def test_tables_at_80_columns_keep_ids_and_hardware_whole(
    hub_url: tuple[SimulatedHub, str], tmp_path: Path
) -> None:
    """On an 80-column terminal, `runtime` keeps each Space id and flavor whole on one line, and a long error
    detail goes below the table instead of squeezing them."""
    hub, url = hub_url
    long_id = "alice/a-rather-long-space-name-for-80-cols"
    hub.create_space(long_id, files=APP, hardware="a10g-largex4")
    absent = "alice/an-absent-space-with-a-long-name-x"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "HUGGING_FACE"))}
    env.update(HF_ENDPOINT=url, HF_TOKEN=TOKEN, HF_HOME=str(tmp_path), COLUMNS="80", LINES="40", TERM="xterm")
    controller, terminal = pty.openpty()
    fcntl.ioctl(terminal, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 80, 0, 0))
    try:
        process = subprocess.Popen(
            [sys.executable, "-m", "aiospaces.cli", "runtime", long_id, absent],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=terminal,
            stderr=subprocess.PIPE,
        )
        os.close(terminal)
        chunks = []
        while True:
            try:
                chunk = os.read(controller, 4096)
            except OSError:  # EIO: the child closed the terminal
                break
            if not chunk:
                break
            chunks.append(chunk)
        assert process.wait(timeout=PROCESS_TIMEOUT) == 5
    finally:
        os.close(controller)
    screen = re.sub(r"\x1b\[[0-9;?]*[A-Za-z]", "", b"".join(chunks).decode()).replace("\r", "")
    lines = screen.splitlines()
    [at] = [i for i, line in enumerate(lines) if line.startswith(long_id)]
    # A table row (`id ok STAGE a10g-largex4 a10g-largex4 ...`) or, narrower, a block (the id on its line,
    # then named cells): either way the id and both flavors are whole.
    shown = " ".join(lines[at : at + 3]).split()
    assert shown[0] == long_id
    assert shown.count("a10g-largex4") == 2
    assert "RUNNING" in shown
    assert any(line.startswith(absent) for line in lines)
    assert any(line.startswith(f"{absent}: not found (404 ") for line in lines)  # the detail, below


# --- no user-facing text cites a file users do not have ---------------------------------------------------

_PROJECT_FILES = re.compile(r"hub-api|hub-recordings|style-guide|design\.md")


def test_warnings_cite_no_file_users_do_not_have(hub_url: tuple[SimulatedHub, str], tmp_path: Path) -> None:
    """The cpu-basic sleep-time warning says what to do, and names no document outside the package."""
    hub, url = hub_url
    hub.create_space("alice/basic-sleep", files=APP)
    process = aiospaces(url, tmp_path, "hardware", "alice/basic-sleep", "cpu-basic", "--sleep-time", "3600")
    assert process.returncode == 0, process.stderr
    assert process.stderr == (
        "aiospaces: warning: cpu-basic Spaces sleep after 48 hours of inactivity; sleep_time cannot be "
        "configured (choose upgraded hardware to set one).\n"
    )


def _public_objects() -> Iterator[tuple[str, object]]:
    """Every public module of aiospaces, and the public classes, functions and methods they export."""
    import aiospaces

    names = ["aiospaces"] + [
        info.name
        for info in pkgutil.walk_packages(aiospaces.__path__, "aiospaces.")
        if not any(part.startswith("_") for part in info.name.split(".")[1:])
    ]
    for module_name in names:
        module = importlib.import_module(module_name)
        yield module_name, module
        exported = getattr(module, "__all__", [n for n in vars(module) if not n.startswith("_")])
        for name in exported:
            value = getattr(module, name, None)
            if not (inspect.isclass(value) or inspect.isfunction(value)):
                continue
            if not getattr(value, "__module__", "").startswith("aiospaces"):
                continue
            yield f"{module_name}.{name}", value
            if inspect.isclass(value):
                for member_name, member in vars(value).items():
                    if member_name.startswith("_") and member_name != "__init__":
                        continue
                    if isinstance(member, property):
                        member = member.fget
                    if isinstance(member, staticmethod | classmethod):
                        member = member.__func__
                    if inspect.isfunction(member):
                        yield f"{module_name}.{name}.{member_name}", member


def test_public_docstrings_cite_no_file_users_do_not_have() -> None:
    """No docstring of a public module, class, function or method (what `help()` shows) names a project
    document that is not shipped with the package."""
    found = list(_public_objects())
    assert len(found) > 100  # the walk reaches the client's methods, not just the modules
    citing = [name for name, value in found if _PROJECT_FILES.search(inspect.getdoc(value) or "")]
    assert citing == []


# --- pacing shows at -v -------------------------------------------------------------------------------------


def test_waiting_on_the_rate_limit_window_is_one_line_at_v(tmp_path: Path) -> None:
    """A command held by the Hub's rate-limit window says so in one -v line (how long, and why), and prints
    nothing about it without -v; every Space is still read."""
    hub = SimulatedHub()
    hub.add_user("alice", token=TOKEN)
    ids = [f"alice/paced-{i}" for i in range(6)]
    for repo_id in ids:
        hub.create_space(repo_id, files=APP)
    hub.set_rate_limit(4, 4.0)
    with hub.serve(host="127.0.0.1", port=0) as url:
        verbose = aiospaces(url, tmp_path, "-v", "runtime", *ids)
        quiet = aiospaces(url, tmp_path, "runtime", *ids)
    assert verbose.returncode == 0, verbose.stderr
    [line] = verbose.stderr.splitlines()
    assert re.fullmatch(
        r"aiospaces: INFO: rate limit of the 'api' bucket spent; waiting \d+\.\ds for the window to reset",
        line,
    )
    assert (quiet.returncode, quiet.stderr) == (0, "")
    assert hub.counters.rate_limited == 0  # paced, never refused


# --- logs without --follow ----------------------------------------------------------------------------------


class _BufferThenSilence(httpx2.AsyncByteStream):
    """A log stream that sends its buffered events, then stays open without a byte, as a Space's run log does
    while the app prints nothing (this transport has no read timeout to end it)."""

    def __init__(self, events: list[str]) -> None:
        self._events = events
        self.closed = False

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for event in self._events:
            yield f'data: {{"data": "{event}\\n", "timestamp": "2024-01-01T00:00:00Z"}}\n\n'.encode()
        await anyio.sleep_forever()

    async def aclose(self) -> None:
        self.closed = True


@pytest.mark.anyio
async def test_fetch_logs_without_follow_returns_once_the_buffer_is_drained() -> None:
    """Without follow, `fetch_space_logs` yields the buffered lines and returns once the Hub goes silent after
    them, although the stream stays open (the bound below only ends a hang)."""
    body = _BufferThenSilence(["one", "two", "three"])

    def handler(request: httpx2.Request) -> httpx2.Response:
        return httpx2.Response(200, headers={"content-type": "text/event-stream"}, stream=body)

    async with SpacesClient(
        token="hf_x", endpoint="https://hub.test", transport=httpx2.MockTransport(handler)
    ) as client:
        with anyio.fail_after(60):
            lines = [line async for line in client.fetch_space_logs("alice/app")]
    assert lines == ["one\n", "two\n", "three\n"]
    assert body.closed


def test_logs_without_follow_prints_the_buffered_log_and_exits_0(
    hub_url: tuple[SimulatedHub, str], tmp_path: Path
) -> None:
    """`aiospaces logs ID` on a running Space prints its buffered run log and ends by itself with exit 0;
    `logs --help` says what --follow changes."""
    hub, url = hub_url
    hub.create_space("alice/logged", files=APP)
    process = aiospaces(url, tmp_path, "logs", "alice/logged")
    assert process.returncode == 0, process.stderr
    assert "Running on local URL" in process.stdout
    page = " ".join(run_cli("logs", "--help").stdout.split())
    assert "and return. With --follow, keep the stream open and print new lines as they come" in page
