"""`aiospaces fleet plan` / `fleet apply`, in-process against the simulated Hub (virtual time)."""

from __future__ import annotations

import io
import re
from pathlib import Path

import pytest
from _cli_support import Result, run_cli

from aiospaces.cli import ExitCode, run
from aiospaces.hubsim import SimulatedHub
from aiospaces.plan import parse_fleet_spec
from aiospaces.testing import VirtualClock

TOKEN = "hf_alice_fleet_cli_token_0123456789"
SECRET_VALUE = "fleet-secret-value-that-must-never-be-printed"

FLEET = """
[defaults]
hardware = "cpu-basic"
sleep_time = 3600
[defaults.variables]
MODEL_REPO_ID = "alice/model"
[spaces."alice/demo-1"]
hardware = "t4-medium"
secrets = { HF_TOKEN = { env = "DEMO_HF_TOKEN" } }
[spaces."alice/demo-2"]
paused = true
"""

README = Path(__file__).resolve().parent.parent / "README.md"

pytestmark = pytest.mark.anyio


class TerminalInput(io.StringIO):
    """A stdin that claims to be a terminal, with a prepared answer."""

    def isatty(self) -> bool:
        return True


@pytest.fixture
def clock() -> VirtualClock:
    return VirtualClock()


@pytest.fixture
def hub(clock: VirtualClock) -> SimulatedHub:
    hub = SimulatedHub(clock=clock)
    hub.add_user("alice", token=TOKEN)
    hub.create_space("alice/demo-1")
    hub.create_space("alice/demo-2")
    return hub


@pytest.fixture
def fleet_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("DEMO_HF_TOKEN", SECRET_VALUE)
    path = tmp_path / "fleet.toml"
    path.write_text(FLEET)
    return str(path)


async def cli(hub: SimulatedHub, clock: VirtualClock, *argv: str, stdin: io.StringIO | None = None) -> Result:
    return await run_cli(hub, clock, TOKEN, *argv, stdin=stdin, secrets=[SECRET_VALUE])


async def test_plan_prints_actions_per_space_and_changes_nothing(
    hub: SimulatedHub, clock: VirtualClock, fleet_file: str
) -> None:
    """`fleet plan` prints one plain line per action (secret re-set said as such) and sends no write."""
    result = await cli(hub, clock, "fleet", "plan", fleet_file)
    assert result.code == ExitCode.OK
    lines = result.out.splitlines()
    assert "alice/demo-1  hardware cpu-basic -> t4-medium (sleep time 3600)" in lines
    assert "alice/demo-1  secret HF_TOKEN = $DEMO_HF_TOKEN (new)" in lines
    assert "alice/demo-2  pause (RUNNING -> PAUSED)" in lines
    assert any(line.startswith("alice/demo-2  note: sleep_time ignored") for line in lines)
    assert lines[-1] == "5 changes on 2 of 2 Spaces"
    assert not any(name.startswith("POST") for name in hub.counters.requests)
    assert hub.space_stage("alice/demo-2") == "RUNNING"


async def test_apply_wait_json_converges_then_plan_is_empty(
    hub: SimulatedHub, clock: VirtualClock, fleet_file: str
) -> None:
    """`fleet apply --yes --wait --json` reaches the file's state; a second plan has no change left."""
    result = await cli(hub, clock, "fleet", "apply", fleet_file, "--yes", "--wait", "--json")
    assert result.code == ExitCode.OK, result.err
    events = result.events()
    results = {e["repo_id"]: e for e in events if e["event"] == "result"}
    assert results["alice/demo-1"]["ok"]
    assert results["alice/demo-1"]["stage"] == "RUNNING"
    assert results["alice/demo-1"]["hardware"] == "t4-medium"
    assert [a["action"] for a in results["alice/demo-2"]["applied"]] == ["variable", "pause"]
    changes = [e for e in events if e["event"] == "change"]
    assert (changes[-1]["repo_id"], changes[-1]["stage"]) == ("alice/demo-1", "RUNNING")
    assert hub.space_state("alice/demo-1").secrets["HF_TOKEN"].value == SECRET_VALUE
    assert hub.space_stage("alice/demo-2") == "PAUSED"

    again = await cli(hub, clock, "fleet", "plan", fleet_file, "--json")
    assert again.code == ExitCode.OK
    [summary] = [e for e in again.events() if e["event"] == "summary"]
    assert (summary["changes"], summary["secrets_set_again"]) == (0, 1)
    plans = {e["repo_id"]: e for e in again.events() if e["event"] == "plan"}
    assert plans["alice/demo-1"]["actions"] == [
        {"action": "secret", "key": "HF_TOKEN", "from_env": "DEMO_HF_TOKEN", "reapply": True}
    ]
    assert plans["alice/demo-2"]["actions"] == []


