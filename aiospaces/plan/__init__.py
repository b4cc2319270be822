"""Declarative fleet state: a TOML file of desired Space settings, a plan of per-Space actions, applying it.

The file is what a fleet operator keeps in git::

    [defaults]
    hardware = "cpu-basic"
    sleep_time = 3600
    [defaults.variables]
    MODEL_REPO_ID = "acme/model"

    [spaces."acme/demo-1"]
    hardware = "t4-medium"
    secrets = { HF_TOKEN = { env = "DEMO_HF_TOKEN" } }  # values only from the environment

    [spaces."acme/demo-2"]
    paused = true

Layers: `parse_fleet_spec` (TOML text → `FleetSpec`, every mistake a `FleetSpecError` naming the file and the
key) and `diff` (desired + observed → `Plan`) are pure; `observe`, `plan_fleet` and `apply_plan` talk to the
Hub through `client.fleet(...)`: bounded concurrency, one outcome per Space, never fail-fast.

Only what the file names is managed: a variable or secret the file does not mention is left alone, and so is
hardware, sleep time or pause state when neither the Space's table nor `[defaults]` sets it. Secret values
cannot be read back from the Hub, so a secret already present is always set again and the plan
says so (`Action.reapply`); it does not count as a change.
"""

from __future__ import annotations

from ..errors import FleetSpecError
from ._apply import ApplyResult, SpaceApplyResult, apply_plan, observe, plan_fleet, resolve_secrets, summary
from ._diff import Action, ObservedSpace, Plan, SpacePlan, diff
from ._spec import FleetSpec, SecretRef, SpaceSpec, load_fleet_spec, parse_fleet_spec

__all__ = [
    "Action",
    "ApplyResult",
    "FleetSpec",
    "FleetSpecError",
    "ObservedSpace",
    "Plan",
    "SecretRef",
    "SpaceApplyResult",
    "SpacePlan",
    "SpaceSpec",
    "apply_plan",
    "diff",
    "load_fleet_spec",
    "observe",
    "parse_fleet_spec",
    "plan_fleet",
    "resolve_secrets",
    "summary",
]
