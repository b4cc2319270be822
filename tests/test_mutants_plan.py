"""The fleet plan pushed past the cases of test_plan.py: each action's human line and JSON fields, the plan's
counts, the sleep-time and pause rules at their edges, the fleet file's validation, and applying a plan
against the simulated Hub (which request each action sends, what is waited for, what a failure reports)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import anyio
import anyio.lowlevel
import httpx2
import pytest

from aiospaces import SpacesClient
from aiospaces.errors import BadRequestError, SpacesError, WaitTimeoutError
from aiospaces.hubsim import SimulatedHub
from aiospaces.models import SpaceRuntime
from aiospaces.plan import (
    Action,
    ApplyResult,
    FleetSpec,
    FleetSpecError,
    ObservedSpace,
    Plan,
    SecretRef,
    SpaceApplyResult,
    SpacePlan,
    SpaceSpec,
    apply_plan,
    diff,
    load_fleet_spec,
    observe,
    parse_fleet_spec,
    plan_fleet,
    resolve_secrets,
    summary,
)
from aiospaces.testing import SimulatedHubClient, VirtualClock


def runtime(
    stage: str = "RUNNING",
    hardware: str | None = "cpu-basic",
    requested: str | None = "cpu-basic",
    sleep: int | None = None,
) -> SpaceRuntime:
    data: dict[str, Any] = {"stage": stage, "hardware": {"current": hardware, "requested": requested}}
    if sleep is not None:
        data["gcTimeout"] = sleep
    return SpaceRuntime.from_dict(data)


def plan_one(space: SpaceSpec, seen: ObservedSpace) -> SpacePlan:
    return diff(FleetSpec(spaces=(space,)), {space.repo_id: seen})[space.repo_id]


# --- Action: the human line and the JSON fields ---------------------------------------------------------


@pytest.mark.parametrize(
    ("action", "line"),
    [
        (Action("secret", key="TOKEN", after="ENV_TOKEN"), "secret TOKEN = $ENV_TOKEN (new)"),
        (
            Action("secret", key="TOKEN", after="ENV_TOKEN", reapply=True),
            "secret TOKEN = $ENV_TOKEN (exists, value unknown: set again)",
        ),
        (Action("variable", key="MODE", after="fast"), "variable MODE = 'fast' (new)"),
        (Action("variable", key="MODE", before="slow", after="fast"), "variable MODE 'slow' -> 'fast'"),
        (Action("hardware", before="cpu-basic", after="t4-medium"), "hardware cpu-basic -> t4-medium"),
        (
            Action("hardware", before="cpu-basic", after="t4-medium", sleep_time=600),
            "hardware cpu-basic -> t4-medium (sleep time 600)",
        ),
        (Action("hardware", before=None, after="t4-small"), "hardware - -> t4-small"),
        (Action("sleep_time", before=3600, after=600), "sleep time 3600s -> 600s"),
        (Action("sleep_time", before=None, after=-1), "sleep time default -> never"),
        (Action("sleep_time", before=-1, after=0), "sleep time never -> 0s"),
        (Action("pause", before="RUNNING", after="PAUSED"), "pause (RUNNING -> PAUSED)"),
        (Action("restart", before="PAUSED", after="BUILDING"), "restart (PAUSED -> running)"),
    ],
)
def test_each_action_describes_itself_in_one_line(action: Action, line: str) -> None:
    """Each kind of action renders as the one line the plan shows, with its values and never a secret's."""
    assert action.describe() == line


@pytest.mark.parametrize(
    ("action", "fields"),
    [
        (
            Action("secret", key="TOKEN", after="ENV_TOKEN", description="d"),
            {"action": "secret", "key": "TOKEN", "from_env": "ENV_TOKEN", "reapply": False},
        ),
        (
            Action("variable", key="MODE", before="slow", after="fast"),
            {"action": "variable", "key": "MODE", "before": "slow", "after": "fast"},
        ),
        (
            Action("hardware", before="cpu-basic", after="t4-small", sleep_time=600),
            {"action": "hardware", "before": "cpu-basic", "after": "t4-small", "sleep_time": 600},
        ),
        (
            Action("hardware", before="cpu-basic", after="t4-small"),
            {"action": "hardware", "before": "cpu-basic", "after": "t4-small"},
        ),
        (Action("sleep_time", before=None, after=-1), {"action": "sleep_time", "before": None, "after": -1}),
        (Action("sleep_time", before=0, after=60), {"action": "sleep_time", "before": 0, "after": 60}),
        (
            Action("pause", before="RUNNING", after="PAUSED"),
            {"action": "pause", "before": "RUNNING", "after": "PAUSED"},
        ),
    ],
)
def test_each_action_as_json_fields(action: Action, fields: dict[str, object]) -> None:
    """`as_dict` gives exactly the JSON fields of its kind: a key only when there is one, a secret's
    environment variable instead of before/after, the sleep time only when sent."""
    assert action.as_dict() == fields