async def test_apply_needs_yes_without_a_terminal(
    hub: SimulatedHub, clock: VirtualClock, fleet_file: str
) -> None:
    """Without a terminal to confirm on, `fleet apply` without --yes exits 2 and sends nothing."""
    before = hub.counters.total_requests
    result = await cli(hub, clock, "fleet", "apply", fleet_file)
    assert result.code == ExitCode.USAGE
    assert "--yes" in result.err
    assert hub.counters.total_requests == before


async def test_apply_asks_on_a_terminal(hub: SimulatedHub, clock: VirtualClock, fleet_file: str) -> None:
    """On a terminal, `fleet apply` asks first: "n" changes nothing, "y" applies."""
    declined = await cli(hub, clock, "fleet", "apply", fleet_file, stdin=TerminalInput("n\n"))
    assert declined.code == ExitCode.OK
    assert "[y/N]" in declined.err
    assert "not applied" in declined.out
    assert hub.space_stage("alice/demo-2") == "RUNNING"
    assert not any(name.startswith("POST") for name in hub.counters.requests)
    accepted = await cli(hub, clock, "fleet", "apply", fleet_file, stdin=TerminalInput("y\n"))
    assert accepted.code == ExitCode.OK
    assert hub.space_stage("alice/demo-2") == "PAUSED"


