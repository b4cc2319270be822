"""`aiospaces wait A B C` over several Spaces, and `--author` on runtime, pause, restart and hardware,
in-process against the simulated Hub (in-process transport, virtual time)."""

from __future__ import annotations

import io
from collections.abc import Sequence

import pytest
from _cli_support import Result, run_cli
from _cli_support import make_spaces as support_make_spaces

from aiospaces.cli import ExitCode
from aiospaces.hubsim import Durations, SimulatedHub
from aiospaces.testing import VirtualClock

TOKEN = "hf_alice_wait_many_token_0123456789"

pytestmark = pytest.mark.anyio


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def hub(clock: VirtualClock) -> SimulatedHub:
    hub = SimulatedHub(clock=clock)
    hub.set_durations(commit_to_build=0)
    hub.add_user("alice", token=TOKEN)
    hub.add_user("mallory", token="hf_mallory_token_000000000000")
    return hub


async def cli(
    hub: SimulatedHub, clock: VirtualClock, *argv: str, stdout: io.StringIO | None = None
) -> Result:
    return await run_cli(hub, clock, TOKEN, *argv, stdout=stdout)


async def make_spaces(
    hub: SimulatedHub, clock: VirtualClock, names: Sequence[str], *, requirements: str = "gradio\n"
) -> list[str]:
    """Create Spaces of alice with an app and requirements through the client (their builds start)."""
    return await support_make_spaces(hub, clock, TOKEN, names, requirements=requirements)


# --- wait A B C -------------------------------------------------------------------------------------------


