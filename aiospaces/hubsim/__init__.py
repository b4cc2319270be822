"""A simulated Hugging Face Hub that speaks the real wire format.

Quick start::

    hub = SimulatedHub(clock="manual")            # or clock=VirtualClock(), or speed=60 (real time x60)
    token = hub.add_user("alice", token="hf_alice")
    hub.create_space("alice/demo")                 # seeding without HTTP; RUNNING right away
    transport = hub.transport()                    # httpx in-process transport
    with hub.serve() as url: ...                   # real socket on 127.0.0.1 (needs the `server` extra)

Test controls: `set_rate_limit`, `add_fault`, `set_durations`, `fail_next_build`, `crash`, `visit`,
`set_hardware_capacity`, `advance`, and `counters` (requests per route name as `route_names()` lists them,
429s, faults, the in-flight maximum, unknown routes). Besides latency, errors, drops, slow bodies and stale
reads, faults produce the Hub states a client defends against: a hardware request left unscheduled,
downloads whose bytes do not match their sha256, warning headers echoing the token, and 429 storms.
"""

from __future__ import annotations

from ._builds import BuildPlan, plan_build
from ._clock import ManualClock, SpeedClock
from ._control import Counters, Fault, RateLimit
from ._hub import SimulatedHub
from ._serve import main
from ._space import Durations
from ._transport import HubTransport

__all__ = [
    "BuildPlan",
    "Counters",
    "Durations",
    "Fault",
    "HubTransport",
    "ManualClock",
    "RateLimit",
    "SimulatedHub",
    "SpeedClock",
    "main",
    "plan_build",
]
