"""Pure parts of the CLI: argument parsing, exit-code mapping, output rendering, reading secret values."""

from __future__ import annotations

import argparse
import io
import json
import socket
import sys

import pytest

from aiospaces import errors
from aiospaces.cli import EXIT_CODES_HELP, ExitCode, main, run
from aiospaces.cli._commands import is_settled, read_secret_value, text
from aiospaces.cli._exit import UsageError, classify
from aiospaces.cli._parser import build_parser
from aiospaces.cli._render import Output, format_plain_table


class _Runtime:
    def __init__(self, stage: str, hardware: str | None, requested: str | None) -> None:
        self.stage = stage
        self.hardware = hardware
        self.requested_hardware = requested
        self.sleep_time = None


def test_every_command_parses() -> None:
    """Each command of the issue's list parses into the expected namespace."""
    parser = build_parser()
    ns = parser.parse_args(["runtime", "a/b", "c/d"])
    assert (ns.command, ns.repo_ids) == ("runtime", ["a/b", "c/d"])
    ns = parser.parse_args(["wait", "a/b", "--hardware", "t4-medium", "--timeout", "30", "--wake"])
    assert (ns.repo_ids, ns.hardware, ns.timeout, ns.wake) == (["a/b"], "t4-medium", 30.0, True)
    ns = parser.parse_args(["wait", "a/b", "c/d", "e/f", "--timeout", "30"])
    assert ns.repo_ids == ["a/b", "c/d", "e/f"]
    ns = parser.parse_args(["watch", "--author", "alice", "--until-settled"])
    assert (ns.author, ns.repo_ids, ns.until_settled) == ("alice", [], True)
    ns = parser.parse_args(["logs", "a/b", "--build", "--follow"])
    assert (ns.build, ns.follow) == (True, True)
    ns = parser.parse_args(["hardware", "a/b", "c/d", "t4-small", "--sleep-time", "-1"])
    assert (ns.repo_ids, ns.hardware, ns.sleep_time) == (["a/b", "c/d"], "t4-small", -1)
    ns = parser.parse_args(["pause", "a/b"])
    assert ns.repo_ids == ["a/b"]
    ns = parser.parse_args(["restart", "a/b", "--factory"])
    assert ns.factory is True
    ns = parser.parse_args(["secrets", "set", "a/b", "c/d", "API_KEY", "--from-env", "MY_KEY"])
    assert (ns.action, ns.repo_ids, ns.key, ns.from_env) == ("set", ["a/b", "c/d"], "API_KEY", "MY_KEY")
    ns = parser.parse_args(["variables", "set", "a/b", "MODEL", "gpt2"])
    assert (ns.repo_ids, ns.key, ns.value) == (["a/b"], "MODEL", "gpt2")
    ns = parser.parse_args(["variables", "delete", "a/b", "MODEL"])
    assert (ns.action, ns.key) == ("delete", "MODEL")
    ns = parser.parse_args(["secrets", "list", "a/b"])
    assert (ns.action, ns.repo_id) == ("list", "a/b")
    ns = parser.parse_args(["demo", "--spaces", "3"])
    assert ns.spaces == 3


def test_author_parses_on_the_commands_over_spaces() -> None:
    """`runtime`, `pause`, `restart` and `hardware` take `--author NAME` instead of (or besides) ids."""
    parser = build_parser()
    for command in ("runtime", "pause", "restart"):
        ns = parser.parse_args([command, "--author", "alice"])
        assert (ns.repo_ids, ns.author) == ([], "alice")
    ns = parser.parse_args(["hardware", "--author", "alice", "t4-small"])
    assert (ns.repo_ids, ns.author, ns.hardware) == ([], "alice", "t4-small")
    ns = parser.parse_args(["hardware", "a/b", "t4-small", "--author", "alice"])
    assert (ns.repo_ids, ns.author, ns.hardware) == (["a/b"], "alice", "t4-small")


def test_common_options_work_before_and_after_the_command() -> None:
    """`--json`, `--endpoint` and `--token` are accepted on either side of the command name."""
    parser = build_parser()
    before = parser.parse_args(["--json", "--endpoint", "http://127.0.0.1:1", "runtime", "a/b"])
    after = parser.parse_args(["runtime", "a/b", "--json", "--endpoint", "http://127.0.0.1:1"])
    for ns in (before, after):
        assert ns.json is True
        assert ns.endpoint == "http://127.0.0.1:1"
    plain = parser.parse_args(["runtime", "a/b"])
    assert plain.json is False
    assert plain.token is None