# --- SpacePlan and Plan -----------------------------------------------------------------------------------


def test_a_space_restarts_only_when_it_builds_or_switches_hardware() -> None:
    """`restarts` is true for a restart, or new hardware on a Space neither paused nor being paused."""
    hardware = Action("hardware", before="cpu-basic", after="t4-small")
    pause = Action("pause", before="RUNNING", after="PAUSED")
    restart = Action("restart", before="PAUSED", after="BUILDING")
    variable = Action("variable", key="K", after="v")
    assert SpacePlan("a/s", actions=(hardware,), stage="RUNNING").restarts
    assert SpacePlan("a/s", actions=(hardware,)).restarts  # stage unknown
    assert not SpacePlan("a/s", actions=(hardware, pause), stage="RUNNING").restarts
    assert not SpacePlan("a/s", actions=(hardware,), stage="PAUSED").restarts
    assert SpacePlan("a/s", actions=(hardware, restart), stage="PAUSED").restarts
    assert SpacePlan("a/s", actions=(restart,), stage="PAUSED").restarts
    assert not SpacePlan("a/s", actions=(variable,), stage="RUNNING").restarts
    assert not SpacePlan("a/s", actions=(pause,), stage="RUNNING").restarts
    assert not SpacePlan("a/s", stage="RUNNING").restarts


def test_plan_counts_iterates_and_looks_up_by_space() -> None:
    """A plan iterates its Spaces in order, counts changes and secrets set again apart, and a Space it does
    not hold is a KeyError."""
    again = Action("secret", key="OLD", after="ENV_OLD", reapply=True)
    new = Action("secret", key="NEW", after="ENV_NEW")
    pause = Action("pause", before="RUNNING", after="PAUSED")
    error = SpacesError("a/c was not read")
    plan = Plan(
        spaces=(
            SpacePlan("a/a", actions=(again, new, pause)),
            SpacePlan("a/b", actions=(again,)),
            SpacePlan("a/c", error=error),
        )
    )
    assert len(plan) == 3
    assert [s.repo_id for s in plan] == ["a/a", "a/b", "a/c"]
    assert plan["a/b"].actions == (again,)
    assert plan["a/a"].changes == (new, pause)
    assert (plan.changes, plan.reapplied, plan.is_empty) == (2, 2, False)
    assert plan.failed == [plan["a/c"]]
    with pytest.raises(KeyError):
        plan["a/zzz"]
    only_again = Plan(spaces=(SpacePlan("a/b", actions=(again,)),))
    assert (only_again.changes, only_again.reapplied, only_again.is_empty) == (0, 1, True)
    trimmed = plan.without_reapplied()
    assert [s.actions for s in trimmed] == [(new, pause), (), ()]
    assert trimmed["a/c"].error is error
    assert summary(plan) == (
        "2 changes on 1 of 3 Spaces; 2 existing secrets set again (values cannot be read); "
        "1 Space could not be read"
    )


# --- diff: what is read, what is compared ------------------------------------------------------------------


def test_a_space_missing_from_the_observations_is_an_error_naming_it() -> None:
    """A Space of the file absent from the observations is planned as an error naming that Space."""
    planned = diff(FleetSpec(spaces=(SpaceSpec("a/x", paused=True),)), {})["a/x"]
    assert isinstance(planned.error, SpacesError)
    assert str(planned.error) == "a/x was not read"
    assert planned.actions == ()


def test_diff_records_the_stage_and_a_plain_stage_string() -> None:
    """The plan keeps the observed stage as a string, also for a stage the SDK does not know."""
    planned = plan_one(SpaceSpec("a/s"), ObservedSpace(runtime=runtime("RUNNING")))
    assert planned.stage == "RUNNING"
    assert type(planned.stage) is str
    odd = plan_one(SpaceSpec("a/s", paused=True), ObservedSpace(runtime=runtime("MIGRATING")))
    assert odd.stage == "MIGRATING"
    assert odd.actions == (Action("pause", before="MIGRATING", after="PAUSED"),)


def test_diff_secrets_carry_their_description() -> None:
    """A secret action carries the environment variable and the description, new or set again."""
    space = SpaceSpec("a/s", secrets={"NEW": SecretRef("ENV_NEW", "first"), "BARE": SecretRef("ENV_BARE")})
    planned = plan_one(space, ObservedSpace(runtime=runtime(), secret_names=frozenset({"BARE"})))
    assert planned.actions == (
        Action("secret", key="NEW", after="ENV_NEW", reapply=False, description="first"),
        Action("secret", key="BARE", after="ENV_BARE", reapply=True, description=None),
    )


