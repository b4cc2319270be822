"""Every `aiospaces` command, in-process, against the simulated Hub (in-process transport, virtual time)."""

from __future__ import annotations

import io
from collections.abc import Sequence
from pathlib import Path

import pytest
from _cli_support import Result, run_cli
from _cli_support import make_spaces as support_make_spaces

from aiospaces import SpacesClient
from aiospaces.cli import ExitCode, run
from aiospaces.hubsim import SimulatedHub
from aiospaces.testing import VirtualClock

TOKEN = "hf_alice_cli_test_token_0123456789"
SECRET_VALUE = "sup3r-s3cret-value-that-must-not-leak"


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def hub(clock: VirtualClock) -> SimulatedHub:
    hub = SimulatedHub(clock=clock)
    # The Spaces these commands act on are set up by another client right before: their builds start with
    # the commit, so that a command sees them building (the commit delay is `aiospaces deploy`'s business,
    # tested in test_cli_deploy.py).
    hub.set_durations(commit_to_build=0)
    hub.add_user("alice", token=TOKEN)
    hub.add_user("mallory", token="hf_mallory_token_000000000000")
    return hub


async def cli(hub: SimulatedHub, clock: VirtualClock, *argv: str, stdin: str | None = None) -> Result:
    return await run_cli(hub, clock, TOKEN, *argv, stdin=io.StringIO(stdin) if stdin is not None else None)


async def make_spaces(
    hub: SimulatedHub, clock: VirtualClock, names: Sequence[str], *, requirements: str = "gradio\n"
) -> list[str]:
    """Create Spaces of alice with an app and requirements (they start building), through the client."""
    return await support_make_spaces(hub, clock, TOKEN, names, requirements=requirements)


pytestmark = pytest.mark.anyio