def test_secret_values_cannot_be_given_on_the_command_line() -> None:
    """`secrets set` has no positional or option for the value itself (only --from-env or stdin)."""
    parser = build_parser()
    ns = parser.parse_args(["secrets", "set", "a/b", "KEY"])
    assert not hasattr(ns, "value")
    assert ns.repo_ids == ["a/b"]


@pytest.mark.anyio
async def test_usage_errors_exit_2_with_one_line() -> None:
    """A bad command line returns 2 and prints exactly one line on stderr, with no traceback."""
    for argv in (
        ["wait"],
        ["wait", "a/b", "--timeout", "-3"],
        ["nope"],
        ["hardware", "a/b", "t4", "--sleep-time", "-5"],
    ):
        out, err = io.StringIO(), io.StringIO()
        code = await run(argv, stdout=out, stderr=err)
        assert code == ExitCode.USAGE
        lines = err.getvalue().splitlines()
        assert len(lines) == 1, lines
        assert "error:" in lines[0]
        assert "Traceback" not in err.getvalue()


@pytest.mark.anyio
async def test_bad_endpoint_is_a_usage_error() -> None:
    """An --endpoint that is not an http(s) URL exits 2 before any request, with an actionable line."""
    out, err = io.StringIO(), io.StringIO()
    code = await run(["runtime", "a/b", "--endpoint", "ftp://x"], stdout=out, stderr=err)
    assert code == ExitCode.USAGE
    assert "--endpoint must be an http:// or https:// URL" in err.getvalue()


@pytest.mark.anyio
async def test_help_documents_exit_codes() -> None:
    """`--help` (top level and per command) lists every exit code and returns 0."""
    for argv in (["--help"], ["wait", "--help"], ["secrets", "set", "--help"]):
        out, err = io.StringIO(), io.StringIO()
        assert await run(argv, stdout=out, stderr=err) == 0
        for code in ("0  success", "1  a Space reached a failure stage", "2  usage error", "3  timeout"):
            assert code in out.getvalue()
        assert "4  authentication or permission" in out.getvalue()
        assert "5  some Spaces" in out.getvalue()
    assert "exit codes:" in EXIT_CODES_HELP


def _http(cls: type[errors.HubHTTPError], status: int) -> errors.HubHTTPError:
    return cls(
        "boom", status=status, method="GET", url="http://127.0.0.1/api/spaces/a/b/runtime", server_message="m"
    )


def test_exit_code_mapping() -> None:
    """Each kind of error maps to the documented exit code; bugs map to None (they keep their traceback)."""
    cases: list[tuple[BaseException, ExitCode]] = [
        (errors.SpaceFailedError("x", repo_id="a/b", stage="BUILD_ERROR"), ExitCode.SPACE_FAILED),
        (errors.SpaceNotRunningError("x", repo_id="a/b", stage="PAUSED"), ExitCode.SPACE_FAILED),
        (errors.WaitTimeoutError("x", repo_id="a/b", timeout=3.0), ExitCode.TIMEOUT),
        (errors.RequestTimeoutError("x", method="GET", url="u"), ExitCode.TIMEOUT),
        (_http(errors.AuthenticationError, 401), ExitCode.AUTH),
        (_http(errors.PermissionDeniedError, 403), ExitCode.AUTH),
        (_http(errors.PaymentRequiredError, 402), ExitCode.AUTH),
        (_http(errors.RepositoryNotFoundError, 404), ExitCode.USAGE),
        (_http(errors.BadRequestError, 400), ExitCode.USAGE),
        (errors.ConnectError("x", method="GET", url="u", sent=False), ExitCode.USAGE),
        (_http(errors.ServerError, 503), ExitCode.SPACE_FAILED),
        (UsageError("bad"), ExitCode.USAGE),
        (ValueError("repo_id must be ..."), ExitCode.USAGE),
    ]
    for exc, expected in cases:
        classified = classify(exc)
        assert classified is not None, exc
        assert classified[0] == expected, exc
        assert classified[1]
    assert classify(KeyError("bug")) is None
    assert classify(TypeError("bug")) is None