def test_diff_sleep_time_on_the_requested_cpu_basic_is_a_note_without_hardware_in_the_file() -> None:
    """With no hardware in the file, a Space whose requested flavor is cpu-basic gets a note, not an
    action, for its sleep time."""
    planned = plan_one(SpaceSpec("a/s", sleep_time=600), ObservedSpace(runtime=runtime(sleep=172800)))
    assert planned.actions == ()
    assert len(planned.notes) == 1


def test_diff_moving_to_cpu_basic_sends_no_sleep_time() -> None:
    """Moving a Space down to cpu-basic requests the flavor without a sleep time (it is fixed there)."""
    seen = ObservedSpace(runtime=runtime(hardware="t4-small", requested="t4-small", sleep=600))
    planned = plan_one(SpaceSpec("a/s", hardware="cpu-basic", sleep_time=3600), seen)
    assert planned.actions == (Action("hardware", before="t4-small", after="cpu-basic", sleep_time=None),)
    assert len(planned.notes) == 1


def test_diff_a_default_sleep_time_is_never_on_upgraded_hardware() -> None:
    """On upgraded hardware a default (null) sleep time differs from any number of seconds but not from -1,
    and the action shows `default` as its old value."""
    seen = ObservedSpace(runtime=runtime(hardware="t4-small", requested="t4-small"))
    planned = plan_one(SpaceSpec("a/s", sleep_time=600), seen)
    assert planned.actions == (Action("sleep_time", before=None, after=600),)
    assert planned.actions[0].describe() == "sleep time default -> 600s"
    assert plan_one(SpaceSpec("a/s", sleep_time=0), seen).actions == (
        Action("sleep_time", before=None, after=0),
    )
    assert plan_one(SpaceSpec("a/s", sleep_time=-1), seen).actions == ()
    assert plan_one(SpaceSpec("a/s"), seen).actions == ()


def test_diff_sends_the_sleep_time_with_new_hardware_even_when_unchanged() -> None:
    """New hardware carries the file's sleep time even when the observed one already equals it (a flavor
    change may reset it), and no separate sleep-time action is planned."""
    seen = ObservedSpace(runtime=runtime(hardware="t4-small", requested="t4-small", sleep=600))
    planned = plan_one(SpaceSpec("a/s", hardware="t4-medium", sleep_time=600), seen)
    assert planned.actions == (Action("hardware", before="t4-small", after="t4-medium", sleep_time=600),)
    assert planned.notes == ()


def test_diff_same_hardware_and_different_sleep_time_is_a_sleep_time_action() -> None:
    """When the file's hardware is already requested, a different sleep time is its own action."""
    seen = ObservedSpace(runtime=runtime(hardware="t4-small", requested="t4-small", sleep=600))
    planned = plan_one(SpaceSpec("a/s", hardware="t4-small", sleep_time=-1), seen)
    assert planned.actions == (Action("sleep_time", before=600, after=-1),)


def test_diff_hardware_requested_from_an_unknown_flavor() -> None:
    """A Space that reports no requested flavor gets the file's hardware, its old value shown as unknown."""
    seen = ObservedSpace(runtime=runtime(hardware=None, requested=None, sleep=600))
    planned = plan_one(SpaceSpec("a/s", hardware="t4-small", sleep_time=600), seen)
    assert planned.actions == (Action("hardware", before=None, after="t4-small", sleep_time=600),)


def test_diff_pause_rules_and_the_paused_hardware_note() -> None:
    """A PAUSED Space with new hardware gets a note only when the file leaves paused unset; paused = true
    on it plans nothing more, and without new hardware there is no note."""
    paused = ObservedSpace(runtime=runtime("PAUSED", hardware=None))
    kept = plan_one(SpaceSpec("a/s", hardware="t4-small", paused=True), paused)
    assert [a.kind for a in kept.actions] == ["hardware"]
    assert kept.notes == ()
    assert not kept.restarts
    plain = plan_one(SpaceSpec("a/s", variables={"K": "v"}), paused)
    assert [a.kind for a in plain.actions] == ["variable"]
    assert plain.notes == ()
    noted = plan_one(SpaceSpec("a/s", hardware="t4-small"), paused)
    assert len(noted.notes) == 1
    running = plan_one(SpaceSpec("a/s", hardware="t4-small"), ObservedSpace(runtime=runtime("RUNNING")))
    assert running.notes == ()
    assert plan_one(SpaceSpec("a/s", paused=False), ObservedSpace(runtime=runtime("RUNNING"))).actions == ()
    assert plan_one(SpaceSpec("a/s", paused=True), paused).actions == ()