async def test_apply_with_unset_secret_variable_exits_2(
    hub: SimulatedHub, clock: VirtualClock, fleet_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A secret whose environment variable is unset makes `apply` exit 2 naming it, before any request;
    `plan` only warns."""
    monkeypatch.delenv("DEMO_HF_TOKEN")
    before = hub.counters.total_requests
    applied = await cli(hub, clock, "fleet", "apply", fleet_file, "--yes")
    assert applied.code == ExitCode.USAGE
    assert "DEMO_HF_TOKEN not set" in applied.err
    assert hub.counters.total_requests == before
    planned = await cli(hub, clock, "fleet", "plan", fleet_file)
    assert planned.code == ExitCode.OK
    assert "warning: DEMO_HF_TOKEN not set" in planned.err


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ('[spaces."alice/demo-1"]\nhardwre = "t4-small"\n', "unknown key 'spaces.\"alice/demo-1\".hardwre'"),
        ('[spaces."alice/demo-1"]\nsecrets = { K = "inline-secret-value" }\n', "secret values never go in"),
        ("not = [toml\n", "invalid TOML"),
    ],
)
async def test_bad_file_exits_2_naming_file_and_key(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path, content: str, expected: str
) -> None:
    """A bad fleet file exits 2 with one line naming the file and the key, and sends nothing."""
    path = tmp_path / "bad.toml"
    path.write_text(content)
    before = hub.counters.total_requests
    for argv in (["plan"], ["apply", "--yes"]):
        result = await cli(hub, clock, "fleet", argv[0], str(path), *argv[1:])
        assert result.code == ExitCode.USAGE
        assert result.err.count("\n") == 1
        assert f"{path}: " in result.err
        assert expected in result.err
        assert "inline-secret-value" not in result.err
    missing = await cli(hub, clock, "fleet", "plan", str(tmp_path / "nope.toml"))
    assert missing.code == ExitCode.USAGE
    assert "nope.toml: cannot read" in missing.err
    assert hub.counters.total_requests == before


async def test_partial_failure_exits_5_with_per_space_outcomes(
    hub: SimulatedHub, clock: VirtualClock, tmp_path: Path
) -> None:
    """A Space refusing its hardware and a missing one make `apply` exit 5, with each Space's outcome."""
    hub.create_space("alice/static", sdk="static")
    path = tmp_path / "fleet.toml"
    path.write_text(
        '[defaults]\nhardware = "t4-small"\n'
        '[spaces."alice/demo-1"]\n[spaces."alice/static"]\n[spaces."alice/missing"]\n'
    )
    result = await cli(hub, clock, "fleet", "apply", str(path), "--yes", "--json")
    assert result.code == ExitCode.PARTIAL
    results = {e["repo_id"]: e for e in result.events() if e["event"] == "result"}
    assert results["alice/demo-1"]["ok"] is True
    assert results["alice/static"]["ok"] is False
    assert results["alice/static"]["failed_action"]["action"] == "hardware"
    assert results["alice/missing"]["ok"] is False
    assert results["alice/missing"]["exit_code"] == ExitCode.USAGE
    assert "2 of 3 Spaces failed" in result.err
    plain = await cli(hub, clock, "fleet", "apply", str(path), "--yes")
    assert plain.code == ExitCode.PARTIAL
    table = plain.out.splitlines()
    assert any(line.startswith("alice/static") and "FAILED" in line and "hardware" in line for line in table)


async def test_nothing_to_apply(hub: SimulatedHub, clock: VirtualClock, tmp_path: Path) -> None:
    """A file already matching the Hub applies nothing and exits 0 without asking."""
    path = tmp_path / "fleet.toml"
    path.write_text('[spaces."alice/demo-1"]\nhardware = "cpu-basic"\n')
    result = await cli(hub, clock, "fleet", "apply", str(path), stdin=TerminalInput(""))
    assert result.code == ExitCode.OK
    assert "nothing to apply" in result.out
    assert "[y/N]" not in result.err


async def test_readme_fleet_example_parses() -> None:
    """The README's fleet file parses as documented, and its `fleet` command lines are accepted."""
    readme = README.read_text(encoding="utf-8")
    [example] = re.findall(r"```toml\n(.*?)```", readme, flags=re.DOTALL)
    spec = parse_fleet_spec(example, source="README.md")
    assert spec.repo_ids == ["acme/demo-1", "acme/demo-2"]
    assert spec.spaces[0].hardware == "t4-medium"
    assert spec.spaces[1].paused is True
    [usage] = re.findall(r"```console\n(.*?)```", readme, flags=re.DOTALL)
    for action in re.findall(r"^aiospaces fleet (\w+)", usage, flags=re.MULTILINE):
        out = io.StringIO()
        assert await run(["fleet", action, "--help"], stdout=out, stderr=io.StringIO()) == 0
        assert f"usage: aiospaces fleet {action}" in out.getvalue()


async def test_plan_with_unreadable_spaces(hub: SimulatedHub, clock: VirtualClock, tmp_path: Path) -> None:
    """`plan` exits 5 when some Spaces of several cannot be read, and with the error's own code for one."""
    several = tmp_path / "several.toml"
    several.write_text('[spaces."alice/demo-1"]\npaused = true\n[spaces."alice/missing"]\npaused = true\n')
    result = await cli(hub, clock, "fleet", "plan", str(several))
    assert result.code == ExitCode.PARTIAL
    assert "alice/demo-1  pause (RUNNING -> PAUSED)" in result.out
    assert any(line.startswith("alice/missing  FAILED: not found") for line in result.out.splitlines())
    one = tmp_path / "one.toml"
    one.write_text('[spaces."alice/missing"]\npaused = true\n')
    single = await cli(hub, clock, "fleet", "plan", str(one), "--json")
    assert single.code == ExitCode.USAGE
    [plan, summary] = single.events()
    assert (plan["repo_id"], plan["ok"], plan["exit_code"]) == ("alice/missing", False, ExitCode.USAGE)
    assert summary["unreadable"] == 1


async def test_timeout_without_wait_is_a_usage_error(
    hub: SimulatedHub, clock: VirtualClock, fleet_file: str
) -> None:
    """`apply --timeout` without `--wait` exits 2 and sends nothing."""
    before = hub.counters.total_requests
    result = await cli(hub, clock, "fleet", "apply", fleet_file, "--yes", "--timeout", "60")
    assert result.code == ExitCode.USAGE
    assert "--wait" in result.err
    assert hub.counters.total_requests == before


async def test_skip_existing_secrets(
    hub: SimulatedHub, clock: VirtualClock, fleet_file: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """With --skip-existing-secrets an existing secret is not set again, and its variable is not needed."""
    assert (await cli(hub, clock, "fleet", "apply", fleet_file, "--yes")).code == ExitCode.OK
    monkeypatch.delenv("DEMO_HF_TOKEN")
    secrets_route = "POST /api/spaces/{id}/secrets"
    sent = hub.counters.requests[secrets_route]
    result = await cli(hub, clock, "fleet", "apply", fleet_file, "--yes", "--skip-existing-secrets")
    assert result.code == ExitCode.OK
    assert "nothing to apply" in result.out
    assert hub.counters.requests[secrets_route] == sent
    assert hub.space_state("alice/demo-1").secrets["HF_TOKEN"].value == SECRET_VALUE
