"""The simulated Hub in its own process: `python -m benchmarks._server '<config JSON>'`.

Serves a `SimulatedHub` on 127.0.0.1 (a random free port) and answers control commands, one JSON object per
line on stdin, one JSON answer per line on stdout. The first line written is `{"url": ..., "token": ...}`.

Config keys: `owner` (the user whose token the clients use), `latency_s` (injected on every request),
`rate_limit` (`[requests, window_seconds]` or absent), `speed` (simulated seconds per real second).

Commands:
- `seed {ids}`: create running Spaces directly in the Hub's state (no HTTP, so seeding never shows in the
  request counters).
- `start_builds {ids, durations}` → `{running_at}`: create each Space with its first build starting now, so
  that it reaches RUNNING after its duration (simulated seconds); `running_at` is that moment as wall-clock
  `time.time()`, per Space, taken from the Hub's own planned transition.
- `counters` → `{requests, status_429, by_route, max_in_flight, server_errors, unknown_routes}`.
- `timeline {since}` → `{times, routes}`: the wall-clock time and route name of every request received
  since `since` (for the requests-per-second plots).
- `verify {ids, secret, variable: [key, value], requested_hardware}` → how many Spaces hold each.
- `stop` → the process exits.
"""

from __future__ import annotations

import json
import os
import sys
import time
import traceback
from collections import Counter
from typing import IO, Any

from ._measure import cpu_seconds

TOKEN = "hf_bench_token_not_a_secret"
# Part of each build spent in APP_STARTING; the rest is BUILDING. Both clients see the same stages.
START_FRACTION = 0.2


class _TimedCounter(Counter[str]):
    """The Hub's per-route request counter, also noting when each request arrived (wall clock)."""

    def __init__(self) -> None:
        super().__init__()
        self.arrivals: list[tuple[float, str]] = []

    def __setitem__(self, key: str, value: int) -> None:
        if value > self.get(key, 0):
            self.arrivals.append((time.time(), key))
        super().__setitem__(key, value)


class HubServer:
    """Owns the `SimulatedHub` and turns control commands into calls on its public API."""

    def __init__(self, config: dict[str, Any]) -> None:
        from aiospaces.hubsim import SimulatedHub

        self.owner = str(config.get("owner", "bench"))
        self.hub = SimulatedHub(speed=float(config.get("speed", 1.0)), seed=0)
        self.hub.add_user(self.owner, token=TOKEN, role="write")
        self.timed = _TimedCounter()
        self.hub.counters.requests = self.timed
        latency = float(config.get("latency_s", 0.0))
        if latency > 0:
            # Fault seconds are hub-clock seconds: scale so the real delay is `latency` at any speed.
            self.hub.add_fault("latency", seconds=latency * self.hub.speed)
        rate_limit = config.get("rate_limit")
        if rate_limit:
            self.hub.set_rate_limit(int(rate_limit[0]), float(rate_limit[1]))

    def seed(self, ids: list[str]) -> dict[str, Any]:
        for repo_id in ids:
            self.hub.create_space(repo_id, stage="RUNNING")
        return {"seeded": len(ids)}

    def start_builds(self, ids: list[str], durations: list[float]) -> dict[str, Any]:
        from aiospaces.hubsim import Durations

        running_at = []
        for repo_id, duration in zip(ids, durations, strict=True):
            # A new Space whose first build starts now (BUILDING, then APP_STARTING, then RUNNING).
            self.hub.create_space(
                repo_id,
                stage=None,
                durations=Durations(build=duration * (1 - START_FRACTION), start=duration * START_FRACTION),
            )
            steps = [step for step in self.hub.space_state(repo_id).plan if step.stage == "RUNNING"]
            if len(steps) != 1:
                raise RuntimeError(f"{repo_id}: expected one planned RUNNING transition, got {steps!r}")
            # The Hub's planned transition time, as wall-clock time, which the client process shares.
            running_at.append(time.time() + (steps[0].at - self.hub.now()) / self.hub.speed)
        return {"running_at": running_at}

    def counters(self) -> dict[str, Any]:
        c = self.hub.counters
        return {
            "requests": c.total_requests,
            "status_429": c.rate_limited,
            "by_route": dict(c.requests),
            "max_in_flight": c.max_in_flight,
            "server_errors": len(c.server_errors),
            "unknown_routes": list(c.unknown_routes)[:20],
            # This whole process's CPU (the Hub's server thread included), to show how busy the machine was.
            "cpu_s": cpu_seconds(),
        }

    def timeline(self, since: float = 0.0) -> dict[str, Any]:
        arrivals = [(t, route) for t, route in self.timed.arrivals if t >= since]
        return {"times": [t for t, _ in arrivals], "routes": [route for _, route in arrivals]}

    def verify(
        self, ids: list[str], secret: str, variable: list[str], requested_hardware: str
    ) -> dict[str, Any]:
        secret_present = variable_matches = hardware_requested = 0
        for repo_id in ids:
            state = self.hub.space_state(repo_id)
            secret_present += secret in state.secrets
            entry = state.variables.get(variable[0])
            variable_matches += entry is not None and entry.value == variable[1]
            hardware_requested += state.requested == requested_hardware
        return {
            "secret_present": secret_present,
            "variable_matches": variable_matches,
            "hardware_requested": hardware_requested,
        }


def _answer(out: IO[str], payload: dict[str, Any]) -> None:
    out.write(json.dumps(payload) + "\n")
    out.flush()


def main() -> int:
    config = json.loads(sys.argv[1]) if len(sys.argv) > 1 else {}
    # Keep the protocol channel to ourselves: anything else printed goes to stderr.
    out = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    try:
        server = HubServer(config)
        serving = server.hub.serve(host="127.0.0.1", port=0)
        url = serving.__enter__()
    except Exception as exc:
        traceback.print_exc()
        _answer(out, {"error": f"{type(exc).__name__}: {exc}"})
        return 1
    try:
        _answer(out, {"url": url, "token": TOKEN})
        for line in sys.stdin:
            command = json.loads(line)
            name = command.pop("cmd")
            if name == "stop":
                break
            try:
                _answer(out, getattr(server, name)(**command))
            except Exception as exc:
                traceback.print_exc()
                _answer(out, {"error": f"{name}: {type(exc).__name__}: {exc}"})
    finally:
        serving.__exit__(None, None, None)
    return 0


if __name__ == "__main__":
    sys.exit(main())