def test_hub_error_lines_say_the_status_once_and_hint_at_a_wrong_endpoint() -> None:
    """A Hub error without a server message has its status once; an unreadable answer hints at --endpoint."""
    url = "http://127.0.0.1:1/api/spaces/a/b/runtime"
    bare = errors.RepositoryNotFoundError(
        f"404 File not found for GET {url}", status=404, method="GET", url=url, server_message=None
    )
    classified = classify(bare)
    assert classified is not None
    assert "404 404" not in classified[1]
    assert f"(404 File not found for GET {url})" in classified[1]
    html = errors.UnexpectedResponseError(f"the Hub answered GET {url} with a body that is not JSON")
    code, line = classify(html) or (None, "")
    assert code == ExitCode.SPACE_FAILED
    assert line.endswith("is not JSON; is --endpoint / HF_ENDPOINT a Hugging Face Hub?")


def test_space_failed_message_names_space_and_stage() -> None:
    """A failure-stage error's line names the Space, the stage and the Hub's error message."""
    exc = errors.SpaceFailedError(
        "x", repo_id="alice/app", stage="BUILD_ERROR", error_message="pip failed", log_tail=["l1"]
    )
    classified = classify(exc)
    assert classified is not None
    assert classified[1] == "alice/app reached BUILD_ERROR: pip failed"


def test_json_output_is_one_object_per_line() -> None:
    """In JSON mode every event is one parseable JSON object per line and tables/lines are not printed."""
    out = io.StringIO()
    output = Output(json_mode=True, stdout=out, stderr=io.StringIO())
    output.emit("change", repo_id="a/b", stage="RUNNING")
    output.line("not shown")
    output.table(["a"], [["b"]])
    with output.live_table(["Space", "stage"]) as table:
        table.update("a/b", ["RUNNING"])
    output.emit("done", ok=True)
    records = [json.loads(line) for line in out.getvalue().splitlines()]
    assert records == [
        {"event": "change", "repo_id": "a/b", "stage": "RUNNING"},
        {"event": "done", "ok": True},
    ]


def test_plain_output_prints_tables_and_one_line_per_update() -> None:
    """Without a terminal, tables are aligned text and each live update is one line."""
    out = io.StringIO()
    output = Output(stdout=out, stderr=io.StringIO())
    assert not output.fancy
    with output.live_table(["Space", "stage"]) as table:
        table.update("a/b", ["BUILDING"], line="a/b BUILDING")
        table.update("a/b", ["RUNNING"], line="a/b BUILDING -> RUNNING")
    output.table(["Space", "stage"], [["a/b", "RUNNING"], ["c/long", None]])
    assert out.getvalue().splitlines() == [
        "a/b BUILDING",
        "a/b BUILDING -> RUNNING",
        "Space   stage",
        "a/b     RUNNING",
        "c/long  -",
    ]


def test_rich_output_renders_tables() -> None:
    """Forced rich mode renders a table with the cell values (rich is installed in the dev extra)."""
    out = io.StringIO()
    output = Output(stdout=out, stderr=io.StringIO(), fancy=True)
    with output.live_table(["Space", "stage"]) as table:
        table.update("a/b", ["RUNNING"])
    output.table(["Space", "stage"], [["c/d", "PAUSED"]])
    assert "RUNNING" in out.getvalue()
    assert "PAUSED" in out.getvalue()


def test_format_plain_table_aligns_columns() -> None:
    """Columns are padded to the widest cell; None renders as a dash."""
    assert format_plain_table(["a", "bb"], [["xxx", None]]) == "a    bb\nxxx  -\n"


def _secret_args(**kwargs: object) -> argparse.Namespace:
    return argparse.Namespace(key="API_KEY", from_env=None, **kwargs)


def test_secret_value_from_stdin_strips_one_newline() -> None:
    """A piped secret value loses its trailing newline only."""
    assert read_secret_value(_secret_args(), io.StringIO("s3cret\n")) == "s3cret"
    assert read_secret_value(_secret_args(), io.StringIO("line1\nline2\n\n")) == "line1\nline2\n"


