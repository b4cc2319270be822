"""The fleet file and the plan, pure: parsing, validation errors, and `diff` (no transport)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from aiospaces.errors import NotFoundError
from aiospaces.models import SpaceRuntime
from aiospaces.plan import (
    Action,
    FleetSpec,
    FleetSpecError,
    ObservedSpace,
    SecretRef,
    SpaceSpec,
    diff,
    load_fleet_spec,
    parse_fleet_spec,
    resolve_secrets,
    summary,
)

EXAMPLE = """
[defaults]
hardware = "cpu-basic"
sleep_time = 3600
[defaults.variables]
MODEL_REPO_ID = "acme/model"
[spaces."acme/demo-1"]
hardware = "t4-medium"
secrets = { HF_TOKEN = { env = "DEMO_HF_TOKEN" } }   # values only from the environment
[spaces."acme/demo-1".variables]
PORT = 7860
[spaces."acme/demo-2"]
paused = true
"""


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


def test_example_parses_with_defaults_merged() -> None:
    """The example file gives each Space the defaults, overridden and extended by its own table."""
    spec = parse_fleet_spec(EXAMPLE, source="fleet.toml")
    assert spec.source == "fleet.toml"
    assert spec.repo_ids == ["acme/demo-1", "acme/demo-2"]
    one, two = spec.spaces
    assert (one.hardware, one.sleep_time, one.paused) == ("t4-medium", 3600, None)
    assert one.variables == {"MODEL_REPO_ID": "acme/model", "PORT": "7860"}
    assert one.secrets == {"HF_TOKEN": SecretRef(env="DEMO_HF_TOKEN")}
    assert (two.hardware, two.sleep_time, two.paused) == ("cpu-basic", 3600, True)
    assert two.variables == {"MODEL_REPO_ID": "acme/model"}
    assert two.secrets == {}
    assert spec.secret_envs() == ["DEMO_HF_TOKEN"]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("[spaces.'a/b'\nhardware = 1", "invalid TOML"),
        ('[space."a/b"]\nhardware = "t4-small"', "unknown top-level key 'space'"),
        ('[spaces."a/b"]\nhardwar = "t4-small"', "unknown key 'spaces.\"a/b\".hardwar'"),
        ('[spaces."a/b"]\nhardware = 4', 'spaces."a/b".hardware must be a flavor name'),
        ('[spaces."a/b"]\nhardware = "t4 medium"', 'spaces."a/b".hardware must be a flavor name'),
        ('[spaces."a/b"]\nsleep_time = -2', 'spaces."a/b".sleep_time must be whole seconds'),
        ('[spaces."a/b"]\nsleep_time = true', 'spaces."a/b".sleep_time must be whole seconds'),
        ('[spaces."a/b"]\npaused = "yes"', 'spaces."a/b".paused must be true or false, got a string'),
        ('[spaces."a/b"]\nvariables = { X = 1.5 }', 'spaces."a/b".variables.X must be a string, got a float'),
        ('[spaces."a/b"]\nvariables = { "A B" = "x" }', "environment-variable name"),
        ('[spaces."a/b"]\nsecrets = { K = { name = "V" } }', "unknown key spaces.\"a/b\".secrets.K.'name'"),
        ('[spaces."a/b"]\nsecrets = { K = {} }', 'spaces."a/b".secrets.K.env must name an environment'),
        ('[defaults]\nsecrets = { K = { env = "V", description = 3 } }', "defaults.secrets.K.description"),
        ('[spaces."no-namespace"]\npaused = true', "must be 'namespace/name'"),
        ('[spaces."a/b/c"]\npaused = true', "exactly one '/'"),
        ('[defaults]\nhardware = "t4-small"', "no Spaces"),
        ("spaces = 3", "spaces must be a table, got an integer"),
    ],
)
def test_bad_files_name_the_file_and_key(text: str, expected: str) -> None:
    """Every mistake in a fleet file is a FleetSpecError (a ValueError) naming the file and the key."""
    with pytest.raises(FleetSpecError) as caught:
        parse_fleet_spec(text, source="ops/fleet.toml")
    assert isinstance(caught.value, ValueError)
    assert str(caught.value).startswith("ops/fleet.toml: ")
    assert expected in str(caught.value)


def test_secret_value_in_the_file_is_refused_without_echoing_it() -> None:
    """A secret written as a literal value is rejected, and the message never repeats the value."""
    with pytest.raises(FleetSpecError) as caught:
        parse_fleet_spec(
            '[spaces."a/b"]\nsecrets = { HF_TOKEN = "hf_literal_secret_value" }', source="f.toml"
        )
    assert "never go in the file" in str(caught.value)
    assert "hf_literal_secret_value" not in str(caught.value)


def test_load_names_a_missing_file(tmp_path: Path) -> None:
    """Loading a file that does not exist raises a FleetSpecError naming its path."""
    missing = tmp_path / "absent.toml"
    with pytest.raises(FleetSpecError, match=r"absent\.toml: cannot read the fleet file"):
        load_fleet_spec(missing)


def test_load_reads_a_file(tmp_path: Path) -> None:
    """`load_fleet_spec` parses the file and records its name as the source."""
    path = tmp_path / "fleet.toml"
    path.write_text(EXAMPLE)
    spec = load_fleet_spec(path)
    assert spec.source == str(path)
    assert len(spec.spaces) == 2


def plan_of(space: SpaceSpec, seen: ObservedSpace) -> list[Action]:
    return list(diff(FleetSpec(spaces=(space,)), {space.repo_id: seen})[space.repo_id].actions)


@pytest.mark.parametrize(
    ("space", "observed", "expected"),
    [
        # Already there: nothing to do.
        (
            SpaceSpec("a/s", hardware="t4-small", sleep_time=600),
            runtime(hardware="t4-small", requested="t4-small", sleep=600),
            [],
        ),
        # New hardware: one request carrying the sleep time too.
        (
            SpaceSpec("a/s", hardware="t4-medium", sleep_time=3600),
            runtime(sleep=172800),
            [Action("hardware", before="cpu-basic", after="t4-medium", sleep_time=3600)],
        ),
        # New hardware, sleep time unmanaged.
        (
            SpaceSpec("a/s", hardware="t4-medium"),
            runtime(),
            [Action("hardware", before="cpu-basic", after="t4-medium")],
        ),
        # Requested already (still switching): no second request.
        (SpaceSpec("a/s", hardware="t4-medium"), runtime("RUNNING_BUILDING", requested="t4-medium"), []),
        # Only the sleep time differs.
        (
            SpaceSpec("a/s", sleep_time=600),
            runtime(hardware="t4-small", requested="t4-small", sleep=3600),
            [Action("sleep_time", before=3600, after=600)],
        ),
        # hub-api.md §8.3: gcTimeout null on upgraded hardware is "never", the same as -1.
        (SpaceSpec("a/s", sleep_time=-1), runtime(hardware="t4-small", requested="t4-small"), []),
        # cpu-basic: sleep time not configurable, so not an action.
        (SpaceSpec("a/s", hardware="cpu-basic", sleep_time=600), runtime(sleep=172800), []),
        # Paused wanted.
        (SpaceSpec("a/s", paused=True), runtime(), [Action("pause", before="RUNNING", after="PAUSED")]),
        (SpaceSpec("a/s", paused=True), runtime("PAUSED"), []),
        # Unpaused wanted.
        (
            SpaceSpec("a/s", paused=False),
            runtime("PAUSED"),
            [Action("restart", before="PAUSED", after="BUILDING")],
        ),
        (SpaceSpec("a/s", paused=False), runtime("SLEEPING"), []),
        # Hardware first, then pause.
        (
            SpaceSpec("a/s", hardware="t4-small", paused=True),
            runtime(),
            [
                Action("hardware", before="cpu-basic", after="t4-small"),
                Action("pause", before="RUNNING", after="PAUSED"),
            ],
        ),
    ],
)
def test_diff_runtime_actions(space: SpaceSpec, observed: SpaceRuntime, expected: list[Action]) -> None:
    """`diff` turns hardware, sleep time and paused differences into the right actions, and only those."""
    assert plan_of(space, ObservedSpace(runtime=observed)) == expected


def test_diff_cpu_basic_sleep_time_is_a_note() -> None:
    """A sleep time on cpu-basic is not an action but a note saying it is not configurable."""
    space = SpaceSpec("a/s", hardware="cpu-basic", sleep_time=600)
    planned = diff(FleetSpec(spaces=(space,)), {"a/s": ObservedSpace(runtime=runtime(sleep=172800))})["a/s"]
    assert planned.actions == ()
    assert any("not configurable" in note for note in planned.notes)


def test_diff_variables_only_when_different() -> None:
    """A variable is set when new or different, never when equal; unmanaged variables are left alone."""
    space = SpaceSpec("a/s", variables={"SAME": "1", "CHANGED": "new", "NEW": "x"})
    seen = ObservedSpace(runtime=runtime(), variables={"SAME": "1", "CHANGED": "old", "UNMANAGED": "kept"})
    assert plan_of(space, seen) == [
        Action("variable", key="CHANGED", before="old", after="new"),
        Action("variable", key="NEW", before=None, after="x"),
    ]


def test_diff_secrets_new_or_set_again() -> None:
    """A missing secret is a change; an existing one is set again (values cannot be read) but not a change."""
    space = SpaceSpec("a/s", secrets={"NEW": SecretRef("ENV_NEW"), "OLD": SecretRef("ENV_OLD", "the key")})
    plan = diff(
        FleetSpec(spaces=(space,)),
        {"a/s": ObservedSpace(runtime=runtime(), secret_names=frozenset({"OLD"}))},
    )
    new, old = plan["a/s"].actions
    assert (new.key, new.after, new.reapply) == ("NEW", "ENV_NEW", False)
    assert (old.key, old.after, old.reapply, old.description) == ("OLD", "ENV_OLD", True, "the key")
    assert (plan.changes, plan.reapplied, plan.is_empty) == (1, 1, False)
    assert "set again" in old.describe()
    assert old.as_dict() == {"action": "secret", "key": "OLD", "from_env": "ENV_OLD", "reapply": True}
    assert "1 existing secret set again" in summary(plan)


def test_diff_keeps_read_errors_per_space() -> None:
    """A Space that could not be read (or was not read) gets its error and no actions; others are planned."""
    spec = FleetSpec(
        spaces=(SpaceSpec("a/gone", paused=True), SpaceSpec("a/here", paused=True), SpaceSpec("a/x"))
    )
    error = NotFoundError("404 a/gone", status=404, method="GET", url="https://hub.test/api/spaces/a/gone")
    plan = diff(spec, {"a/gone": error, "a/here": ObservedSpace(runtime=runtime())})
    assert plan["a/gone"].error is error
    assert plan["a/gone"].actions == ()
    assert [a.kind for a in plan["a/here"].actions] == ["pause"]
    assert plan["a/x"].error is not None
    assert [s.repo_id for s in plan.failed] == ["a/gone", "a/x"]
    assert "2 Spaces could not be read" in summary(plan)


def test_resolve_secrets_names_missing_variables_only() -> None:
    """Missing environment variables are all named, and the values that are set never appear."""
    space = SpaceSpec(
        "a/s", secrets={"A": SecretRef("ENV_A"), "B": SecretRef("ENV_B"), "C": SecretRef("ENV_C")}
    )
    plan = diff(FleetSpec(spaces=(space,)), {"a/s": ObservedSpace(runtime=runtime())})
    with pytest.raises(FleetSpecError) as caught:
        resolve_secrets(plan, {"ENV_B": "value-b-secret"})
    assert "ENV_A, ENV_C" in str(caught.value)
    assert "value-b-secret" not in str(caught.value)
    assert resolve_secrets(plan, {"ENV_A": "1", "ENV_B": "2", "ENV_C": "3"}) == {
        "ENV_A": "1",
        "ENV_B": "2",
        "ENV_C": "3",
    }


def test_without_reapplied_keeps_only_new_secrets() -> None:
    """`Plan.without_reapplied()` drops the secrets that exist already and keeps every other action."""
    space = SpaceSpec("a/s", paused=True, secrets={"NEW": SecretRef("ENV_NEW"), "OLD": SecretRef("ENV_OLD")})
    plan = diff(
        FleetSpec(spaces=(space,)),
        {"a/s": ObservedSpace(runtime=runtime(), secret_names=frozenset({"OLD"}))},
    )
    trimmed = plan.without_reapplied()
    assert [(a.kind, a.key) for a in trimmed["a/s"].actions] == [("secret", "NEW"), ("pause", None)]
    assert (trimmed.changes, trimmed.reapplied) == (plan.changes, 0)
    assert resolve_secrets(trimmed, {"ENV_NEW": "x"}) == {"ENV_NEW": "x"}


def test_hardware_for_a_paused_space_is_not_waited_for() -> None:
    """New hardware for a Space that stays PAUSED is planned with a note, and is not waited for."""
    seen = {"a/s": ObservedSpace(runtime=runtime("PAUSED", hardware=None))}
    planned = diff(FleetSpec(spaces=(SpaceSpec("a/s", hardware="t4-small"),)), seen)["a/s"]
    assert [a.kind for a in planned.actions] == ["hardware"]
    assert any("restarted" in note for note in planned.notes)
    assert not planned.restarts
    unpaused = diff(FleetSpec(spaces=(SpaceSpec("a/s", hardware="t4-small", paused=False),)), seen)["a/s"]
    assert [a.kind for a in unpaused.actions] == ["hardware", "restart"]
    assert unpaused.restarts
    running = diff(
        FleetSpec(spaces=(SpaceSpec("a/s", hardware="t4-small"),)), {"a/s": ObservedSpace(runtime())}
    )
    assert running["a/s"].restarts