# --- the fleet file -------------------------------------------------------------------------------------


def test_a_space_table_overrides_the_defaults_and_merges_variables_and_secrets() -> None:
    """A Space's own values replace the defaults' ones, and its variables and secrets are merged over the
    defaults' (its own value wins on a shared key), the values given as `int` turned into strings."""
    spec = parse_fleet_spec(
        """
        [defaults]
        hardware = "t4-small"
        sleep_time = -1
        paused = true
        variables = { A = "a", SHARED = "default" }
        secrets = { S = { env = "ENV_S" }, T = { env = "ENV_T" } }
        [spaces."a/one"]
        hardware = "t4-medium"
        sleep_time = 0
        paused = false
        variables = { SHARED = "own", N = 3 }
        secrets = { T = { env = "ENV_T2", description = "own token" } }
        [spaces."a/two"]
        """
    )
    assert spec.source == "<string>"
    one, two = spec.spaces
    assert one == SpaceSpec(
        "a/one",
        hardware="t4-medium",
        sleep_time=0,
        paused=False,
        variables={"A": "a", "SHARED": "own", "N": "3"},
        secrets={"S": SecretRef("ENV_S"), "T": SecretRef("ENV_T2", "own token")},
    )
    assert two == SpaceSpec(
        "a/two",
        hardware="t4-small",
        sleep_time=-1,
        paused=True,
        variables={"A": "a", "SHARED": "default"},
        secrets={"S": SecretRef("ENV_S"), "T": SecretRef("ENV_T")},
    )
    assert spec.secret_envs() == ["ENV_S", "ENV_T", "ENV_T2"]


def test_a_file_without_defaults_leaves_everything_unmanaged() -> None:
    """Without `[defaults]` a bare Space table manages nothing: no hardware, sleep time, pause state,
    variables or secrets."""
    spec = parse_fleet_spec('[spaces."a/b"]\n[spaces."a/c"]\nvariables = { K = "v" }')
    assert spec.spaces == (SpaceSpec("a/b"), SpaceSpec("a/c", variables={"K": "v"}))
    assert spec.repo_ids == ["a/b", "a/c"]
    assert spec.secret_envs() == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (
            'zeta = 1\nalpha = 2\n[spaces."a/b"]',
            "unknown top-level key 'alpha' (expected [defaults] and [spaces.\"ns/name\"])",
        ),
        ("defaults = 3\n", "defaults must be a table, got an integer"),
        ("[spaces]\n", 'no Spaces: add a [spaces."namespace/name"] table'),
        ('[spaces]\n"a/b" = 3', 'spaces."a/b" must be a table, got an integer'),
        (
            '[spaces."a/b"]\nsize = 1',
            "unknown key 'spaces.\"a/b\".size' "
            "(expected one of hardware, sleep_time, paused, variables, secrets)",
        ),
        ('[spaces."a/b"]\nhardware = ""', 'spaces."a/b".hardware must be a flavor name such as "t4-medium"'),
        (
            '[spaces."a/b"]\nsleep_time = 1.5',
            'spaces."a/b".sleep_time must be whole seconds >= 0, or -1 for never',
        ),
        (
            '[spaces."a/b"]\nsleep_time = "60"',
            'spaces."a/b".sleep_time must be whole seconds >= 0, or -1 for never',
        ),
        ('[spaces."a/b"]\npaused = 1', 'spaces."a/b".paused must be true or false, got an integer'),
        ('[spaces."a/b"]\npaused = 1.5', 'spaces."a/b".paused must be true or false, got a float'),
        ('[spaces."a/b"]\npaused = []', 'spaces."a/b".paused must be true or false, got an array'),
        ('[spaces."a/b"]\npaused = {}', 'spaces."a/b".paused must be true or false, got a table'),
        ('[spaces."a/b"]\npaused = 1979-05-27', 'spaces."a/b".paused must be true or false, got date'),
        (
            '[spaces."a/b"]\nvariables = { X = true }',
            'spaces."a/b".variables.X must be a string, got a boolean',
        ),
        ('[spaces."a/b"]\nvariables = ["X"]', 'spaces."a/b".variables must be a table, got an array'),
        ('[spaces."a/b"]\nsecrets = "X"', 'spaces."a/b".secrets must be a table, got a string'),
        (
            '[spaces."a/b"]\nsecrets = { K = { env = "V", zz = 1, aa = 2 } }',
            "unknown key spaces.\"a/b\".secrets.K.'aa' (expected env, description)",
        ),
        (
            '[spaces."a/b"]\nsecrets = { K = { env = 3 } }',
            'spaces."a/b".secrets.K.env must name an environment variable',
        ),
        (
            '[spaces."a/b"]\nsecrets = { K = { env = "" } }',
            'spaces."a/b".secrets.K.env must name an environment variable',
        ),
        (
            '[spaces."a/b"]\nsecrets = { K = { env = "A=B" } }',
            'spaces."a/b".secrets.K.env must name an environment variable',
        ),
        (
            '[spaces."a/b"]\nsecrets = { K = { env = "A B" } }',
            'spaces."a/b".secrets.K.env must name an environment variable',
        ),
        (
            '[spaces."a/b"]\nsecrets = { K = { env = "A\\tB" } }',
            'spaces."a/b".secrets.K.env must name an environment variable',
        ),
        (
            '[spaces."a/b"]\nsecrets = { K = { env = "V", description = 1 } }',
            'spaces."a/b".secrets.K.description must be a string',
        ),
    ],
)
def test_each_mistake_is_one_line_naming_the_file_and_the_key(text: str, message: str) -> None:
    """Each kind of mistake is a FleetSpecError whose one line is the file, the key and what is expected."""
    with pytest.raises(FleetSpecError) as caught:
        parse_fleet_spec(text, source="fleet.toml")
    assert str(caught.value) == f"fleet.toml: {message}"