async def test_wait_many_all_run_exits_0_with_a_line_per_transition(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """Plain `wait A B C` prints each Space's transitions as lines, then an `ok` row per Space; exits 0."""
    repo_ids = await make_spaces(hub, clock, ["m1", "m2", "m3"])
    result = await cli(hub, clock, "wait", *repo_ids)
    assert result.code == ExitCode.OK, result.err
    lines = result.out.splitlines()
    header = next(i for i, line in enumerate(lines) if line.startswith("Space"))
    transitions, rows = lines[:header], lines[header + 1 :]
    for repo_id in repo_ids:
        own = [line.split("  ")[1] for line in transitions if line.startswith(f"{repo_id}  ")]
        assert own[-1] == "APP_STARTING -> RUNNING"
        assert len(own) == len(set(own))
    assert [row.split()[:3] for row in rows] == [[r, "ok", "RUNNING"] for r in repo_ids]
    assert {hub.space_stage(r) for r in repo_ids} == {"RUNNING"}
    assert result.err == ""


async def test_wait_many_one_failed_build_exits_1_naming_it_with_its_log_tail(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """`wait A B C` where B's build fails waits for A and C to run, then exits 1 naming only B, with B's
    build log tail on stderr and in its JSON result."""
    good = await make_spaces(hub, clock, ["g1", "g2"])
    [bad] = await make_spaces(hub, clock, ["bad"], requirements="torch==>1\n")
    result = await cli(hub, clock, "wait", good[0], bad, good[1], "--json")
    assert result.code == ExitCode.SPACE_FAILED
    results = result.results()
    assert list(results) == [good[0], bad, good[1]]
    assert [results[r]["ok"] for r in good] == [True, True]
    assert {results[r]["stage"] for r in good} == {"RUNNING"}
    assert (results[bad]["ok"], results[bad]["stage"], results[bad]["exit_code"]) == (False, "BUILD_ERROR", 1)
    assert any("torch==>1" in line for line in results[bad]["log_tail"])
    assert f"aiospaces: error: {bad} reached BUILD_ERROR" in result.err
    assert f"log lines of {bad}" in result.err
    assert "torch==>1" in result.err
    assert not any(r in result.err for r in good)


async def test_wait_many_timeout_exits_3(hub: SimulatedHub, clock: VirtualClock) -> None:
    """When a Space is still building at the deadline and none failed, `wait A B` exits 3 naming it."""
    [quick] = await make_spaces(hub, clock, ["quick"])
    hub.create_space("alice/slow", stage=None, durations=Durations(build=1_000_000.0))
    result = await cli(hub, clock, "wait", quick, "alice/slow", "--timeout", "600")
    assert result.code == ExitCode.TIMEOUT
    assert "aiospaces: error: alice/slow not ready after 600s (last stage BUILDING)" in result.err
    assert quick not in result.err
    lines = result.out.splitlines()
    rows = lines[next(i for i, line in enumerate(lines) if line.startswith("Space")) + 1 :]
    assert [row.split()[:3] for row in rows] == [
        [quick, "ok", "RUNNING"],
        ["alice/slow", "FAILED", "BUILDING"],
    ]


async def test_wait_many_failure_wins_over_timeout(hub: SimulatedHub, clock: VirtualClock) -> None:
    """A failure stage on one Space and a timeout on another exit 1 (a failure), naming both."""
    hub.create_space("alice/failed", stage="BUILD_ERROR")
    hub.create_space("alice/slow", stage=None, durations=Durations(build=1_000_000.0))
    result = await cli(hub, clock, "wait", "alice/failed", "alice/slow", "--timeout", "60")
    assert result.code == ExitCode.SPACE_FAILED
    assert "alice/failed reached BUILD_ERROR" in result.err
    assert "alice/slow not ready after 60s" in result.err


async def test_wait_many_unknown_space_is_partial(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`wait A absent`: A is waited for until it runs, the unknown Space is named, and the exit is 5."""
    [repo_id] = await make_spaces(hub, clock, ["known"])
    result = await cli(hub, clock, "wait", repo_id, "alice/absent", "--json")
    assert result.code == ExitCode.PARTIAL
    results = result.results()
    assert (results[repo_id]["ok"], results[repo_id]["stage"]) == (True, "RUNNING")
    assert (results["alice/absent"]["ok"], results["alice/absent"]["exit_code"]) == (False, 2)
    assert "aiospaces: error: alice/absent: not found" in result.err


async def test_wait_many_wake(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`wait A B` on paused Spaces exits 1 without --wake and 0 with it, both then RUNNING."""
    hub.create_space("alice/p1", stage="PAUSED")
    hub.create_space("alice/p2", stage="PAUSED")
    paused = await cli(hub, clock, "wait", "alice/p1", "alice/p2")
    assert paused.code == ExitCode.SPACE_FAILED
    assert "--wake" in paused.err
    woken = await cli(hub, clock, "wait", "alice/p1", "alice/p2", "--wake", "--json")
    assert woken.code == ExitCode.OK
    assert {e["stage"] for e in woken.results().values()} == {"RUNNING"}


async def test_wait_many_for_hardware(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`hardware A B t4-medium` then `wait A B --hardware t4-medium` returns once both run on it, with
    the hardware change among each Space's `change` events."""
    repo_ids = await make_spaces(hub, clock, ["h1", "h2"])
    assert (await cli(hub, clock, "wait", *repo_ids)).code == ExitCode.OK
    assert (await cli(hub, clock, "hardware", *repo_ids, "t4-medium")).code == ExitCode.OK
    result = await cli(hub, clock, "wait", *repo_ids, "--hardware", "t4-medium", "--json")
    assert result.code == ExitCode.OK, result.err
    for repo_id in repo_ids:
        final = result.results()[repo_id]
        assert (final["stage"], final["hardware"], final["requested_hardware"]) == (
            "RUNNING",
            "t4-medium",
            "t4-medium",
        )
        changes = [e for e in result.events() if e["event"] == "change" and e["repo_id"] == repo_id]
        assert (changes[-1]["previous_hardware"], changes[-1]["hardware"]) == ("cpu-basic", "t4-medium")


async def test_wait_many_for_hardware_nobody_requested_is_refused(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """`wait A B --hardware HW` where B has other hardware requested exits 2 naming B, before any wait."""
    hub.create_space("alice/on-gpu", hardware="t4-medium")
    hub.create_space("alice/on-cpu")
    result = await cli(hub, clock, "wait", "alice/on-gpu", "alice/on-cpu", "--hardware", "t4-medium")
    assert result.code == ExitCode.USAGE
    assert result.err == (
        "aiospaces: error: t4-medium was not requested on alice/on-cpu (cpu-basic is); request it first "
        "with `aiospaces hardware alice/on-cpu t4-medium`\n"
    )
    assert result.out == ""


async def test_wait_many_misspelt_flavor_is_refused(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`wait A B --hardware t4-mediun` exits 2 with the closest flavor, before reading any Space."""
    before = hub.counters.total_requests
    result = await cli(hub, clock, "wait", "alice/a", "alice/b", "--hardware", "t4-mediun")
    assert result.code == ExitCode.USAGE
    assert result.err == "aiospaces: error: unknown flavor t4-mediun; did you mean t4-medium?\n"
    assert hub.counters.total_requests == before + 1  # the flavor list only


async def test_wait_many_on_a_terminal_shows_a_live_table(hub: SimulatedHub, clock: VirtualClock) -> None:
    """On a terminal (rich), `wait A B` draws a live per-Space table, then the result table."""
    pytest.importorskip("rich")

    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    repo_ids = await make_spaces(hub, clock, ["t1", "t2"])
    result = await cli(hub, clock, "wait", *repo_ids, stdout=Terminal())
    assert result.code == ExitCode.OK
    assert "APP_STARTING -> RUNNING" not in result.out  # a table drawn in place, not a line per transition
    assert result.out.count("sleep time") >= 2  # the live table's header, then the result table's
    assert all(result.out.count(repo_id) >= 2 for repo_id in repo_ids)  # a row in each table


# --- --author ---------------------------------------------------------------------------------------------


async def test_runtime_author_reads_every_space_of_the_owner(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`runtime --author alice` shows every Space of alice (not another owner's), an id given too once."""
    hub.create_space("alice/r1")
    hub.create_space("alice/r2", stage="PAUSED")
    hub.create_space("mallory/other")
    result = await cli(hub, clock, "runtime", "alice/r2", "--author", "alice", "--json")
    assert result.code == ExitCode.OK
    assert [(e["repo_id"], e["stage"]) for e in result.events()] == [
        ("alice/r2", "PAUSED"),
        ("alice/r1", "RUNNING"),
    ]


async def test_pause_author_pauses_every_space_of_the_owner(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`pause --author alice` pauses each of alice's Spaces and leaves other owners' running."""
    for name in ("alice/p1", "alice/p2", "mallory/kept"):
        hub.create_space(name)
    result = await cli(hub, clock, "pause", "--author", "alice")
    assert result.code == ExitCode.OK
    assert [hub.space_stage(r) for r in ("alice/p1", "alice/p2")] == ["PAUSED", "PAUSED"]
    assert hub.space_stage("mallory/kept") == "RUNNING"


async def test_restart_author_restarts_every_space_of_the_owner(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """`restart --author alice --factory` factory-reboots each of alice's Spaces, and only those."""
    for name in ("alice/s1", "alice/s2", "mallory/kept"):
        hub.create_space(name, stage="PAUSED")
    result = await cli(hub, clock, "restart", "--author", "alice", "--factory", "--json")
    assert result.code == ExitCode.OK
    assert sorted(e["repo_id"] for e in result.events()) == ["alice/s1", "alice/s2"]
    assert hub.counters.actions["factory_reboot"] == 2
    assert hub.space_stage("mallory/kept") == "PAUSED"


async def test_hardware_author_requests_it_on_every_space_of_the_owner(
    hub: SimulatedHub, clock: VirtualClock
) -> None:
    """`hardware --author alice t4-small` requests t4-small on each of alice's Spaces, and only those."""
    for name in ("alice/h1", "alice/h2", "mallory/kept"):
        hub.create_space(name)
    result = await cli(hub, clock, "hardware", "--author", "alice", "t4-small", "--json")
    assert result.code == ExitCode.OK
    assert {e["repo_id"]: e["requested_hardware"] for e in result.events()} == {
        "alice/h1": "t4-small",
        "alice/h2": "t4-small",
    }
    assert hub.space_runtime("mallory/kept")["hardware"]["requested"] == "cpu-basic"


async def test_author_commands_need_ids_or_author(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`runtime`, `pause`, `restart` and `hardware HW` without ids or --author exit 2, sending nothing."""
    before = hub.counters.total_requests
    for argv in (["runtime"], ["pause"], ["restart"], ["hardware", "t4-small"]):
        result = await cli(hub, clock, *argv)
        assert result.code == ExitCode.USAGE
        assert result.err == (
            f"aiospaces: error: give Space ids or --author NAME (see `aiospaces {argv[0]} --help`)\n"
        )
    assert hub.counters.total_requests == before


async def test_author_without_spaces_is_a_usage_error(hub: SimulatedHub, clock: VirtualClock) -> None:
    """`pause --author` naming an owner without Spaces (likely a typo) exits 2 with one line, not 0."""
    hub.create_space("alice/p1")
    result = await cli(hub, clock, "pause", "--author", "alcie")
    assert result.code == ExitCode.USAGE
    assert result.err == (
        "aiospaces: error: alcie has no Spaces to pause: check the user or organization name\n"
    )
    assert hub.space_stage("alice/p1") == "RUNNING"
