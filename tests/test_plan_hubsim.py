"""`plan_fleet` / `apply_plan` against the simulated Hub in virtual time: convergence, idempotence."""

from __future__ import annotations

import pytest

from aiospaces import RuntimeChange
from aiospaces.errors import BadRequestError, NotFoundError
from aiospaces.plan import FleetSpecError, apply_plan, parse_fleet_spec, plan_fleet
from aiospaces.testing import SimulatedHubClient

pytestmark = pytest.mark.anyio

SECRET = "s3cret-value-from-the-environment"

FLEET = """
[defaults]
hardware = "cpu-basic"
sleep_time = 3600
[defaults.variables]
MODEL_REPO_ID = "alice/model"
[spaces."alice/demo-1"]
hardware = "t4-medium"
secrets = { HF_TOKEN = { env = "DEMO_HF_TOKEN", description = "read token" } }
[spaces."alice/demo-2"]
paused = true
[spaces."alice/demo-3"]
paused = false
variables = { MODEL_REPO_ID = "alice/other", MODE = "fast" }
"""


async def test_apply_converges_and_second_plan_is_empty() -> None:
    """Applying the example brings every Space to the file's state, and planning again finds no change."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/demo-1")
        env.hub.create_space("alice/demo-2")
        env.hub.create_space("alice/demo-3", stage="PAUSED", variables={"MODEL_REPO_ID": "old"})
        spec = parse_fleet_spec(FLEET, source="fleet.toml")
        plan = await plan_fleet(env.client, spec)
        assert [a.kind for a in plan["alice/demo-1"].actions] == ["variable", "secret", "hardware"]
        assert [a.kind for a in plan["alice/demo-2"].actions] == ["variable", "pause"]
        assert [a.kind for a in plan["alice/demo-3"].actions] == ["variable", "variable", "restart"]
        changes: list[RuntimeChange] = []
        result = await apply_plan(
            env.client, plan, environ={"DEMO_HF_TOKEN": SECRET}, wait=True, on_change=changes.append
        )
        assert result.ok
        assert [len(s.applied) for s in result] == [3, 2, 3]
        # The waited Spaces (hardware change, restart) run on their requested hardware.
        assert result["alice/demo-1"].runtime is not None
        assert result["alice/demo-1"].runtime.hardware == "t4-medium"
        assert result["alice/demo-3"].runtime is not None
        assert result["alice/demo-2"].runtime is None  # paused: not waited for
        assert {c.repo_id for c in changes} == {"alice/demo-1", "alice/demo-3"}
        assert changes[-1].stage == "RUNNING"

        one = env.hub.space_runtime("alice/demo-1")
        assert one["stage"] == "RUNNING"
        assert one["hardware"] == {"current": "t4-medium", "requested": "t4-medium"}
        assert one["gcTimeout"] == 3600
        state = env.hub.space_state("alice/demo-1")
        assert state.secrets["HF_TOKEN"].value == SECRET
        assert state.secrets["HF_TOKEN"].description == "read token"
        assert state.variables["MODEL_REPO_ID"].value == "alice/model"
        assert env.hub.space_stage("alice/demo-2") == "PAUSED"
        assert env.hub.space_stage("alice/demo-3") == "RUNNING"
        three = env.hub.space_state("alice/demo-3").variables
        assert {k: v.value for k, v in three.items()} == {"MODEL_REPO_ID": "alice/other", "MODE": "fast"}

        again = await plan_fleet(env.client, spec)
        assert again.is_empty
        assert again.changes == 0
        assert again.reapplied == 1  # the secret exists now: its value cannot be compared
        assert [a.reapply for a in again["alice/demo-1"].actions] == [True]


async def test_partial_failure_keeps_going_and_reports_each_space() -> None:
    """A Space whose action fails stops there, an unknown Space keeps its read error, the others apply."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/good")
        env.hub.create_space("alice/static", sdk="static")  # static Spaces refuse hardware (400)
        spec = parse_fleet_spec(
            """
            [defaults]
            hardware = "t4-small"
            variables = { STAGE = "prod" }
            [spaces."alice/good"]
            [spaces."alice/static"]
            [spaces."alice/missing"]
            """
        )
        plan = await plan_fleet(env.client, spec)
        assert isinstance(plan["alice/missing"].error, NotFoundError)
        result = await apply_plan(env.client, plan)
        assert not result.ok
        assert [s.repo_id for s in result.failed] == ["alice/static", "alice/missing"]
        good, static, missing = result
        assert good.ok
        assert [a.kind for a in good.applied] == ["variable", "hardware"]
        assert [a.kind for a in static.applied] == ["variable"]
        assert static.failed_action is not None
        assert static.failed_action.kind == "hardware"
        assert isinstance(static.error, BadRequestError)
        assert isinstance(missing.error, NotFoundError)
        assert missing.applied == ()
        assert env.hub.space_state("alice/static").variables["STAGE"].value == "prod"
        assert env.hub.space_runtime("alice/good")["hardware"]["requested"] == "t4-small"