def test_a_secret_key_is_checked_like_a_variable_key() -> None:
    """A secret whose name is not an environment-variable name is refused naming the file and the table."""
    with pytest.raises(FleetSpecError) as caught:
        parse_fleet_spec('[spaces."a/b"]\nsecrets = { "A B" = { env = "V" } }', source="fleet.toml")
    assert str(caught.value).startswith("fleet.toml: ")
    assert 'spaces."a/b".secrets' in str(caught.value)


def test_a_secret_written_as_a_value_is_refused_whatever_its_type() -> None:
    """A secret given as a number instead of `{ env = ... }` is refused with the rule, never its value."""
    with pytest.raises(FleetSpecError) as caught:
        parse_fleet_spec('[spaces."a/b"]\nsecrets = { PIN = 982451653 }', source="fleet.toml")
    assert str(caught.value) == (
        'fleet.toml: spaces."a/b".secrets.PIN must be a table { env = "VAR" } naming the environment '
        "variable that holds the value; secret values never go in the file"
    )


def test_the_default_source_names_a_string() -> None:
    """Without a source, messages name `<string>`."""
    with pytest.raises(FleetSpecError) as caught:
        parse_fleet_spec("spaces = 1")
    assert str(caught.value) == "<string>: spaces must be a table, got an integer"


def test_load_refuses_a_file_that_is_not_utf8(tmp_path: Path) -> None:
    """A fleet file that is not UTF-8 text is a FleetSpecError naming the file."""
    path = tmp_path / "fleet.toml"
    path.write_bytes(b'[spaces."a/b"]\nvariables = { K = "\xff" }\n')
    with pytest.raises(FleetSpecError) as caught:
        load_fleet_spec(path)
    assert str(caught.value) == f"{path}: not UTF-8 text"


def test_load_names_why_a_path_cannot_be_read(tmp_path: Path) -> None:
    """A path that cannot be read (a directory) is a FleetSpecError naming the file and the reason."""
    with pytest.raises(FleetSpecError) as caught:
        load_fleet_spec(tmp_path)
    assert str(caught.value) == f"{tmp_path}: cannot read the fleet file (Is a directory)"


def test_load_accepts_utf8_text(tmp_path: Path) -> None:
    """A UTF-8 fleet file with non-ASCII text loads, the text kept as written."""
    path = tmp_path / "fleet.toml"
    path.write_text('[spaces."a/b"]\nvariables = { GREETING = "grüß dich" }\n', encoding="utf-8")
    assert load_fleet_spec(path).spaces[0].variables == {"GREETING": "grüß dich"}


# --- observing and applying against the simulated Hub -------------------------------------------------------


