"""Build and run logs over SSE (hub-api.md §9), streamed outside the hub lock.

A log route's handler answers at once with a stream; the stream then reads the Space under the lock for a
moment at a time (`HubState.inspect_space`, synchronous), and sleeps on the hub clock between reads.
"""

from __future__ import annotations

import functools
import json
from collections.abc import AsyncIterator

import attrs

from ._space import SpaceState
from ._state import HubState

KEEPALIVE = b"data: \n\n"  # empty `data:` event (hub-api.md §9), ignored by clients
# The stages in which each log can still grow: a build in progress; an app starting or running.
LIVE = {
    "build": frozenset({"BUILDING", "RUNNING_BUILDING"}),
    "run": frozenset({"BUILDING", "APP_STARTING", "RUNNING", "RUNNING_BUILDING", "RUNNING_APP_STARTING"}),
}


@attrs.frozen
class LogRead:
    """What one read of a log found: the lines due since the last read, and when to look again."""

    now: float
    lines: list[tuple[float, str]]
    gen: int  # which build (or app start) the log belongs to
    sent: int  # lines of that log sent so far, these included
    live: bool  # whether the log can still grow
    upcoming: list[float]  # hub times at which new lines (or a stage change) are due


def read_log(space: SpaceState, now: float, kind: str, gen: int, sent: int) -> LogRead:
    """The lines of the Space's `kind` log due by `now` that follow the first `sent` ones of build `gen`."""
    log, log_gen = (space.build_log, space.build_gen) if kind == "build" else (space.run_log, space.run_gen)
    if log_gen != gen:
        gen, sent = log_gen, 0  # a new build or app start: its log streams from its beginning
    lines = []
    for t, line in log[sent:]:
        if t > now:
            break
        lines.append((t, line))
    sent += len(lines)
    upcoming = [log[sent][0]] if sent < len(log) else []
    if space.plan:
        upcoming.append(space.plan[0].at)
    return LogRead(now, lines, gen, sent, space.stage in LIVE[kind], upcoming)


def sse_event(line: str, timestamp: str) -> bytes:
    """One SSE event: `data: {"data": "<line>", "timestamp": "<ISO>"}` (hub-api.md §9)."""
    return b"data: " + json.dumps({"data": line, "timestamp": timestamp}).encode() + b"\n\n"


async def log_stream(hub: HubState, repo_id: str, kind: str) -> AsyncIterator[bytes]:
    """Replay the whole log (each connection starts from the beginning, §9), then follow it while live.

    After the replay one keep-alive marks "buffer drained". The stream stays open while the log can still
    grow, sends new lines as their time comes and a keep-alive after `sse_keepalive` seconds of silence,
    and ends when the log can no longer grow (build finished, Space paused, failed or deleted).
    """
    gen, sent = -1, 0
    first = True
    keepalive = hub.sse_keepalive * hub.speed
    last_sent = hub.now()
    while True:
        found = hub.inspect_space(repo_id, functools.partial(read_log, kind=kind, gen=gen, sent=sent))
        if found is None:
            return
        now, gen, sent = found.now, found.gen, found.sent
        chunk = b"".join(sse_event(line, hub.wall_at(t)) for t, line in found.lines)
        if first:
            chunk += KEEPALIVE
            first = False
        if chunk:
            yield chunk
            last_sent = now
        if not found.live:
            return
        if now - last_sent >= keepalive:
            yield KEEPALIVE
            last_sent = now
        wake = min([*found.upcoming, last_sent + keepalive, now + hub.sse_poll * hub.speed])
        await hub.sleep(max(wake - now, 0.001))