def test_secret_value_from_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """--from-env reads the named variable; a missing or empty one is a usage error naming it."""
    monkeypatch.setenv("MY_SECRET", "v@lue")
    args = argparse.Namespace(key="API_KEY", from_env="MY_SECRET")
    assert read_secret_value(args, io.StringIO("ignored")) == "v@lue"
    monkeypatch.delenv("MY_SECRET")
    with pytest.raises(UsageError, match="MY_SECRET is not set"):
        read_secret_value(args, io.StringIO(""))
    with pytest.raises(UsageError, match="empty value"):
        read_secret_value(_secret_args(), io.StringIO("\n"))


def test_settled_and_text_helpers() -> None:
    """A Space is settled when out of transitional stages and running its requested hardware."""
    assert not is_settled(_Runtime("BUILDING", None, "cpu-basic"))
    assert not is_settled(_Runtime("RUNNING", "cpu-basic", "t4-medium"))
    assert is_settled(_Runtime("RUNNING", "t4-medium", "t4-medium"))
    assert is_settled(_Runtime("PAUSED", None, "t4-medium"))
    assert text(None) is None
    assert text(ExitCode.OK) == "0"


@pytest.mark.anyio
async def test_demo_without_server_extra_says_what_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without uvicorn (no `server` extra) the demo exits 2 with one line naming the extra to install."""
    monkeypatch.setitem(sys.modules, "uvicorn", None)  # makes `import uvicorn` fail
    out, err = io.StringIO(), io.StringIO()
    code = await run(["demo", "--spaces", "1"], stdout=out, stderr=err)
    assert code == ExitCode.USAGE
    assert err.getvalue().count("\n") == 1
    assert "pip install 'aiospaces[server]'" in err.getvalue()


def test_hubsim_without_server_extra_says_what_to_install(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """Without uvicorn `aiospaces hubsim` exits 2 with one line naming the extra, no traceback."""
    monkeypatch.setitem(sys.modules, "uvicorn", None)
    assert main(["hubsim", "--port", "0"]) == ExitCode.USAGE
    err = capsys.readouterr().err
    assert err.splitlines()[-1].startswith("aiospaces: error: serving the simulated Hub on a socket")
    assert "pip install 'aiospaces[server]'" in err
    assert "Traceback" not in err


def test_hubsim_usage_names_the_aiospaces_command(capsys: pytest.CaptureFixture[str]) -> None:
    """`aiospaces hubsim --help` and its usage errors say `aiospaces hubsim`, the command the user typed."""
    with pytest.raises(SystemExit) as helped:
        main(["hubsim", "--help"])
    assert helped.value.code == 0
    assert capsys.readouterr().out.startswith("usage: aiospaces hubsim ")
    with pytest.raises(SystemExit) as failed:
        main(["hubsim", "--speed", "0"])
    assert failed.value.code == ExitCode.USAGE
    assert "aiospaces hubsim: error: --speed must be positive" in capsys.readouterr().err


def test_hubsim_on_a_taken_port_exits_2(capsys: pytest.CaptureFixture[str]) -> None:
    """`aiospaces hubsim` on a port already in use exits 2 with an actionable line (not uvicorn's 3)."""
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        assert main(["hubsim", "--port", str(port)]) == ExitCode.USAGE
    assert capsys.readouterr().err.endswith(
        f"aiospaces hubsim: error: cannot listen on 127.0.0.1:{port} (Address already in use); "
        "try another --port or --host\n"
    )


def test_closed_output_exits_141_without_traceback(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """When stdout's reader goes away (`| head`), the command stops with 141 and no traceback."""

    class ClosedPipe(io.StringIO):
        def write(self, text: str) -> int:
            raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr(sys, "stdout", ClosedPipe())
    assert main(["--help"]) == ExitCode.BROKEN_PIPE
    assert "Traceback" not in capsys.readouterr().err


def test_plain_output_without_rich(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without rich (no `cli` extra) even a terminal gets plain output instead of an import error."""

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert Output(stdout=Terminal(), stderr=io.StringIO()).fancy
    monkeypatch.setitem(sys.modules, "rich", None)
    out = Terminal()
    output = Output(stdout=out, stderr=io.StringIO())
    assert not output.fancy
    output.table(["Space"], [["a/b"]])
    assert out.getvalue() == "Space\na/b\n"