@pytest.mark.anyio
async def test_observe_reads_variables_and_secrets_only_when_managed() -> None:
    """A file managing variables reads them (values by key) and no secrets; one managing secrets reads
    their names and no variables."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/v", variables={"K": "old", "OTHER": "x"}, secrets={"S": "hidden"})
        env.hub.create_space("alice/s", variables={"K": "old"}, secrets={"S": "hidden"})
        spec = parse_fleet_spec(
            '[spaces."alice/v"]\nvariables = { K = "new" }\n'
            '[spaces."alice/s"]\nsecrets = { S = { env = "ENV_S" } }\n'
        )
        env.hub.counters.reset()
        seen = await observe(env.client, spec)
        v, s = seen["alice/v"], seen["alice/s"]
        assert isinstance(v, ObservedSpace)
        assert isinstance(s, ObservedSpace)
        assert (dict(v.variables), v.secret_names) == ({"K": "old", "OTHER": "x"}, frozenset())
        assert (dict(s.variables), s.secret_names) == ({}, frozenset({"S"}))
        assert v.runtime.stage == "RUNNING"
        requests = env.hub.counters.requests
        assert requests["GET /api/spaces/{id}/variables"] == 1
        assert requests["GET /api/spaces/{id}/secrets"] == 1
        assert requests["GET /api/spaces/{id}/runtime"] == 2


@pytest.mark.anyio
async def test_a_failed_secondary_read_makes_that_space_an_error() -> None:
    """When reading one Space's secrets fails, that Space is planned as the error, the others normally."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/a")
        env.hub.create_space("alice/b")
        spec = parse_fleet_spec(
            '[defaults]\npaused = true\nsecrets = { S = { env = "ENV_S" } }\n'
            '[spaces."alice/a"]\n[spaces."alice/b"]\n'
        )
        env.hub.add_fault("error", route="GET /api/spaces/{id}/secrets", status=403, count=1)
        plan = await plan_fleet(env.client, spec, concurrency=1)
        assert isinstance(plan["alice/a"].error, SpacesError)
        assert plan["alice/a"].actions == ()
        assert plan["alice/b"].error is None
        assert [a.kind for a in plan["alice/b"].actions] == ["secret", "pause"]


def test_resolve_secrets_reads_the_process_environment_by_default(monkeypatch: pytest.MonkeyPatch) -> None:
    """Without `environ`, secret values come from the process environment, and one missing variable is
    named in the singular."""
    space = SpaceSpec(
        "a/s", secrets={"A": SecretRef("AIOSPACES_TEST_ENV_A"), "B": SecretRef("AIOSPACES_TEST_ENV_A")}
    )
    plan = diff(FleetSpec(spaces=(space,)), {"a/s": ObservedSpace(runtime=runtime())})
    monkeypatch.delenv("AIOSPACES_TEST_ENV_A", raising=False)
    with pytest.raises(FleetSpecError) as caught:
        resolve_secrets(plan)
    assert str(caught.value) == (
        "environment variable AIOSPACES_TEST_ENV_A not set (they hold the values of the fleet file's secrets)"
    )
    monkeypatch.setenv("AIOSPACES_TEST_ENV_A", "from-the-process")
    assert resolve_secrets(plan) == {"AIOSPACES_TEST_ENV_A": "from-the-process"}
    assert resolve_secrets(plan, {"AIOSPACES_TEST_ENV_A": "given"}) == {"AIOSPACES_TEST_ENV_A": "given"}


@pytest.mark.anyio
@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"timeout": -1}, "timeout"),
        ({"timeout": float("nan")}, "timeout"),
        ({"timeout": "60"}, "timeout"),
        ({"concurrency": 0}, "concurrency"),
    ],
)
async def test_apply_refuses_bad_arguments_before_any_request(kwargs: dict[str, Any], match: str) -> None:
    """A negative or NaN or non-number timeout, or a concurrency below 1, raises before any request."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/a")
        plan = diff(
            FleetSpec(spaces=(SpaceSpec("alice/a", paused=True),)),
            {"alice/a": ObservedSpace(runtime=runtime())},
        )
        env.hub.counters.reset()
        with pytest.raises(ValueError, match=match):
            await apply_plan(env.client, plan, **kwargs)
        assert env.hub.counters.total_requests == 0


@pytest.mark.anyio
async def test_apply_sends_each_kind_of_action_with_its_values() -> None:
    """Each action reaches the Hub with its values: a variable and its description, a secret's value from
    the environment, hardware with its sleep time, a sleep time alone, a pause, a restart."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/hw")
        env.hub.create_space("alice/gpu", hardware="t4-small", sleep_time=600)
        env.hub.create_space("alice/run")
        env.hub.create_space("alice/stopped", stage="PAUSED")
        plan = Plan(
            spaces=(
                SpacePlan(
                    "alice/hw",
                    actions=(
                        Action("variable", key="MODE", after="fast", description="speed"),
                        Action("secret", key="TOKEN", after="ENV_TOKEN", description="read token"),
                        Action("hardware", before="cpu-basic", after="t4-medium", sleep_time=900),
                    ),
                ),
                SpacePlan("alice/gpu", actions=(Action("sleep_time", before=600, after=-1),)),
                SpacePlan("alice/run", actions=(Action("pause", before="RUNNING", after="PAUSED"),)),
                SpacePlan("alice/stopped", actions=(Action("restart", before="PAUSED", after="BUILDING"),)),
            )
        )
        result = await apply_plan(env.client, plan, environ={"ENV_TOKEN": "tok-value"}, concurrency=1)
        assert result.ok
        assert [len(s.applied) for s in result] == [3, 1, 1, 1]
        assert all(s.failed_action is None and s.runtime is None for s in result)
        state = env.hub.space_state("alice/hw")
        assert (state.variables["MODE"].value, state.variables["MODE"].description) == ("fast", "speed")
        assert (state.secrets["TOKEN"].value, state.secrets["TOKEN"].description) == (
            "tok-value",
            "read token",
        )
        hw = env.hub.space_runtime("alice/hw")
        assert (hw["hardware"]["requested"], hw["gcTimeout"]) == ("t4-medium", 900)
        assert env.hub.space_runtime("alice/gpu")["gcTimeout"] == -1
        assert env.hub.space_stage("alice/run") == "PAUSED"
        assert env.hub.space_stage("alice/stopped") != "PAUSED"
        assert env.hub.counters.actions["restart"] == 1


