"""The action fences of one client: the one place where this client's own actions are recorded, and where
every later runtime read is judged against them (design.md §3: a wait started right after an action never
returns a state observed before it).

The operations record their own fence right after the Hub answered (`record_hardware`, `record_restart`,
`record_pause`); the poll loops ask `judge` about every read.
"""

from __future__ import annotations

from typing import Literal

from ._clock import Clock
from ._poll import FAILURE_STAGES, ActionFence, RuntimeLike, _stage_str

__all__ = ["Fences"]


class Fences:
    """The fence of each Space this client acted on, and the flavor it saw requested last."""

    def __init__(self, clock: Clock) -> None:
        self._clock = clock
        self._fences: dict[str, ActionFence] = {}
        self._last_requested: dict[str, str] = {}

    def __repr__(self) -> str:
        return f"Fences({sorted(self._fences)})"

    # --- recording: called by the operations themselves --------------------------------------------------

    def record_hardware(self, repo_id: str, answer: RuntimeLike, *, requested_before: str | None) -> None:
        """A hardware request was answered with `answer`; `requested_before` is the flavor this client saw
        requested before sending it (`last_requested`)."""
        target = answer.requested_hardware
        previous = frozenset(f for f in (requested_before, answer.hardware) if f is not None and f != target)
        self._fences[repo_id] = ActionFence(
            kind="hardware", at=self._clock.now(), requested_hardware=target, previous=previous
        )
        if target is not None:
            self._last_requested[repo_id] = target

    def record_restart(self, repo_id: str, answer: RuntimeLike) -> None:
        """A restart was answered with `answer`."""
        # An answer that is already a failure (decided at once) is after the restart: later reads of it too.
        self._fences[repo_id] = ActionFence(
            kind="restart", at=self._clock.now(), confirmed=_stage_str(answer.stage) in FAILURE_STAGES
        )

    def record_pause(self, repo_id: str) -> None:
        """A pause was answered."""
        self._fences[repo_id] = ActionFence(kind="pause", at=self._clock.now())

    # --- reading -----------------------------------------------------------------------------------------

    def last_requested(self, repo_id: str) -> str | None:
        """The flavor last seen requested for the Space (by this client's request or a fresh read)."""
        return self._last_requested.get(repo_id)

    def requested_hardware(self, repo_id: str) -> str | None:
        """The flavor of this client's hardware request that still fences the Space, if any."""
        fence = self._fences.get(repo_id)
        return fence.requested_hardware if fence is not None and fence.kind == "hardware" else None

    def hardware_target(self, repo_id: str) -> str | None:
        """The flavor a wait for RUNNING must see running: this client's request, until seen running."""
        fence = self._fences.get(repo_id)
        if fence is not None and fence.kind == "hardware" and not fence.switched:
            return fence.requested_hardware
        return None

    def judge(self, repo_id: str, runtime: RuntimeLike, now: float) -> Literal["fresh", "stale"]:
        """Judge a read against the Space's fence (if any), and forget fences that no longer matter."""
        fence = self._fences.get(repo_id)
        verdict: Literal["fresh", "stale"] = "fresh"
        if fence is not None:
            verdict = fence.judge(runtime, now)
            # A fresh read with yet another requested flavor: someone else's request replaced ours.
            superseded = (
                fence.kind == "hardware"
                and verdict == "fresh"
                and runtime.requested_hardware != fence.requested_hardware
            )
            if superseded or fence.expired(now):
                del self._fences[repo_id]
        if verdict == "fresh" and runtime.requested_hardware is not None:
            self._last_requested[repo_id] = runtime.requested_hardware
        return verdict