async def test_missing_secret_environment_sends_nothing() -> None:
    """Applying with a secret's environment variable unset raises before any write request."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/demo-1")
        spec = parse_fleet_spec('[spaces."alice/demo-1"]\nsecrets = { K = { env = "UNSET_VAR_FOR_TEST" } }')
        plan = await plan_fleet(env.client, spec)
        before = env.hub.counters.total_requests
        with pytest.raises(FleetSpecError, match="UNSET_VAR_FOR_TEST"):
            await apply_plan(env.client, plan, environ={})
        assert env.hub.counters.total_requests == before


async def test_observe_reads_only_what_the_file_manages() -> None:
    """A file without variables or secrets costs one runtime read per Space, nothing else."""
    async with SimulatedHubClient() as env:
        for name in ("a", "b", "c"):
            env.hub.create_space(f"alice/{name}")
        spec = parse_fleet_spec(
            '[defaults]\npaused = true\n[spaces."alice/a"]\n[spaces."alice/b"]\n[spaces."alice/c"]'
        )
        env.hub.counters.reset()
        plan = await plan_fleet(env.client, spec, concurrency=2)
        assert plan.changes == 3
        assert env.hub.counters.requests["GET /api/spaces/{id}/runtime"] == 3
        assert env.hub.counters.total_requests == 3


async def test_apply_converges_through_injected_server_errors() -> None:
    """With 5xx answers and lost responses injected, applying still reaches the desired state, once."""
    async with SimulatedHubClient(seed=11) as env:
        names = [f"alice/flaky-{i}" for i in range(6)]
        for name in names:
            env.hub.create_space(name, stage="PAUSED" if name.endswith(("1", "4")) else "RUNNING")
        tables = "".join(f'[spaces."{name}"]\n' for name in names)
        spec = parse_fleet_spec(
            '[defaults]\nhardware = "t4-small"\nsleep_time = 600\npaused = false\n'
            '[defaults.variables]\nMODE = "prod"\n' + tables
        )
        fault = env.hub.add_fault("error", probability=0.15, count=8, status=503)
        # Also lose a fifth of the answers after the Hub applied the request: the client cannot tell.
        lost = env.hub.add_fault("drop", probability=0.1, count=5, after=True)
        # ... and surely the first restart's answer (restart is not idempotent: it must not happen twice).
        restart_lost = env.hub.add_fault("drop", route="POST /api/spaces/{id}/restart", count=1, after=True)
        plan = await plan_fleet(env.client, spec)
        assert not plan.failed, [str(s.error) for s in plan.failed]
        result = await apply_plan(env.client, plan, wait=True)
        assert result.ok, [str(s.error) for s in result.failed]
        assert fault.injected + lost.injected > 0
        assert restart_lost.injected == 1
        env.hub.clear_faults()
        for name in names:
            runtime = env.hub.space_runtime(name)
            assert (runtime["stage"], runtime["hardware"]["current"], runtime["gcTimeout"]) == (
                "RUNNING",
                "t4-small",
                600,
            )
            assert env.hub.space_state(name).variables["MODE"].value == "prod"
        # Each paused Space was restarted exactly once, in spite of the retries.
        assert env.hub.counters.actions["restart"] == 2
        assert (await plan_fleet(env.client, spec)).is_empty


async def test_apply_wait_leaves_a_paused_space_paused_and_succeeds() -> None:
    """New hardware for a PAUSED Space is requested, and `wait=True` does not fail waiting for it to run."""
    async with SimulatedHubClient() as env:
        env.hub.create_space("alice/asleep", stage="PAUSED")
        spec = parse_fleet_spec('[spaces."alice/asleep"]\nhardware = "t4-small"\n', source="fleet.toml")
        plan = await plan_fleet(env.client, spec)
        result = await apply_plan(env.client, plan, wait=True, timeout=600)
        assert result.ok, result["alice/asleep"].error
        assert [a.kind for a in result["alice/asleep"].applied] == ["hardware"]
        assert env.hub.space_runtime("alice/asleep")["stage"] == "PAUSED"
        assert env.hub.space_runtime("alice/asleep")["hardware"]["requested"] == "t4-small"