@pytest.mark.anyio
async def test_apply_waits_only_for_what_restarts_and_reports_a_wait_failure() -> None:
    """With `wait`, a Space whose wait runs past the deadline fails with its actions all applied; a Space
    whose action failed or that only changed a variable is not waited for."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/slow")
        env.hub.create_space("alice/static", sdk="static")
        env.hub.create_space("alice/vars")
        spec = parse_fleet_spec(
            '[spaces."alice/slow"]\nhardware = "t4-small"\n'
            '[spaces."alice/static"]\nhardware = "t4-small"\n'
            '[spaces."alice/vars"]\nvariables = { K = "v" }\n'
        )
        plan = await plan_fleet(env.client, spec)
        result = await apply_plan(env.client, plan, wait=True, timeout=5)
        assert [s.repo_id for s in result.failed] == ["alice/slow", "alice/static"]
        slow, static, variables = result
        assert isinstance(slow.error, WaitTimeoutError)
        assert [a.kind for a in slow.applied] == ["hardware"]
        assert slow.failed_action is None
        assert slow.runtime is None
        assert isinstance(static.error, BadRequestError)
        assert static.runtime is None
        assert variables.ok
        assert variables.runtime is None
        with pytest.raises(KeyError):
            result["alice/zzz"]


@pytest.mark.anyio
async def test_apply_without_wait_returns_at_once_with_no_runtimes() -> None:
    """Without `wait`, applying returns once the requests are sent: a Space moved to new hardware is still
    switching and its result has no runtime."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/a")
        plan = await plan_fleet(env.client, parse_fleet_spec('[spaces."alice/a"]\nhardware = "t4-small"\n'))
        result = await apply_plan(env.client, plan)
        assert result.ok
        assert result["alice/a"].runtime is None
        assert env.hub.space_runtime("alice/a")["hardware"]["current"] == "cpu-basic"


def test_summary_counts_in_the_singular() -> None:
    """The summary line uses the singular for one change, one Space, one secret set again, one failure."""
    again = Action("secret", key="OLD", after="ENV_OLD", reapply=True)
    one = [SpacePlan("a/a", actions=(Action("pause", before="RUNNING", after="PAUSED"), again))]
    assert summary(one) == "1 change on 1 of 1 Space; 1 existing secret set again (values cannot be read)"
    assert summary([SpacePlan("a/a"), SpacePlan("a/b")]) == "0 changes on 0 of 2 Spaces"
    failed = [SpacePlan("a/a", error=SpacesError("x")), SpacePlan("a/b", error=SpacesError("y"))]
    assert summary(failed) == "0 changes on 0 of 2 Spaces; 2 Spaces could not be read"


class _CountingTransport(httpx2.AsyncBaseTransport):
    """Passes requests to `inner` after a few scheduler turns, recording the most in flight at once."""

    def __init__(self, inner: httpx2.AsyncBaseTransport) -> None:
        self.inner = inner
        self.now = 0
        self.most = 0

    async def handle_async_request(self, request: httpx2.Request) -> httpx2.Response:
        self.now += 1
        self.most = max(self.most, self.now)
        try:
            for _ in range(5):
                await anyio.lowlevel.checkpoint()
            return await self.inner.handle_async_request(request)
        finally:
            self.now -= 1