async def test_runtime_json_lists_each_space(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`runtime A B --json` prints one result object per Space, in input order, with its stage."""
    repo_ids = await make_spaces(hub, clock, ["one", "two"])
    result = await cli(hub, clock, "runtime", *repo_ids, "--json")
    assert result.code == ExitCode.OK
    events = result.events()
    assert [e["repo_id"] for e in events] == repo_ids
    assert all(e["event"] == "result" and e["ok"] for e in events)
    assert all(e["stage"] in {"BUILDING", "APP_STARTING", "RUNNING"} for e in events)


async def test_runtime_plain_table(hub: SimulatedHub, clock: VirtualClock) -> None:
    """Without --json, `runtime` prints a table with a header and one row per Space."""
    [repo_id] = await make_spaces(hub, clock, ["tabled"])
    result = await cli(hub, clock, "runtime", repo_id)
    assert result.code == ExitCode.OK
    lines = result.out.splitlines()
    assert lines[0].split()[:3] == ["Space", "result", "stage"]
    assert lines[1].startswith(repo_id)
    assert " ok " in lines[1]


async def test_runtime_some_missing_exits_5(hub: SimulatedHub, clock: VirtualClock) -> None:
    """A command over several Spaces where one fails exits 5 and reports each Space's outcome."""
    [repo_id] = await make_spaces(hub, clock, ["present"])
    result = await cli(hub, clock, "runtime", repo_id, "alice/absent", "--json")
    assert result.code == ExitCode.PARTIAL
    by_id = {e["repo_id"]: e for e in result.events()}
    assert by_id[repo_id]["ok"] is True
    assert by_id["alice/absent"]["ok"] is False
    assert by_id["alice/absent"]["exit_code"] == ExitCode.USAGE


async def test_single_missing_space_exits_2(hub: SimulatedHub, clock: VirtualClock) -> None:
    """A single unknown Space is a usage error (2) with one actionable line."""
    result = await cli(hub, clock, "runtime", "alice/absent")
    assert result.code == ExitCode.USAGE
    assert "not found" in result.err
    assert result.err.count("\n") == 1


async def test_one_space_commands_name_the_unknown_space(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`wait`, `logs` and `secrets list` on an unknown Space exit 2 with one line naming that Space."""
    for argv in (["wait", "alice/absent"], ["logs", "alice/absent"], ["secrets", "list", "alice/absent"]):
        result = await cli(hub, clock, *argv)
        assert result.code == ExitCode.USAGE
        assert result.err.startswith("aiospaces: error: alice/absent: not found"), result.err
        assert result.err.count("\n") == 1


async def test_sdk_warning_is_one_line(hub: SimulatedHub, clock: VirtualClock) -> None:
    """An SDK warning (sleep time on cpu-basic) shows as one `aiospaces: warning:` line, no source path."""
    [repo_id] = await make_spaces(hub, clock, ["warned"])
    result = await cli(hub, clock, "hardware", repo_id, "cpu-basic", "--sleep-time", "600")
    assert result.code == ExitCode.OK
    [line] = result.err.splitlines()
    assert line.startswith("aiospaces: warning: cpu-basic Spaces sleep after 48 hours")
    assert ".py" not in result.err


async def test_hardware_flavor_the_hub_rejects_is_a_usage_error(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """A misspelt hardware flavor, checked against the Hub's list, exits 2 with the closest flavor, and no
    hardware request is sent."""
    [repo_id] = await make_spaces(hub, clock, ["typo"])
    before = hub.counters.total_requests
    result = await cli(hub, clock, "hardware", repo_id, "t4-mediun")
    assert result.code == ExitCode.USAGE
    assert result.err == "aiospaces: error: unknown flavor t4-mediun; did you mean t4-medium?\n"
    assert hub.counters.total_requests == before + 1  # the flavor list only


async def test_create_duplicate_and_deploy_check_the_flavor_before_anything_changes(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path
) -> None:
    """`create`, `duplicate` and `deploy` with a misspelt `--hardware` exit 2 naming the closest flavor the
    Hub offers, having sent only the flavor list: no Space is created, copied or deployed to."""
    [source] = await make_spaces(hub, clock, ["source"])
    (tmp_path / "app.py").write_text("print('hi')\n")
    async with SpacesClient(token=TOKEN, transport=hub.transport(), clock=clock) as client:
        head = (await client.space_info(source)).sha
    commands = [
        ["create", "alice/new-one", "--sdk", "gradio", "--hardware", "t4-mediun"],
        ["duplicate", source, "alice/copy", "--hardware", "t4-mediun"],
        ["deploy", source, str(tmp_path), "--hardware", "t4-mediun"],
    ]
    for argv in commands:
        before = hub.counters.total_requests
        result = await cli(hub, clock, *argv)
        assert result.code == ExitCode.USAGE, argv
        assert result.err == "aiospaces: error: unknown flavor t4-mediun; did you mean t4-medium?\n", argv
        assert hub.counters.total_requests == before + 1, argv  # the flavor list only
    async with SpacesClient(token=TOKEN, transport=hub.transport(), clock=clock) as client:
        assert not await client.repo_exists("alice/new-one", repo_type="space")
        assert not await client.repo_exists("alice/copy", repo_type="space")
        assert (await client.space_info(source)).sha == head


async def test_bad_token_exits_4(hub: SimulatedHub, clock: VirtualClock) -> None:
    """An invalid token exits 4 with one line telling how to fix it, and the token is never printed."""
    [repo_id] = await make_spaces(hub, clock, ["guarded"])
    out, err = io.StringIO(), io.StringIO()
    bad = "hf_not_a_valid_token_42424242"
    code = await run(
        ["--token", bad, "wait", repo_id], stdout=out, stderr=err, transport=hub.transport(), clock=clock
    )
    assert code == ExitCode.AUTH
    assert err.getvalue().count("\n") == 1
    assert "HF_TOKEN" in err.getvalue()
    assert bad not in out.getvalue() + err.getvalue()


async def test_wait_until_running(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`wait --json` emits a change event per transition, then one ready event once the Space is RUNNING."""
    [repo_id] = await make_spaces(hub, clock, ["builds"])
    result = await cli(hub, clock, "wait", repo_id, "--json")
    assert result.code == ExitCode.OK
    *changes, ready = result.events()
    assert (ready["event"], ready["repo_id"], ready["stage"]) == ("ready", repo_id, "RUNNING")
    assert {e["event"] for e in changes} == {"change"}
    stages = [e["stage"] for e in changes]
    assert stages[0] in {"BUILDING", "APP_STARTING"}
    assert stages[-1] == "RUNNING"
    assert "APP_STARTING" in stages
    assert changes[0]["previous_stage"] is None
    # Each event names the stage it came from: consecutive events chain up.
    assert [e["previous_stage"] for e in changes[1:]] == stages[:-1]


async def test_wait_prints_each_transition_as_a_line(hub: SimulatedHub, clock: VirtualClock) -> None:
    """Plain `wait` prints one line per stage transition as it polls, before the final table."""
    [repo_id] = await make_spaces(hub, clock, ["lines"])
    before = hub.counters.requests["GET /api/spaces/{id}/runtime"]
    result = await cli(hub, clock, "wait", repo_id)
    assert result.code == ExitCode.OK
    lines = result.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Space"))
    transitions = lines[:header]
    assert transitions == [
        f"{repo_id}  BUILDING  hardware - (requested cpu-basic)",
        f"{repo_id}  BUILDING -> APP_STARTING  hardware - -> cpu-basic",
        f"{repo_id}  APP_STARTING -> RUNNING  hardware cpu-basic",
    ]
    # The lines come from the wait's own reads: never more lines than runtime requests.
    reads = hub.counters.requests["GET /api/spaces/{id}/runtime"] - before
    assert len(transitions) <= reads


async def test_wait_wake_hardware_lines_are_not_repeated(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`wait --wake --hardware` wakes the Space and prints each transition once, from PAUSED on."""
    hub.create_space("alice/asleep", stage="PAUSED")
    result = await cli(hub, clock, "wait", "alice/asleep", "--wake", "--hardware", "cpu-basic")
    assert result.code == ExitCode.OK
    lines = result.out.splitlines()
    transitions = lines[: next(i for i, line in enumerate(lines) if line.startswith("Space"))]
    assert transitions[0] == "alice/asleep  PAUSED  hardware - (requested cpu-basic)"
    assert transitions[1].startswith("alice/asleep  PAUSED -> BUILDING")
    assert transitions[-1] == "alice/asleep  APP_STARTING -> RUNNING  hardware cpu-basic"
    assert len(transitions) == len(set(transitions))


async def test_wait_on_a_terminal_updates_its_status_line(hub: SimulatedHub, clock: VirtualClock) -> None:
    """On a terminal (rich), `wait` shows the latest transition in its live status line, then the table."""
    pytest.importorskip("rich")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    [repo_id] = await make_spaces(hub, clock, ["fancy"])
    out = Terminal()
    code = await run(
        ["--token", TOKEN, "wait", repo_id],
        stdout=out,
        stderr=io.StringIO(),
        transport=hub.transport(),
        clock=clock,
    )
    assert code == ExitCode.OK
    text = out.getvalue()
    assert f"waiting for {repo_id}… {repo_id}  APP_STARTING -> RUNNING" in text
    assert text.index("APP_STARTING -> RUNNING") < text.index("sleep time")  # the status, then the table


async def test_wait_build_error_exits_1_with_log_tail(hub: SimulatedHub, clock: VirtualClock) -> None:
    """A Space whose build fails (invalid requirement) makes `wait` exit 1 and print the build log tail."""
    [repo_id] = await make_spaces(hub, clock, ["broken"], requirements="torch==>1\n")
    result = await cli(hub, clock, "wait", repo_id)
    assert result.code == ExitCode.SPACE_FAILED
    assert f"{repo_id} reached BUILD_ERROR" in result.err
    assert "torch==>1" in result.err  # the pip-like build log names the bad line


async def test_wait_timeout_exits_3(hub: SimulatedHub, clock: VirtualClock) -> None:
    """A deadline shorter than the build exits 3 naming the last stage seen."""
    [repo_id] = await make_spaces(hub, clock, ["slow"])
    result = await cli(hub, clock, "wait", repo_id, "--timeout", "1")
    assert result.code == ExitCode.TIMEOUT
    assert "not ready after 1s" in result.err


async def test_wait_paused_exits_1_unless_wake(hub: SimulatedHub, clock: VirtualClock) -> None:
    """Waiting on a paused Space exits 1 with a --wake hint; with --wake it restarts and returns 0."""
    [repo_id] = await make_spaces(hub, clock, ["napping"])
    assert (await cli(hub, clock, "wait", repo_id)).code == ExitCode.OK
    assert (await cli(hub, clock, "pause", repo_id)).code == ExitCode.OK
    paused = await cli(hub, clock, "wait", repo_id)
    assert paused.code == ExitCode.SPACE_FAILED
    assert "--wake" in paused.err
    woken = await cli(hub, clock, "wait", repo_id, "--wake", "--json")
    assert woken.code == ExitCode.OK
    assert woken.events()[-1]["stage"] == "RUNNING"


async def test_hardware_then_wait_for_it(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`hardware A B t4-medium` requests it on both; `wait --hardware` returns once it really runs."""
    repo_ids = await make_spaces(hub, clock, ["gpu-a", "gpu-b"])
    for repo_id in repo_ids:
        assert (await cli(hub, clock, "wait", repo_id)).code == ExitCode.OK
    result = await cli(hub, clock, "hardware", *repo_ids, "t4-medium", "--json")
    assert result.code == ExitCode.OK
    assert [e["requested_hardware"] for e in result.events()] == ["t4-medium", "t4-medium"]
    waited = await cli(hub, clock, "wait", repo_ids[0], "--hardware", "t4-medium", "--json")
    assert waited.code == ExitCode.OK
    *changes, ready = waited.events()
    assert changes[-1]["event"] == "change"
    assert (changes[-1]["previous_hardware"], changes[-1]["hardware"]) == ("cpu-basic", "t4-medium")
    assert ready["stage"] == "RUNNING"
    assert (ready["hardware"], ready["requested_hardware"]) == ("t4-medium", "t4-medium")


async def test_pause_and_restart(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`pause` leaves Spaces PAUSED; `restart --factory` starts building them again."""
    repo_ids = await make_spaces(hub, clock, ["p1", "p2"])
    paused = await cli(hub, clock, "pause", *repo_ids, "--json")
    assert paused.code == ExitCode.OK
    assert {e["stage"] for e in paused.events()} == {"PAUSED"}
    restarted = await cli(hub, clock, "restart", *repo_ids, "--factory", "--json")
    assert restarted.code == ExitCode.OK
    assert [(e["repo_id"], e["stage"]) for e in restarted.events()] == [(r, "BUILDING") for r in repo_ids]
    assert hub.counters.actions["factory_reboot"] == len(repo_ids)
    assert hub.counters.actions["restart"] == 0


async def test_watch_until_settled_shows_each_transition(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`watch --until-settled` prints BUILDING, APP_STARTING then RUNNING for a fresh Space and stops."""
    [repo_id] = await make_spaces(hub, clock, ["watched"])
    result = await cli(hub, clock, "watch", repo_id, "--until-settled", "--json")
    assert result.code == ExitCode.OK
    stages = [e["stage"] for e in result.events() if e["event"] == "change"]
    assert stages == ["BUILDING", "APP_STARTING", "RUNNING"]


async def test_watch_author_plain_lines(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`watch --author` watches every Space of the owner and prints one plain line per change."""
    repo_ids = await make_spaces(hub, clock, ["w1", "w2"])
    result = await cli(hub, clock, "watch", "--author", "alice", "--until-settled")
    assert result.code == ExitCode.OK
    lines = result.out.splitlines()
    for repo_id in repo_ids:
        own = [line.split("  ")[1] for line in lines if line.startswith(f"{repo_id}  ")]
        assert own == ["BUILDING", "BUILDING -> APP_STARTING", "APP_STARTING -> RUNNING"]
    assert len(lines) == 3 * len(repo_ids)


async def test_watch_timeout_stops_in_virtual_time(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`watch --timeout` stops after that many seconds of the client's clock and exits 0."""
    [repo_id] = await make_spaces(hub, clock, ["timed"])
    start = clock.now()
    result = await cli(hub, clock, "watch", repo_id, "--timeout", "5", "--json")
    assert result.code == ExitCode.OK
    assert clock.now() - start >= 5
    assert result.events()[0]["repo_id"] == repo_id


async def test_watch_needs_ids_or_author(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`watch` with neither ids nor --author is a usage error."""
    result = await cli(hub, clock, "watch")
    assert result.code == ExitCode.USAGE
    assert "--author" in result.err


async def test_watch_with_an_unknown_space_settles_the_others_and_exits_5(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """`watch A absent --until-settled` stops once A settles (not at the deadline) and exits 5 naming the
    unreadable Space; a repeated id counts once."""
    [repo_id] = await make_spaces(hub, clock, ["w-ok"])
    started = clock.now()
    result = await cli(
        hub,
        clock,
        "watch",
        repo_id,
        repo_id,
        "alice/absent",
        "--until-settled",
        "--timeout",
        "3600",
        "--json",
    )
    assert result.code == ExitCode.PARTIAL
    assert clock.now() - started < 3600
    events = result.events()
    assert events[-2]["stage"] == "RUNNING"
    assert (events[-1]["repo_id"], events[-1]["ok"]) == ("alice/absent", False)
    assert "alice/absent: not found" in result.err


async def test_watch_author_without_spaces_is_a_usage_error(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`watch --author` naming nobody with Spaces (likely a typo) exits 2 with one line, not 0."""
    result = await cli(hub, clock, "watch", "--author", "alcie", "--timeout", "5")
    assert result.code == ExitCode.USAGE
    assert (
        result.err == "aiospaces: error: alcie has no Spaces to watch: check the user or organization name\n"
    )


async def test_logs_build(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`logs --build` prints the failed build's log lines, including the offending requirement; with
    `--json`, the same lines as one `log` event each."""
    [repo_id] = await make_spaces(hub, clock, ["logged"], requirements="torch==>1\n")
    assert (await cli(hub, clock, "wait", repo_id)).code == ExitCode.SPACE_FAILED
    result = await cli(hub, clock, "logs", repo_id, "--build")
    assert result.code == ExitCode.OK
    assert "torch==>1" in result.out
    as_json = await cli(hub, clock, "logs", repo_id, "--build", "--json")
    events = as_json.events()
    assert {(e["event"], e["repo_id"]) for e in events} == {("log", repo_id)}
    assert [e["line"] for e in events] == result.out.splitlines()


async def test_secrets_set_list_delete_never_print_value(hub: SimulatedHub, clock: VirtualClock) -> None:
    """A secret from stdin is set on every Space, listed by name only, then deleted; its value never leaks."""
    repo_ids = await make_spaces(hub, clock, ["s1", "s2"])
    stdin = SECRET_VALUE + "\n"
    result = await cli(hub, clock, "secrets", "set", *repo_ids, "API_KEY", "--json", stdin=stdin)
    assert result.code == ExitCode.OK
    assert [e["ok"] for e in result.events()] == [True, True]
    listed = await cli(hub, clock, "secrets", "list", repo_ids[1], "--json")
    assert [e["key"] for e in listed.events()] == ["API_KEY"]
    deleted = await cli(hub, clock, "secrets", "delete", *repo_ids, "API_KEY")
    assert deleted.code == ExitCode.OK
    assert (await cli(hub, clock, "secrets", "list", repo_ids[0], "--json")).events() == []
    for output in (result, listed, deleted):
        assert SECRET_VALUE not in output.out + output.err


async def test_secrets_set_from_env(
    hub: SimulatedHub, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`secrets set --from-env VAR` takes the value from the environment."""
    [repo_id] = await make_spaces(hub, clock, ["envsecret"])
    monkeypatch.setenv("MY_API_KEY", SECRET_VALUE)
    result = await cli(hub, clock, "secrets", "set", repo_id, "API_KEY", "--from-env", "MY_API_KEY")
    assert result.code == ExitCode.OK
    assert SECRET_VALUE not in result.out
    listed = await cli(hub, clock, "secrets", "list", repo_id)
    assert "API_KEY" in listed.out


async def test_secret_value_typed_on_the_command_line_is_refused_unprinted(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """`secrets set ID KEY VALUE` exits 2 before any request, and the error line never repeats the value."""
    [repo_id] = await make_spaces(hub, clock, ["cli-value"])
    before = hub.counters.total_requests
    for stdin in ("", "from-stdin\n"):
        result = await cli(hub, clock, "secrets", "set", repo_id, "API_KEY", SECRET_VALUE, stdin=stdin)
        assert result.code == ExitCode.USAGE
        assert "--from-env" in result.err
        assert SECRET_VALUE not in result.out + result.err
    assert hub.counters.total_requests == before


async def test_variables_set_list_delete(hub: SimulatedHub, clock: VirtualClock) -> None:
    """Variables are set on several Spaces, listed with their values, and deleted."""
    repo_ids = await make_spaces(hub, clock, ["v1", "v2"])
    assert (await cli(hub, clock, "variables", "set", *repo_ids, "MODEL", "gpt2")).code == ExitCode.OK
    listed = await cli(hub, clock, "variables", "list", repo_ids[0], "--json")
    assert [(e["key"], e["value"]) for e in listed.events()] == [("MODEL", "gpt2")]
    assert (await cli(hub, clock, "variables", "delete", *repo_ids, "MODEL")).code == ExitCode.OK
    assert (await cli(hub, clock, "variables", "list", repo_ids[1], "--json")).events() == []


async def test_read_token_cannot_write(hub: SimulatedHub, clock: VirtualClock) -> None:
    """A read-only token changing hardware exits 4 (permission)."""
    [repo_id] = await make_spaces(hub, clock, ["readonly"])
    hub.add_user("reader", token="hf_reader_token_111111111111", role="read")
    out, err = io.StringIO(), io.StringIO()
    code = await run(
        ["--token", "hf_reader_token_111111111111", "pause", repo_id],
        stdout=out,
        stderr=err,
        transport=hub.transport(),
        clock=clock,
    )
    assert code == ExitCode.AUTH
    assert "permission denied" in err.getvalue()
    assert "write access" in err.getvalue()


async def test_invalid_space_ids_rejected_before_any_request(hub: SimulatedHub, clock: VirtualClock) -> None:
    """A malformed or repeated Space id exits 2 naming the problem, and nothing reaches the Hub."""
    before = hub.counters.total_requests
    malformed = await cli(hub, clock, "pause", "alice/ok", "no-namespace")
    assert malformed.code == ExitCode.USAGE
    assert "no-namespace" in malformed.err
    repeated = await cli(hub, clock, "runtime", "alice/same", "alice/same")
    assert repeated.code == ExitCode.USAGE
    assert "twice" in repeated.err
    assert hub.counters.total_requests == before


async def test_retries_are_quiet_by_default_and_shown_with_verbose(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """A retried 503 leaves a successful command's stderr empty; `-v` shows the SDK's retry log."""
    [repo_id] = await make_spaces(hub, clock, ["flaky"])
    hub.add_fault("error", route="GET /api/spaces/*/runtime", status=503, count=1)
    quiet = await cli(hub, clock, "runtime", repo_id)
    assert quiet.code == ExitCode.OK
    assert quiet.err == ""
    hub.add_fault("error", route="GET /api/spaces/*/runtime", status=503, count=1)
    verbose = await cli(hub, clock, "runtime", repo_id, "-v")
    assert verbose.code == ExitCode.OK
    assert "retrying" in verbose.err


async def test_offline_mode_is_a_usage_error(
    hub: SimulatedHub, clock: VirtualClock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With HF_HUB_OFFLINE set, a command exits 2 telling to unset it, and sends nothing."""
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    before = hub.counters.total_requests
    result = await cli(hub, clock, "wait", "alice/anything")
    assert result.code == ExitCode.USAGE
    assert "HF_HUB_OFFLINE" in result.err
    assert hub.counters.total_requests == before