@pytest.mark.anyio
async def test_by_default_sixteen_spaces_are_read_and_changed_at_once() -> None:
    """Without `concurrency`, observing, planning and applying handle at most 16 Spaces at once (the
    client allowing more); `concurrency` sets another bound."""
    clock = VirtualClock()
    hub = SimulatedHub(clock=clock)
    hub.add_user("alice", token="hf_test_alice")
    names = [f"alice/s{i:02}" for i in range(20)]
    for name in names:
        hub.create_space(name)
    spec = parse_fleet_spec("[defaults]\npaused = true\n" + "".join(f'[spaces."{n}"]\n' for n in names))
    counting = _CountingTransport(hub.transport())
    async with SpacesClient(
        token="hf_test_alice",
        endpoint="https://hub.test",
        transport=counting,
        clock=clock,
        max_concurrency=32,
    ) as client:
        await observe(client, spec)
        assert counting.most == 16
        counting.most = 0
        plan = await plan_fleet(client, spec)
        assert counting.most == 16
        counting.most = 0
        result = await apply_plan(client, plan)
        assert counting.most == 16
        counting.most = 0
        await plan_fleet(client, spec, concurrency=3)
        assert counting.most == 3
        counting.most = 0
        await apply_plan(client, plan, concurrency=3)
        assert counting.most == 3
    assert result.ok
    assert all(hub.space_stage(name) == "PAUSED" for name in names)


@pytest.mark.anyio
async def test_apply_accepts_a_zero_or_fractional_timeout() -> None:
    """A timeout of 0 or of a fraction of a second is a valid deadline, not a bad argument."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/a")
        plan = await plan_fleet(env.client, parse_fleet_spec('[spaces."alice/a"]\nvariables = { K = "v" }\n'))
        assert (await apply_plan(env.client, plan, timeout=0)).ok
        assert (await apply_plan(env.client, plan, timeout=0.5)).ok


def test_a_bad_variable_key_names_its_table() -> None:
    """A variable whose name is not an environment-variable name is refused naming the file and its table."""
    with pytest.raises(FleetSpecError) as caught:
        parse_fleet_spec('[defaults]\nvariables = { "9X" = "v" }\n[spaces."a/b"]', source="fleet.toml")
    assert str(caught.value).startswith("fleet.toml: defaults.variables must be an environment-variable name")


def test_a_missing_space_is_a_key_error_naming_it() -> None:
    """Looking up a Space a plan or an apply result does not hold raises KeyError with that Space's id."""
    with pytest.raises(KeyError) as caught:
        Plan(spaces=(SpacePlan("a/a"),))["a/zzz"]
    assert caught.value.args == ("a/zzz",)
    with pytest.raises(KeyError) as missing:
        ApplyResult(spaces=(SpaceApplyResult("a/a"),))["a/zzz"]
    assert missing.value.args == ("a/zzz",)


@pytest.mark.anyio
async def test_apply_reports_every_space_in_plan_order_with_or_without_actions() -> None:
    """Applying reports each Space in plan order: one that could not be read keeps its error, one with
    nothing to do succeeds with no action, and the Spaces after them are applied."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/idle")
        env.hub.create_space("alice/busy")
        unread = SpacesError("alice/gone was not read")
        plan = Plan(
            spaces=(
                SpacePlan("alice/gone", error=unread),
                SpacePlan("alice/idle", stage="RUNNING"),
                SpacePlan("alice/busy", actions=(Action("pause", before="RUNNING", after="PAUSED"),)),
            )
        )
        result = await apply_plan(env.client, plan)
        assert [s.repo_id for s in result] == ["alice/gone", "alice/idle", "alice/busy"]
        gone, idle, busy = result
        assert (gone.error, gone.applied) == (unread, ())
        assert (idle.ok, idle.applied, idle.failed_action) == (True, (), None)
        assert (busy.ok, len(busy.applied)) == (True, 1)
        assert env.hub.space_stage("alice/busy") == "PAUSED"


def test_resolve_secrets_names_several_missing_variables_in_the_plural() -> None:
    """Several missing environment variables are named together, in the plural."""
    space = SpaceSpec("a/s", secrets={"A": SecretRef("ENV_A"), "B": SecretRef("ENV_B")})
    plan = diff(FleetSpec(spaces=(space,)), {"a/s": ObservedSpace(runtime=runtime())})
    with pytest.raises(FleetSpecError) as caught:
        resolve_secrets(plan, {})
    assert str(caught.value) == (
        "environment variables ENV_A, ENV_B not set (they hold the values of the fleet file's secrets)"
    )


def test_a_malformed_space_id_names_its_table() -> None:
    """A Space id that is not `namespace/name` is refused naming the file and that Space's table."""
    with pytest.raises(FleetSpecError) as caught:
        parse_fleet_spec('[spaces."no-namespace"]\npaused = true', source="fleet.toml")
    assert (
        str(caught.value)
        == "fleet.toml: spaces.\"no-namespace\" must be 'namespace/name', got 'no-namespace'"
    )
